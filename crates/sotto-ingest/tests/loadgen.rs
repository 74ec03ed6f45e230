//! `sotto loadgen` itself, small: a few concurrent two-track calls per protocol long enough to
//! pass the card number in the looped fixture (10.7–18.5 s), then the run's own check that every
//! stored recording is silent over every card interval — with the lossless archive and with Opus.
//! The 1,500-call measurement is run by hand (`sotto loadgen --calls 1500 …`, ARCHITECTURE.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sotto_ingest::loadgen::{run, LoadOptions, LoadReport, Protocol};
use sotto_vault::ArchiveFormat;

async fn small_run(protocol: Protocol, archive: ArchiveFormat) -> LoadReport {
    let dir = tempfile::tempdir().unwrap();
    let calls = 3;
    let r = run(LoadOptions {
        protocol,
        calls,
        seconds: 19,
        ramp_seconds: 1,
        work_dir: dir.path().to_path_buf(),
        keep: false,
        verify_max: 0,
        archive,
    })
    .await
    .unwrap();
    assert_eq!(r.calls_established, calls as u64, "{r:?}");
    assert!(r.setup_seconds.is_some(), "{r:?}");
    assert_eq!(r.calls_committed, calls as u64, "{r:?}");
    assert_eq!(r.calls_failed, 0, "{r:?}");
    // two legs per call, each long enough to hold the card interval at least once
    assert_eq!(r.recordings_checked, 2 * calls as u64, "{r:?}");
    assert!(r.card_intervals_checked >= 2 * calls as u64, "{r:?}");
    assert_eq!(r.card_intervals_not_silent, 0, "{r:?}");
    // 50 frames a second per leg, both legs, through the window
    assert!(r.frames_sent >= 2 * 50 * 19 * calls as u64, "{r:?}");
    // the data directory is removed unless kept
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_calls_lossless() {
    let r = small_run(Protocol::Native, ArchiveFormat::Lossless).await;
    assert_eq!(r.archive, "lossless");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_calls_opus_archive() {
    let r = small_run(
        Protocol::Twilio,
        ArchiveFormat::Opus {
            bitrate_bps: 16_000,
        },
    )
    .await;
    assert_eq!(r.archive, "opus:16");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audiosocket_calls_lossless() {
    small_run(Protocol::AudioSocket, ArchiveFormat::Lossless).await;
}
