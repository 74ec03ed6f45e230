use super::*;
use sotto_core::Kind;

fn spans(text: &str, lang: Lang) -> Vec<(String, Kind)> {
    let lex = Lexical::new();
    let mut out = Vec::new();
    lex.find(text, lang, &mut out);
    out.iter()
        .map(|c| (text[c.start..c.end].to_owned(), c.kind))
        .collect()
}

fn has(text: &str, lang: Lang, want: &str, kind: Kind) -> bool {
    spans(text, lang)
        .iter()
        .any(|(s, k)| s == want && *k == kind)
}

#[test]
fn smoke() {
    let s = spans(
        "Jeg hedder Søren Poulsen og bor på Vestergade 12, 8000 Aarhus C. Jeg har sukkersyge.",
        Lang::Da,
    );
    assert!(
        s.contains(&("Søren Poulsen".to_owned(), Kind::PersonName)),
        "{s:?}"
    );
    assert!(has(
        "Jeg hedder Søren Poulsen og bor på Vestergade 12, 8000 Aarhus C.",
        Lang::Da,
        "Vestergade 12, 8000 Aarhus C",
        Kind::Address
    ));
}

#[test]
fn dbg_spelled() {
    let s = spans("My first name is Laura, that's L A U R A.", Lang::En);
    assert!(s.iter().any(|(t, _)| t == "L A U R A"), "{s:?}");
    let s = spans("Vem pratar jag med?\nMitt förnamn är Anders, det stavas A N D E R S.\nJag upprepar: Anders.", Lang::Sv);
    assert_eq!(s.len(), 3, "{s:?}");
}

