//! The log's behaviour through its public API: append, query, checkpoints, proofs, reopen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sotto_audit::merkle::{hash_leaf, root_of};
use sotto_audit::{
    verify_consistency, verify_inclusion, Action, AuditError, AuditLog, AuditOptions,
    CheckpointSigner, CheckpointVerifier, Entry, Outcome, Query, SignedCheckpoint,
};
use sotto_core::{SubjectId, TenantId};

fn signer() -> CheckpointSigner {
    CheckpointSigner::from_seed("sotto.local/audit/test", &[3u8; 32]).unwrap()
}

fn opts(every: u64) -> AuditOptions {
    AuditOptions {
        origin: Some("sotto.local/audit/test".into()),
        checkpoint_every: every,
        trusted: Vec::new(),
    }
}

fn entry(i: u64) -> Entry {
    let mut e = Entry::new(
        TenantId::default_tenant(),
        1_000 + i as i64,
        format!("user:u{}", i % 3),
        if i % 2 == 0 {
            Action::TranscriptRead
        } else {
            Action::RecordingPlay
        },
        Outcome::Ok,
    );
    e.object = Some(format!("interaction:{i}"));
    e
}

#[tokio::test]
async fn append_assigns_consecutive_seqs_and_the_root_matches_the_rfc_tree() {
    let log = AuditLog::in_memory_with(signer(), opts(0)).await.unwrap();
    assert_eq!(log.size().await.unwrap(), 0);
    assert_eq!(log.root().await.unwrap(), root_of(&[]));
    assert_eq!(log.append(entry(0)).await.unwrap(), 0);
    assert_eq!(log.append(entry(1)).await.unwrap(), 1);
    let r = log
        .append_batch((2..700).map(entry).collect())
        .await
        .unwrap();
    assert_eq!(r, 2..700);
    assert_eq!(log.append_batch(vec![]).await.unwrap(), 700..700);
    let leaves: Vec<_> = (0..700u64)
        .map(|i| hash_leaf(&entry(i).canonical_bytes(i)))
        .collect();
    assert_eq!(log.root().await.unwrap(), root_of(&leaves));
    for size in [1u64, 2, 255, 256, 257, 511, 512, 513, 699, 700] {
        assert_eq!(
            log.root_at(size).await.unwrap(),
            root_of(&leaves[..size as usize]),
            "size {size}"
        );
    }
    let rec = log.get(5).await.unwrap().unwrap();
    assert_eq!(rec.entry, entry(5));
    assert_eq!(rec.leaf_hash, entry(5).leaf_hash(5));
    let rep = log.verify(None).await.unwrap();
    assert!(rep.is_ok(), "{rep}");
    assert_eq!(rep.entries, 700);
    assert_eq!(rep.root, root_of(&leaves));
}

#[tokio::test]
async fn invalid_entries_are_refused_and_nothing_of_the_batch_is_stored() {
    let log = AuditLog::in_memory_with(signer(), opts(0)).await.unwrap();
    let mut bad = entry(1);
    bad.actor = "user:anna\n".into();
    let e = log.append_batch(vec![entry(0), bad]).await.unwrap_err();
    assert!(matches!(e, AuditError::InvalidEntry { field: "actor", .. }));
    // The message names the field, not its contents.
    assert!(!e.to_string().contains("anna"));
    assert_eq!(log.size().await.unwrap(), 0);
    assert!(log.verify(None).await.unwrap().is_ok());
}

#[tokio::test]
async fn proofs_from_the_log_verify_against_signed_checkpoints() {
    let log = AuditLog::in_memory_with(signer(), opts(0)).await.unwrap();
    let mut cps: Vec<SignedCheckpoint> = Vec::new();
    // Sizes around the stored-node boundary (256) and odd sizes.
    for (from, to) in [
        (0u64, 1u64),
        (1, 3),
        (3, 256),
        (256, 257),
        (257, 1000),
        (1000, 1300),
    ] {
        log.append_batch((from..to).map(entry).collect())
            .await
            .unwrap();
        cps.push(log.checkpoint().await.unwrap());
    }
    let v = log.verifier();
    for cp in &cps {
        cp.verify(&v).unwrap();
        assert_eq!(cp.origin, "sotto.local/audit/test");
        for seq in [0, cp.size / 2, cp.size - 1] {
            let proof = log.inclusion_proof(seq, cp.size).await.unwrap();
            let leaf = log.get(seq).await.unwrap().unwrap().leaf_hash;
            assert!(verify_inclusion(&leaf, seq, cp.size, &proof, &cp.root));
            assert!(!verify_inclusion(&leaf, seq, cp.size, &proof, &cps[0].root) || cp.size == 1);
        }
    }
    for a in &cps {
        for b in cps.iter().filter(|b| b.size >= a.size) {
            let p = log.consistency_proof(a.size, b.size).await.unwrap();
            assert!(
                verify_consistency(a.size, &a.root, b.size, &b.root, &p),
                "{} -> {}",
                a.size,
                b.size
            );
        }
    }
    assert!(log.inclusion_proof(1300, 1300).await.is_err());
    assert!(log.inclusion_proof(0, 1301).await.is_err());
    assert!(log.consistency_proof(10, 5).await.is_err());
    assert_eq!(log.checkpoints().await.unwrap(), cps);
    assert_eq!(log.latest_checkpoint().await.unwrap().as_ref(), cps.last());
    // Checkpointing again without appends stores nothing new.
    assert_eq!(&log.checkpoint().await.unwrap(), cps.last().unwrap());
    assert_eq!(log.checkpoints().await.unwrap().len(), cps.len());
    let rep = log.verify(cps.first()).await.unwrap();
    assert!(rep.is_ok(), "{rep}");
    assert_eq!(rep.checkpoints_checked, cps.len() as u64 + 1);
}

#[tokio::test]
async fn reopening_restores_the_tree_and_keeps_the_origin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit/audit.db");
    let root = {
        let log = AuditLog::open_with(&path, signer(), opts(100))
            .await
            .unwrap();
        log.append_batch((0..1234).map(entry).collect())
            .await
            .unwrap();
        log.append(entry(1234)).await.unwrap();
        log.root().await.unwrap()
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "audit db must not be group/world readable");
    }
    // The default options take the stored origin.
    let log = AuditLog::open(&path, signer()).await.unwrap();
    assert_eq!(log.origin(), "sotto.local/audit/test");
    assert_eq!(log.size().await.unwrap(), 1235);
    assert_eq!(log.root().await.unwrap(), root);
    assert_eq!(log.append(entry(1235)).await.unwrap(), 1235);
    // The batch crossed the every-100 threshold: one automatic checkpoint at its end.
    let cps = log.checkpoints().await.unwrap();
    assert_eq!(cps.iter().map(|c| c.size).collect::<Vec<_>>(), vec![1234]);
    let rep = log.verify(None).await.unwrap();
    assert!(rep.is_ok(), "{rep}");
    assert_eq!(rep.checkpoints_checked, 1);
    drop(log);

    let other = AuditOptions {
        origin: Some("sotto.local/audit/other".into()),
        ..opts(0)
    };
    assert!(matches!(
        AuditLog::open_with(&path, signer(), other).await,
        Err(AuditError::OriginMismatch { .. })
    ));
}

#[tokio::test]
async fn default_origin_is_per_install() {
    let a = AuditLog::in_memory(signer()).await.unwrap();
    let b = AuditLog::in_memory(signer()).await.unwrap();
    assert!(a.origin().starts_with("sotto.local/audit/"));
    assert_ne!(a.origin(), b.origin());
}

#[tokio::test]
async fn query_filters_by_tenant_subject_actor_time_and_pages() {
    let log = AuditLog::in_memory_with(signer(), opts(0)).await.unwrap();
    let acme = TenantId::new("acme").unwrap();
    let other = TenantId::new("other").unwrap();
    let anna = SubjectId::new();
    let bo = SubjectId::new();
    let mut es = Vec::new();
    for i in 0..60u64 {
        let mut e = entry(i);
        e.tenant = if i % 4 == 3 {
            other.clone()
        } else {
            acme.clone()
        };
        e.subject = Some(if i % 2 == 0 { anna } else { bo });
        es.push(e);
    }
    log.append_batch(es).await.unwrap();

    let all = log.query(&acme, &Query::default()).await.unwrap();
    assert_eq!(all.len(), 45);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(all.iter().all(|r| r.entry.tenant == acme));

    let q = Query {
        subject: Some(anna),
        ..Query::default()
    };
    let r = log.query(&acme, &q).await.unwrap();
    assert_eq!(r.len(), 30);
    assert!(r.iter().all(|r| r.entry.subject == Some(anna)));
    // The other tenant's entries about the same subject stay invisible.
    let r = log.query(&other, &q).await.unwrap();
    assert!(r.is_empty());

    let q = Query {
        actor: Some("user:u1".into()),
        from_ms: Some(1_010),
        to_ms: Some(1_040),
        ..Query::default()
    };
    let r = log.query(&acme, &q).await.unwrap();
    let seqs: Vec<u64> = r.iter().map(|r| r.seq).collect();
    let want: Vec<u64> = (10..40u64).filter(|i| i % 3 == 1 && i % 4 != 3).collect();
    assert_eq!(seqs, want);

    let q = Query {
        action: Some(Action::RecordingPlay),
        limit: Some(5),
        ..Query::default()
    };
    let page1 = log.query(&acme, &q).await.unwrap();
    assert_eq!(page1.len(), 5);
    let q2 = Query {
        after_seq: Some(page1[4].seq),
        ..q.clone()
    };
    let page2 = log.query(&acme, &q2).await.unwrap();
    assert!(page2[0].seq > page1[4].seq);
    assert!(page2
        .iter()
        .all(|r| r.entry.action == Action::RecordingPlay));
}

#[tokio::test]
async fn checkpoints_from_another_key_or_log_are_not_accepted() {
    let log = AuditLog::in_memory_with(signer(), opts(0)).await.unwrap();
    log.append_batch((0..10).map(entry).collect())
        .await
        .unwrap();
    let cp = log.checkpoint().await.unwrap();
    let vkey = log.verifier().vkey();
    let v = CheckpointVerifier::from_vkey(&vkey).unwrap();
    SignedCheckpoint::parse(&cp.text)
        .unwrap()
        .verify(&v)
        .unwrap();

    let mallory = CheckpointSigner::from_seed("sotto.local/audit/test", &[9u8; 32]).unwrap();
    let forged = mallory
        .sign_checkpoint("sotto.local/audit/test", cp.size, &cp.root)
        .unwrap();
    let rep = log.verify(Some(&forged)).await.unwrap();
    assert_eq!(rep.problems.len(), 1, "{rep}");
    assert_eq!(
        rep.problems[0].kind,
        sotto_audit::ProblemKind::BadCheckpointSignature
    );

    // A key used before a rotation can be trusted explicitly.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let old = signer();
    let old_v = old.verifier();
    {
        let l = AuditLog::open_with(&path, old, opts(0)).await.unwrap();
        l.append(entry(0)).await.unwrap();
        l.checkpoint().await.unwrap();
    }
    let new = CheckpointSigner::from_seed("sotto.local/audit/test-2", &[4u8; 32]).unwrap();
    let l = AuditLog::open_with(&path, new, opts(0)).await.unwrap();
    let rep = l.verify(None).await.unwrap();
    assert_eq!(rep.problems.len(), 1, "{rep}");
    drop(l);
    let new = CheckpointSigner::from_seed("sotto.local/audit/test-2", &[4u8; 32]).unwrap();
    let trusting = AuditOptions {
        trusted: vec![old_v],
        ..opts(0)
    };
    let l = AuditLog::open_with(&path, new, trusting).await.unwrap();
    assert!(l.verify(None).await.unwrap().is_ok());
}

#[tokio::test]
async fn the_log_is_shareable_across_tasks() {
    let log = std::sync::Arc::new(AuditLog::in_memory_with(signer(), opts(0)).await.unwrap());
    let mut hs = Vec::new();
    for t in 0..8u64 {
        let log = log.clone();
        hs.push(tokio::spawn(async move {
            for i in 0..25 {
                log.append(entry(t * 100 + i)).await.unwrap();
            }
        }));
    }
    for h in hs {
        h.await.unwrap();
    }
    assert_eq!(log.size().await.unwrap(), 200);
    assert!(log.verify(None).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_are_group_committed_with_contiguous_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::sync::Arc::new(
        AuditLog::open_with(&dir.path().join("audit.db"), signer(), opts(0))
            .await
            .unwrap(),
    );
    let mut hs = Vec::new();
    for t in 0..16u64 {
        let log = log.clone();
        hs.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..20u64 {
                if i % 5 == 4 {
                    let es: Vec<Entry> = (0..3).map(|k| entry(t * 1000 + i * 10 + k)).collect();
                    let r = log.append_batch(es.clone()).await.unwrap();
                    assert_eq!(r.end - r.start, 3);
                    got.extend(r.zip(es));
                } else {
                    let e = entry(t * 1000 + i);
                    got.push((log.append(e.clone()).await.unwrap(), e));
                }
            }
            got
        }));
    }
    let mut all = Vec::new();
    for h in hs {
        all.extend(h.await.unwrap());
    }
    all.sort_unstable_by_key(|(s, _)| *s);
    let seqs: Vec<u64> = all.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (0..16 * (16 + 4 * 3)).collect::<Vec<u64>>());
    for (seq, e) in &all {
        assert_eq!(&log.get(*seq).await.unwrap().unwrap().entry, e);
    }
    // Every caller's entry sits at the seq it was told.
    let rep = log.verify(None).await.unwrap();
    assert!(rep.is_ok(), "{rep}");
    assert_eq!(rep.entries, 16 * 28);
}

/// Queries over many pages (batches larger than a page, single appends, two tenants) give
/// exactly what filtering every entry by hand gives, page by page.
#[tokio::test]
async fn queries_across_pages_match_a_full_scan() {
    let acme = TenantId::new("acme").unwrap();
    let beta = TenantId::new("beta").unwrap();
    let subjects: Vec<SubjectId> = (0..5).map(|_| SubjectId::new()).collect();
    let make = |i: u64| {
        let tenant = if i % 5 == 0 {
            beta.clone()
        } else {
            acme.clone()
        };
        // Times are not monotonic in seq: pages' time ranges overlap.
        let mut e = Entry::new(
            tenant,
            10_000 + ((i * 7919) % 3000) as i64,
            format!("user:\"u{}\"", i % 4),
            if i % 3 == 0 {
                Action::RecordingPlay
            } else {
                Action::TranscriptRead
            },
            Outcome::Ok,
        );
        if i % 6 != 0 {
            e.subject = Some(subjects[(i % 5) as usize]);
        }
        e
    };
    let log = AuditLog::in_memory_with(signer(), opts(0)).await.unwrap();
    let mut all = Vec::new();
    log.append_batch((0..2500).map(make).collect())
        .await
        .unwrap();
    all.extend((0..2500).map(make));
    for i in 2500..2520 {
        log.append(make(i)).await.unwrap();
        all.push(make(i));
    }
    log.append_batch((2520..3100).map(make).collect())
        .await
        .unwrap();
    all.extend((2520..3100).map(make));

    let queries = [
        Query::default(),
        Query {
            subject: Some(subjects[1]),
            ..Query::default()
        },
        Query {
            subject: Some(subjects[2]),
            from_ms: Some(11_000),
            to_ms: Some(12_000),
            ..Query::default()
        },
        Query {
            actor: Some("user:\"u2\"".into()),
            action: Some(Action::RecordingPlay),
            ..Query::default()
        },
        Query {
            from_ms: Some(12_500),
            ..Query::default()
        },
    ];
    for tenant in [&acme, &beta] {
        for q in &queries {
            let want: Vec<u64> = all
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    e.tenant == *tenant
                        && q.subject.is_none_or(|s| e.subject == Some(s))
                        && q.actor.as_ref().is_none_or(|a| e.actor == *a)
                        && q.from_ms.is_none_or(|t| e.at_ms >= t)
                        && q.to_ms.is_none_or(|t| e.at_ms < t)
                        && q.action.is_none_or(|a| e.action == a)
                })
                .map(|(i, _)| i as u64)
                .collect();
            // Page through with a small limit.
            let mut got = Vec::new();
            let mut after = None;
            loop {
                let page = log
                    .query(
                        tenant,
                        &Query {
                            limit: Some(97),
                            after_seq: after,
                            ..q.clone()
                        },
                    )
                    .await
                    .unwrap();
                if page.is_empty() {
                    break;
                }
                after = page.last().map(|r| r.seq);
                got.extend(page.iter().map(|r| r.seq));
            }
            if *tenant == acme {
                assert!(!want.is_empty(), "{q:?}");
            }
            assert_eq!(got, want, "{q:?}");
        }
    }
    assert!(log.verify(None).await.unwrap().is_ok());
}
