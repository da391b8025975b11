//! A TLS handshake with an upstream that fails says why in plain words:
//! an `https://` upstream that speaks plain HTTP, and a certificate no
//! trusted CA issued, each as a 502 that says what to change; one that
//! never answers runs out the connect timeout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::mock::MockUpstream;
use common::raw::{self, RawUpstream};
use common::tls::test_certificates;
use common::{client, request, send, ProxyProcess};

#[tokio::test]
async fn https_to_a_plain_http_upstream_says_it_does_not_speak_tls() {
    let certificates = test_certificates();
    let plain = MockUpstream::start();
    let proxy = ProxyProcess::start_with_env(&[], &[("SSL_CERT_FILE", &certificates.ca_file)]);
    let upstream = format!("https://localhost:{}/v1", plain.addr.port());
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    let reply = send(
        &client(),
        request("POST", &proxy.url("/v1/chat/completions"), &headers, "{}"),
    )
    .await;
    assert_eq!(reply.status, 502, "{}", reply.text());
    assert_eq!(reply.headers["x-headroom-error"], "upstream_tls");
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        message,
        format!(
            "TLS handshake with upstream https://localhost:{} failed: it does not speak TLS; if it is a plain-HTTP server, use http:// instead of https://",
            plain.addr.port()
        )
    );
    assert!(plain.requests().is_empty());
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_502_that_names_ssl_cert_file() {
    let certificates = test_certificates();
    let mock = MockUpstream::start_tls(certificates.server);
    let other_dir = tempfile::tempdir().unwrap();
    let other_ca = other_dir.path().join("other.pem");
    let other = rcgen::generate_simple_self_signed(vec!["other".to_string()]).unwrap();
    std::fs::write(&other_ca, other.cert.pem()).unwrap();
    let proxy = ProxyProcess::start_with_env(&[], &[("SSL_CERT_FILE", other_ca.to_str().unwrap())]);
    let upstream = format!("https://localhost:{}/v1", mock.addr.port());
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    let reply = send(
        &client(),
        request("POST", &proxy.url("/v1/messages"), &headers, "{}"),
    )
    .await;
    assert_eq!(reply.status, 502, "{}", reply.text());
    assert_eq!(reply.headers["x-headroom-error"], "upstream_tls");
    let body = reply.json();
    assert_eq!(body["type"], "error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "the certificate of upstream https://localhost:{} is not trusted",
            mock.addr.port()
        )),
        "{message}"
    );
    assert!(
        message.contains("set SSL_CERT_FILE to a CA bundle"),
        "{message}"
    );
    assert!(mock.requests().is_empty());
}

/// A peer that accepts and never answers the handshake: the connect
/// timeout covers the handshake, so the answer does not wait for the idle
/// timeout.
#[tokio::test]
async fn a_handshake_that_never_ends_gives_504_connect_timeout() {
    let certificates = test_certificates();
    let silent = RawUpstream::start(|stream| raw::hold_open(stream, Duration::from_secs(20)));
    let proxy = ProxyProcess::start_with_env(
        &["--connect-timeout", "300ms", "--idle-timeout", "10s"],
        &[("SSL_CERT_FILE", &certificates.ca_file)],
    );
    let upstream = format!("https://localhost:{}/v1", silent.addr.port());
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    let started = Instant::now();
    let reply = send(
        &client(),
        request("POST", &proxy.url("/v1/chat/completions"), &headers, "{}"),
    )
    .await;
    let waited = started.elapsed();
    assert_eq!(reply.status, 504, "{}", reply.text());
    assert_eq!(
        reply.headers["x-headroom-error"],
        "upstream_connect_timeout"
    );
    assert_eq!(
        reply.json()["error"]["message"],
        format!(
            "timed out connecting to upstream https://localhost:{}",
            silent.addr.port()
        )
    );
    assert_eq!(silent.accepted(), 1);
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}
