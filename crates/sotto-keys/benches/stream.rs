//! Stream format throughput: encrypt_all and decrypt_all of 16 MiB (target >= 500 MB/s/core).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sotto_core::{ObjectId, SubjectId, TenantId};
use sotto_keys::{ObjectContext, ObjectKey, ObjectPurpose};

fn stream(c: &mut Criterion) {
    let key = ObjectKey::ephemeral(ObjectContext::new(
        TenantId::default_tenant(),
        SubjectId::new(),
        ObjectId::new(),
        ObjectPurpose::Recording,
    ));
    let size = 16usize << 20;
    let data: Vec<u8> = (0..size).map(|i| (i as u8).wrapping_mul(31)).collect();
    let enc = key.stream_encryptor();
    let dec = key.stream_decryptor();
    let ct = enc.encrypt_all(&data);

    let mut g = c.benchmark_group("stream_16MiB");
    g.throughput(Throughput::BytesDecimal(size as u64));
    g.sample_size(10);
    g.bench_function("encrypt_all", |b| {
        b.iter(|| enc.encrypt_all(black_box(&data)))
    });
    g.bench_function("decrypt_all", |b| {
        b.iter(|| dec.decrypt_all(black_box(&ct)).map(|p| p.len()))
    });
    g.finish();
}

criterion_group!(benches, stream);
criterion_main!(benches);
