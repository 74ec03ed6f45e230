//! TLS end to end: the generated self-signed setup served by the real accept loop, reached by
//! a rustls client that trusts only the generated CA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[tokio::test]
async fn https_with_the_generated_certificate() {
    let h = common::harness().await;
    let tls = sotto_api::tls::self_signed(&h.dir.path().join("tls")).unwrap();
    assert!(tls.generated);
    let state = sotto_api::ApiState::new(
        h.vault.clone(),
        h.access.clone(),
        std::sync::Arc::new(h.clock.clone()),
        sotto_api::ApiSettings::new(h.tenant.clone()),
    );
    let router = sotto_api::router(state).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sotto_api::serve(
        listener,
        router,
        Some(tls.config.clone()),
        async {
            let _ = stop_rx.await;
        },
    ));

    let ca_pem = std::fs::read(tls.self_signed_ca.as_ref().unwrap()).unwrap();
    let ca = reqwest::Certificate::from_pem(&ca_pem).unwrap();
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .https_only(true)
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{}/healthz", addr.port());
    let r = client
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e:?}"));
    assert_eq!(r.status(), 200);
    assert!(r.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
    // A login over TLS sets the __Host- cookie.
    let u = &h.users[&sotto_access::Role::Billing];
    h.next_step();
    let r = client
        .post(format!(
            "https://127.0.0.1:{}/api/v1/auth/login",
            addr.port()
        ))
        .json(&serde_json::json!({
            "username": u.username, "password": common::PASSWORD, "totp": h.code_now(u)
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-sotto_session=") && cookie.contains("Secure"));

    // A client that does not trust the CA gets no connection, and plain HTTP gets no answer.
    let stranger = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    assert!(stranger
        .get(format!("https://127.0.0.1:{}/healthz", addr.port()))
        .send()
        .await
        .is_err());
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/healthz", addr.port()))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}
