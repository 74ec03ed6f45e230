//! Sample-rate conversion and the input speech recognisers want.
//!
//! A Hann-windowed sinc interpolator (16 zero crossings each side of the output rate's Nyquist),
//! polyphase: one table of taps per distinct fractional position, so 8 kHz → 16 kHz uses two
//! phases and 44.1 kHz → 16 kHz 160. Good enough for speech recognition and playback; not a
//! mastering-grade converter.

use crate::pcm::{check_rate, Pcm16};
use crate::AudioError;

/// Zero crossings of the sinc on each side, at the lower of the two rates.
const ZERO_CROSSINGS: usize = 16;
/// Cut-off as a fraction of the lower rate's Nyquist frequency.
const ROLLOFF: f64 = 0.94;
/// Above this many phases the taps are computed per output sample instead of tabulated.
const MAX_TABLE_PHASES: usize = 4096;
/// The sample rate Whisper-family recognisers take.
pub const WHISPER_RATE: u32 = 16_000;

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

struct Kernel {
    from: u64,
    to: u64,
    g: u64,
    /// Taps either side of the centre, in input samples.
    half: usize,
    /// Cut-off in cycles per input sample.
    fc: f64,
    table: Option<Vec<f32>>,
}

impl Kernel {
    fn new(from: u32, to: u32) -> Self {
        let (from, to) = (u64::from(from), u64::from(to));
        let ratio = (to as f64 / from as f64).min(1.0);
        let half = (ZERO_CROSSINGS as f64 / ratio).ceil() as usize;
        let fc = 0.5 * ratio * ROLLOFF;
        let g = gcd(from, to);
        let phases = (to / g) as usize;
        let mut k = Kernel {
            from,
            to,
            g,
            half,
            fc,
            table: None,
        };
        if phases <= MAX_TABLE_PHASES {
            let mut t = Vec::with_capacity(phases * 2 * half);
            for p in 0..phases {
                let frac = (p as u64 * g) as f64 / to as f64;
                for j in 0..2 * half {
                    t.push(k.tap(frac, j) as f32);
                }
            }
            k.table = Some(t);
        }
        k
    }

    /// Weight of input sample `i0 - half + 1 + j` for an output at `i0 + frac`.
    fn tap(&self, frac: f64, j: usize) -> f64 {
        let d = frac - (j as f64 - self.half as f64 + 1.0);
        let h = self.half as f64;
        if d.abs() >= h {
            return 0.0;
        }
        let x = 2.0 * self.fc * d;
        let sinc = if x.abs() < 1e-12 {
            1.0
        } else {
            (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
        };
        let w = 0.5 * (1.0 + (std::f64::consts::PI * d / h).cos());
        2.0 * self.fc * sinc * w
    }

    fn run(&self, x: &[f32]) -> Vec<f32> {
        let n_out = usize::try_from(x.len() as u128 * u128::from(self.to) / u128::from(self.from))
            .unwrap_or(0);
        let mut out = Vec::with_capacity(n_out);
        let taps = 2 * self.half;
        for n in 0..n_out as u64 {
            let pos = u128::from(n) * u128::from(self.from);
            let i0 = (pos / u128::from(self.to)) as i64;
            let rem = (pos % u128::from(self.to)) as u64;
            let first = i0 - self.half as i64 + 1;
            let mut acc = 0.0f64;
            match &self.table {
                Some(t) => {
                    let p = (rem / self.g) as usize;
                    let row = &t[p * taps..(p + 1) * taps];
                    for (j, w) in row.iter().enumerate() {
                        let k = first + j as i64;
                        if k >= 0 && (k as usize) < x.len() {
                            acc += f64::from(x[k as usize]) * f64::from(*w);
                        }
                    }
                }
                None => {
                    let frac = rem as f64 / self.to as f64;
                    for j in 0..taps {
                        let k = first + j as i64;
                        if k >= 0 && (k as usize) < x.len() {
                            acc += f64::from(x[k as usize]) * self.tap(frac, j);
                        }
                    }
                }
            }
            out.push(acc as f32);
        }
        out
    }
}

/// Converts PCM to `to_rate` (8000..=48000 Hz), channel by channel. The output has
/// `frames × to_rate / from_rate` frames (rounded down). Same rate: a copy.
pub fn resample(pcm: &Pcm16, to_rate: u32) -> Result<Pcm16, AudioError> {
    pcm.validate()?;
    check_rate(to_rate)?;
    if to_rate == pcm.sample_rate {
        return Ok(pcm.clone());
    }
    let k = Kernel::new(pcm.sample_rate, to_rate);
    let ch = usize::from(pcm.channels);
    let outs: Vec<Vec<f32>> = (0..ch)
        .map(|c| {
            let x: Vec<f32> = pcm
                .samples
                .iter()
                .skip(c)
                .step_by(ch)
                .map(|&s| f32::from(s))
                .collect();
            k.run(&x)
        })
        .collect();
    let frames = outs.first().map_or(0, Vec::len);
    let mut samples = Vec::with_capacity(frames * ch);
    for f in 0..frames {
        for o in &outs {
            samples.push(o[f].round().clamp(-32768.0, 32767.0) as i16);
        }
    }
    Ok(Pcm16 {
        sample_rate: to_rate,
        channels: pcm.channels,
        samples,
    })
}

/// What Whisper-family recognisers take: mono (channels averaged), 16 kHz, `f32` in −1..1.
pub fn whisper_input(pcm: &Pcm16) -> Result<Vec<f32>, AudioError> {
    pcm.validate()?;
    let mono: Vec<f32> = pcm
        .to_mono()
        .samples
        .iter()
        .map(|&s| f32::from(s) / 32768.0)
        .collect();
    if pcm.sample_rate == WHISPER_RATE {
        return Ok(mono);
    }
    Ok(Kernel::new(pcm.sample_rate, WHISPER_RATE).run(&mono))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rms_dbfs;

    fn sine(rate: u32, hz: f64, secs: f64, amp: f64) -> Pcm16 {
        let n = (f64::from(rate) * secs) as usize;
        let s = (0..n)
            .map(|i| {
                (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin()) as i16
            })
            .collect();
        Pcm16::new(rate, 1, s)
    }

    #[test]
    fn upsample_keeps_a_tone() {
        let p = sine(8000, 1000.0, 1.0, 10_000.0);
        let q = resample(&p, 16_000).unwrap();
        assert_eq!(q.frames(), 16_000);
        let want = sine(16_000, 1000.0, 1.0, 10_000.0);
        // Compare away from the edges.
        let err: f64 = q.samples[200..15_800]
            .iter()
            .zip(&want.samples[200..15_800])
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
            .sum::<f64>()
            / 15_600.0;
        assert!(err.sqrt() < 30.0, "rms error {}", err.sqrt());
    }

    #[test]
    fn downsample_removes_what_cannot_be_represented() {
        // 6 kHz cannot exist at 8 kHz: it must be filtered out, not aliased to 2 kHz.
        let p = sine(44_100, 6000.0, 0.5, 10_000.0);
        let q = resample(&p, 8000).unwrap();
        assert_eq!(q.frames(), 4000);
        assert!(rms_dbfs(&q, 20, 480) < -60.0, "{}", rms_dbfs(&q, 20, 480));
        // 1 kHz passes at the same level.
        let p = sine(44_100, 1000.0, 0.5, 10_000.0);
        let q = resample(&p, 8000).unwrap();
        assert!((rms_dbfs(&q, 20, 480) - rms_dbfs(&p, 20, 480)).abs() < 0.2);
    }

    #[test]
    fn odd_ratios_and_stereo() {
        let mut p = sine(47_999, 500.0, 0.1, 8000.0);
        p.samples = p.samples.iter().flat_map(|&s| [s, -s]).collect();
        p.channels = 2;
        let q = resample(&p, 16_000).unwrap();
        assert_eq!(q.channels, 2);
        assert_eq!(q.frames(), p.frames() * 16_000 / 47_999);
        assert!(q
            .samples
            .chunks_exact(2)
            .all(|f| (i32::from(f[0]) + i32::from(f[1])).abs() <= 1));
    }

    #[test]
    fn whisper_input_is_16k_mono_unit_range() {
        let p = sine(8000, 440.0, 0.25, 32_000.0);
        let w = whisper_input(&p).unwrap();
        assert_eq!(w.len(), 4000);
        assert!(w.iter().all(|x| x.abs() <= 1.05));
        assert!(resample(&p, 7000).is_err());
    }
}
