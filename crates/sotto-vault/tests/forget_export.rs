//! Forget with legal holds, and subject access export in both formats with audio.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;
use sotto_core::{HoldScope, Lang, ObjectId, Speaker, SubjectState};
use sotto_store::LegalHoldRow;
use sotto_vault::{ExportFormat, Identifier, VaultError};

#[tokio::test]
async fn held_interactions_survive_forget_and_the_subject_is_restricted() {
    let h = harness().await;
    let seg = || {
        vec![segment(
            Speaker::Caller,
            0,
            1000,
            "jeg vil gerne købe aktier",
            None,
        )]
    };
    let a = h
        .vault
        .ingest(request(&h, Some("+4520202020"), Lang::Da, seg(), None))
        .await
        .unwrap();
    let b = h
        .vault
        .ingest(request(
            &h,
            Some("+4520202020"),
            Lang::Da,
            seg(),
            Some(mulaw_audio(1, b"q")),
        ))
        .await
        .unwrap();
    let now = sotto_core::Clock::now_ms(&h.clock);
    h.vault
        .store()
        .put_legal_hold(&LegalHoldRow {
            tenant: h.tenant.clone(),
            id: ObjectId::new(),
            scope: HoldScope::Interaction,
            target: a.interaction.to_string(),
            reason: "MiFID II record keeping".into(),
            created_by: "dpo".into(),
            created_ms: now,
            until_ms: Some(now + 86_400_000),
            released_ms: None,
        })
        .await
        .unwrap();
    let r = h.vault.forget(&h.tenant, a.subject, "dpo").await.unwrap();
    assert!(!r.key_erased);
    assert_eq!(r.interactions_erased, 1);
    assert_eq!(r.blobs_deleted, 1);
    assert_eq!(r.held.len(), 1);
    assert_eq!(r.held[0].interaction, a.interaction);
    assert_eq!(r.held[0].reason, "MiFID II record keeping");
    // The held call is still readable (under the legal duty); the other is gone.
    assert!(h
        .vault
        .read_interaction(&h.tenant, a.interaction, "dpo")
        .await
        .is_ok());
    assert!(h
        .vault
        .read_interaction(&h.tenant, b.interaction, "dpo")
        .await
        .is_err());
    let s = h
        .vault
        .store()
        .get_subject(&h.tenant, a.subject)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.state, SubjectState::Restricted);
    assert_eq!(
        h.vault
            .store()
            .erasure_receipts(&h.tenant)
            .await
            .unwrap()
            .len(),
        1
    );

    // When the hold ends, a second forget erases the rest and the key.
    h.clock.advance_ms(2 * 86_400_000);
    let r = h.vault.forget(&h.tenant, a.subject, "dpo").await.unwrap();
    assert!(r.key_erased);
    assert!(matches!(
        h.vault
            .read_interaction(&h.tenant, a.interaction, "dpo")
            .await,
        Err(VaultError::SubjectErased(_)) | Err(VaultError::Store(_))
    ));
}

#[tokio::test]
async fn export_json_and_xlsx_with_audio() {
    let h = harness().await;
    let seg = |t: &str| {
        vec![
            segment(Speaker::Caller, 0, 1000, t, None),
            segment(Speaker::Agent, 1000, 2000, "tak", None),
        ]
    };
    h.vault
        .ingest(request(
            &h,
            Some("+4520303030"),
            Lang::Da,
            seg("hej jeg hedder Karen Holm"),
            Some(mulaw_audio(2, b"zz")),
        ))
        .await
        .unwrap();
    h.vault
        .ingest(request(
            &h,
            Some("+4520303030"),
            Lang::Da,
            seg("det er Karen igen"),
            None,
        ))
        .await
        .unwrap();
    h.vault
        .ingest(request(
            &h,
            Some("+4520404040"),
            Lang::Da,
            seg("en anden kunde"),
            None,
        ))
        .await
        .unwrap();
    let subject = h
        .vault
        .require_subject(
            &h.tenant,
            &Identifier::phone("+45 20 30 30 30", "DK").unwrap(),
        )
        .await
        .unwrap();

    let out = h.dir.path().join("export.json");
    let data = h
        .vault
        .collect_export(&h.tenant, subject, "dpo", &|_, _| {})
        .await
        .unwrap();
    let s = h
        .vault
        .write_export(data, ExportFormat::Json, &out, true, "dpo")
        .await
        .unwrap();
    assert_eq!((s.interactions, s.segments, s.recordings), (2, 4, 1));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["schema"], "sotto.subject-export.v1");
    assert_eq!(v["interactions"][0]["caller"], "+4520303030");
    assert!(v["interactions"][0]["transcript"][0]["text"]
        .as_str()
        .unwrap()
        .contains("Karen"));
    assert!(
        !serde_json::to_string(&v)
            .unwrap()
            .contains("en anden kunde"),
        "another subject's data exported"
    );
    let wav_rel = v["interactions"][0]["recordings"][0]["file"]
        .as_str()
        .unwrap();
    let wav = std::fs::read(h.dir.path().join(wav_rel)).unwrap();
    let decoded = sotto_audio::decode_wav(&wav).unwrap();
    assert_eq!(decoded.pcm.duration_ms(), 2000);
    assert_eq!(v["consents"][0]["purpose"], "recording");

    let out = h.dir.path().join("export.xlsx");
    let data = h
        .vault
        .collect_export(&h.tenant, subject, "dpo", &|_, _| {})
        .await
        .unwrap();
    h.vault
        .write_export(data, ExportFormat::Xlsx, &out, false, "dpo")
        .await
        .unwrap();
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..2], b"PK", "xlsx is a zip container");
    // No temporary files are left behind.
    assert!(all_files(h.dir.path())
        .iter()
        .all(|p| !p.to_string_lossy().contains(".tmp-")));
}

#[tokio::test]
async fn withheld_number_gets_its_own_subject_and_unknown_tenant_is_refused() {
    let h = harness().await;
    let seg = || vec![segment(Speaker::Caller, 0, 1000, "hej", None)];
    let a = h
        .vault
        .ingest(request(&h, None, Lang::Da, seg(), None))
        .await
        .unwrap();
    let b = h
        .vault
        .ingest(request(&h, None, Lang::Da, seg(), None))
        .await
        .unwrap();
    assert!(a.new_subject && b.new_subject && a.subject != b.subject);
    let mut req = request(&h, None, Lang::Da, seg(), None);
    req.tenant = sotto_core::TenantId::new("nobody").unwrap();
    assert!(matches!(
        h.vault.ingest(req).await,
        Err(VaultError::UnknownTenant(_))
    ));
}

#[tokio::test]
async fn audio_without_legal_basis_is_discarded() {
    let h = harness().await;
    h.vault
        .put_tenant(&h.tenant, "Test", sotto_core::ProcessingMode::Anonymise)
        .await
        .unwrap();
    let mut req = request(
        &h,
        Some("+4520505050"),
        Lang::Da,
        vec![segment(Speaker::Caller, 0, 1000, "hej", None)],
        Some(mulaw_audio(1, b"a")),
    );
    req.recording_basis = None;
    let r = h.vault.ingest(req).await.unwrap();
    assert!(!r.audio_stored);
    assert!(r.audio_dropped_reason.is_some());
    assert!(all_files(&data_dir(h.dir.path()).join("blobs")).is_empty());
}

/// Guarantee 3: every access to a subject's data leaves an audit entry — successful reads,
/// plays, downloads, exports and erasures, and refused ones — and the subject's own export
/// lists them.
#[tokio::test]
async fn every_access_is_audited_and_exported() {
    use sotto_audit::{Action, Outcome, Query};
    let h = harness().await;
    let seg = vec![segment(
        Speaker::Caller,
        0,
        1000,
        "hej jeg hedder Karen",
        None,
    )];
    let r = h
        .vault
        .ingest(request(
            &h,
            Some("+4520606060"),
            Lang::Da,
            seg,
            Some(mulaw_audio(1, b"k")),
        ))
        .await
        .unwrap();
    let view = h
        .vault
        .read_interaction(&h.tenant, r.interaction, "user:sup")
        .await
        .unwrap();
    h.vault
        .read_recording(&h.tenant, r.subject, &view.recordings[0], "user:agent")
        .await
        .unwrap();
    let data = h
        .vault
        .collect_export(&h.tenant, r.subject, "user:dpo", &|_, _| {})
        .await
        .unwrap();
    let out = h.dir.path().join("e.json");
    h.vault
        .write_export(data, ExportFormat::Json, &out, true, "user:dpo")
        .await
        .unwrap();
    h.vault
        .forget(&h.tenant, r.subject, "user:dpo")
        .await
        .unwrap();
    // A read after erasure is refused — and the refusal is recorded too.
    assert!(h
        .vault
        .read_interaction(&h.tenant, r.interaction, "user:sup")
        .await
        .is_err());

    let q = Query {
        subject: Some(r.subject),
        ..Default::default()
    };
    let got: Vec<(String, Action, Outcome)> = h
        .vault
        .audit()
        .query(&h.tenant, &q)
        .await
        .unwrap()
        .into_iter()
        .map(|rec| (rec.entry.actor, rec.entry.action, rec.entry.outcome))
        .collect();
    let expect = [
        ("ingest", Action::Ingest, Outcome::Ok),
        ("user:sup", Action::TranscriptRead, Outcome::Ok),
        ("user:agent", Action::RecordingPlay, Outcome::Ok),
        ("user:dpo", Action::Export, Outcome::Ok),
        ("user:dpo", Action::RecordingDownload, Outcome::Ok),
        ("user:dpo", Action::Erasure, Outcome::Ok),
    ];
    for e in expect {
        assert!(
            got.iter().any(|g| (g.0.as_str(), g.1, g.2) == e),
            "missing {e:?} in {got:?}"
        );
    }
    // The read after erasure: the row is gone, so it is refused before any key is touched;
    // the store's NotFound is not an access to personal data. The export's log holds the rest.
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let actions: Vec<&str> = v["access_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"transcript.read")
            && actions.contains(&"recording.play")
            && actions.contains(&"export"),
        "{actions:?}"
    );
    let report = h.vault.audit().verify(None).await.unwrap();
    assert!(report.problems.is_empty(), "{report}");
}
