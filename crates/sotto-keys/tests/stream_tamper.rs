//! Tampering with sealed records and streams: every change is detected, never wrong plaintext.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

use sotto_core::{ObjectId, SubjectId, SubjectState, TenantId};
use sotto_keys::stream::{HEADER_LEN, SEGMENT_CT_SIZE};
use sotto_keys::{
    KeyError, KeyStore, LocalKeyStore, MasterKey, ObjectContext, ObjectPurpose, SubjectCipher,
    SEGMENT_SIZE,
};

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

struct Fixture {
    _store: LocalKeyStore,
    a: SubjectCipher,
    b: SubjectCipher,
    other_tenant: SubjectCipher,
}

async fn fixture() -> Fixture {
    let store = LocalKeyStore::in_memory(MasterKey::generate())
        .await
        .unwrap();
    let t = TenantId::new("acme").unwrap();
    let t2 = TenantId::new("other").unwrap();
    store.ensure_tenant(&t).await.unwrap();
    store.ensure_tenant(&t2).await.unwrap();
    let (sa, sb, sc) = (SubjectId::new(), SubjectId::new(), SubjectId::new());
    store.create_subject_key(&t, sa).await.unwrap();
    store.create_subject_key(&t, sb).await.unwrap();
    store.create_subject_key(&t2, sc).await.unwrap();
    Fixture {
        a: store.subject_cipher(&t, sa).await.unwrap(),
        b: store.subject_cipher(&t, sb).await.unwrap(),
        other_tenant: store.subject_cipher(&t2, sc).await.unwrap(),
        _store: store,
    }
}

fn ctx(c: &SubjectCipher, purpose: ObjectPurpose) -> ObjectContext {
    ObjectContext::new(c.tenant().clone(), c.subject(), ObjectId::new(), purpose)
}

fn is_integrity(r: Result<impl std::fmt::Debug, KeyError>) -> bool {
    matches!(r, Err(KeyError::Integrity))
}

#[tokio::test]
async fn flipped_bit_anywhere_in_a_stream_is_integrity_or_format() {
    let f = fixture().await;
    let cx = ctx(&f.a, ObjectPurpose::Recording);
    let (key, _) = f.a.new_object_key(&cx).unwrap();
    let pt = data(2 * SEGMENT_SIZE + 1000);
    let ct = key.stream_encryptor().encrypt_all(&pt);
    let dec = key.stream_decryptor();
    assert_eq!(dec.decrypt_all(&ct).unwrap().expose(), &pt[..]);
    // Every header byte, and a spread of positions through every segment and tag.
    let mut positions: Vec<usize> = (0..HEADER_LEN + 64).collect();
    positions.extend((HEADER_LEN..ct.len()).step_by(997));
    positions.extend(ct.len() - 40..ct.len());
    for seg in 0..3 {
        let end = (HEADER_LEN + (seg + 1) * SEGMENT_CT_SIZE).min(ct.len());
        positions.extend(end - 16..end); // the tag
    }
    for pos in positions {
        let mut bad = ct.clone();
        bad[pos] ^= 0x01;
        match dec.decrypt_all(&bad) {
            Err(KeyError::Integrity) => {}
            Err(KeyError::Format(_)) if pos < 5 => {} // magic or version byte
            other => panic!("flip at {pos}: {other:?}"),
        }
        // Range reads of the segment holding the byte fail too.
        if pos >= HEADER_LEN {
            let seg = ((pos - HEADER_LEN) / SEGMENT_CT_SIZE) as u64;
            let r = seg * SEGMENT_SIZE as u64..seg * SEGMENT_SIZE as u64 + 10;
            assert!(
                is_integrity(dec.decrypt_range_in(&bad, r)),
                "range flip at {pos}"
            );
        }
    }
}

#[tokio::test]
async fn swapped_dropped_and_cut_segments_never_decrypt() {
    let f = fixture().await;
    let cx = ctx(&f.a, ObjectPurpose::Recording);
    let (key, _) = f.a.new_object_key(&cx).unwrap();
    let dec = key.stream_decryptor();
    let pt = data(3 * SEGMENT_SIZE + 10);
    let ct = key.stream_encryptor().encrypt_all(&pt);
    let seg = |i: usize| {
        let s = HEADER_LEN + i * SEGMENT_CT_SIZE;
        &ct[s..(s + SEGMENT_CT_SIZE).min(ct.len())]
    };

    // Swap segments 0 and 1.
    let mut swapped = ct[..HEADER_LEN].to_vec();
    for i in [1, 0, 2, 3] {
        swapped.extend_from_slice(seg(i));
    }
    assert!(is_integrity(dec.decrypt_all(&swapped)));
    // Duplicate a segment in place of another.
    let mut dup = ct[..HEADER_LEN].to_vec();
    for i in [0, 0, 2, 3] {
        dup.extend_from_slice(seg(i));
    }
    assert!(is_integrity(dec.decrypt_all(&dup)));

    // Drop the final segment: Truncated.
    let dropped = &ct[..HEADER_LEN + 3 * SEGMENT_CT_SIZE];
    assert!(matches!(dec.decrypt_all(dropped), Err(KeyError::Truncated)));
    // Drop a middle segment: the counter no longer matches.
    let mut mid = ct[..HEADER_LEN].to_vec();
    for i in [0, 2, 3] {
        mid.extend_from_slice(seg(i));
    }
    assert!(is_integrity(dec.decrypt_all(&mid)));
    // Cut at every few bytes: never plaintext.
    for cut in (0..ct.len())
        .step_by(4099)
        .chain([ct.len() - 1, HEADER_LEN, HEADER_LEN + 15])
    {
        let r = dec.decrypt_all(&ct[..cut]);
        assert!(
            matches!(
                r,
                Err(KeyError::Truncated | KeyError::Integrity | KeyError::Format(_))
            ),
            "cut at {cut}: {r:?}"
        );
    }
    // A range read of the apparent last segment of a cut stream notices the cut.
    let len = dropped.len() as u64;
    let r = 2 * SEGMENT_SIZE as u64..2 * SEGMENT_SIZE as u64 + 5;
    let fetch = sotto_keys::stream::ciphertext_range_for(r.clone(), len);
    let got = dec.decrypt_range(
        &ct[..HEADER_LEN],
        r,
        len,
        &dropped[fetch.start as usize..fetch.end as usize],
    );
    assert!(matches!(got, Err(KeyError::Truncated)), "{got:?}");
    // Earlier segments of the same cut stream are still authentic and readable.
    let ok = dec.decrypt_range(
        &ct[..HEADER_LEN],
        0..5,
        len,
        &dropped[HEADER_LEN..HEADER_LEN + SEGMENT_CT_SIZE],
    );
    assert_eq!(ok.unwrap().expose(), &pt[..5]);
}

#[tokio::test]
async fn data_of_one_object_does_not_open_under_another_context() {
    let f = fixture().await;
    let cx = ctx(&f.a, ObjectPurpose::Recording);
    let (key, wrapped) = f.a.new_object_key(&cx).unwrap();
    let stream = key.stream_encryptor().encrypt_all(b"audio bytes");
    let record = key.seal("caller_name", b"Mette").unwrap();

    let mut variants = Vec::new();
    let mut c = cx.clone();
    c.object = ObjectId::new();
    variants.push(("object", c));
    let mut c = cx.clone();
    c.purpose = ObjectPurpose::Transcript;
    variants.push(("purpose", c));
    let mut c = cx.clone();
    c.subject = f.b.subject();
    variants.push(("subject", c));
    let mut c = cx.clone();
    c.tenant = f.other_tenant.tenant().clone();
    variants.push(("tenant", c));

    for (what, other) in &variants {
        // The right subject cipher with the wrong context: the wrapped key does not open.
        assert!(is_integrity(f.a.open_object_key(other, &wrapped)), "{what}");
    }
    // The owning subject's cipher for a context of another subject/tenant cannot wrap for it.
    assert!(matches!(
        f.a.new_object_key(&variants[2].1),
        Err(KeyError::ContextMismatch)
    ));
    // Other subjects' and tenants' ciphers cannot open the wrapped key, even with the right ctx.
    assert!(is_integrity(f.b.open_object_key(&cx, &wrapped)));
    assert!(is_integrity(f.other_tenant.open_object_key(&cx, &wrapped)));

    // A key for object B (same subject), used on object A's ciphertexts: integrity.
    for (what, other) in variants.iter().take(2) {
        let (kb, _) = f.a.new_object_key(other).unwrap();
        assert!(
            is_integrity(kb.stream_decryptor().decrypt_all(&stream)),
            "{what}"
        );
        assert!(is_integrity(kb.open("caller_name", &record)), "{what}");
    }
    // Keys for other subjects/tenants likewise.
    let (kb, _) =
        f.b.new_object_key(&ctx(&f.b, ObjectPurpose::Recording))
            .unwrap();
    assert!(is_integrity(kb.stream_decryptor().decrypt_all(&stream)));
    assert!(is_integrity(kb.open("caller_name", &record)));
}

#[tokio::test]
async fn wrapped_key_of_one_object_used_for_another_is_integrity() {
    let f = fixture().await;
    let c1 = ctx(&f.a, ObjectPurpose::Recording);
    let c2 = ctx(&f.a, ObjectPurpose::Recording);
    let (_k1, w1) = f.a.new_object_key(&c1).unwrap();
    let (_k2, w2) = f.a.new_object_key(&c2).unwrap();
    assert!(f.a.open_object_key(&c1, &w1).is_ok());
    assert!(is_integrity(f.a.open_object_key(&c2, &w1)));
    assert!(is_integrity(f.a.open_object_key(&c1, &w2)));
    let mut bad = w1.clone();
    bad[30] ^= 0x80;
    assert!(is_integrity(f.a.open_object_key(&c1, &bad)));
    assert!(matches!(
        f.a.open_object_key(&c1, &w1[..40]),
        Err(KeyError::Format(_))
    ));
}

#[tokio::test]
async fn sealed_records_detect_every_flip_and_bind_field_names() {
    let f = fixture().await;
    let cx = ctx(&f.a, ObjectPurpose::Metadata);
    let (key, _) = f.a.new_object_key(&cx).unwrap();
    let sealed = key.seal("phone", b"+4520304050").unwrap();
    assert_eq!(key.open("phone", &sealed).unwrap().expose(), b"+4520304050");
    for pos in 1..sealed.len() {
        let mut bad = sealed.clone();
        bad[pos] ^= 0x04;
        assert!(is_integrity(key.open("phone", &bad)), "flip at {pos}");
    }
    let mut bad = sealed.clone();
    bad[0] = 2;
    assert!(matches!(key.open("phone", &bad), Err(KeyError::Format(_))));
    assert!(is_integrity(key.open("email", &sealed)));
    assert!(is_integrity(key.open("phon", &sealed)));
    let empty = key.seal("", b"").unwrap();
    assert!(key.open("", &empty).unwrap().is_empty());
}

#[tokio::test]
async fn restricted_subjects_still_get_a_cipher_that_says_so() {
    let store = LocalKeyStore::in_memory(MasterKey::generate())
        .await
        .unwrap();
    let t = TenantId::default_tenant();
    store.ensure_tenant(&t).await.unwrap();
    let s = SubjectId::new();
    store.create_subject_key(&t, s).await.unwrap();
    store
        .set_subject_state(&t, s, SubjectState::Restricted)
        .await
        .unwrap();
    let c = store.subject_cipher(&t, s).await.unwrap();
    assert_eq!(c.state(), SubjectState::Restricted);
}
