//! Tampering with stored ciphertext gives a clear integrity error, never wrong plaintext:
//! a flipped byte in a blob, two swapped blobs, a truncated blob, a segment's ciphertext moved
//! to another row (in another interaction, or within the same one), a data key moved.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;
use sotto_core::{Lang, Speaker};
use sotto_vault::VaultError;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

struct Two {
    h: Harness,
    a: sotto_vault::IngestReceipt,
    b: sotto_vault::IngestReceipt,
}

async fn two_calls() -> Two {
    let h = harness().await;
    let seg = |t: &str| {
        vec![
            segment(
                Speaker::Caller,
                0,
                1000,
                &format!("hej jeg hedder {t}"),
                None,
            ),
            segment(Speaker::Agent, 1000, 2000, "tak for det", None),
        ]
    };
    let a = h
        .vault
        .ingest(request(
            &h,
            Some("+4520101010"),
            Lang::Da,
            seg("Anna"),
            Some(mulaw_audio(3, b"abc")),
        ))
        .await
        .unwrap();
    let b = h
        .vault
        .ingest(request(
            &h,
            Some("+4520101010"),
            Lang::Da,
            seg("Anna igen"),
            Some(mulaw_audio(3, b"xyz")),
        ))
        .await
        .unwrap();
    assert_eq!(a.subject, b.subject);
    Two { h, a, b }
}

fn blob_path(h: &Harness, key: &str) -> std::path::PathBuf {
    data_dir(h.dir.path()).join("blobs").join(key)
}

async fn recording(t: &Two, id: sotto_core::InteractionId) -> sotto_store::RecordingRow {
    t.h.vault
        .read_interaction(&t.h.tenant, id, "test")
        .await
        .unwrap()
        .recordings
        .remove(0)
}

fn assert_integrity<T>(r: Result<T, VaultError>) {
    match r {
        Err(VaultError::Integrity { .. }) => {}
        Err(e) => panic!("expected an integrity error, got: {e}"),
        Ok(_) => panic!("tampered data was accepted"),
    }
}

#[tokio::test]
async fn flipped_byte_in_a_blob() {
    let t = two_calls().await;
    let rec = recording(&t, t.a.interaction).await;
    let p = blob_path(&t.h, &rec.blob_key);
    let mut bytes = std::fs::read(&p).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&p, bytes).unwrap();
    assert_integrity(
        t.h.vault
            .read_recording(&t.h.tenant, t.a.subject, &rec, "test")
            .await,
    );
}

#[tokio::test]
async fn swapped_blobs() {
    let t = two_calls().await;
    let ra = recording(&t, t.a.interaction).await;
    let rb = recording(&t, t.b.interaction).await;
    let (pa, pb) = (blob_path(&t.h, &ra.blob_key), blob_path(&t.h, &rb.blob_key));
    let (ba, bb) = (std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
    std::fs::write(&pa, &bb).unwrap();
    std::fs::write(&pb, &ba).unwrap();
    assert_integrity(
        t.h.vault
            .read_recording(&t.h.tenant, t.a.subject, &ra, "test")
            .await,
    );
    assert_integrity(
        t.h.vault
            .read_recording(&t.h.tenant, t.b.subject, &rb, "test")
            .await,
    );
}

#[tokio::test]
async fn truncated_blob() {
    let t = two_calls().await;
    let rec = recording(&t, t.a.interaction).await;
    let p = blob_path(&t.h, &rec.blob_key);
    let bytes = std::fs::read(&p).unwrap();
    for cut in [bytes.len() - 1, bytes.len() / 2, 10] {
        std::fs::write(&p, &bytes[..cut]).unwrap();
        assert_integrity(
            t.h.vault
                .read_recording(&t.h.tenant, t.a.subject, &rec, "test")
                .await,
        );
    }
}

async fn db(t: &Two) -> sqlx::SqliteConnection {
    SqliteConnectOptions::new()
        .filename(data_dir(t.h.dir.path()).join("sotto.db"))
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn ciphertext_moved_to_another_interaction() {
    let t = two_calls().await;
    let mut c = db(&t).await;
    sqlx::query(
        "UPDATE segments SET sealed_text = (SELECT sealed_text FROM segments WHERE interaction = ?1 AND seq = 0) \
         WHERE interaction = ?2 AND seq = 0",
    )
    .bind(t.a.interaction.to_string())
    .bind(t.b.interaction.to_string())
    .execute(&mut c)
    .await
    .unwrap();
    assert_integrity(
        t.h.vault
            .read_interaction(&t.h.tenant, t.b.interaction, "test")
            .await,
    );
    // The untouched interaction still reads.
    assert!(t
        .h
        .vault
        .read_interaction(&t.h.tenant, t.a.interaction, "test")
        .await
        .is_ok());
}

#[tokio::test]
async fn ciphertext_swapped_within_an_interaction() {
    let t = two_calls().await;
    let mut c = db(&t).await;
    let id = t.a.interaction.to_string();
    sqlx::query(
        "UPDATE segments SET sealed_text = (SELECT sealed_text FROM segments s2 WHERE s2.interaction = ?1 AND s2.seq = 1 - segments.seq) \
         WHERE interaction = ?1",
    )
    .bind(&id)
    .execute(&mut c)
    .await
    .unwrap();
    assert_integrity(
        t.h.vault
            .read_interaction(&t.h.tenant, t.a.interaction, "test")
            .await,
    );
}

#[tokio::test]
async fn data_key_moved_to_another_interaction() {
    let t = two_calls().await;
    let mut c = db(&t).await;
    sqlx::query("UPDATE interactions SET wrapped_key = (SELECT wrapped_key FROM interactions WHERE id = ?1) WHERE id = ?2")
        .bind(t.a.interaction.to_string())
        .bind(t.b.interaction.to_string())
        .execute(&mut c)
        .await
        .unwrap();
    assert_integrity(
        t.h.vault
            .read_interaction(&t.h.tenant, t.b.interaction, "test")
            .await,
    );
}
