//! Processing modes over time (0, N−1, N, N+1 days), legal holds, MiFID II duty, consent
//! withdrawal and a crash in the middle of a retention run. All on a manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sotto_core::{
    ConsentPurpose, ConsentState, HoldScope, LegalBasis, ProcessingMode, Speaker, SubjectState,
};
use sotto_policy::{
    ConsentChange, HoldPreset, HoldRequest, PolicyError, RetentionEngine, RETENTION_ACTOR,
};
use sotto_vault::retention::anonymous_subject_id;

const N: u32 = 10;

fn text() -> Vec<sotto_vault::transcript::SegmentInput> {
    vec![
        seg(
            Speaker::Caller,
            0,
            3000,
            "Hello, my e-mail is john.smith@example.com and my card is 4111 1111 1111 1111",
        ),
        seg(
            Speaker::Agent,
            3000,
            5000,
            "Thank you, I have noted that you have diabetes",
        ),
    ]
}

struct Seen {
    interactions: usize,
    original_exists: bool,
    segments: usize,
    recordings: usize,
    caller_number: bool,
    email_in_text: bool,
    subject_state: Option<SubjectState>,
}

async fn look(h: &H, r: &sotto_vault::IngestReceipt) -> Seen {
    let store = h.vault().store();
    let rows = all(h).await;
    let orig = store
        .get_interaction(&h.tenant, r.interaction)
        .await
        .unwrap();
    let mut seen = Seen {
        interactions: rows.len(),
        original_exists: orig.is_some(),
        segments: 0,
        recordings: 0,
        caller_number: false,
        email_in_text: false,
        subject_state: store
            .get_subject(&h.tenant, r.subject)
            .await
            .unwrap()
            .map(|s| s.state),
    };
    for row in rows {
        let v = h
            .vault()
            .read_interaction(&h.tenant, row.id, "test")
            .await
            .unwrap();
        seen.segments += v.segments.len();
        seen.recordings += v.recordings.len();
        seen.caller_number |= v.meta.caller.is_some();
        seen.email_in_text |= v
            .segments
            .iter()
            .any(|s| s.text.expose().contains("john.smith@example.com"));
        for s in &v.segments {
            // Guarantee 1 in every mode: card and special data never stored.
            assert!(!s.text.expose().contains("4111"), "card data stored");
            assert!(!s.text.expose().contains("diabetes"), "special data stored");
        }
    }
    seen
}

async fn run_at(h: &H, engine: &RetentionEngine, at: i64) -> sotto_policy::RetentionReport {
    h.clock.set(at);
    engine.run(at, false).await.unwrap()
}

#[tokio::test]
async fn minimal_keeps_only_the_number_then_deletes_it() {
    let h = harness(ProcessingMode::Minimal).await;
    tenant_rule(&h, ProcessingMode::Minimal, N).await;
    let r = ingest(&h, call(&h, "+4520000001", text(), true)).await;
    assert!(!r.audio_stored, "minimal mode stores no audio");
    let engine = RetentionEngine::new(h.policies.clone());
    // Day 0, after the call ended: transcript gone, number kept for invoicing.
    let rep = run_at(&h, &engine, T0 + 10_000).await;
    assert_eq!(rep.reduced, 1);
    let s = look(&h, &r).await;
    assert!(s.original_exists && s.caller_number);
    assert_eq!((s.segments, s.recordings), (0, 0));
    // N−1: unchanged.
    let rep = run_at(&h, &engine, T0 + (i64::from(N) - 1) * DAY).await;
    assert_eq!(rep.reduced + rep.deleted, 0);
    assert!(look(&h, &r).await.caller_number);
    // N: deleted, the subject erased (nothing of it remains).
    let rep = run_at(&h, &engine, T0 + i64::from(N) * DAY).await;
    assert_eq!((rep.deleted, rep.subjects_erased), (1, 1));
    let s = look(&h, &r).await;
    assert_eq!(s.interactions, 0);
    assert_eq!(s.subject_state, Some(SubjectState::Erased));
    // N+1: nothing left to do.
    let rep = run_at(&h, &engine, T0 + (i64::from(N) + 1) * DAY).await;
    assert_eq!(
        rep.deleted + rep.reduced + rep.anonymised + rep.subjects_erased,
        0
    );
    assert_eq!(look(&h, &r).await.interactions, 0);
}

#[tokio::test]
async fn anonymise_keeps_the_transcript_then_anonymises_and_shreds_the_key() {
    let h = harness(ProcessingMode::Anonymise).await;
    tenant_rule(&h, ProcessingMode::Anonymise, N).await;
    let r = ingest(&h, call(&h, "+4520000002", text(), true)).await;
    assert!(!r.audio_stored);
    let engine = RetentionEngine::new(h.policies.clone());
    for day in [0, i64::from(N) - 1] {
        let rep = run_at(&h, &engine, T0 + day * DAY + 10_000).await;
        assert_eq!(rep.anonymised, 0, "day {day}");
        let s = look(&h, &r).await;
        assert!(
            s.original_exists && s.email_in_text && s.caller_number,
            "day {day}"
        );
        assert_eq!(s.segments, 2);
        assert_eq!(s.subject_state, Some(SubjectState::Active));
    }
    let rep = run_at(&h, &engine, T0 + i64::from(N) * DAY).await;
    assert_eq!((rep.anonymised, rep.subjects_erased), (1, 1));
    for day in [i64::from(N), i64::from(N) + 1] {
        run_at(&h, &engine, T0 + day * DAY).await;
        let s = look(&h, &r).await;
        assert!(!s.original_exists, "day {day}");
        assert_eq!(s.interactions, 1, "the anonymised copy stays");
        assert_eq!(s.segments, 2);
        assert!(!s.email_in_text && !s.caller_number, "day {day}");
        assert_eq!(s.subject_state, Some(SubjectState::Erased), "key destroyed");
    }
    let copy = &all(&h).await[0];
    assert_eq!(copy.subject, anonymous_subject_id(&h.tenant));
    let v = h
        .vault()
        .read_interaction(&h.tenant, copy.id, "test")
        .await
        .unwrap();
    assert!(v.segments[0].text.expose().contains("[EMAIL]"));
    // Every action is in the audit log under the system actor.
    let entries = audit_entries(&h).await;
    assert!(entries.iter().any(|e| e.entry.actor == RETENTION_ACTOR
        && e.entry.object.as_deref() == Some(&r.interaction.to_string())));
}

#[tokio::test]
async fn record_keeps_audio_then_deletes_everything() {
    let h = harness(ProcessingMode::Record).await;
    tenant_rule(&h, ProcessingMode::Record, N).await;
    let r = ingest(&h, call(&h, "+4520000003", text(), true)).await;
    assert!(r.audio_stored);
    let blob = h.vault().store().recordings(r.interaction).await.unwrap()[0]
        .blob_key
        .clone();
    let engine = RetentionEngine::new(h.policies.clone());
    for day in [0, i64::from(N) - 1] {
        run_at(&h, &engine, T0 + day * DAY + 10_000).await;
        let s = look(&h, &r).await;
        assert_eq!(
            (s.interactions, s.segments, s.recordings),
            (1, 2, 1),
            "day {day}"
        );
    }
    let rep = run_at(&h, &engine, T0 + i64::from(N) * DAY).await;
    assert_eq!(
        (rep.deleted, rep.blobs_deleted, rep.subjects_erased),
        (1, 1, 1)
    );
    assert!(h.vault().blobs().get(&blob).await.is_err(), "blob deleted");
    run_at(&h, &engine, T0 + (i64::from(N) + 1) * DAY).await;
    let s = look(&h, &r).await;
    assert_eq!(s.interactions, 0);
    assert_eq!(s.subject_state, Some(SubjectState::Erased));
}

#[tokio::test]
async fn overrides_per_queue_pick_the_mode() {
    let h = harness(ProcessingMode::Anonymise).await;
    tenant_rule(&h, ProcessingMode::Anonymise, 30).await;
    h.policies
        .set_rule(
            &h.tenant,
            sotto_store::RuleScope::Queue,
            "trading",
            ProcessingMode::Record,
            Some(1827),
            Some(LegalBasis::LegalObligation),
            vec![],
            "dpo",
        )
        .await
        .unwrap();
    let routing = sotto_policy::Routing {
        queue: Some("trading".into()),
        ..Default::default()
    };
    let r = h
        .policies
        .ingest(call(&h, "+4520000004", text(), true), routing)
        .await
        .unwrap();
    assert!(r.audio_stored, "the trading queue records");
    let p = h
        .vault()
        .store()
        .get_interaction_policy(r.interaction)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.mode, ProcessingMode::Record);
    assert_eq!(p.due_ms, Some(T0 + 1827 * DAY));
}

#[tokio::test]
async fn holds_block_deletion_with_a_report_until_released() {
    let h = harness(ProcessingMode::Record).await;
    tenant_rule(&h, ProcessingMode::Record, 1).await;
    let a = ingest(&h, call(&h, "+4520000005", text(), true)).await;
    let b = ingest(&h, call(&h, "+4520000006", text(), false)).await;
    let hold = h
        .policies
        .place_hold(HoldRequest {
            tenant: h.tenant.clone(),
            scope: HoldScope::Interaction,
            target: a.interaction.to_string(),
            reason: "dispute 2026-17".into(),
            created_by: "user:dpo".into(),
            until_ms: None,
            preset: None,
        })
        .await
        .unwrap();
    let engine = RetentionEngine::new(h.policies.clone());
    let rep = run_at(&h, &engine, T0 + 2 * DAY).await;
    assert_eq!(rep.deleted, 1, "the unheld one goes");
    assert_eq!(rep.blocked_total, 1);
    assert_eq!(rep.blocked[0].interaction, a.interaction);
    assert_eq!(rep.blocked[0].hold, hold.id);
    assert_eq!(rep.blocked[0].reason, "dispute 2026-17");
    assert!(h
        .vault()
        .store()
        .get_interaction(&h.tenant, a.interaction)
        .await
        .unwrap()
        .is_some());
    assert!(h
        .vault()
        .store()
        .get_interaction(&h.tenant, b.interaction)
        .await
        .unwrap()
        .is_none());
    // Erasure is blocked too: the subject is restricted (Art. 18), the held call kept.
    let rcpt = h
        .policies
        .erase_subject(&h.tenant, a.subject, "user:dpo")
        .await
        .unwrap();
    assert!(!rcpt.key_erased);
    assert_eq!(rcpt.held.len(), 1);
    h.policies
        .release_hold(&h.tenant, hold.id, "user:dpo")
        .await
        .unwrap();
    let rep = run_at(&h, &engine, T0 + 3 * DAY).await;
    assert_eq!(rep.blocked_total, 0);
    assert!(h
        .vault()
        .store()
        .get_interaction(&h.tenant, a.interaction)
        .await
        .unwrap()
        .is_none());
    let st = h
        .vault()
        .store()
        .get_subject(&h.tenant, a.subject)
        .await
        .unwrap()
        .unwrap()
        .state;
    assert_eq!(st, SubjectState::Erased);
}

#[tokio::test]
async fn mifid_duty_restricts_then_erases_when_it_ends() {
    let h = harness(ProcessingMode::Record).await;
    tenant_rule(&h, ProcessingMode::Record, 1827).await;
    let case = h
        .policies
        .open_case(&h.tenant, "DEAL-1", "user:advisor")
        .await
        .unwrap();
    let mut req = call(&h, "+4520000007", text(), true);
    req.case_id = Some(case.id);
    let r = ingest(&h, req).await;
    let hold = h
        .policies
        .place_hold(HoldRequest {
            tenant: h.tenant.clone(),
            scope: HoldScope::Case,
            target: case.id.to_string(),
            reason: "Art. 16(7) record keeping".into(),
            created_by: "user:compliance".into(),
            until_ms: None,
            preset: Some(HoldPreset::MifidII),
        })
        .await
        .unwrap();
    assert!(hold.reason.starts_with("MiFID II"));
    let five = hold.until_ms.unwrap();
    assert!(five > T0 + 1825 * DAY && five <= T0 + 1827 * DAY);
    // Extending beyond seven years is refused; to seven is fine.
    assert!(h
        .policies
        .extend_hold(&h.tenant, hold.id, T0 + 7 * 366 * DAY, "user:c")
        .await
        .is_err());
    // The subject asks for erasure: restricted, data kept.
    let rc = h
        .policies
        .erase_subject(&h.tenant, r.subject, "user:dpo")
        .await
        .unwrap();
    assert!(!rc.key_erased);
    let st = |h: &H| {
        let s = h.vault().store().clone();
        let t = h.tenant.clone();
        async move { s.get_subject(&t, r.subject).await.unwrap().unwrap().state }
    };
    assert_eq!(st(&h).await, SubjectState::Restricted);
    let engine = RetentionEngine::new(h.policies.clone());
    let rep = run_at(&h, &engine, five - DAY).await;
    assert_eq!(rep.subjects_erased, 0);
    assert_eq!(st(&h).await, SubjectState::Restricted);
    // The duty ends: the next run completes the erasure by itself.
    let rep = run_at(&h, &engine, five + 1).await;
    assert_eq!(rep.subjects_erased, 1);
    assert_eq!(st(&h).await, SubjectState::Erased);
    assert!(all(&h).await.is_empty());
}

#[tokio::test]
async fn consent_withdrawal_deletes_recordings_and_legal_duty_is_never_switched() {
    let h = harness(ProcessingMode::Anonymise).await;
    let mut req = call(&h, "+4520000008", text(), true);
    req.recording_basis = Some(LegalBasis::Consent);
    let r = ingest(&h, req).await;
    assert!(r.audio_stored);
    let blob = h.vault().store().recordings(r.interaction).await.unwrap()[0]
        .blob_key
        .clone();
    let rep = h
        .policies
        .set_consent(ConsentChange {
            tenant: h.tenant.clone(),
            subject: r.subject,
            purpose: ConsentPurpose::Recording,
            basis: LegalBasis::Consent,
            state: ConsentState::Withdrawn,
            source: "ivr".into(),
            interaction: None,
            actor: "api".into(),
        })
        .await
        .unwrap();
    assert_eq!(rep.recordings_deleted, 1);
    assert!(h
        .vault()
        .store()
        .recordings(r.interaction)
        .await
        .unwrap()
        .is_empty());
    assert!(h.vault().blobs().get(&blob).await.is_err());
    // The transcript (another purpose) stays.
    assert_eq!(
        h.vault()
            .store()
            .segments(r.interaction)
            .await
            .unwrap()
            .len(),
        2
    );

    // A purpose on a legal obligation cannot be withdrawn or moved to consent.
    let change = |basis, state| ConsentChange {
        tenant: h.tenant.clone(),
        subject: r.subject,
        purpose: ConsentPurpose::Transcript,
        basis,
        state,
        source: "api".into(),
        interaction: None,
        actor: "api".into(),
    };
    h.policies
        .set_consent(change(LegalBasis::LegalObligation, ConsentState::Given))
        .await
        .unwrap();
    let e = h
        .policies
        .set_consent(change(LegalBasis::Consent, ConsentState::Given))
        .await
        .unwrap_err();
    assert!(matches!(e, PolicyError::LegalObligation { .. }), "{e}");
    let e = h
        .policies
        .set_consent(change(LegalBasis::LegalObligation, ConsentState::Withdrawn))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("legal obligation"), "{e}");
    assert_eq!(
        h.vault()
            .store()
            .segments(r.interaction)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_crash_mid_run_is_completed_by_the_next_run_with_nothing_done_twice() {
    let h = harness(ProcessingMode::Record).await;
    tenant_rule(&h, ProcessingMode::Record, 1).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        // Three calls per caller: four subjects.
        let r = ingest(
            &h,
            call(&h, &format!("+452100000{}", i / 3), text(), i % 2 == 0),
        )
        .await;
        ids.push(r.interaction);
    }
    let at = T0 + 2 * DAY;
    h.clock.set(at);
    let crashing = RetentionEngine::new(h.policies.clone()).with_fault_after(5);
    let e = crashing.run(at, false).await.unwrap_err();
    assert!(matches!(e, PolicyError::InjectedFault(5)), "{e}");
    assert_eq!(
        all(&h).await.len(),
        7,
        "five deletions committed before the crash"
    );

    let rep = RetentionEngine::new(h.policies.clone())
        .run(at, false)
        .await
        .unwrap();
    assert!(rep.resumed >= 5, "{rep:?}");
    assert!(all(&h).await.is_empty());
    let entries = audit_entries(&h).await;
    for id in &ids {
        let n = entries
            .iter()
            .filter(|e| {
                e.entry.actor == RETENTION_ACTOR
                    && e.entry.object.as_deref() == Some(&id.to_string())
            })
            .count();
        assert_eq!(n, 1, "interaction {id} acted on {n} times");
    }
    let erasures = entries
        .iter()
        .filter(|e| {
            e.entry.actor == RETENTION_ACTOR
                && e.entry
                    .purpose
                    .as_deref()
                    .is_some_and(|p| p.starts_with("retention erase_subject"))
        })
        .count();
    assert_eq!(erasures, 4, "each subject erased once");
    // A third run finds nothing.
    let rep = RetentionEngine::new(h.policies.clone())
        .run(at, false)
        .await
        .unwrap();
    assert_eq!(rep.resumed + rep.deleted + rep.subjects_erased, 0);
    assert!(h.vault().store().open_journal().await.unwrap().is_empty());
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let h = harness(ProcessingMode::Record).await;
    tenant_rule(&h, ProcessingMode::Record, 1).await;
    ingest(&h, call(&h, "+4520000009", text(), true)).await;
    let engine = RetentionEngine::new(h.policies.clone());
    let rep = engine.run(T0 + 2 * DAY, true).await.unwrap();
    assert_eq!(rep.deleted, 1);
    assert_eq!(all(&h).await.len(), 1);
}
