//! Guarantees 1 and 2, end to end: planted canary values in transcripts, metadata and audio never
//! appear in clear in any file under the data directory (database, WAL, journal, blobs, key
//! store, temp files); card and special-category data are not stored even encrypted; and after
//! `forget`, a backup taken earlier cannot be decrypted with the master key and every byte left.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;
use sotto_core::{Lang, Speaker};
use sotto_keys::{KeyStore, LocalKeyStore, MasterKey};
use sotto_vault::VaultError;

const NAME: &str = "Quenfeldt";
const PHONE: &str = "+4520987654";
const EMAIL: &str = "zorbla@kanarie.dk";
const CARD: &str = "4929 1357 7604 8211";
const HEALTH: &str = "sukkersyge";
const AUDIO_CANARY: &[u8] = b"CANARY-AUDIO-7Q!";

fn canary_segments() -> Vec<sotto_vault::transcript::SegmentInput> {
    let caller = format!("hej jeg hedder Mette {NAME} og min mail er {EMAIL}");
    let card = format!("mit kortnummer er {CARD}");
    let health = format!("jeg har {HEALTH} og tager insulin");
    vec![
        segment(
            Speaker::Bot,
            0,
            1500,
            "Velkommen, hvad kan jeg hjælpe med?",
            None,
        ),
        segment(Speaker::Caller, 1500, 4000, &caller, None),
        segment(
            Speaker::Caller,
            4000,
            8000,
            &card,
            Some(words(&[
                ("mit", 4000, 4200),
                ("kortnummer", 4200, 4800),
                ("er", 4800, 5000),
                ("4929", 5000, 5700),
                ("1357", 5700, 6400),
                ("7604", 6400, 7100),
                ("8211", 7100, 7800),
            ])),
        ),
        segment(Speaker::Caller, 8000, 9500, &health, None),
    ]
}

fn canaries() -> Vec<Vec<u8>> {
    let digits: String = CARD.chars().filter(char::is_ascii_digit).collect();
    vec![
        NAME.as_bytes().to_vec(),
        NAME.to_lowercase().into_bytes(),
        PHONE.as_bytes().to_vec(),
        PHONE.as_bytes()[3..].to_vec(),
        EMAIL.as_bytes().to_vec(),
        CARD.as_bytes().to_vec(),
        digits.into_bytes(),
        HEALTH.as_bytes().to_vec(),
        AUDIO_CANARY.to_vec(),
    ]
}

fn assert_no_canary(data: &std::path::Path) {
    for c in canaries() {
        let hits = files_containing(data, &c);
        assert!(
            hits.is_empty(),
            "canary {:?} found in clear in {hits:?}",
            String::from_utf8_lossy(&c)
        );
    }
}

#[tokio::test]
async fn no_canary_in_clear_and_forget_shreds_backups() {
    let h = harness().await;
    let data = data_dir(h.dir.path());
    let audio = mulaw_audio(10, AUDIO_CANARY);
    let original = audio.pcm.clone();
    let r = h
        .vault
        .ingest(request(
            &h,
            Some(PHONE),
            Lang::Da,
            canary_segments(),
            Some(audio),
        ))
        .await
        .unwrap();
    assert!(r.audio_stored);
    // A second subject who must be untouched by the first one's erasure.
    let other = h
        .vault
        .ingest(request(
            &h,
            Some("+4520111222"),
            Lang::Da,
            vec![segment(Speaker::Caller, 0, 1000, "hej det er Bo", None)],
            None,
        ))
        .await
        .unwrap();

    // Guarantee 1: nothing in clear anywhere under the data directory.
    assert_no_canary(&data);

    // Card and special-category data are not stored at all — not even encrypted.
    let view = h
        .vault
        .read_interaction(&h.tenant, r.interaction, "test")
        .await
        .unwrap();
    let all_text: String = view
        .segments
        .iter()
        .map(|s| s.text.expose().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        !all_text.contains("4929") && !all_text.contains("8211"),
        "card digits stored"
    );
    assert!(!all_text.contains(HEALTH), "health term stored");
    assert!(
        all_text.contains("[PAYMENT_CARD]") && all_text.contains("[HEALTH]"),
        "{}",
        all_text.len()
    );
    assert!(
        all_text.contains(NAME),
        "personal data is kept (sealed) for the subject"
    );
    for s in &view.segments {
        if let Some(w) = &s.words_json {
            assert!(
                !w.expose().contains("4929") && !w.expose().contains("7604"),
                "card digits left in word timings"
            );
        }
    }

    // The audio is silent over the card number and unchanged elsewhere.
    let rec = &view.recordings[0];
    let pcm = h
        .vault
        .read_recording(&h.tenant, r.subject, rec, "test")
        .await
        .unwrap();
    assert!(sotto_audio::rms_dbfs(&pcm, 5000, 7800) <= -60.0);
    // The health statement has no word timings, so its whole segment (8.0-9.5 s) is silenced.
    assert!(sotto_audio::rms_dbfs(&pcm, 8000, 9500) <= -60.0);
    let pad = 150 * 8;
    let silenced = [
        (5000 * 8 - pad, 7800 * 8 + pad),
        (8000 * 8 - pad, 9500 * 8 + pad),
    ];
    for (i, (x, y)) in original.samples.iter().zip(&pcm.samples).enumerate() {
        if !silenced.iter().any(|(a, b)| i >= *a && i <= *b) {
            assert_eq!(x, y, "sample {i} outside the removed intervals changed");
        }
    }

    // A backup of the data (database and blobs) taken before erasure.
    let backup = h.dir.path().join("backup");
    copy_dir(&data.join("blobs"), &backup.join("blobs"));
    for f in ["sotto.db", "sotto.db-wal", "sotto.db-shm"] {
        if data.join(f).exists() {
            std::fs::copy(data.join(f), backup.join(f)).unwrap();
        }
    }

    let receipt = h.vault.forget(&h.tenant, r.subject, "dpo").await.unwrap();
    assert!(receipt.key_erased);
    assert_eq!(receipt.interactions_erased, 1);
    assert_eq!(receipt.blobs_deleted, 1);
    assert!(h
        .vault
        .find_subject(
            &h.tenant,
            &sotto_vault::Identifier::phone(PHONE, "DK").unwrap()
        )
        .await
        .unwrap()
        .is_none());
    assert_no_canary(&data);

    // Even with the master key, the key store refuses the erased subject...
    let master = MasterKey::load_file(&h.master_file).unwrap();
    let keys = LocalKeyStore::open(&data.join("keys/keys.db"), master)
        .await
        .unwrap();
    assert!(matches!(
        keys.subject_cipher(&h.tenant, r.subject).await,
        Err(sotto_keys::KeyError::Erased)
    ));
    drop(keys);
    // ...so the backup taken before erasure is unreadable with the master key and every byte
    // left on disk: open the backup as a vault with the live key store.
    let master = MasterKey::load_file(&h.master_file).unwrap();
    let restored = {
        let keys = LocalKeyStore::open(&data.join("keys/keys.db"), master)
            .await
            .unwrap();
        let store = sotto_store::SqliteStore::open(&backup.join("sotto.db"))
            .await
            .unwrap();
        let blobs = sotto_store::BlobStore::local(&backup.join("blobs")).unwrap();
        sotto_vault::Vault::new(
            std::sync::Arc::new(store),
            blobs,
            std::sync::Arc::new(keys),
            std::sync::Arc::new(common::open_audit(&backup).await),
            std::sync::Arc::new(sotto_detect::Detector::new()),
            std::sync::Arc::new(h.clock.clone()),
        )
    };
    let err = restored
        .read_interaction(&h.tenant, r.interaction, "test")
        .await
        .err()
        .unwrap();
    assert!(matches!(err, VaultError::SubjectErased(_)), "{err}");
    let err = restored
        .read_recording(&h.tenant, r.subject, rec, "test")
        .await
        .err()
        .unwrap();
    assert!(matches!(err, VaultError::SubjectErased(_)), "{err}");

    // The other subject is untouched.
    let v = h
        .vault
        .read_interaction(&h.tenant, other.interaction, "test")
        .await
        .unwrap();
    assert_eq!(v.segments.len(), 1);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for f in all_files(from) {
        let rel = f.strip_prefix(from).unwrap();
        let dst = to.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&f, dst).unwrap();
    }
}

/// A key store restored from a backup taken before an erasure brings the erased key back; the
/// vault re-applies the erasure journal (receipts) at start, so the subject stays erased.
#[tokio::test]
async fn restored_key_store_does_not_resurrect_an_erased_subject() {
    let h = harness().await;
    let data = data_dir(h.dir.path());
    let r = h
        .vault
        .ingest(request(
            &h,
            Some(PHONE),
            Lang::Da,
            vec![segment(
                Speaker::Caller,
                0,
                1000,
                "hej jeg hedder Mette Quenfeldt",
                None,
            )],
            None,
        ))
        .await
        .unwrap();
    // Back up the key store (with the subject key in it), then erase.
    sotto_store::Store::checkpoint(h.vault.store().as_ref())
        .await
        .unwrap();
    let key_backup = h.dir.path().join("keys-backup");
    copy_dir(&data.join("keys"), &key_backup);
    h.vault.forget(&h.tenant, r.subject, "dpo").await.unwrap();
    let backup_store = h.dir.path().join("db-backup");
    std::fs::create_dir_all(&backup_store).unwrap();
    drop(h.vault);

    // Restore the old key store over the live one.
    std::fs::remove_dir_all(data.join("keys")).unwrap();
    copy_dir(&key_backup, &data.join("keys"));
    let vault = open_vault(
        &data,
        MasterKey::load_file(&h.master_file).unwrap(),
        h.clock.clone(),
    )
    .await;
    assert_eq!(
        vault.reapply_erasures().await.unwrap(),
        1,
        "the restored key had to be destroyed again"
    );
    assert!(matches!(
        vault.keys().subject_cipher(&h.tenant, r.subject).await,
        Err(sotto_keys::KeyError::Erased)
    ));
    assert_eq!(vault.reapply_erasures().await.unwrap(), 0, "idempotent");
}

/// A tenant whose policy archives Opus: the recording is Opus in Ogg, decodes through the same
/// player path, is silent over the card number and the health statement, keeps its level
/// elsewhere, and the canaries stay out of every file.
#[tokio::test]
async fn opus_archive_policy_keeps_silence_and_level() {
    let h = harness().await;
    let data = data_dir(h.dir.path());
    let mut policy = sotto_vault::ArchivePolicy::default();
    policy.tenants.insert(
        h.tenant.clone(),
        sotto_vault::ArchiveFormat::Opus {
            bitrate_bps: 16_000,
        },
    );
    let vault = h.vault.clone().with_archive_policy(policy);
    // A voiced signal (Opus is made for speech, not for the byte pattern of the other test).
    let mut audio = mulaw_audio(10, AUDIO_CANARY);
    for (i, s) in audio.pcm.samples.iter_mut().enumerate() {
        let t = i as f64 / 8000.0;
        let w = 2.0 * std::f64::consts::PI * 170.0 * t;
        *s = (6000.0 * (w.sin() + 0.5 * (2.0 * w).sin() + 0.25 * (3.0 * w).sin())) as i16;
    }
    let original = audio.pcm.clone();
    let r = vault
        .ingest(request(
            &h,
            Some(PHONE),
            Lang::Da,
            canary_segments(),
            Some(audio),
        ))
        .await
        .unwrap();
    assert!(r.audio_stored);
    assert_no_canary(&data);
    let view = vault
        .read_interaction(&h.tenant, r.interaction, "test")
        .await
        .unwrap();
    let rec = &view.recordings[0];
    assert_eq!(rec.codec, "opus-ogg");
    // 10 s at 16 kbit/s ≈ 20 kB, against ~52 kbit/s lossless
    assert!(rec.size_bytes < 26_000, "{} bytes", rec.size_bytes);
    let pcm = vault
        .read_recording(&h.tenant, r.subject, rec, "test")
        .await
        .unwrap();
    assert_eq!(pcm.frames(), original.frames());
    assert!(sotto_audio::rms_dbfs(&pcm, 5000, 7800) <= -60.0);
    assert!(sotto_audio::rms_dbfs(&pcm, 8000, 9500) <= -60.0);
    for (a, b) in [(500, 3500), (9900, 9990)] {
        let (x, y) = (
            sotto_audio::rms_dbfs(&original, a, b),
            sotto_audio::rms_dbfs(&pcm, a, b),
        );
        assert!((x - y).abs() < 2.0, "{a}-{b} ms: {x:.1} vs {y:.1} dBFS");
    }
}

/// Fail closed: a recording that would be kept but comes without a transcript is refused — no
/// row, no blob — because nothing could have checked it for card numbers.
#[tokio::test]
async fn audio_without_transcript_is_refused_when_it_would_be_kept() {
    let h = harness().await;
    let data = data_dir(h.dir.path());
    let mut req = request(
        &h,
        Some(PHONE),
        Lang::Da,
        vec![],
        Some(mulaw_audio(2, AUDIO_CANARY)),
    );
    req.transcript = None;
    req.recording_basis = Some(sotto_core::LegalBasis::Consent);
    let e = h.vault.ingest(req).await.unwrap_err();
    assert!(
        matches!(
            e,
            VaultError::InvalidInput {
                field: "transcript",
                ..
            }
        ),
        "{e}"
    );
    assert!(all_files(&data.join("blobs")).is_empty());
    assert!(h
        .vault
        .list_interactions(&h.tenant, &Default::default())
        .await
        .unwrap()
        .is_empty());
}
