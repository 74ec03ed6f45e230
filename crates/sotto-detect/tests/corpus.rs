//! Quality regression guard: scores the detector on the in-repo held-out set and, when the shared
//! development corpus sits beside the checkout (as in CI: `../shared/eval/dev.jsonl`), on that too,
//! with the same rules as `shared/eval/score.py` (a gold span is found when a predicted span of the
//! same category overlaps it; leak = gold non-space characters left uncovered). Fails when the
//! detector drops below the bars the detector issue sets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use sotto_core::{Category, Lang};
use sotto_detect::Detector;
use std::path::Path;

#[derive(Default, Debug)]
struct Score {
    gold: [u32; 3],
    found: [u32; 3],
    pci_chars: u32,
    pci_leaked: u32,
    pred: u32,
    true_pred: u32,
    negatives: u32,
    negatives_with_fp: u32,
}

fn cat_index(c: Category) -> usize {
    match c {
        Category::Pci => 0,
        Category::Personal => 1,
        Category::Special => 2,
    }
}

fn score(path: &Path) -> Score {
    let det = Detector::new();
    let mut s = Score::default();
    for line in std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let rec: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = rec["text"].as_str().unwrap();
        let lang = rec["lang"].as_str().and_then(|l| l.parse::<Lang>().ok());
        let chars: Vec<char> = text.chars().collect();
        let pred = det.detect(text, lang);
        let gold: Vec<(usize, usize, Category)> = rec["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let cat = match g["category"].as_str().unwrap() {
                    "pci" => Category::Pci,
                    "special" => Category::Special,
                    _ => Category::Personal,
                };
                (
                    g["start"].as_u64().unwrap() as usize,
                    g["end"].as_u64().unwrap() as usize,
                    cat,
                )
            })
            .collect();
        for &(gs, ge, cat) in &gold {
            let i = cat_index(cat);
            s.gold[i] += 1;
            if pred
                .iter()
                .any(|p| p.start < ge && gs < p.end && p.category == cat)
            {
                s.found[i] += 1;
            }
            if cat == Category::Pci {
                for (k, ch) in chars.iter().enumerate().take(ge).skip(gs) {
                    if !ch.is_whitespace() {
                        s.pci_chars += 1;
                        if !pred.iter().any(|p| p.start <= k && k < p.end) {
                            s.pci_leaked += 1;
                        }
                    }
                }
            }
        }
        for p in &pred {
            s.pred += 1;
            if gold.iter().any(|&(gs, ge, _)| p.start < ge && gs < p.end) {
                s.true_pred += 1;
            }
        }
        if gold.is_empty() {
            s.negatives += 1;
            if !pred.is_empty() {
                s.negatives_with_fp += 1;
            }
        }
    }
    s
}

fn recall(s: &Score, i: usize) -> f64 {
    if s.gold[i] == 0 {
        1.0
    } else {
        f64::from(s.found[i]) / f64::from(s.gold[i])
    }
}

fn check(name: &str, s: &Score, min_recall: [f64; 3], min_precision: f64, max_fp_lines: f64) {
    eprintln!("{name}: {s:?}");
    for (i, cat) in ["pci", "personal", "special"].iter().enumerate() {
        assert!(
            recall(s, i) >= min_recall[i],
            "{name}: {cat} recall {:.3} < {}",
            recall(s, i),
            min_recall[i]
        );
    }
    assert_eq!(
        s.pci_leaked, 0,
        "{name}: {} of {} card-data characters left in clear",
        s.pci_leaked, s.pci_chars
    );
    let precision = if s.pred == 0 {
        1.0
    } else {
        f64::from(s.true_pred) / f64::from(s.pred)
    };
    assert!(
        precision >= min_precision,
        "{name}: precision {precision:.3} < {min_precision}"
    );
    let fp = if s.negatives == 0 {
        0.0
    } else {
        f64::from(s.negatives_with_fp) / f64::from(s.negatives)
    };
    assert!(
        fp <= max_fp_lines,
        "{name}: false positives on {:.1} % of hard negatives",
        fp * 100.0
    );
}

#[test]
fn held_out_set_meets_the_bars() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/heldout.jsonl");
    // Card data is never missed; the rest with a margin below today's 0.984, to allow new
    // phrasing to be weighed against old without flapping.
    check("heldout", &score(&path), [1.0, 0.95, 0.85], 0.95, 0.02);
}

#[test]
fn development_corpus_meets_the_issue_bars() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eval/dev.jsonl");
    if !path.exists() {
        eprintln!(
            "skipped: {} not present (it sits beside the checkout in CI)",
            path.display()
        );
        return;
    }
    // The detector issue's bars: pci recall 1.00 with zero leak; personal kinds ≥ 0.90 (the
    // identifier kinds ≥ 0.98 are covered by the property tests); special ≥ 0.90; precision ≥ 0.95;
    // false positives on ≤ 2 % of hard-negative lines.
    check("dev", &score(&path), [1.0, 0.98, 0.90], 0.95, 0.02);
}
