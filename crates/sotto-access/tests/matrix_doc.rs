#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The permission matrix in ARCHITECTURE.md is the one in the code: same roles, same
//! permissions, same scope in every cell.

use sotto_access::{grant, matrix_markdown, Permission, Role, Scope};
use std::collections::BTreeMap;

const BEGIN: &str = "<!-- permission-matrix:begin -->";
const END: &str = "<!-- permission-matrix:end -->";

fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().trim_matches('`').to_owned())
        .collect()
}

fn parse(table: &str) -> BTreeMap<(Permission, Role), Option<Scope>> {
    let mut lines = table.lines().filter(|l| l.trim_start().starts_with('|'));
    let header = cells(lines.next().expect("table header"));
    assert_eq!(header[0], "permission");
    let roles: Vec<Role> = header[1..]
        .iter()
        .map(|r| {
            r.parse()
                .unwrap_or_else(|_| panic!("unknown role column {r}"))
        })
        .collect();
    let mut sorted = roles.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        Role::ALL.len(),
        "every role has exactly one column"
    );
    let mut out = BTreeMap::new();
    for line in lines {
        let c = cells(line);
        if c.iter().all(|x| x.chars().all(|ch| ch == '-' || ch == ':')) {
            continue; // the separator row
        }
        let perm: Permission = c[0]
            .parse()
            .unwrap_or_else(|_| panic!("unknown permission row {}", c[0]));
        assert_eq!(c.len(), roles.len() + 1, "row {perm} has a cell per role");
        for (role, cell) in roles.iter().zip(&c[1..]) {
            let scope = match cell.as_str() {
                "—" | "-" | "" => None,
                s => Some(
                    s.parse::<Scope>()
                        .unwrap_or_else(|_| panic!("bad cell {s} at {perm}/{role}")),
                ),
            };
            assert!(
                out.insert((perm, *role), scope).is_none(),
                "row {perm} appears twice"
            );
        }
    }
    out
}

#[test]
fn architecture_md_shows_the_matrix_the_code_enforces() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ARCHITECTURE.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let start = doc
        .find(BEGIN)
        .expect("ARCHITECTURE.md has the matrix markers")
        + BEGIN.len();
    let end = doc[start..].find(END).expect("end marker") + start;
    let documented = parse(&doc[start..end]);
    for p in Permission::ALL {
        for r in Role::ALL {
            assert_eq!(
                documented.get(&(*p, *r)),
                Some(&grant(*r, *p)),
                "ARCHITECTURE.md disagrees with grant({r}, {p}); paste the output of \
                 sotto_access::matrix_markdown():\n{}",
                matrix_markdown()
            );
        }
    }
    assert_eq!(documented.len(), Permission::ALL.len() * Role::ALL.len());
    // The generated table parses to the same thing.
    assert_eq!(parse(&matrix_markdown()), documented);
}
