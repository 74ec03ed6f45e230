//! Streaming detection over timed ASR words.
//!
//! Speech recognition emits words one by one; a card number is spoken over many seconds and no
//! single word holds it. [`StreamingDetector`] keeps a bounded lookahead window of the latest
//! words (at most [`StreamConfig::max_words`] words / [`StreamConfig::max_ms`] of audio), runs the
//! detector over the window at each push, and emits a span — with its audio interval — once it
//! can no longer grow: [`StreamConfig::settle_words`] more words, or
//! [`StreamConfig::settle_ms`] of audio, have arrived after its last word without extending it.
//! [`StreamingDetector::flush`] emits the rest at the end of the call. A span that is still open
//! when its first word would leave the window is emitted as it stands (the audio pipeline must
//! hold audio at least as long as the window: "when in doubt, redact").

use crate::Detector;
use sotto_core::{Kind, Lang};
use std::collections::VecDeque;
use std::sync::Arc;

/// A finalized span with its audio interval.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpan {
    pub kind: Kind,
    pub score: f32,
    pub start_ms: u64,
    pub end_ms: u64,
    /// Index of the first and one past the last word of the span (counting every pushed word
    /// from 0).
    pub first_word: u64,
    pub end_word: u64,
}

/// Window and settling parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    pub max_words: usize,
    pub max_ms: u64,
    pub settle_words: usize,
    pub settle_ms: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            max_words: 80,
            max_ms: 30_000,
            settle_words: 4,
            settle_ms: 4_000,
        }
    }
}

#[derive(Debug, Clone)]
struct Word {
    text: String,
    start_ms: u64,
    end_ms: u64,
}

/// Detection over a stream of timed words (one per call leg).
pub struct StreamingDetector {
    det: Arc<Detector>,
    lang: Option<Lang>,
    cfg: StreamConfig,
    words: VecDeque<Word>,
    /// index (in the whole stream) of `words[0]`
    base: u64,
    /// spans already emitted end at or before this word index: nothing before it is re-emitted
    emitted_to: u64,
    buf: String,
    ranges: Vec<(usize, usize)>,
}

impl std::fmt::Debug for StreamingDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingDetector")
            .field("words", &self.words.len())
            .field("base", &self.base)
            .finish()
    }
}

impl StreamingDetector {
    pub fn new(det: Arc<Detector>, lang: Option<Lang>) -> Self {
        Self::with_config(det, lang, StreamConfig::default())
    }

    pub fn with_config(det: Arc<Detector>, lang: Option<Lang>, cfg: StreamConfig) -> Self {
        let cfg = StreamConfig {
            max_words: cfg.max_words.max(cfg.settle_words + 2).max(8),
            ..cfg
        };
        Self {
            det,
            lang,
            cfg,
            words: VecDeque::new(),
            base: 0,
            emitted_to: 0,
            buf: String::new(),
            ranges: Vec::new(),
        }
    }

    /// Adds one recognised word; returns the spans that became final.
    pub fn push(&mut self, word: &str, start_ms: u64, end_ms: u64) -> Vec<StreamSpan> {
        let word = word.trim();
        if word.is_empty() {
            return Vec::new();
        }
        self.words.push_back(Word {
            text: word.to_string(),
            start_ms,
            end_ms: end_ms.max(start_ms),
        });
        let mut out = self.scan(false);
        // keep the window bounded: words that leave it take their open spans with them
        let newest = self.words.back().map_or(0, |w| w.end_ms);
        while self.words.len() > self.cfg.max_words
            || self.words.front().is_some_and(|w| {
                newest.saturating_sub(w.end_ms) > self.cfg.max_ms
                    && self.words.len() > self.cfg.settle_words
            })
        {
            // emit anything touching the word about to leave
            let first = self.base;
            for s in self.scan(true) {
                if s.first_word <= first && !out.contains(&s) {
                    out.push(s);
                }
            }
            self.words.pop_front();
            self.base += 1;
            if self.emitted_to < self.base {
                self.emitted_to = self.base;
            }
        }
        out
    }

    /// End of the stream: every remaining span is final.
    pub fn flush(&mut self) -> Vec<StreamSpan> {
        let out = self.scan(true);
        self.base += self.words.len() as u64;
        self.words.clear();
        self.emitted_to = self.base;
        out
    }

    /// Runs the detector over the window; returns the spans that are final (all when `all`) and
    /// not yet emitted, and remembers them as emitted.
    fn scan(&mut self, all: bool) -> Vec<StreamSpan> {
        self.buf.clear();
        self.ranges.clear();
        for w in &self.words {
            if !self.buf.is_empty() {
                self.buf.push(' ');
            }
            let s = self.buf.len();
            self.buf.push_str(&w.text);
            self.ranges.push((s, self.buf.len()));
        }
        let n = self.words.len();
        if n == 0 {
            return Vec::new();
        }
        let cands = self.det.detect_bytes(&self.buf, self.lang);
        let newest_ms = self.words.back().map_or(0, |w| w.end_ms);
        let mut out = Vec::new();
        let mut max_end = self.emitted_to;
        for c in cands {
            let first = self.ranges.iter().position(|&(_, e)| e > c.start);
            let last = self.ranges.iter().rposition(|&(s, _)| s < c.end);
            let (Some(fi), Some(li)) = (first, last) else {
                continue;
            };
            let first_word = self.base + fi as u64;
            let end_word = self.base + li as u64 + 1;
            if first_word < self.emitted_to {
                continue;
            }
            let (Some(fw), Some(lw)) = (self.words.get(fi), self.words.get(li)) else {
                continue;
            };
            let after = n - 1 - li;
            let settled = after >= self.cfg.settle_words
                || newest_ms.saturating_sub(lw.end_ms) >= self.cfg.settle_ms && after > 0;
            if !(all || settled) {
                // an open span holds everything after it back (spans come out in order)
                break;
            }
            out.push(StreamSpan {
                kind: c.kind,
                score: c.score,
                start_ms: fw.start_ms,
                end_ms: lw.end_ms,
                first_word,
                end_word,
            });
            max_end = max_end.max(end_word);
        }
        self.emitted_to = max_end;
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn feed(sd: &mut StreamingDetector, words: &[(&str, u64)]) -> Vec<StreamSpan> {
        let mut out = Vec::new();
        for (w, t) in words {
            out.extend(sd.push(w, *t, *t + 300));
        }
        out.extend(sd.flush());
        out
    }

    #[test]
    fn card_over_eight_seconds_in_four_groups() {
        let det = Arc::new(Detector::new());
        let mut sd = StreamingDetector::new(det, Some(Lang::En));
        let mut words: Vec<(&str, u64)> =
            vec![("my", 0), ("card", 300), ("number", 600), ("is", 900)];
        let digits = [
            "four", "five", "seven", "one", "one", "seven", "zero", "four", "nine", "six", "three",
            "five", "five", "nine", "seven", "seven",
        ];
        let mut t = 1_200;
        for (i, d) in digits.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                t += 2_000; // a pause between groups
            }
            words.push((d, t));
            t += 400;
        }
        let first_digit_ms = 1_200;
        let last_digit_ms = t - 400;
        words.extend([
            ("and", t + 500),
            ("it", t + 800),
            ("expires", t + 1100),
            ("soon", t + 1400),
            ("thanks", t + 1700),
        ]);
        let spans = feed(&mut sd, &words);
        let cards: Vec<&StreamSpan> = spans
            .iter()
            .filter(|s| s.kind == Kind::PaymentCard)
            .collect();
        assert_eq!(cards.len(), 1, "{spans:?}");
        assert_eq!(cards[0].start_ms, first_digit_ms);
        assert_eq!(cards[0].end_ms, last_digit_ms + 300);
        assert_eq!((cards[0].first_word, cards[0].end_word), (4, 20));
    }

    #[test]
    fn spans_are_emitted_once_and_settle_before_the_end() {
        let det = Arc::new(Detector::new());
        let mut sd = StreamingDetector::new(det, Some(Lang::Da));
        let mut got = Vec::new();
        let text = "mit cpr-nummer er 070761-4285 og så vil jeg gerne høre om min regning tak";
        for (i, w) in text.split(' ').enumerate() {
            got.extend(sd.push(w, i as u64 * 400, i as u64 * 400 + 300));
        }
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].kind, Kind::NationalId);
        assert!(sd.flush().is_empty());
    }

    #[test]
    fn window_stays_bounded() {
        let det = Arc::new(Detector::new());
        let mut sd = StreamingDetector::new(det, None);
        for i in 0..2_000u64 {
            let _ = sd.push("hello", i * 100, i * 100 + 80);
        }
        assert!(sd.words.len() <= StreamConfig::default().max_words);
    }
}
