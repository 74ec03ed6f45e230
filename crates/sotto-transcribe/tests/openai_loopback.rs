//! The `openai-http` engine against a loopback server answering in OpenAI's `verbose_json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::routing::post;
use sotto_transcribe::{EngineEvent, OpenAiConfig, OpenAiHttpEngine, Transcriber};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
struct S {
    fail: bool,
    calls: Arc<AtomicUsize>,
}

async fn transcribe(State(s): State<S>, mut mp: Multipart) -> (StatusCode, String) {
    let mut fields = Vec::new();
    let mut wav_len = 0;
    while let Some(f) = mp.next_field().await.unwrap() {
        let name = f.name().unwrap_or("").to_owned();
        let data = f.bytes().await.unwrap();
        if name == "file" {
            assert_eq!(&data[..4], b"RIFF");
            wav_len = data.len();
        } else {
            fields.push((name, String::from_utf8_lossy(&data).into_owned()));
        }
    }
    s.calls.fetch_add(1, Ordering::SeqCst);
    assert!(wav_len > 44);
    assert!(fields.contains(&("response_format".into(), "verbose_json".into())));
    assert!(fields.contains(&("timestamp_granularities[]".into(), "word".into())));
    assert!(fields.contains(&("model".into(), "whisper-test".into())));
    if s.fail {
        return (StatusCode::INTERNAL_SERVER_ERROR, "boom".into());
    }
    let body = serde_json::json!({"task":"transcribe","language":"english","duration":1.0,"text":"my card",
        "words":[{"word":"my","start":0.2,"end":0.5},{"word":"card","start":0.5,"end":0.9}]});
    (StatusCode::OK, body.to_string())
}

async fn server(fail: bool) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route("/v1/audio/transcriptions", post(transcribe))
        .with_state(S {
            fail,
            calls: calls.clone(),
        });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}"), calls)
}

fn audio() -> Vec<i16> {
    let mut a = vec![0i16; 8000];
    a.extend((0..8000).map(|i| ((i as f64 * 0.25).sin() * 9000.0) as i16));
    a.extend(vec![0i16; 8000]);
    a
}

async fn drive(engine: &mut OpenAiHttpEngine) -> Vec<EngineEvent> {
    let a = audio();
    for (i, c) in a.chunks(160).enumerate() {
        engine.push_audio(i as u64 * 20, c);
    }
    let mut out = Vec::new();
    engine.finish();
    for _ in 0..500 {
        engine.poll(&mut out);
        if engine.is_done() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(engine.is_done());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn words_come_back_on_the_leg_timeline() {
    let (url, calls) = server(false).await;
    let cfg = OpenAiConfig {
        base_url: url,
        model: "whisper-test".into(),
        ..OpenAiConfig::default()
    };
    let mut e = OpenAiHttpEngine::new(cfg, 8000);
    // before the utterance has ended the watermark stays at its start
    for (i, c) in audio()[..12_000].chunks(160).enumerate() {
        e.push_audio(i as u64 * 20, c);
    }
    assert!(e.watermark_ms() <= 1000, "{}", e.watermark_ms());
    let mut e = OpenAiHttpEngine::new(
        OpenAiConfig {
            base_url: server(false).await.0,
            model: "whisper-test".into(),
            ..OpenAiConfig::default()
        },
        8000,
    );
    let out = drive(&mut e).await;
    let words: Vec<_> = out
        .iter()
        .flat_map(|ev| match ev {
            EngineEvent::Final { words, .. } => words.clone(),
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(words.len(), 2, "{out:?}");
    // the utterance starts at 1000 ms minus the 200 ms pre-roll
    assert_eq!(words[0].start_ms, 800 + 200);
    assert_eq!(words[1].end_ms, 800 + 900);
    assert_eq!(e.watermark_ms(), u64::MAX);
    let _ = calls;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_server_reports_the_interval_as_failed() {
    let (url, calls) = server(true).await;
    let cfg = OpenAiConfig {
        base_url: url,
        model: "whisper-test".into(),
        ..OpenAiConfig::default()
    };
    let mut e = OpenAiHttpEngine::new(cfg, 8000);
    let out = drive(&mut e).await;
    assert!(calls.load(Ordering::SeqCst) >= 1);
    assert!(
        out.iter()
            .any(|ev| matches!(ev, EngineEvent::Failed { start_ms: 800, .. })),
        "{out:?}"
    );
}
