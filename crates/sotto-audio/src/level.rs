//! Levels and redaction over time intervals.

use crate::Pcm16;

/// What [`rms_dbfs`] returns for digital silence (and for an empty interval): a finite floor
/// instead of −∞, so the value survives JSON and comparisons.
pub const SILENCE_FLOOR_DBFS: f64 = -120.0;

/// The sample-index range `[start, end)` (interleaved) covering `[start_ms, end_ms]` widened by
/// `padding_ms` on both sides: start rounded down, end rounded up, clamped to the signal.
fn padded_frames(pcm: &Pcm16, start_ms: u64, end_ms: u64, padding_ms: u64) -> (usize, usize) {
    let s = pcm.frame_at_ms_rounded(start_ms.saturating_sub(padding_ms), false);
    let e = pcm.frame_at_ms_rounded(end_ms.saturating_add(padding_ms), true);
    (s, e.max(s))
}

/// Merged, sorted frame ranges for the intervals (empty and reversed intervals are ignored).
fn merged_ranges(pcm: &Pcm16, intervals_ms: &[(u64, u64)], padding_ms: u64) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = intervals_ms
        .iter()
        .filter(|(s, e)| e > s)
        .map(|&(s, e)| padded_frames(pcm, s, e, padding_ms))
        .filter(|(s, e)| e > s)
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Replaces every interval `(start_ms, end_ms)`, widened by `padding_ms` on both sides, with true
/// digital silence (all channels set to 0). Intervals are clamped to the signal; empty or
/// reversed intervals are ignored; overlaps are counted once. Returns the number of samples
/// (interleaved values, i.e. frames × channels) inside the silenced ranges.
///
/// Samples outside the widened intervals are left bit-identical.
pub fn silence_intervals(pcm: &mut Pcm16, intervals_ms: &[(u64, u64)], padding_ms: u64) -> u64 {
    let ch = usize::from(pcm.channels);
    let mut count = 0u64;
    for (s, e) in merged_ranges(pcm, intervals_ms, padding_ms) {
        let span = &mut pcm.samples[s * ch..e * ch];
        span.fill(0);
        count += span.len() as u64;
    }
    count
}

/// Like [`silence_intervals`] but writes a sine tone ("bleep") of `freq_hz` at `level_dbfs`
/// (e.g. 1000 Hz at −20 dBFS) over the widened intervals, so a listener hears that something was
/// removed. Returns the number of samples overwritten.
pub fn tone_intervals(
    pcm: &mut Pcm16,
    intervals_ms: &[(u64, u64)],
    padding_ms: u64,
    freq_hz: f64,
    level_dbfs: f64,
) -> u64 {
    let ch = usize::from(pcm.channels);
    let rate = f64::from(pcm.sample_rate.max(1));
    let amp = 32767.0 * 10f64.powf(level_dbfs.min(0.0) / 20.0);
    let w = 2.0 * std::f64::consts::PI * freq_hz / rate;
    let mut count = 0u64;
    for (s, e) in merged_ranges(pcm, intervals_ms, padding_ms) {
        for (i, frame) in pcm.samples[s * ch..e * ch].chunks_exact_mut(ch).enumerate() {
            let v = (amp * (w * i as f64).sin())
                .round()
                .clamp(-32768.0, 32767.0) as i16;
            frame.fill(v);
        }
        count += ((e - s) * ch) as u64;
    }
    count
}

/// RMS level of `[start_ms, end_ms)` over all channels, in dBFS relative to a full-scale square
/// wave (a full-scale sine reads −3.01 dBFS). Digital silence, and an empty or out-of-range
/// interval, read [`SILENCE_FLOOR_DBFS`]; nothing reads lower.
pub fn rms_dbfs(pcm: &Pcm16, start_ms: u64, end_ms: u64) -> f64 {
    let ch = usize::from(pcm.channels);
    let s = pcm.frame_at_ms(start_ms);
    let e = pcm.frame_at_ms(end_ms).max(s);
    let span = &pcm.samples[s * ch..e * ch];
    if span.is_empty() {
        return SILENCE_FLOOR_DBFS;
    }
    let sum: f64 = span.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    let rms = (sum / span.len() as f64).sqrt();
    if rms <= 0.0 {
        return SILENCE_FLOOR_DBFS;
    }
    (20.0 * (rms / 32768.0).log10()).max(SILENCE_FLOOR_DBFS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(rate: u32, ch: u16, frames: usize) -> Pcm16 {
        let mut x: u32 = 12345;
        let samples = (0..frames * usize::from(ch))
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ((x >> 16) as i16) | 1
            })
            .collect();
        Pcm16::new(rate, ch, samples)
    }

    #[test]
    fn silences_exact_span_with_padding() {
        let mut p = noise(8000, 1, 8000);
        let orig = p.clone();
        let n = silence_intervals(&mut p, &[(100, 200)], 10);
        // 90 ms .. 210 ms at 8 kHz = frames 720 .. 1680
        assert_eq!(n, 960);
        assert!(p.samples[720..1680].iter().all(|&s| s == 0));
        assert_eq!(p.samples[..720], orig.samples[..720]);
        assert_eq!(p.samples[1680..], orig.samples[1680..]);
        assert_eq!(rms_dbfs(&p, 90, 210), SILENCE_FLOOR_DBFS);
        assert!(rms_dbfs(&p, 0, 90) > -20.0);
    }

    #[test]
    fn clamps_merges_and_ignores_empty() {
        let mut p = noise(8000, 2, 800); // 100 ms stereo
        let n = silence_intervals(&mut p, &[(50, 10_000), (40, 60), (30, 30), (90, 20)], 0);
        // 40 ms .. end = frames 320..800, two channels
        assert_eq!(n, 2 * 480);
        assert!(p.samples[640..].iter().all(|&s| s == 0));
        assert!(p.samples[638] != 0);
        let mut q = noise(8000, 1, 10);
        assert_eq!(
            silence_intervals(&mut q, &[(u64::MAX - 1, u64::MAX)], u64::MAX),
            10
        );
    }

    #[test]
    fn rms_of_known_signals() {
        let p = Pcm16::new(8000, 1, vec![i16::MIN; 800]);
        assert!(rms_dbfs(&p, 0, 100).abs() < 1e-9);
        let p = Pcm16::new(8000, 1, vec![3277; 800]);
        assert!((rms_dbfs(&p, 0, 100) + 20.0).abs() < 0.01);
        assert_eq!(rms_dbfs(&p, 200, 300), SILENCE_FLOOR_DBFS);
        assert_eq!(rms_dbfs(&Pcm16::default(), 0, 10), SILENCE_FLOOR_DBFS);
    }

    #[test]
    fn tone_has_requested_level() {
        let mut p = noise(8000, 1, 8000);
        let n = tone_intervals(&mut p, &[(0, 500)], 0, 1000.0, -20.0);
        assert_eq!(n, 4000);
        let l = rms_dbfs(&p, 0, 500);
        assert!((l - (-23.01)).abs() < 0.1, "{l}");
    }
}
