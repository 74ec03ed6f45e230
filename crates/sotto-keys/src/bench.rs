//! A quick throughput measurement of the stream format, for `sotto bench vault`.

use crate::{ObjectContext, ObjectKey, ObjectPurpose};
use sotto_core::{ObjectId, SubjectId, TenantId};
use std::hint::black_box;
use std::time::Instant;

/// Encrypts and decrypts `bytes` bytes with the stream format (under a throwaway key, on one
/// thread) repeatedly for at least 64 MiB of work, and returns (encrypt MB/s, decrypt MB/s),
/// with MB = 10^6 bytes. Returns zeros if decryption fails, which would be a bug.
pub fn bench_stream_throughput(bytes: usize) -> (f64, f64) {
    throughput(bytes, 64 << 20)
}

fn throughput(bytes: usize, min_work: usize) -> (f64, f64) {
    let key = ObjectKey::ephemeral(ObjectContext::new(
        TenantId::default_tenant(),
        SubjectId::new(),
        ObjectId::new(),
        ObjectPurpose::Recording,
    ));
    let data: Vec<u8> = (0..bytes).map(|i| (i as u8).wrapping_mul(31)).collect();
    let iterations = (min_work / bytes.max(1)).clamp(1, 1_000_000);
    let enc = key.stream_encryptor();
    let dec = key.stream_decryptor();

    let mut ct = enc.encrypt_all(&data);
    let start = Instant::now();
    for _ in 0..iterations {
        ct = black_box(enc.encrypt_all(black_box(&data)));
    }
    let enc_secs = start.elapsed().as_secs_f64();

    let start = Instant::now();
    for _ in 0..iterations {
        match dec.decrypt_all(black_box(&ct)) {
            Ok(pt) => {
                black_box(pt);
            }
            Err(_) => return (0.0, 0.0),
        }
    }
    let dec_secs = start.elapsed().as_secs_f64();

    let total = (bytes * iterations) as f64 / 1e6;
    (total / enc_secs.max(1e-9), total / dec_secs.max(1e-9))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_positive_numbers() {
        let (e, d) = super::throughput(100_000, 200_000);
        assert!(e > 0.0 && d > 0.0);
    }
}
