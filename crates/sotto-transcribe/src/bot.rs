//! The `bot` engine: a voicebot that already transcribes (the seeds' CleverCall) sends its own
//! words over the native protocol; this engine only queues them and keeps the watermark.

use crate::{EngineEvent, Supplied, Transcriber};

/// Transcripts supplied by the far end.
#[derive(Debug, Default)]
pub struct BotEngine {
    watermark: u64,
    queue: Vec<EngineEvent>,
    finished: bool,
}

impl BotEngine {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Transcriber for BotEngine {
    fn name(&self) -> &'static str {
        "bot"
    }
    fn push_audio(&mut self, _at_ms: u64, _samples: &[i16]) {}
    /// How far the bot has said it listened. Finishing does not move it: audio the bot never
    /// covered was never checked, and the pipeline silences it.
    fn watermark_ms(&self) -> u64 {
        self.watermark
    }
    fn poll(&mut self, out: &mut Vec<EngineEvent>) {
        out.append(&mut self.queue);
    }
    fn finish(&mut self) {
        self.finished = true;
    }
    fn is_done(&self) -> bool {
        self.finished && self.queue.is_empty()
    }
    fn supply(&mut self, ev: Supplied) {
        match ev {
            Supplied::Words {
                mut words,
                kind,
                until_ms,
            } => {
                words.retain(|w| w.end_ms >= w.start_ms);
                let last = words.iter().map(|w| w.end_ms).max().unwrap_or(0);
                self.watermark = self.watermark.max(until_ms.unwrap_or(last).max(last));
                if !words.is_empty() {
                    self.queue.push(EngineEvent::Final { words, kind });
                }
            }
            Supplied::Heard { until_ms } => self.watermark = self.watermark.max(until_ms),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::Word;
    use sotto_core::Personal;

    #[test]
    fn watermark_follows_supplied_words_and_never_goes_back() {
        let mut e = BotEngine::new();
        e.supply(Supplied::Words {
            words: vec![Word {
                text: Personal::new("hej"),
                start_ms: 100,
                end_ms: 400,
                confidence: 1.0,
            }],
            kind: None,
            until_ms: None,
        });
        assert_eq!(e.watermark_ms(), 400);
        e.supply(Supplied::Heard { until_ms: 200 });
        assert_eq!(e.watermark_ms(), 400);
        e.supply(Supplied::Heard { until_ms: 900 });
        assert_eq!(e.watermark_ms(), 900);
        let mut out = Vec::new();
        e.poll(&mut out);
        assert_eq!(out.len(), 1);
        assert!(!e.is_done());
        e.finish();
        assert!(e.is_done());
        assert_eq!(e.watermark_ms(), 900);
    }
}
