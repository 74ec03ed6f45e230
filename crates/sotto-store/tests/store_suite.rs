//! The shared behaviour suite every [`Store`] implementation must pass.
//!
//! Each case is a plain `async fn(&dyn Store)` in [`cases`] that starts from an empty store; the
//! `store_suite!` macro turns the whole list into one `#[tokio::test]` per case for a backend,
//! given an async factory returning a [`Fixture`]. A new backend (PostgreSQL) joins by adding one
//! factory and one `store_suite!(postgres, make_postgres);` line — no case changes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sotto_store::Store;

/// A store under test, plus whatever must live as long as it (a temp dir, a schema guard).
pub struct Fixture {
    pub store: Box<dyn Store>,
    pub _guard: Option<Box<dyn std::any::Any + Send>>,
}

macro_rules! store_suite {
    ($backend:ident, $factory:path) => {
        store_suite!(@cases $backend, $factory,
            tenants_round_trip,
            subjects_stay_as_tombstones,
            subject_index_conflict_and_same_subject_noop,
            missing_parents_are_not_found,
            interactions_round_trip_and_tenant_isolation,
            list_filters_and_ordering,
            segments_ordered_by_seq_and_recordings,
            insert_interactions_is_one_transaction,
            timeline_round_trip_atomic_and_erased_with_its_interaction,
            consents_ordered_by_time,
            cases_round_trip,
            holds_active_expired_released,
            delete_removes_exactly_the_subjects_rows,
            delete_keeps_held_interactions,
            delete_with_foreign_keep_ids,
            erasure_receipts_round_trip,
            enum_variants_all_round_trip,
            checkpoint_after_erasure_keeps_everything_else,
            policy_schedule_due_and_apply,
            policy_journal_outbox_and_stats,
        );
    };
    (@cases $backend:ident, $factory:path, $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fx: super::Fixture = $factory().await;
                    super::cases::$case(fx.store.as_ref()).await;
                }
            )*
        }
    };
}

async fn sqlite_memory() -> Fixture {
    Fixture {
        store: Box::new(sotto_store::SqliteStore::in_memory().await.unwrap()),
        _guard: None,
    }
}

async fn sqlite_file() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = sotto_store::SqliteStore::open(&dir.path().join("data/sotto.db"))
        .await
        .unwrap();
    Fixture {
        store: Box::new(store),
        _guard: Some(Box::new(dir)),
    }
}

store_suite!(sqlite_in_memory, super::sqlite_memory);
store_suite!(sqlite_on_file, super::sqlite_file);

pub mod cases {
    use sotto_core::*;
    use sotto_store::*;

    // ---------------------------------------------------------------- builders

    pub fn tid(s: &str) -> TenantId {
        TenantId::new(s).unwrap()
    }

    pub async fn tenant(s: &dyn Store, id: &str) -> TenantId {
        let t = TenantRow {
            id: tid(id),
            name: format!("Org {id}"),
            mode: ProcessingMode::Record,
            created_ms: 1_000,
        };
        s.put_tenant(&t).await.unwrap();
        t.id
    }

    pub async fn subject(s: &dyn Store, t: &TenantId) -> SubjectId {
        let row = SubjectRow {
            tenant: t.clone(),
            id: SubjectId::new(),
            state: SubjectState::Active,
            created_ms: 2_000,
            erased_ms: None,
        };
        s.insert_subject(&row).await.unwrap();
        row.id
    }

    pub fn interaction(t: &TenantId, subject: SubjectId, started_ms: i64) -> InteractionRow {
        let id = InteractionId::new();
        InteractionRow {
            tenant: t.clone(),
            id,
            subject,
            channel: Channel::Call,
            direction: Direction::Inbound,
            started_ms,
            ended_ms: started_ms + 60_000,
            case_id: None,
            created_ms: started_ms + 61_000,
            wrapped_key: format!("wk-{id}").into_bytes(),
            sealed_meta: vec![0, 1, 2, 255, 254],
            redaction_counts: r#"{"payment_card":1}"#.into(),
        }
    }

    pub fn segment(i: InteractionId, seq: i64) -> SegmentRow {
        SegmentRow {
            interaction: i,
            id: SegmentId::new(),
            seq,
            speaker: if seq % 2 == 0 {
                Speaker::Caller
            } else {
                Speaker::Bot
            },
            kind: SegmentKind::Personal,
            start_ms: seq * 1_000,
            end_ms: seq * 1_000 + 900,
            sealed_text: format!("sealed-{seq}").into_bytes(),
            sealed_words: (seq % 2 == 0).then(|| vec![9u8; 3]),
        }
    }

    pub fn recording(
        t: &TenantId,
        subject: SubjectId,
        i: InteractionId,
        created_ms: i64,
    ) -> RecordingRow {
        let id = ObjectId::new();
        RecordingRow {
            interaction: i,
            id,
            blob_key: format!("t/{t}/s/{subject}/{id}"),
            codec: "g711-ulaw-zstd".into(),
            sample_rate: 8_000,
            channels: 2,
            duration_ms: 60_000,
            size_bytes: 12_345,
            wrapped_key: vec![7; 40],
            created_ms,
        }
    }

    /// An interaction with `segs` segments (seq 0..segs) and `recs` recordings.
    pub fn bundle(
        t: &TenantId,
        subject: SubjectId,
        started_ms: i64,
        segs: i64,
        recs: usize,
    ) -> InteractionBundle {
        let i = interaction(t, subject, started_ms);
        let id = i.id;
        InteractionBundle {
            interaction: i,
            segments: (0..segs).map(|q| segment(id, q)).collect(),
            recordings: (0..recs)
                .map(|r| recording(t, subject, id, started_ms + r as i64))
                .collect(),
        }
    }

    pub fn consent(
        t: &TenantId,
        subject: SubjectId,
        at_ms: i64,
        interaction: Option<InteractionId>,
    ) -> ConsentRow {
        ConsentRow {
            tenant: t.clone(),
            id: ObjectId::new(),
            subject,
            purpose: ConsentPurpose::Recording,
            basis: LegalBasis::Consent,
            state: ConsentState::Given,
            source: "ivr".into(),
            at_ms,
            interaction,
        }
    }

    pub fn index(
        t: &TenantId,
        subject: SubjectId,
        kind: IdentifierKind,
        digest: &[u8],
    ) -> SubjectIndexRow {
        SubjectIndexRow {
            tenant: t.clone(),
            subject,
            kind,
            digest: digest.to_vec(),
        }
    }

    pub fn hold(
        t: &TenantId,
        created_ms: i64,
        until: Option<i64>,
        released: Option<i64>,
    ) -> LegalHoldRow {
        LegalHoldRow {
            tenant: t.clone(),
            id: ObjectId::new(),
            scope: HoldScope::Case,
            target: CaseId::new().to_string(),
            reason: "MiFID II".into(),
            created_by: "dpo-1".into(),
            created_ms,
            until_ms: until,
            released_ms: released,
        }
    }

    fn ids(rows: &[InteractionRow]) -> Vec<InteractionId> {
        rows.iter().map(|r| r.id).collect()
    }

    /// Expected listing order: started_ms, then id.
    fn sorted(mut rows: Vec<InteractionRow>) -> Vec<InteractionRow> {
        rows.sort_by_key(|a| (a.started_ms, a.id));
        rows
    }

    fn all() -> InteractionFilter {
        InteractionFilter::default()
    }

    // ---------------------------------------------------------------- cases

    pub async fn tenants_round_trip(s: &dyn Store) {
        assert!(s.list_tenants().await.unwrap().is_empty());
        assert_eq!(s.get_tenant(&tid("nobody")).await.unwrap(), None);
        let b = TenantRow {
            id: tid("bank"),
            name: "Bank".into(),
            mode: ProcessingMode::Record,
            created_ms: 5,
        };
        let a = TenantRow {
            id: tid("acme"),
            name: "Acme".into(),
            mode: ProcessingMode::Minimal,
            created_ms: 7,
        };
        s.put_tenant(&b).await.unwrap();
        s.put_tenant(&a).await.unwrap();
        assert_eq!(s.get_tenant(&b.id).await.unwrap(), Some(b.clone()));
        assert_eq!(s.list_tenants().await.unwrap(), vec![a.clone(), b.clone()]);
        // Update name and mode; created_ms stays.
        let b2 = TenantRow {
            name: "Bank A/S".into(),
            mode: ProcessingMode::Anonymise,
            created_ms: 999,
            ..b.clone()
        };
        s.put_tenant(&b2).await.unwrap();
        let got = s.get_tenant(&b.id).await.unwrap().unwrap();
        assert_eq!(got.name, "Bank A/S");
        assert_eq!(got.mode, ProcessingMode::Anonymise);
        assert_eq!(got.created_ms, 5);
        assert_eq!(s.list_tenants().await.unwrap().len(), 2);
    }

    pub async fn subjects_stay_as_tombstones(s: &dyn Store) {
        let t = tenant(s, "acme").await;
        let other = tenant(s, "other").await;
        let a = subject(s, &t).await;
        let row = s.get_subject(&t, a).await.unwrap().unwrap();
        assert_eq!(
            (row.state, row.created_ms, row.erased_ms),
            (SubjectState::Active, 2_000, None)
        );
        // Duplicate insert is a conflict; other tenant does not see it.
        assert!(matches!(
            s.insert_subject(&row).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.get_subject(&other, a).await.unwrap(), None);
        assert_eq!(s.count_subjects(&t).await.unwrap(), 1);
        assert_eq!(s.count_subjects(&other).await.unwrap(), 0);

        s.set_subject_state(&t, a, SubjectState::Restricted, 3_000)
            .await
            .unwrap();
        let row = s.get_subject(&t, a).await.unwrap().unwrap();
        assert_eq!((row.state, row.erased_ms), (SubjectState::Restricted, None));

        s.set_subject_state(&t, a, SubjectState::Erased, 4_000)
            .await
            .unwrap();
        // Content goes; the subject row stays as a tombstone.
        s.delete_subject_content(&t, a, &[]).await.unwrap();
        let row = s.get_subject(&t, a).await.unwrap().unwrap();
        assert_eq!(
            (row.state, row.erased_ms),
            (SubjectState::Erased, Some(4_000))
        );
        assert_eq!(s.count_subjects(&t).await.unwrap(), 1);

        // Erasing again keeps the first erasure time; leaving Erased is refused.
        s.set_subject_state(&t, a, SubjectState::Erased, 5_000)
            .await
            .unwrap();
        assert_eq!(
            s.get_subject(&t, a).await.unwrap().unwrap().erased_ms,
            Some(4_000)
        );
        assert!(matches!(
            s.set_subject_state(&t, a, SubjectState::Active, 6_000)
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.set_subject_state(&t, SubjectId::new(), SubjectState::Erased, 1)
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.set_subject_state(&other, a, SubjectState::Restricted, 1)
                .await,
            Err(StoreError::NotFound(_))
        ));
    }

    pub async fn subject_index_conflict_and_same_subject_noop(s: &dyn Store) {
        let t = tenant(s, "acme").await;
        let u = tenant(s, "other").await;
        let a = subject(s, &t).await;
        let b = subject(s, &t).await;
        let c = subject(s, &u).await;
        let digest = [0xAB; 32];
        s.put_subject_index(&index(&t, a, IdentifierKind::Phone, &digest))
            .await
            .unwrap();
        assert_eq!(
            s.find_subject(&t, IdentifierKind::Phone, &digest)
                .await
                .unwrap(),
            Some(a)
        );
        // Same subject again: no-op.
        s.put_subject_index(&index(&t, a, IdentifierKind::Phone, &digest))
            .await
            .unwrap();
        // Another subject, same (tenant, kind, digest): conflict, and the entry is unchanged.
        assert!(matches!(
            s.put_subject_index(&index(&t, b, IdentifierKind::Phone, &digest))
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            s.find_subject(&t, IdentifierKind::Phone, &digest)
                .await
                .unwrap(),
            Some(a)
        );
        // Another kind or another tenant is another entry.
        s.put_subject_index(&index(&t, b, IdentifierKind::Email, &digest))
            .await
            .unwrap();
        s.put_subject_index(&index(&u, c, IdentifierKind::Phone, &digest))
            .await
            .unwrap();
        assert_eq!(
            s.find_subject(&t, IdentifierKind::Email, &digest)
                .await
                .unwrap(),
            Some(b)
        );
        assert_eq!(
            s.find_subject(&u, IdentifierKind::Phone, &digest)
                .await
                .unwrap(),
            Some(c)
        );
        assert_eq!(
            s.find_subject(&t, IdentifierKind::NationalId, &digest)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            s.find_subject(&t, IdentifierKind::Phone, &[0xAB; 31])
                .await
                .unwrap(),
            None
        );
        // A subject may have several identifiers.
        s.put_subject_index(&index(&t, a, IdentifierKind::CustomerId, b"c-1"))
            .await
            .unwrap();
        assert_eq!(
            s.find_subject(&t, IdentifierKind::CustomerId, b"c-1")
                .await
                .unwrap(),
            Some(a)
        );
    }

    pub async fn missing_parents_are_not_found(s: &dyn Store) {
        let t = tenant(s, "acme").await;
        let ghost_tenant = tid("ghost");
        let orphan = SubjectRow {
            tenant: ghost_tenant.clone(),
            id: SubjectId::new(),
            state: SubjectState::Active,
            created_ms: 1,
            erased_ms: None,
        };
        assert!(matches!(
            s.insert_subject(&orphan).await,
            Err(StoreError::NotFound(_))
        ));
        let b = bundle(&t, SubjectId::new(), 1, 1, 0);
        assert!(matches!(
            s.insert_interactions(&[b]).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.put_subject_index(&index(&t, SubjectId::new(), IdentifierKind::Phone, b"x"))
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.put_consent(&consent(&t, SubjectId::new(), 1, None)).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(s.count_interactions(&t).await.unwrap(), 0);
    }

    pub async fn interactions_round_trip_and_tenant_isolation(s: &dyn Store) {
        let t = tenant(s, "acme").await;
        let u = tenant(s, "other").await;
        let a = subject(s, &t).await;
        let mut b1 = bundle(&t, a, 10_000, 3, 1);
        b1.interaction.case_id = Some(CaseId::new());
        b1.interaction.channel = Channel::Email;
        b1.interaction.direction = Direction::Outbound;
        let b2 = bundle(&t, a, 20_000, 0, 0);
        s.insert_interactions(&[b1.clone(), b2.clone()])
            .await
            .unwrap();
        s.insert_interactions(&[]).await.unwrap();
        assert_eq!(
            s.get_interaction(&t, b1.interaction.id).await.unwrap(),
            Some(b1.interaction.clone())
        );
        assert_eq!(
            s.get_interaction(&t, b2.interaction.id).await.unwrap(),
            Some(b2.interaction.clone())
        );
        assert_eq!(
            s.get_interaction(&u, b1.interaction.id).await.unwrap(),
            None
        );
        assert_eq!(
            s.get_interaction(&t, InteractionId::new()).await.unwrap(),
            None
        );
        assert_eq!(s.count_interactions(&t).await.unwrap(), 2);
        assert_eq!(s.count_interactions(&u).await.unwrap(), 0);
        assert!(s.list_interactions(&u, &all()).await.unwrap().is_empty());
        assert!(s
            .list_interactions(
                &u,
                &InteractionFilter {
                    subject: Some(a),
                    ..all()
                }
            )
            .await
            .unwrap()
            .is_empty());
        // Same id again: conflict, nothing changes.
        assert!(matches!(
            s.insert_interactions(std::slice::from_ref(&b2)).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.count_interactions(&t).await.unwrap(), 2);
    }

    pub async fn list_filters_and_ordering(s: &dyn Store) {
        let t = tenant(s, "acme").await;
        let a = subject(s, &t).await;
        let b = subject(s, &t).await;
        let case = CaseId::new();
        let other_case = CaseId::new();
        let mut bundles = Vec::new();
        // Inserted out of order, with ties on started_ms (broken by id).
        for (k, start) in [50, 10, 30, 30, 20, 40, 30, 60].into_iter().enumerate() {
            let subj = if k % 2 == 0 { a } else { b };
            let mut bd = bundle(&t, subj, start, 0, 0);
            bd.interaction.case_id = match k % 3 {
                0 => Some(case),
                1 => Some(other_case),
                _ => None,
            };
            bundles.push(bd);
        }
        s.insert_interactions(&bundles).await.unwrap();
        let rows: Vec<InteractionRow> = bundles.iter().map(|b| b.interaction.clone()).collect();
        let expect = |f: &dyn Fn(&InteractionRow) -> bool| -> Vec<InteractionId> {
            ids(&sorted(rows.iter().filter(|r| f(r)).cloned().collect()))
        };

        let everything = s.list_interactions(&t, &all()).await.unwrap();
        assert_eq!(ids(&everything), expect(&|_| true));
        assert_eq!(everything, sorted(rows.clone()));

        let f = InteractionFilter {
            subject: Some(a),
            ..all()
        };
        assert_eq!(
            ids(&s.list_interactions(&t, &f).await.unwrap()),
            expect(&|r| r.subject == a)
        );

        let f = InteractionFilter {
            case_id: Some(case),
            ..all()
        };
        assert_eq!(
            ids(&s.list_interactions(&t, &f).await.unwrap()),
            expect(&|r| r.case_id == Some(case))
        );

        let f = InteractionFilter {
            case_id: Some(CaseId::new()),
            ..all()
        };
        assert!(s.list_interactions(&t, &f).await.unwrap().is_empty());

        // Time range: from inclusive, before exclusive.
        let f = InteractionFilter {
            started_from_ms: Some(30),
            started_before_ms: Some(50),
            ..all()
        };
        let got = s.list_interactions(&t, &f).await.unwrap();
        assert_eq!(ids(&got), expect(&|r| (30..50).contains(&r.started_ms)));
        assert_eq!(got.len(), 4);
        let f = InteractionFilter {
            started_from_ms: Some(50),
            ..all()
        };
        assert_eq!(
            ids(&s.list_interactions(&t, &f).await.unwrap()),
            expect(&|r| r.started_ms >= 50)
        );
        let f = InteractionFilter {
            started_before_ms: Some(20),
            ..all()
        };
        assert_eq!(
            ids(&s.list_interactions(&t, &f).await.unwrap()),
            expect(&|r| r.started_ms < 20)
        );

        // Combined filters.
        let f = InteractionFilter {
            subject: Some(b),
            started_from_ms: Some(20),
            started_before_ms: Some(60),
            ..all()
        };
        assert_eq!(
            ids(&s.list_interactions(&t, &f).await.unwrap()),
            expect(&|r| r.subject == b && (20..60).contains(&r.started_ms))
        );

        // Paging walks the same order without gaps or repeats.
        let full = expect(&|_| true);
        let mut paged = Vec::new();
        for page in 0..4u32 {
            let f = InteractionFilter {
                limit: Some(3),
                offset: Some(page * 3),
                ..all()
            };
            let got = s.list_interactions(&t, &f).await.unwrap();
            assert!(got.len() <= 3);
            paged.extend(ids(&got));
        }
        assert_eq!(paged, full);
        let f = InteractionFilter {
            limit: Some(2),
            ..all()
        };
        assert_eq!(
            ids(&s.list_interactions(&t, &f).await.unwrap()),
            full[..2].to_vec()
        );
        let f = InteractionFilter {
            offset: Some(6),
            ..all()
        };
        assert_eq!(
            ids(&s.list_interactions(&t, &f).await.unwrap()),
            full[6..].to_vec()
        );
        let f = InteractionFilter {
            limit: Some(0),
            ..all()
        };
        assert!(s.list_interactions(&t, &f).await.unwrap().is_empty());
        let f = InteractionFilter {
            subject: Some(a),
            limit: Some(1),
            offset: Some(1),
            ..all()
        };
        assert_eq!(
            ids(&s.list_interactions(&t, &f).await.unwrap()),
            expect(&|r| r.subject == a)[1..2].to_vec()
        );
    }

    pub async fn segments_ordered_by_seq_and_recordings(s: &dyn Store) {
        let t = tenant(s, "acme").await;
        let a = subject(s, &t).await;
        let mut b = bundle(&t, a, 1_000, 5, 2);
        b.segments.reverse();
        b.segments[0].sealed_words = None;
        b.segments[1].sealed_words = Some(Vec::new());
        s.insert_interactions(&[b.clone()]).await.unwrap();
        let mut want = b.segments.clone();
        want.sort_by_key(|x| x.seq);
        assert_eq!(s.segments(b.interaction.id).await.unwrap(), want);
        let mut recs = b.recordings.clone();
        recs.sort_by_key(|x| (x.created_ms, x.id));
        assert_eq!(s.recordings(b.interaction.id).await.unwrap(), recs);
        assert!(s.segments(InteractionId::new()).await.unwrap().is_empty());
        assert!(s.recordings(InteractionId::new()).await.unwrap().is_empty());
        // Extremes survive the round trip.
        let mut big = bundle(&t, a, 2_000, 1, 1);
        big.recordings[0].sample_rate = u32::MAX;
        big.recordings[0].channels = u16::MAX;
        big.segments[0].sealed_text = vec![0u8; 100_000];
        s.insert_interactions(&[big.clone()]).await.unwrap();
        assert_eq!(
            s.recordings(big.interaction.id).await.unwrap(),
            big.recordings
        );
        assert_eq!(s.segments(big.interaction.id).await.unwrap(), big.segments);
    }

    pub async fn insert_interactions_is_one_transaction(s: &dyn Store) {
        let t = tenant(s, "acme").await;
        let a = subject(s, &t).await;
        let good = bundle(&t, a, 1, 2, 1);
        let orphan = bundle(&t, SubjectId::new(), 2, 1, 0);
        assert!(s
            .insert_interactions(&[good.clone(), orphan])
            .await
            .is_err());
        assert_eq!(s.count_interactions(&t).await.unwrap(), 0);
        assert!(s.segments(good.interaction.id).await.unwrap().is_empty());
        assert!(s.recordings(good.interaction.id).await.unwrap().is_empty());

        // Duplicate segment seq within an interaction.
        let mut dup = bundle(&t, a, 3, 2, 0);
        dup.segments[1].seq = 0;
        assert!(matches!(
            s.insert_interactions(&[good.clone(), dup]).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.count_interactions(&t).await.unwrap(), 0);

        // A segment naming another interaction is refused.
        let mut stray = bundle(&t, a, 4, 1, 0);
        stray.segments[0].interaction = InteractionId::new();
        assert!(s.insert_interactions(&[stray]).await.is_err());
        assert_eq!(s.count_interactions(&t).await.unwrap(), 0);

        s.insert_interactions(&[good]).await.unwrap();
        assert_eq!(s.count_interactions(&t).await.unwrap(), 1);
    }

    fn event(i: InteractionId, seq: i64, kind: &str, reason: Option<Vec<u8>>) -> TimelineRow {
        TimelineRow {
            interaction: i,
            seq,
            at_ms: 1_000 * seq,
            leg: (seq % 2 == 0).then_some(seq % 3),
            kind: kind.into(),
            detail: format!("{{\"until_ms\":{}}}", 1_000 * seq + 500),
            actor: "user:0193".into(),
            sealed_reason: reason,
        }
    }

    pub async fn timeline_round_trip_atomic_and_erased_with_its_interaction(s: &dyn Store) {
        let t = tenant(s, "acme").await;
        let a = subject(s, &t).await;
        let b = bundle(&t, a, 1_000, 2, 1);
        let id = b.interaction.id;
        let mut events: Vec<TimelineRow> = TIMELINE_KINDS
            .iter()
            .enumerate()
            .map(|(n, k)| event(id, n as i64, k, (n % 2 == 1).then(|| vec![n as u8; 28])))
            .collect();
        events.reverse();
        s.insert_interactions_with_timeline(std::slice::from_ref(&b), &events)
            .await
            .unwrap();
        events.reverse();
        assert_eq!(
            s.timeline(id).await.unwrap(),
            events,
            "every kind, ordered by seq"
        );
        assert!(s.timeline(InteractionId::new()).await.unwrap().is_empty());

        // An unknown kind, a duplicate seq or a row naming another interaction: nothing at all
        // is written, the interaction included.
        let c = bundle(&t, a, 2_000, 1, 0);
        let cid = c.interaction.id;
        for bad in [
            vec![event(cid, 0, "coffee_break", None)],
            vec![event(cid, 0, "gap", None), event(cid, 0, "dtmf", None)],
            vec![event(InteractionId::new(), 0, "gap", None)],
        ] {
            assert!(s
                .insert_interactions_with_timeline(std::slice::from_ref(&c), &bad)
                .await
                .is_err());
            assert!(s.get_interaction(&t, cid).await.unwrap().is_none());
            assert!(s.timeline(cid).await.unwrap().is_empty());
        }
        assert!(s
            .insert_interactions_with_timeline(&[], &[event(cid, 0, "gap", None)])
            .await
            .is_err());

        // Erasing the subject's content takes the timeline with it.
        s.delete_subject_content(&t, a, &[]).await.unwrap();
        assert!(s.timeline(id).await.unwrap().is_empty());
    }

    pub async fn consents_ordered_by_time(s: &dyn Store) {
        let t = tenant(s, "acme").await;
        let u = tenant(s, "other").await;
        let a = subject(s, &t).await;
        let b = subject(s, &t).await;
        let c3 = consent(&t, a, 300, None);
        let c1 = ConsentRow {
            purpose: ConsentPurpose::Analytics,
            basis: LegalBasis::LegitimateInterest,
            ..consent(&t, a, 100, Some(InteractionId::new()))
        };
        let c2 = ConsentRow {
            state: ConsentState::Withdrawn,
            source: "agent:agent-7".into(),
            ..consent(&t, a, 200, None)
        };
        let other = consent(&t, b, 150, None);
        for c in [&c3, &c1, &other, &c2] {
            s.put_consent(c).await.unwrap();
        }
        assert_eq!(
            s.consents_for_subject(&t, a).await.unwrap(),
            vec![c1.clone(), c2.clone(), c3.clone()]
        );
        assert_eq!(s.consents_for_subject(&t, b).await.unwrap(), vec![other]);
        assert!(s.consents_for_subject(&u, a).await.unwrap().is_empty());
        // put with the same id updates.
        let c3w = ConsentRow {
            state: ConsentState::Withdrawn,
            at_ms: 50,
            ..c3.clone()
        };
        s.put_consent(&c3w).await.unwrap();
        assert_eq!(
            s.consents_for_subject(&t, a).await.unwrap(),
            vec![c3w, c1, c2]
        );
    }

    pub async fn cases_round_trip(s: &dyn Store) {
        let t = tenant(s, "acme").await;
        let u = tenant(s, "other").await;
        let c = CaseRow {
            tenant: t.clone(),
            id: CaseId::new(),
            reference: "DEAL-2026-0042".into(),
            opened_ms: 10,
            closed_ms: None,
        };
        s.put_case(&c).await.unwrap();
        assert_eq!(s.get_case(&t, c.id).await.unwrap(), Some(c.clone()));
        assert_eq!(s.get_case(&u, c.id).await.unwrap(), None);
        assert_eq!(s.get_case(&t, CaseId::new()).await.unwrap(), None);
        let closed = CaseRow {
            closed_ms: Some(99),
            ..c.clone()
        };
        s.put_case(&closed).await.unwrap();
        assert_eq!(s.get_case(&t, c.id).await.unwrap(), Some(closed));
        // The same id under another tenant is refused.
        let stolen = CaseRow {
            tenant: u.clone(),
            ..c.clone()
        };
        assert!(matches!(
            s.put_case(&stolen).await,
            Err(StoreError::Conflict(_))
        ));
    }

    pub async fn holds_active_expired_released(s: &dyn Store) {
        let t = tenant(s, "acme").await;
        let u = tenant(s, "other").await;
        let now = 10_000;
        let open_ended = hold(&t, 1, None, None);
        let future = hold(&t, 2, Some(now + 1), None);
        let expired = hold(&t, 3, Some(now - 1), None);
        let expires_now = hold(&t, 4, Some(now), None);
        let released = hold(&t, 5, None, Some(now - 5));
        let later = LegalHoldRow {
            scope: HoldScope::Interaction,
            ..hold(&t, 6, None, None)
        };
        let elsewhere = hold(&u, 1, None, None);
        for h in [
            &later,
            &released,
            &expired,
            &future,
            &open_ended,
            &expires_now,
            &elsewhere,
        ] {
            s.put_legal_hold(h).await.unwrap();
        }
        assert_eq!(
            s.active_holds(&t, now).await.unwrap(),
            vec![open_ended.clone(), future.clone(), later.clone()]
        );
        for h in s.active_holds(&t, now).await.unwrap() {
            assert!(h.is_active(now));
        }
        // Releasing is a put with released_ms.
        let rel = LegalHoldRow {
            released_ms: Some(now),
            ..open_ended.clone()
        };
        s.put_legal_hold(&rel).await.unwrap();
        assert_eq!(
            s.active_holds(&t, now).await.unwrap(),
            vec![future.clone(), later.clone()]
        );
        // Later, the dated one expires too.
        assert_eq!(s.active_holds(&t, now + 1).await.unwrap(), vec![later]);
        assert_eq!(s.active_holds(&u, now).await.unwrap(), vec![elsewhere]);
    }

    struct World {
        t: TenantId,
        a: SubjectId,
        b: SubjectId,
        a_bundles: Vec<InteractionBundle>,
        b_bundles: Vec<InteractionBundle>,
    }

    /// Subjects a and b with interactions, segments, recordings, consents and index entries.
    async fn world(s: &dyn Store) -> World {
        let t = tenant(s, "acme").await;
        let a = subject(s, &t).await;
        let b = subject(s, &t).await;
        let a_bundles: Vec<_> = (0..4)
            .map(|k| bundle(&t, a, 100 + k, 3, (k % 3) as usize))
            .collect();
        let b_bundles: Vec<_> = (0..3).map(|k| bundle(&t, b, 100 + k, 2, 1)).collect();
        s.insert_interactions(&a_bundles).await.unwrap();
        s.insert_interactions(&b_bundles).await.unwrap();
        s.put_consent(&consent(&t, a, 1, None)).await.unwrap();
        for bd in &a_bundles[..2] {
            s.put_consent(&consent(&t, a, 2, Some(bd.interaction.id)))
                .await
                .unwrap();
        }
        s.put_consent(&consent(&t, b, 1, Some(b_bundles[0].interaction.id)))
            .await
            .unwrap();
        s.put_subject_index(&index(&t, a, IdentifierKind::Phone, b"a-phone"))
            .await
            .unwrap();
        s.put_subject_index(&index(&t, a, IdentifierKind::Email, b"a-mail"))
            .await
            .unwrap();
        s.put_subject_index(&index(&t, b, IdentifierKind::Phone, b"b-phone"))
            .await
            .unwrap();
        World {
            t,
            a,
            b,
            a_bundles,
            b_bundles,
        }
    }

    async fn snapshot(
        s: &dyn Store,
        t: &TenantId,
        subj: SubjectId,
        bundles: &[InteractionBundle],
    ) -> String {
        let mut out = String::new();
        out += &format!(
            "{:?}\n",
            s.list_interactions(
                t,
                &InteractionFilter {
                    subject: Some(subj),
                    ..all()
                }
            )
            .await
            .unwrap()
        );
        for bd in bundles {
            out += &format!(
                "{:?}\n{:?}\n",
                s.segments(bd.interaction.id).await.unwrap(),
                s.recordings(bd.interaction.id).await.unwrap()
            );
        }
        out += &format!("{:?}\n", s.consents_for_subject(t, subj).await.unwrap());
        out += &format!("{:?}\n", s.get_subject(t, subj).await.unwrap());
        out
    }

    pub async fn delete_removes_exactly_the_subjects_rows(s: &dyn Store) {
        let w = world(s).await;
        let t = &w.t;
        let b_before = snapshot(s, t, w.b, &w.b_bundles).await;
        let b_phone = s
            .find_subject(t, IdentifierKind::Phone, b"b-phone")
            .await
            .unwrap();

        let report = s.delete_subject_content(t, w.a, &[]).await.unwrap();
        let mut want_keys: Vec<String> = w
            .a_bundles
            .iter()
            .flat_map(|b| b.recordings.iter().map(|r| r.blob_key.clone()))
            .collect();
        let mut got_keys = report.blob_keys.clone();
        want_keys.sort();
        got_keys.sort();
        assert_eq!(got_keys, want_keys);
        assert_eq!(
            (
                report.interactions,
                report.segments,
                report.recordings,
                report.consents,
                report.index_entries
            ),
            (4, 12, want_keys.len() as u64, 3, 2)
        );
        assert_eq!(want_keys.len(), 3);

        // a's content is gone, the tombstone stays.
        assert!(s
            .list_interactions(
                t,
                &InteractionFilter {
                    subject: Some(w.a),
                    ..all()
                }
            )
            .await
            .unwrap()
            .is_empty());
        for bd in &w.a_bundles {
            assert_eq!(s.get_interaction(t, bd.interaction.id).await.unwrap(), None);
            assert!(s.segments(bd.interaction.id).await.unwrap().is_empty());
            assert!(s.recordings(bd.interaction.id).await.unwrap().is_empty());
        }
        assert!(s.consents_for_subject(t, w.a).await.unwrap().is_empty());
        assert_eq!(
            s.find_subject(t, IdentifierKind::Phone, b"a-phone")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            s.find_subject(t, IdentifierKind::Email, b"a-mail")
                .await
                .unwrap(),
            None
        );
        assert!(s.get_subject(t, w.a).await.unwrap().is_some());

        // b is untouched.
        assert_eq!(snapshot(s, t, w.b, &w.b_bundles).await, b_before);
        assert_eq!(
            s.find_subject(t, IdentifierKind::Phone, b"b-phone")
                .await
                .unwrap(),
            b_phone
        );
        assert_eq!(s.count_interactions(t).await.unwrap(), 3);

        // Idempotent: a second run finds nothing.
        assert_eq!(
            s.delete_subject_content(t, w.a, &[]).await.unwrap(),
            DeletionReport::default()
        );
        // Another tenant's call for the same subject id deletes nothing.
        let u = tenant(s, "other").await;
        assert_eq!(
            s.delete_subject_content(&u, w.b, &[]).await.unwrap(),
            DeletionReport::default()
        );
        assert_eq!(snapshot(s, t, w.b, &w.b_bundles).await, b_before);
        // Unknown subject: nothing to do, not an error.
        assert_eq!(
            s.delete_subject_content(t, SubjectId::new(), &[])
                .await
                .unwrap(),
            DeletionReport::default()
        );
    }

    pub async fn delete_keeps_held_interactions(s: &dyn Store) {
        let w = world(s).await;
        let t = &w.t;
        let held = &w.a_bundles[1]; // has a consent tied to it, 3 segments, 1 recording
        let gone: Vec<&InteractionBundle> = w
            .a_bundles
            .iter()
            .filter(|b| b.interaction.id != held.interaction.id)
            .collect();

        let report = s
            .delete_subject_content(t, w.a, &[held.interaction.id])
            .await
            .unwrap();
        assert_eq!(report.interactions, 3);
        assert_eq!(report.segments, 9);
        let mut want_keys: Vec<String> = gone
            .iter()
            .flat_map(|b| b.recordings.iter().map(|r| r.blob_key.clone()))
            .collect();
        want_keys.sort();
        let mut got = report.blob_keys.clone();
        got.sort();
        assert_eq!(got, want_keys);
        assert_eq!(report.recordings, want_keys.len() as u64);
        // The consent tied to a deleted interaction goes; the one tied to the held interaction and
        // the subject-wide one stay; index entries stay so the held data remains findable.
        assert_eq!(report.consents, 1);
        assert_eq!(report.index_entries, 0);

        let left = s
            .list_interactions(
                t,
                &InteractionFilter {
                    subject: Some(w.a),
                    ..all()
                },
            )
            .await
            .unwrap();
        assert_eq!(left, vec![held.interaction.clone()]);
        assert_eq!(s.segments(held.interaction.id).await.unwrap().len(), 3);
        assert_eq!(
            s.recordings(held.interaction.id).await.unwrap(),
            held.recordings
        );
        let consents = s.consents_for_subject(t, w.a).await.unwrap();
        assert_eq!(consents.len(), 2);
        assert!(consents
            .iter()
            .all(|c| c.interaction.is_none() || c.interaction == Some(held.interaction.id)));
        assert_eq!(
            s.find_subject(t, IdentifierKind::Phone, b"a-phone")
                .await
                .unwrap(),
            Some(w.a)
        );
        for bd in gone {
            assert_eq!(s.get_interaction(t, bd.interaction.id).await.unwrap(), None);
        }
        assert_eq!(
            s.count_interactions(t).await.unwrap(),
            1 + w.b_bundles.len() as u64
        );

        // When the hold is released, the rest goes.
        let report = s.delete_subject_content(t, w.a, &[]).await.unwrap();
        assert_eq!(
            (
                report.interactions,
                report.segments,
                report.consents,
                report.index_entries
            ),
            (1, 3, 2, 2)
        );
        assert_eq!(report.blob_keys.len(), held.recordings.len());
        assert_eq!(
            s.count_interactions(t).await.unwrap(),
            w.b_bundles.len() as u64
        );
    }

    pub async fn delete_with_foreign_keep_ids(s: &dyn Store) {
        // `keep` naming only other subjects' interactions (or unknown ids) keeps nothing of this
        // subject, so consents and index entries go too.
        let w = world(s).await;
        let t = &w.t;
        let keep = [w.b_bundles[0].interaction.id, InteractionId::new()];
        let report = s.delete_subject_content(t, w.a, &keep).await.unwrap();
        assert_eq!(
            (report.interactions, report.consents, report.index_entries),
            (4, 3, 2)
        );
        assert_eq!(
            s.count_interactions(t).await.unwrap(),
            w.b_bundles.len() as u64
        );
        assert!(s
            .get_interaction(t, w.b_bundles[0].interaction.id)
            .await
            .unwrap()
            .is_some());
    }

    pub async fn erasure_receipts_round_trip(s: &dyn Store) {
        let t = tenant(s, "acme").await;
        let u = tenant(s, "other").await;
        let a = subject(s, &t).await;
        let r2 = ErasureReceiptRow {
            tenant: t.clone(),
            id: ObjectId::new(),
            subject: a,
            at_ms: 200,
            actor: "dpo-1".into(),
            details: r#"{"interactions":4}"#.into(),
        };
        let r1 = ErasureReceiptRow {
            id: ObjectId::new(),
            at_ms: 100,
            subject: SubjectId::new(),
            ..r2.clone()
        };
        s.insert_erasure_receipt(&r2).await.unwrap();
        s.insert_erasure_receipt(&r1).await.unwrap();
        assert_eq!(s.erasure_receipts(&t).await.unwrap(), vec![r1, r2.clone()]);
        assert!(s.erasure_receipts(&u).await.unwrap().is_empty());
        assert!(matches!(
            s.insert_erasure_receipt(&r2).await,
            Err(StoreError::Conflict(_))
        ));
        // Receipts outlive the subject's content.
        s.delete_subject_content(&t, a, &[]).await.unwrap();
        assert_eq!(s.erasure_receipts(&t).await.unwrap().len(), 2);
    }

    /// Every wire name of every stored enum survives a round trip. When sotto-core gains a
    /// variant, this fails until the schema (CHECK constraints) learns it.
    pub async fn enum_variants_all_round_trip(s: &dyn Store) {
        for (k, mode) in ProcessingMode::ALL.iter().enumerate() {
            let t = TenantRow {
                id: tid(&format!("t{k}")),
                name: "x".into(),
                mode: *mode,
                created_ms: 0,
            };
            s.put_tenant(&t).await.unwrap();
            assert_eq!(s.get_tenant(&t.id).await.unwrap(), Some(t));
        }
        let t = tenant(s, "acme").await;
        for st in SubjectState::ALL {
            let row = SubjectRow {
                tenant: t.clone(),
                id: SubjectId::new(),
                state: *st,
                created_ms: 1,
                erased_ms: None,
            };
            s.insert_subject(&row).await.unwrap();
            assert_eq!(s.get_subject(&t, row.id).await.unwrap(), Some(row));
        }
        let a = subject(s, &t).await;
        for (k, kind) in IdentifierKind::ALL.iter().enumerate() {
            s.put_subject_index(&index(&t, a, *kind, &[k as u8]))
                .await
                .unwrap();
            assert_eq!(
                s.find_subject(&t, *kind, &[k as u8]).await.unwrap(),
                Some(a)
            );
        }
        let mut bundles = Vec::new();
        for ch in Channel::ALL {
            for dir in Direction::ALL {
                let mut bd = bundle(&t, a, 1, 0, 0);
                bd.interaction.channel = *ch;
                bd.interaction.direction = *dir;
                let id = bd.interaction.id;
                let mut seq = 0;
                for sp in Speaker::ALL {
                    for kind in SegmentKind::ALL {
                        bd.segments.push(SegmentRow {
                            speaker: *sp,
                            kind: *kind,
                            ..segment(id, seq)
                        });
                        seq += 1;
                    }
                }
                bundles.push(bd);
            }
        }
        s.insert_interactions(&bundles).await.unwrap();
        for bd in &bundles {
            assert_eq!(
                s.get_interaction(&t, bd.interaction.id)
                    .await
                    .unwrap()
                    .as_ref(),
                Some(&bd.interaction)
            );
            assert_eq!(s.segments(bd.interaction.id).await.unwrap(), bd.segments);
        }
        let mut want = Vec::new();
        let mut at = 0;
        for p in ConsentPurpose::ALL {
            for b in LegalBasis::ALL {
                for st in ConsentState::ALL {
                    at += 1;
                    let c = ConsentRow {
                        purpose: *p,
                        basis: *b,
                        state: *st,
                        ..consent(&t, a, at, None)
                    };
                    s.put_consent(&c).await.unwrap();
                    want.push(c);
                }
            }
        }
        assert_eq!(s.consents_for_subject(&t, a).await.unwrap(), want);
        let mut holds = Vec::new();
        for (k, scope) in HoldScope::ALL.iter().enumerate() {
            let h = LegalHoldRow {
                scope: *scope,
                ..hold(&t, k as i64, None, None)
            };
            s.put_legal_hold(&h).await.unwrap();
            holds.push(h);
        }
        assert_eq!(s.active_holds(&t, 0).await.unwrap(), holds);
    }

    /// `Store::checkpoint` (the vault calls it after an erasure) changes nothing visible.
    pub async fn checkpoint_after_erasure_keeps_everything_else(s: &dyn Store) {
        let w = world(s).await;
        s.checkpoint().await.unwrap();
        s.delete_subject_content(&w.t, w.a, &[]).await.unwrap();
        s.checkpoint().await.unwrap();
        s.checkpoint().await.unwrap();
        assert_eq!(
            s.count_interactions(&w.t).await.unwrap(),
            w.b_bundles.len() as u64
        );
        assert_eq!(s.count_subjects(&w.t).await.unwrap(), 2);
        for bd in &w.b_bundles {
            assert_eq!(s.segments(bd.interaction.id).await.unwrap(), bd.segments);
        }
    }

    // ---------------------------------------------------------------- policies (issue 6)

    pub async fn policy_schedule_due_and_apply(s: &dyn Store) {
        let t = tenant(s, "pol").await;
        let rule = PolicyRuleRow {
            tenant: t.clone(),
            scope: RuleScope::Queue,
            key: "trading".into(),
            mode: ProcessingMode::Record,
            retention_days: 1827,
            basis: Some(LegalBasis::LegalObligation),
            webhook_fields: vec!["channel".into()],
            updated_ms: 5,
        };
        s.put_policy_rule(&rule).await.unwrap();
        assert_eq!(s.policy_rules(&t).await.unwrap(), vec![rule.clone()]);
        let subj = subject(s, &t).await;
        let day = 86_400_000i64;
        let ba = bundle(&t, subj, 10 * day, 2, 0);
        let bb = bundle(&t, subj, 20 * day, 1, 1);
        let (a, b) = (ba.interaction.clone(), bb.interaction.clone());
        s.insert_interactions(&[ba, bb]).await.unwrap();
        // Anonymise after 5 days: a is due at day 15, b at day 25.
        assert_eq!(
            s.schedule_unscheduled(&t, ProcessingMode::Anonymise, 5)
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            s.schedule_unscheduled(&t, ProcessingMode::Anonymise, 5)
                .await
                .unwrap(),
            0,
            "idempotent"
        );
        let due = s.due_interactions(&t, 16 * day, None, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].interaction, a.id);
        assert_eq!(due[0].next_action, RetentionAction::Anonymise);
        assert_eq!(due[0].due_ms, 15 * day);
        // Strip b's recording, then delete a: blob keys come back, rows and schedules go.
        let reports = s
            .apply_retention(&[
                (
                    None,
                    RetentionChange::Strip {
                        interaction: b.id,
                        segments: false,
                        recordings: true,
                        next: Some((RetentionAction::Delete, Some(30 * day))),
                    },
                ),
                (None, RetentionChange::Delete(a.id)),
            ])
            .await
            .unwrap();
        assert_eq!(reports[0].recordings, 1);
        assert_eq!(reports[0].blob_keys.len(), 1);
        assert_eq!(reports[1].interactions, 1);
        assert_eq!(reports[1].segments, 2);
        assert!(s.get_interaction_policy(a.id).await.unwrap().is_none());
        let pb = s.get_interaction_policy(b.id).await.unwrap().unwrap();
        assert_eq!(
            (pb.next_action, pb.due_ms),
            (RetentionAction::Delete, Some(30 * day))
        );
        assert_eq!(s.count_subject_interactions(&t, subj).await.unwrap(), 1);
        // Deleting again is a no-op.
        let again = s
            .apply_retention(&[(None, RetentionChange::Delete(a.id))])
            .await
            .unwrap();
        assert_eq!(again[0], DeletionReport::default());
        let case = CaseRow {
            tenant: t.clone(),
            id: CaseId::new(),
            reference: "D-1".into(),
            opened_ms: 1,
            closed_ms: None,
        };
        s.put_case(&case).await.unwrap();
        s.set_interaction_case(&t, b.id, Some(case.id))
            .await
            .unwrap();
        assert_eq!(
            s.get_interaction(&t, b.id).await.unwrap().unwrap().case_id,
            Some(case.id)
        );
        assert!(s
            .set_interaction_case(&t, InteractionId::new(), None)
            .await
            .is_err());
    }

    pub async fn policy_journal_outbox_and_stats(s: &dyn Store) {
        let t = tenant(s, "pol2").await;
        let subj = subject(s, &t).await;
        let day = 86_400_000i64;
        let ba = bundle(&t, subj, 3 * day + 5, 2, 0);
        let a = ba.interaction.clone();
        s.insert_interactions(&[ba]).await.unwrap();
        let run = ObjectId::new();
        let row = JournalRow {
            run,
            seq: 1,
            tenant: t.clone(),
            action: JournalAction::Delete,
            interaction: Some(a.id),
            subject: subj,
            state: JournalState::Planned,
            planned_ms: 7,
            detail: "{}".into(),
        };
        s.insert_journal(std::slice::from_ref(&row)).await.unwrap();
        assert_eq!(s.open_journal().await.unwrap(), vec![row.clone()]);
        // Stats before the data goes: one call of 60 s, one card redaction, day 3.
        s.schedule_unscheduled(&t, ProcessingMode::Record, 1)
            .await
            .unwrap();
        assert_eq!(s.fold_stats(&t).await.unwrap(), 1);
        assert_eq!(s.fold_stats(&t).await.unwrap(), 0, "counted once");
        // The change and its journal state commit together.
        s.apply_retention(&[(Some((run, 1)), RetentionChange::Delete(a.id))])
            .await
            .unwrap();
        let open = s.open_journal().await.unwrap();
        assert_eq!(open[0].state, JournalState::Done);
        s.set_journal_state(&[(run, 1)], JournalState::Audited)
            .await
            .unwrap();
        assert!(s.open_journal().await.unwrap().is_empty());
        let (days, reds) = s.stats(&t, 0, 10, None).await.unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!(
            (days[0].day, days[0].interactions, days[0].duration_ms),
            (3, 1, 60_000)
        );
        assert_eq!(reds[0].kind, "payment_card");
        assert_eq!(reds[0].n, 1);
        // Outbox: due, then delivered.
        let mut ev = OutboxRow {
            id: ObjectId::new(),
            tenant: t.clone(),
            endpoint: "crm".into(),
            event: "call.completed".into(),
            payload: "{}".into(),
            created_ms: 10,
            attempts: 0,
            next_ms: 10,
            state: OutboxState::Pending,
            last_error: None,
        };
        s.enqueue_webhooks(std::slice::from_ref(&ev)).await.unwrap();
        assert!(s.due_webhooks(9, 10).await.unwrap().is_empty());
        assert_eq!(s.due_webhooks(10, 10).await.unwrap(), vec![ev.clone()]);
        ev.attempts = 1;
        ev.state = OutboxState::Delivered;
        s.update_webhook(&ev).await.unwrap();
        assert!(s.due_webhooks(100, 10).await.unwrap().is_empty());
        assert_eq!(s.get_webhook(ev.id).await.unwrap(), Some(ev));
    }
}
