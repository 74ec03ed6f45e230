//! An energy voice-activity detector that cuts a leg's audio into utterances for batch engines.
//!
//! 20 ms frames; a frame is voiced when its RMS is above `threshold_dbfs`. An utterance starts at
//! the first voiced frame (minus `pre_roll_ms`), and ends after `hangover_ms` of unvoiced audio or
//! at `max_utterance_ms` (a caller who never pauses is still transcribed in pieces).

/// VAD parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadConfig {
    pub threshold_dbfs: f64,
    pub hangover_ms: u64,
    pub pre_roll_ms: u64,
    pub max_utterance_ms: u64,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            threshold_dbfs: -45.0,
            hangover_ms: 600,
            pre_roll_ms: 200,
            max_utterance_ms: 12_000,
        }
    }
}

/// A finished utterance: samples and where they start.
#[derive(Clone, PartialEq)]
pub struct Utterance {
    pub start_ms: u64,
    pub samples: Vec<i16>,
}

impl std::fmt::Debug for Utterance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Utterance")
            .field("start_ms", &self.start_ms)
            .field("samples", &self.samples.len())
            .finish()
    }
}

/// The detector's state for one leg.
#[derive(Debug)]
pub struct EnergyVad {
    cfg: VadConfig,
    rate: u32,
    frame: usize,
    /// samples not yet forming a whole frame, and the time of the first one
    pending: Vec<i16>,
    pending_ms: u64,
    /// recent unvoiced audio kept as pre-roll
    pre: std::collections::VecDeque<i16>,
    current: Option<Utterance>,
    silent_ms: u64,
    /// the end of all audio pushed so far
    end_ms: u64,
}

impl EnergyVad {
    pub fn new(cfg: VadConfig, sample_rate: u32) -> Self {
        let rate = sample_rate.max(1);
        Self {
            cfg,
            rate,
            frame: (rate / 50).max(1) as usize,
            pending: Vec::new(),
            pending_ms: 0,
            pre: std::collections::VecDeque::new(),
            current: None,
            silent_ms: 0,
            end_ms: 0,
        }
    }

    fn ms(&self, samples: usize) -> u64 {
        samples as u64 * 1000 / u64::from(self.rate)
    }

    /// Start of the open utterance, if one is open (audio from there on is not yet handed out).
    pub fn open_since_ms(&self) -> Option<u64> {
        self.current.as_ref().map(|u| u.start_ms)
    }

    /// Audio time up to which every sample has been pushed.
    pub fn end_ms(&self) -> u64 {
        self.end_ms
    }

    /// Pushes samples starting at `at_ms`; returns utterances that ended.
    pub fn push(&mut self, at_ms: u64, samples: &[i16], out: &mut Vec<Utterance>) {
        if self.pending.is_empty() {
            self.pending_ms = at_ms;
        }
        self.pending.extend_from_slice(samples);
        let frame = self.frame;
        let mut off = 0;
        while self.pending.len() - off >= frame {
            let t = self.pending_ms + self.ms(off);
            let chunk: Vec<i16> = self.pending[off..off + frame].to_vec();
            self.frame_in(t, &chunk, out);
            off += frame;
        }
        self.pending.drain(..off);
        self.pending_ms += self.ms(off);
        self.end_ms = self.end_ms.max(at_ms + self.ms(samples.len()));
    }

    fn frame_in(&mut self, t: u64, chunk: &[i16], out: &mut Vec<Utterance>) {
        let energy: f64 = chunk
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum::<f64>()
            / chunk.len().max(1) as f64;
        let dbfs = if energy <= 0.0 {
            -120.0
        } else {
            10.0 * (energy / (32768.0 * 32768.0)).log10()
        };
        let voiced = dbfs > self.cfg.threshold_dbfs;
        let frame_ms = self.ms(chunk.len());
        match &mut self.current {
            Some(u) => {
                u.samples.extend_from_slice(chunk);
                self.silent_ms = if voiced { 0 } else { self.silent_ms + frame_ms };
                let len_ms = u.samples.len() as u64 * 1000 / u64::from(self.rate);
                if self.silent_ms >= self.cfg.hangover_ms || len_ms >= self.cfg.max_utterance_ms {
                    if let Some(u) = self.current.take() {
                        out.push(u);
                    }
                    self.silent_ms = 0;
                }
            }
            None if voiced => {
                let pre: Vec<i16> = self.pre.drain(..).collect();
                let start = t.saturating_sub(self.ms(pre.len()));
                let mut samples = pre;
                samples.extend_from_slice(chunk);
                self.current = Some(Utterance {
                    start_ms: start,
                    samples,
                });
                self.silent_ms = 0;
            }
            None => {
                self.pre.extend(chunk.iter().copied());
                let keep = (u64::from(self.rate) * self.cfg.pre_roll_ms / 1000) as usize;
                while self.pre.len() > keep {
                    self.pre.pop_front();
                }
            }
        }
    }

    /// End of audio: the open utterance (if any) ends.
    pub fn flush(&mut self, out: &mut Vec<Utterance>) {
        if !self.pending.is_empty() {
            let mut u = self.current.take().unwrap_or(Utterance {
                start_ms: self.pending_ms,
                samples: Vec::new(),
            });
            u.samples.append(&mut self.pending);
            self.current = Some(u);
        }
        if let Some(u) = self.current.take() {
            out.push(u);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tone(ms: u64) -> Vec<i16> {
        (0..ms * 8)
            .map(|i| ((i as f64 * 0.3).sin() * 8000.0) as i16)
            .collect()
    }

    #[test]
    fn cuts_utterances_at_pauses() {
        let mut v = EnergyVad::new(VadConfig::default(), 8000);
        let mut out = Vec::new();
        let mut audio = vec![0i16; 8 * 1000];
        audio.extend(tone(2000));
        audio.extend(vec![0i16; 8 * 1000]);
        audio.extend(tone(1000));
        for (i, c) in audio.chunks(160).enumerate() {
            v.push(i as u64 * 20, c, &mut out);
        }
        v.flush(&mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].start_ms, 800);
        assert!(out[1].start_ms >= 3800 && out[1].start_ms <= 4000);
    }

    proptest! {
        #[test]
        fn never_loses_voiced_audio(chunks in proptest::collection::vec((any::<bool>(), 1usize..400), 1..60)) {
            let mut v = EnergyVad::new(VadConfig::default(), 8000);
            let mut out = Vec::new();
            let mut t = 0u64;
            let mut voiced_total = 0usize;
            for (voiced, n) in chunks {
                let s: Vec<i16> = if voiced { (0..n).map(|i| if i % 2 == 0 { 9000 } else { -9000 }).collect() } else { vec![0; n] };
                if voiced { voiced_total += n; }
                v.push(t, &s, &mut out);
                t += n as u64 / 8;
            }
            v.flush(&mut out);
            let kept: usize = out.iter().map(|u| u.samples.len()).sum();
            prop_assert!(kept + 160 >= voiced_total.saturating_sub(160));
        }
    }
}
