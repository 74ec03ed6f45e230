//! The transcript that comes with a recorded call, and what ingest makes of it: segments whose
//! payment-card and special-category spans are replaced by placeholders, word timings scrubbed
//! the same way, and the audio intervals that must be silenced.
//!
//! Input format (`sotto ingest --transcript FILE.json`):
//! `{"segments":[{"speaker":"caller|agent|bot","start_ms":N,"end_ms":N,"text":"…",
//!   "words":[{"w":"…","start_ms":N,"end_ms":N}]}]}` — `words`, `kind`, `lang` optional; a
//! top-level `lang` applies to every segment that has none.

use crate::error::{Result, VaultError};
use serde::{Deserialize, Serialize};
use sotto_core::{Category, Kind, Lang, Personal, SegmentKind, Speaker};
use sotto_detect::policy::{self, Action, Policy};
use sotto_detect::{Detector, Span};
use std::collections::BTreeMap;

/// Largest transcript accepted in one interaction (characters over all segments).
pub const MAX_TRANSCRIPT_CHARS: usize = 8 * 1024 * 1024;
const MAX_SEGMENTS: usize = 100_000;

// Input types hold personal data; they deliberately implement neither Debug nor Serialize.
#[derive(Deserialize)]
pub struct TranscriptInput {
    #[serde(default)]
    pub lang: Option<String>,
    pub segments: Vec<SegmentInput>,
}

#[derive(Deserialize)]
pub struct SegmentInput {
    pub speaker: Speaker,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    #[serde(default)]
    pub words: Option<Vec<WordInput>>,
    #[serde(default)]
    pub kind: Option<SegmentKind>,
    #[serde(default)]
    pub lang: Option<String>,
}

#[derive(Deserialize, Serialize, Clone)]
pub struct WordInput {
    pub w: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl TranscriptInput {
    /// Parses and validates a transcript file. Errors name the problem, never the text.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let t: TranscriptInput = serde_json::from_slice(bytes).map_err(|e| {
            // serde's message may quote input; keep only its position.
            VaultError::invalid(
                "transcript",
                format!("not valid transcript JSON (line {}, column {}): expected {{\"segments\":[{{\"speaker\",\"start_ms\",\"end_ms\",\"text\",\"words\"?}}]}}", e.line(), e.column()),
            )
        })?;
        t.validate()?;
        Ok(t)
    }

    fn validate(&self) -> Result<()> {
        if self.segments.len() > MAX_SEGMENTS {
            return Err(VaultError::invalid(
                "transcript",
                format!("more than {MAX_SEGMENTS} segments"),
            ));
        }
        if let Some(l) = &self.lang {
            l.parse::<Lang>()
                .map_err(|e| VaultError::invalid("transcript lang", e.to_string()))?;
        }
        let mut total = 0usize;
        for (i, s) in self.segments.iter().enumerate() {
            let n = i + 1;
            if s.start_ms < 0 || s.end_ms < s.start_ms {
                return Err(VaultError::invalid(
                    "transcript",
                    format!("segment {n}: start_ms/end_ms must satisfy 0 <= start_ms <= end_ms"),
                ));
            }
            if let Some(l) = &s.lang {
                l.parse::<Lang>()
                    .map_err(|e| VaultError::invalid("transcript", format!("segment {n}: {e}")))?;
            }
            for (j, w) in s.words.iter().flatten().enumerate() {
                if w.start_ms < 0 || w.end_ms < w.start_ms {
                    return Err(VaultError::invalid(
                        "transcript",
                        format!("segment {n}, word {}: bad timing", j + 1),
                    ));
                }
            }
            total += s.text.len();
        }
        if total > MAX_TRANSCRIPT_CHARS {
            return Err(VaultError::invalid(
                "transcript",
                "larger than 8 MiB of text",
            ));
        }
        Ok(())
    }
}

/// A segment after detection and redaction, ready to be sealed.
pub struct ProcessedSegment {
    pub speaker: Speaker,
    pub kind: SegmentKind,
    pub lang: Option<Lang>,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Text with pci and special spans replaced by `[KIND]` placeholders; personal spans kept
    /// (they are sealed under the subject key).
    pub text: Personal,
    /// Word timings as JSON, words inside removed spans replaced by the placeholder.
    pub words_json: Option<Personal>,
    /// Spans found in the *original* text (code-point offsets), for statistics and the vault's
    /// own bookkeeping. Offsets only — no content.
    pub spans: Vec<Span>,
}

/// The result of processing a whole transcript.
pub struct ProcessedTranscript {
    pub segments: Vec<ProcessedSegment>,
    /// Audio intervals (ms) to silence: every removed span's words.
    pub silence_ms: Vec<(u64, u64)>,
    /// The subset of `silence_ms` that is payment-card data (number, CVC, expiry): the
    /// automatic PCI pauses a live call records on its timeline.
    pub pci_ms: Vec<(u64, u64)>,
    pub counts: BTreeMap<Kind, u32>,
}

/// The storage policy: card data and special categories are removed before anything is stored
/// (BRIEF guarantee 1), whatever else a tenant's policy says; personal data is kept, sealed under
/// the subject's key. A kind a policy does not keep is treated as removed (fail closed).
pub fn storage_policy(tenant_policy: Option<&Policy>) -> Policy {
    let mut p = tenant_policy.cloned().unwrap_or_default();
    for k in Kind::ALL {
        if k.category() != Category::Personal && p.action(*k) == Action::Keep {
            p.set(*k, Action::Redact);
        }
    }
    p
}

/// Runs the detector over every segment and removes what the policy does not keep.
pub fn process(
    detector: &Detector,
    policy: &Policy,
    input: TranscriptInput,
    default_lang: Option<Lang>,
) -> ProcessedTranscript {
    let top_lang = input
        .lang
        .as_deref()
        .and_then(|l| l.parse().ok())
        .or(default_lang);
    let mut out = ProcessedTranscript {
        segments: Vec::new(),
        silence_ms: Vec::new(),
        pci_ms: Vec::new(),
        counts: BTreeMap::new(),
    };
    for seg in input.segments {
        let lang = seg
            .lang
            .as_deref()
            .and_then(|l| l.parse().ok())
            .or(top_lang);
        let spans = detector.detect(&seg.text, lang);
        for s in &spans {
            *out.counts.entry(s.kind).or_insert(0) += 1;
        }
        let removed: Vec<&Span> = spans
            .iter()
            .filter(|s| policy.action(s.kind) != Action::Keep)
            .collect();
        let applied = policy::apply(&seg.text, &spans, policy, None);
        let word_pos = seg.words.as_deref().map(|w| align_words(&seg.text, w));

        // Audio intervals of removed spans. Without word timings, or when a span's words cannot
        // be located, the whole segment is silenced: when in doubt, redact.
        for s in &removed {
            let interval = match (&seg.words, &word_pos) {
                (Some(words), Some(pos)) => span_interval(words, pos, s.start, s.end),
                _ => None,
            };
            let (a, b) =
                if applied.dropped { None } else { interval }.unwrap_or((seg.start_ms, seg.end_ms));
            out.silence_ms.push((a.max(0) as u64, b.max(0) as u64));
            if s.kind.category() == Category::Pci {
                out.pci_ms.push((a.max(0) as u64, b.max(0) as u64));
            }
        }

        let text = applied.text;
        let words_json = match (seg.words, &word_pos) {
            _ if applied.dropped => None,
            (Some(mut words), Some(pos)) => {
                for (w, p) in words.iter_mut().zip(pos.iter()) {
                    // Words that could not be located are scrubbed if any span was removed:
                    // their content is unknown to the aligner.
                    let hit = match p {
                        Some((a, b)) => removed.iter().find(|s| s.start < *b && *a < s.end),
                        None => removed.first(),
                    };
                    if let Some(s) = hit {
                        w.w = s.kind.placeholder();
                    }
                }
                serde_json::to_string(&words).ok().map(Personal::new)
            }
            _ => None,
        };
        let kind = seg.kind.unwrap_or_else(|| derive_kind(seg.speaker, &spans));
        out.segments.push(ProcessedSegment {
            speaker: seg.speaker,
            kind,
            lang,
            start_ms: seg.start_ms,
            end_ms: seg.end_ms,
            text: Personal::new(text),
            words_json,
            spans,
        });
    }
    out
}

/// The seeds' four kinds when the source did not say: inbound speech is personal when it holds
/// personal data, else general; outbound answers are dynamic when they hold personal data, else
/// static.
fn derive_kind(speaker: Speaker, spans: &[Span]) -> SegmentKind {
    let personal = !spans.is_empty();
    match (speaker, personal) {
        (Speaker::Caller, true) => SegmentKind::Personal,
        (Speaker::Caller, false) => SegmentKind::General,
        (_, true) => SegmentKind::Dynamic,
        (_, false) => SegmentKind::Static,
    }
}

/// Locates each word in the text (code-point ranges), in order, case-insensitively.
/// `None` for a word that could not be found near the expected position.
fn align_words(text: &str, words: &[WordInput]) -> Vec<Option<(usize, usize)>> {
    let hay: Vec<char> = text.chars().map(fold).collect();
    let mut cursor = 0usize;
    words
        .iter()
        .map(|w| {
            let needle: Vec<char> = w.w.trim().chars().map(fold).collect();
            if needle.is_empty() {
                return None;
            }
            let window_end = hay.len().min(cursor + 200 + needle.len());
            let found = (cursor..window_end.saturating_sub(needle.len() - 1).max(cursor))
                .find(|&i| i + needle.len() <= hay.len() && hay[i..i + needle.len()] == needle[..]);
            found.map(|i| {
                cursor = i + needle.len();
                (i, i + needle.len())
            })
        })
        .collect()
}

fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// The audio interval covered by the words overlapping a code-point span.
fn span_interval(
    words: &[WordInput],
    pos: &[Option<(usize, usize)>],
    start: usize,
    end: usize,
) -> Option<(i64, i64)> {
    let mut a: Option<i64> = None;
    let mut b: Option<i64> = None;
    // Code points of the span covered by located words.
    let mut covered = 0usize;
    for (w, p) in words.iter().zip(pos) {
        if let Some((ws, we)) = p {
            if *ws < end && start < *we {
                a = Some(a.map_or(w.start_ms, |x| x.min(w.start_ms)));
                b = Some(b.map_or(w.end_ms, |x| x.max(w.end_ms)));
                covered += (*we).min(end) - (*ws).max(start);
            }
        }
    }
    // A span only partly covered by located words is not trusted: fall back to the segment.
    if covered * 2 < end - start {
        return None;
    }
    Some((a?, b?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_policy_cannot_keep_card_or_special_data() {
        let lax = Policy::uniform(Action::Keep);
        let p = storage_policy(Some(&lax));
        assert_eq!(p.action(Kind::PaymentCard), Action::Redact);
        assert_eq!(p.action(Kind::Health), Action::Redact);
        assert_eq!(p.action(Kind::PersonName), Action::Keep);
        let strict = Policy::uniform(Action::Keep).with(Kind::Email, Action::Pseudonymise);
        assert_eq!(
            storage_policy(Some(&strict)).action(Kind::Email),
            Action::Pseudonymise
        );
    }

    #[test]
    fn process_removes_cards_from_text_and_words_and_marks_audio() {
        let det = Detector::new();
        let input = TranscriptInput::from_json(
            br#"{"segments":[
              {"speaker":"caller","start_ms":0,"end_ms":4000,"text":"my card number is 4111 1111 1111 1111",
               "words":[{"w":"my","start_ms":0,"end_ms":200},{"w":"card","start_ms":200,"end_ms":500},
                        {"w":"number","start_ms":500,"end_ms":800},{"w":"is","start_ms":800,"end_ms":900},
                        {"w":"4111","start_ms":1000,"end_ms":1500},{"w":"1111","start_ms":1500,"end_ms":2000},
                        {"w":"1111","start_ms":2000,"end_ms":2500},{"w":"1111","start_ms":2500,"end_ms":3000}]},
              {"speaker":"agent","start_ms":4000,"end_ms":5000,"text":"thank you"}]}"#,
        )
        .unwrap();
        let out = process(&det, &storage_policy(None), input, Some(Lang::En));
        assert_eq!(out.segments.len(), 2);
        let s0 = &out.segments[0];
        assert!(!s0.text.expose().contains("1111"), "card left in text");
        assert!(s0.text.expose().contains("[PAYMENT_CARD]"));
        let words = s0.words_json.as_ref().unwrap().expose();
        assert!(
            !words.contains("1111") && !words.contains("4111"),
            "card left in word timings"
        );
        assert_eq!(out.silence_ms, vec![(1000, 3000)]);
        assert_eq!(out.counts.get(&Kind::PaymentCard), Some(&1));
        assert_eq!(s0.kind, SegmentKind::Personal);
        assert_eq!(out.segments[1].kind, SegmentKind::Static);
    }

    #[test]
    fn without_word_timings_the_whole_segment_is_silenced() {
        let det = Detector::new();
        let input = TranscriptInput::from_json(
            br#"{"segments":[{"speaker":"caller","start_ms":2000,"end_ms":6000,"text":"my card number is 4111 1111 1111 1111"}]}"#,
        )
        .unwrap();
        let out = process(&det, &storage_policy(None), input, Some(Lang::En));
        assert_eq!(out.silence_ms, vec![(2000, 6000)]);
    }

    #[test]
    fn malformed_transcripts_are_refused_without_echo() {
        for bad in [
            &br#"{"segments":[{"speaker":"robot","start_ms":0,"end_ms":1,"text":"SECRET"}]}"#[..],
            br#"{"segments":[{"speaker":"caller","start_ms":5,"end_ms":1,"text":"SECRET"}]}"#,
            br#"{"segments":"SECRET"}"#,
            b"not json SECRET",
        ] {
            let e = TranscriptInput::from_json(bad).err().unwrap().to_string();
            assert!(!e.contains("SECRET"), "{e}");
        }
    }

    #[test]
    fn aligns_words_and_finds_intervals() {
        let text = "mit kort er 4111 1111";
        let words: Vec<WordInput> = [
            ("mit", 0, 100),
            ("kort", 100, 300),
            ("er", 300, 400),
            ("4111", 400, 900),
            ("1111", 900, 1500),
        ]
        .iter()
        .map(|(w, a, b)| WordInput {
            w: (*w).into(),
            start_ms: *a,
            end_ms: *b,
        })
        .collect();
        let pos = align_words(text, &words);
        assert_eq!(pos[3], Some((12, 16)));
        assert_eq!(span_interval(&words, &pos, 12, 21), Some((400, 1500)));
        // A span not covered by words falls back (None).
        assert_eq!(span_interval(&words, &pos, 3, 4), None);
    }
}
