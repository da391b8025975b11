//! HTTPS upstreams for real: a local TLS server with a generated CA, trust
//! from `SSL_CERT_FILE`, HTTP/2 by ALPN, and tunnelling through
//! `HTTPS_PROXY` unless `NO_PROXY` says otherwise; plain-HTTP upstreams
//! through `HTTP_PROXY`; a request sent again when the pooled HTTP/1.1
//! connection it went out on turns out closed, or when an HTTP/2 upstream
//! says it did not process the request's stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::mock::MockUpstream;
use common::raw::RawUpstream;
use common::tls::test_certificates;
use common::{client, frames, request, send, ProxyProcess};
use http::Request;
use http_body_util::Full;

/// A CA written to a PEM file, and a mock upstream serving a certificate
/// for `localhost` that this CA signed.
struct TlsSetup {
    _dir: tempfile::TempDir,
    ca_file: String,
    mock: MockUpstream,
}

fn tls_setup() -> TlsSetup {
    let certificates = test_certificates();
    TlsSetup {
        ca_file: certificates.ca_file,
        mock: MockUpstream::start_tls(certificates.server),
        _dir: certificates._dir,
    }
}

fn https_url(mock: &MockUpstream) -> String {
    format!("https://localhost:{}/v1", mock.addr.port())
}

#[tokio::test]
async fn https_upstream_trusted_through_ssl_cert_file_over_h2() {
    let tls = tls_setup();
    let proxy = ProxyProcess::start_with_env(&[], &[("SSL_CERT_FILE", &tls.ca_file)]);
    let upstream = https_url(&tls.mock);
    let headers = [
        ("X-Headroom-Upstream", upstream.as_str()),
        ("Authorization", "Bearer sk-tls"),
    ];
    let client = client();
    for _ in 0..3 {
        let reply = send(
            &client,
            request("POST", &proxy.url("/v1/chat/completions"), &headers, "{}"),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["object"], "chat.completion");
    }
    let seen = tls.mock.last();
    assert_eq!(seen.target, "/v1/chat/completions");
    assert_eq!(seen.header("authorization"), Some("Bearer sk-tls"));
    assert!(tls
        .mock
        .versions()
        .iter()
        .all(|v| *v == http::Version::HTTP_2));
}

/// A request an upstream read in full: its method, the length of its
/// body, and whether it was answered.
type ReadRequest = (String, usize, bool);

/// An HTTPS upstream speaking HTTP/1.1 only, that answers the first
/// request on each connection, then reads the next one in full and closes
/// the connection, as one whose keep-alive timer fired just as the proxy
/// reused it; `close_notify` says whether it ends TLS properly first.
/// Records every request it read.
fn closing_on_reuse_tls_upstream(
    server: rustls::ServerConfig,
    close_notify: bool,
) -> (RawUpstream, Arc<Mutex<Vec<ReadRequest>>>) {
    let server = Arc::new(server);
    let read = Arc::new(Mutex::new(Vec::new()));
    let record = read.clone();
    let upstream = RawUpstream::start(move |tcp| {
        let connection = rustls::ServerConnection::new(server.clone()).unwrap();
        let mut tls = BufReader::new(rustls::StreamOwned::new(connection, tcp));
        let Some((method, length)) = read_sized_request(&mut tls) else {
            return;
        };
        record.lock().unwrap().push((method, length, true));
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        tls.get_mut().write_all(ok).unwrap();
        tls.get_mut().flush().unwrap();
        if let Some((method, length)) = read_sized_request(&mut tls) {
            record.lock().unwrap().push((method, length, false));
        }
        if close_notify {
            tls.get_mut().conn.send_close_notify();
            let _ = tls.get_mut().flush();
        }
    });
    (upstream, read)
}

/// Reads a request with a `content-length` body; returns its method and
/// the body's length.
fn read_sized_request(stream: &mut impl BufRead) -> Option<(String, usize)> {
    let mut line = String::new();
    stream.read_line(&mut line).ok()?;
    let method = line.split(' ').next()?.to_owned();
    let mut length = 0;
    line.clear();
    while stream.read_line(&mut line).ok()? > 2 {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
        line.clear();
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).ok()?;
    Some((method, length))
}

/// Over HTTPS as over plain HTTP (`proxy_upstream_http1.rs`): a request
/// met by a pooled connection closing under it is sent again if its
/// method is idempotent, and a POST, which the upstream may have
/// processed before it closed, never.
#[tokio::test]
async fn an_https_request_on_a_connection_closed_as_it_was_reused_is_sent_again_unless_a_post() {
    let large = "x".repeat(256 * 1024);
    for close_notify in [true, false] {
        let certificates = test_certificates();
        let (upstream, read) = closing_on_reuse_tls_upstream(certificates.server, close_notify);
        let proxy = ProxyProcess::start_with_env(&[], &[("SSL_CERT_FILE", &certificates.ca_file)]);
        let target = format!("https://localhost:{}", upstream.addr.port());
        let headers = [("X-Headroom-Upstream", target.as_str())];
        let exchanges = [
            ("GET", "", 200),
            ("PUT", large.as_str(), 200),
            ("POST", "{}", 502),
        ];
        for (method, body, status) in exchanges {
            let url = proxy.url("/v1/messages");
            let reply = send(&client(), request(method, &url, &headers, body.to_owned())).await;
            assert_eq!(
                reply.status,
                status,
                "close_notify {close_notify}, {method}: {}",
                reply.text()
            );
            if status == 502 {
                assert!(reply.json()["error"]["message"].is_string());
            }
        }
        // The PUT met a stale connection, then a new one; the POST met the
        // new one stale and went no further.
        assert_eq!(upstream.accepted(), 2, "close_notify {close_notify}");
        let read = read.lock().unwrap().clone();
        let tries: Vec<(&str, usize, bool)> = read
            .iter()
            .map(|(method, length, answered)| (method.as_str(), *length, *answered))
            .collect();
        assert_eq!(
            tries,
            [
                ("GET", 0, true),
                ("PUT", large.len(), false),
                ("PUT", large.len(), true),
                ("POST", 2, false)
            ],
            "close_notify {close_notify}"
        );
    }
}

/// A minimal CONNECT proxy on loopback that records the targets it tunnels.
fn connect_proxy() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let targets = Arc::new(Mutex::new(Vec::new()));
    let seen = targets.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            let seen = seen.clone();
            std::thread::spawn(move || tunnel(client, &seen));
        }
    });
    (addr, targets)
}

fn tunnel(client: TcpStream, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let target = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    seen.lock().unwrap().push(target.clone());
    let upstream = TcpStream::connect(target.replace("localhost", "127.0.0.1")).unwrap();
    let mut client_writer = client.try_clone().unwrap();
    client_writer
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .unwrap();
    let mut upstream_reader = upstream.try_clone().unwrap();
    let mut upstream_writer = upstream;
    std::thread::spawn(move || std::io::copy(&mut reader, &mut upstream_writer));
    let _ = std::io::copy(&mut upstream_reader, &mut client_writer);
}

#[tokio::test]
async fn https_proxy_tunnels_the_upstream_hop_and_no_proxy_bypasses_it() {
    let tls = tls_setup();
    let (tunnel_addr, targets) = connect_proxy();
    let tunnel_url = format!("http://{tunnel_addr}");
    let proxy = ProxyProcess::start_with_env(
        &[],
        &[
            ("SSL_CERT_FILE", &tls.ca_file),
            ("HTTPS_PROXY", &tunnel_url),
        ],
    );
    let upstream = https_url(&tls.mock);
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    let reply = send(
        &client(),
        request("POST", &proxy.url("/v1/responses"), &headers, "{}"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        targets.lock().unwrap().as_slice(),
        [format!("localhost:{}", tls.mock.addr.port())]
    );

    let bypass = ProxyProcess::start_with_env(
        &[],
        &[
            ("SSL_CERT_FILE", &tls.ca_file),
            ("HTTPS_PROXY", &tunnel_url),
            ("NO_PROXY", "localhost"),
        ],
    );
    let reply = send(
        &client(),
        request("POST", &bypass.url("/v1/responses"), &headers, "{}"),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(targets.lock().unwrap().len(), 1, "NO_PROXY was ignored");
}

/// A plain-HTTP forward proxy stand-in: records the request head it gets
/// and answers `ok` itself.
fn recording_http_proxy() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        for mut client in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(client.try_clone().unwrap());
            let mut head = String::new();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                head.push_str(&line);
                line.clear();
            }
            seen.lock().unwrap().push(head);
            let _ = client
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    (addr, heads)
}

#[tokio::test]
async fn http_proxy_gets_absolute_form_requests_with_its_credentials() {
    let (proxy_addr, heads) = recording_http_proxy();
    let http_proxy = format!("http://user:pass@{proxy_addr}");
    let proxy = ProxyProcess::start_with_env(&[], &[("HTTP_PROXY", &http_proxy)]);
    let headers = [("X-Headroom-Upstream", "http://upstream.test:8080/v1")];
    let reply = send(
        &client(),
        request("GET", &proxy.url("/v1/models"), &headers, ""),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "ok");
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 1);
    let head = heads[0].to_ascii_lowercase();
    assert!(
        head.starts_with("get http://upstream.test:8080/v1/models http/1.1"),
        "{head}"
    );
    assert!(
        head.contains("proxy-authorization: basic dxnlcjpwyxnz"),
        "{head}"
    );
    assert!(!head.contains("x-headroom-"), "{head}");
}

/// The proxy, with `--idle-timeout` set, in front of the TLS mock upstream,
/// which speaks HTTP/2.
struct OverHttp2 {
    tls: TlsSetup,
    proxy: ProxyProcess,
    upstream: String,
}

impl OverHttp2 {
    fn start(idle_timeout: &str) -> OverHttp2 {
        let tls = tls_setup();
        let proxy = ProxyProcess::start_with_env(
            &["--idle-timeout", idle_timeout],
            &[("SSL_CERT_FILE", &tls.ca_file)],
        );
        let upstream = https_url(&tls.mock);
        OverHttp2 {
            tls,
            proxy,
            upstream,
        }
    }

    /// A request to the mock upstream through the proxy.
    fn request(&self, method: &str, path: &str, body: &'static str) -> Request<Full<Bytes>> {
        let headers = [("X-Headroom-Upstream", self.upstream.as_str())];
        request(method, &self.proxy.url(path), &headers, body)
    }

    fn only_http2_reached_the_upstream(&self) -> bool {
        let versions = self.tls.mock.versions();
        !versions.is_empty() && versions.iter().all(|v| *v == http::Version::HTTP_2)
    }
}

#[tokio::test]
async fn stalled_streams_time_out_while_others_share_their_http2_connection() {
    let setup = OverHttp2::start("500ms");
    let client = client();
    // Opens the HTTP/2 connection that the requests below share.
    let first = send(&client, setup.request("GET", "/v1/models", "")).await;
    assert_eq!(first.status, 200);

    let started = std::time::Instant::now();
    let busy = client.request(setup.request("GET", "/v1/sse?events=20&gap_ms=150", ""));
    let stalled = client.request(setup.request("GET", "/v1/sse?events=2&gap_ms=5000", ""));
    let unanswered = send(&client, setup.request("POST", "/v1/hang", "{}"));
    let (busy, stalled, unanswered) = tokio::join!(busy, stalled, unanswered);
    let answer_gave_up_after = started.elapsed();
    let busy = tokio::spawn(frames(busy.unwrap()));
    let (events, end) = frames(stalled.unwrap()).await;
    let stalled_after = started.elapsed();
    let limit = std::time::Duration::from_millis(2000);
    assert_eq!(unanswered.status, 504, "{}", unanswered.text());
    assert!(
        answer_gave_up_after < limit,
        "the answer never begun was given up {answer_gave_up_after:?} in, its neighbour still busy"
    );
    assert_eq!(events.len(), 1, "the stalled stream's events");
    assert!(end.is_err(), "the stalled stream ended cleanly");
    assert!(
        stalled_after < limit,
        "the stalled stream ended {stalled_after:?} in, its neighbour still busy"
    );
    let (events, end) = busy.await.unwrap();
    assert_eq!((events.len(), end), (20, Ok(())), "the busy stream");
    assert!(setup.only_http2_reached_the_upstream());
}

#[tokio::test]
async fn an_idle_http2_upstream_is_told_apart_as_an_idle_timeout() {
    let setup = OverHttp2::start("400ms");
    let client = client();
    let unanswered = send(&client, setup.request("POST", "/v1/hang", "{}")).await;
    assert_eq!(unanswered.status, 504, "{}", unanswered.text());
    assert_eq!(unanswered.headers["x-headroom-error"], "upstream_timeout");

    let stalled = client
        .request(setup.request("GET", "/v1/sse?events=2&gap_ms=3000", ""))
        .await
        .unwrap();
    let (events, end) = frames(stalled).await;
    assert_eq!(events.len(), 1);
    assert!(end.is_err(), "the stalled stream ended cleanly");

    let stats = send(&client, request("GET", &setup.proxy.url("/stats"), &[], ""))
        .await
        .json();
    let origin = format!("https://localhost:{}", setup.tls.mock.addr.port());
    let entry = stats["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["origin"] == origin.as_str())
        .unwrap_or_else(|| panic!("no {origin} in {stats}"))
        .clone();
    let expected = serde_json::json!({ "upstream_timeout": 1, "upstream_idle_timeout": 1 });
    assert_eq!(entry["errors"], expected, "{stats}");
    assert!(setup.only_http2_reached_the_upstream());
}

/// An HTTP/2 upstream over TLS that refuses its first `refusals` streams
/// (RST_STREAM with REFUSED_STREAM: RFC 9113 says it did no work on
/// them), then answers "ok". Returns its address, the bodies it answered,
/// and how many streams it was sent.
async fn refusing_h2_upstream(
    server: rustls::ServerConfig,
    refusals: usize,
) -> (SocketAddr, Arc<Mutex<Vec<String>>>, Arc<AtomicUsize>) {
    let (listener, acceptor) = h2_listener(server).await;
    let addr = listener.local_addr().unwrap();
    let answered = Arc::new(Mutex::new(Vec::new()));
    let streams = Arc::new(AtomicUsize::new(0));
    let (record, count) = (answered.clone(), streams.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, record, count) = (acceptor.clone(), record.clone(), count.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    serve_h2(tls, record, count, refusals).await;
                }
            });
        }
    });
    (addr, answered, streams)
}

/// A TLS listener on loopback that offers HTTP/2 by ALPN.
async fn h2_listener(
    mut server: rustls::ServerConfig,
) -> (tokio::net::TcpListener, tokio_rustls::TlsAcceptor) {
    server.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (listener, acceptor)
}

/// Serves one HTTP/2 connection: counts each stream in `count`, refuses
/// it while the count is below `refusals`, and otherwise records its body
/// in `record` and answers "ok".
async fn serve_h2<T>(
    tls: T,
    record: Arc<Mutex<Vec<String>>>,
    count: Arc<AtomicUsize>,
    refusals: usize,
) where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Ok(mut connection) = h2::server::handshake(tls).await else {
        return;
    };
    while let Some(Ok((request, mut respond))) = connection.accept().await {
        if count.fetch_add(1, Ordering::SeqCst) < refusals {
            respond.send_reset(h2::Reason::REFUSED_STREAM);
            continue;
        }
        let record = record.clone();
        tokio::spawn(async move {
            let mut body = request.into_body();
            let mut read = Vec::new();
            while let Some(Ok(chunk)) = body.data().await {
                let _ = body.flow_control().release_capacity(chunk.len());
                read.extend_from_slice(&chunk);
            }
            record
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&read).into_owned());
            let mut sending = respond
                .send_response(http::Response::new(()), false)
                .unwrap();
            sending.send_data(Bytes::from_static(b"ok"), true).unwrap();
        });
    }
}

/// An HTTP/2 upstream over TLS whose first connection, as the first
/// request's HEADERS arrive, sends GOAWAY with `reason` and a last stream
/// id of 0: it took no stream. Written frame by frame, since h2's server
/// names every stream it has read as taken. Later connections answer "ok".
/// Returns its address, the bodies it answered, and how many connections
/// it was opened.
async fn going_away_h2_upstream(
    server: rustls::ServerConfig,
    reason: h2::Reason,
) -> (SocketAddr, Arc<Mutex<Vec<String>>>, Arc<AtomicUsize>) {
    let (listener, acceptor) = h2_listener(server).await;
    let addr = listener.local_addr().unwrap();
    let answered = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let (record, count) = (answered.clone(), connections.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let first = count.fetch_add(1, Ordering::SeqCst) == 0;
            let (acceptor, record) = (acceptor.clone(), record.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if first {
                    go_away_at_first_request(tls, reason).await;
                } else {
                    serve_h2(tls, record, Arc::new(AtomicUsize::new(0)), 0).await;
                }
            });
        }
    });
    (addr, answered, connections)
}

/// Reads the client's preface and frames up to its first HEADERS, then
/// sends GOAWAY(last stream id 0, `reason`) and reads on until the client
/// closes.
async fn go_away_at_first_request<T>(mut tls: T, reason: h2::Reason)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const SETTINGS: u8 = 4;
    const HEADERS: u8 = 1;
    const GOAWAY: u8 = 7;
    const ACK: u8 = 1;
    let mut preface = [0; 24];
    tls.read_exact(&mut preface).await.unwrap();
    assert_eq!(&preface, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    tls.write_all(&h2_frame(SETTINGS, 0, &[])).await.unwrap();
    loop {
        let mut head = [0; 9];
        tls.read_exact(&mut head).await.unwrap();
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0; len];
        tls.read_exact(&mut payload).await.unwrap();
        match (head[3], head[4] & ACK) {
            (SETTINGS, 0) => tls.write_all(&h2_frame(SETTINGS, ACK, &[])).await.unwrap(),
            (HEADERS, _) => break,
            _ => {}
        }
    }
    let mut go_away = vec![0; 4];
    go_away.extend_from_slice(&u32::from(reason).to_be_bytes());
    tls.write_all(&h2_frame(GOAWAY, 0, &go_away)).await.unwrap();
    tls.flush().await.unwrap();
    let _ = tls.read_to_end(&mut Vec::new()).await;
}

/// An HTTP/2 frame on stream 0.
fn h2_frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut frame = len[1..].to_vec();
    frame.extend_from_slice(&[kind, flags, 0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

/// POSTs `body` through a proxy of its own that trusts `ca_file`, to the
/// HTTPS upstream at `addr`.
async fn post_through_proxy(ca_file: &str, addr: SocketAddr, body: &'static str) -> common::Reply {
    let proxy = ProxyProcess::start_with_env(&[], &[("SSL_CERT_FILE", ca_file)]);
    let target = format!("https://localhost:{}", addr.port());
    let headers = [("X-Headroom-Upstream", target.as_str())];
    send(
        &client(),
        request("POST", &proxy.url("/v1/chat/completions"), &headers, body),
    )
    .await
}

#[tokio::test]
async fn an_http2_stream_the_upstream_refused_is_sent_again_once() {
    let body = r#"{"model":"m","messages":[]}"#;
    for (refusals, status, streams) in [(1, 200, 2), (usize::MAX, 502, 2)] {
        let certificates = test_certificates();
        let (addr, answered, sent) = refusing_h2_upstream(certificates.server, refusals).await;
        let reply = post_through_proxy(&certificates.ca_file, addr, body).await;
        assert_eq!(
            reply.status,
            status,
            "{refusals} refusals: {}",
            reply.text()
        );
        assert_eq!(sent.load(Ordering::SeqCst), streams, "{refusals} refusals");
        if status == 200 {
            assert_eq!(reply.text(), "ok");
            assert_eq!(answered.lock().unwrap().as_slice(), [body]);
        }
    }
}

#[tokio::test]
async fn a_stream_an_http2_upstream_left_unprocessed_as_it_shut_down_is_sent_again() {
    let body = r#"{"model":"m","messages":[]}"#;
    // NO_ERROR: a graceful shutdown, and the stream lies above the last one
    // taken, so it was not processed. An error reason ends processed and
    // unprocessed streams alike: the request is not sent again.
    for (reason, status, connections) in [
        (h2::Reason::NO_ERROR, 200, 2),
        (h2::Reason::INTERNAL_ERROR, 502, 1),
    ] {
        let certificates = test_certificates();
        let (addr, answered, opened) = going_away_h2_upstream(certificates.server, reason).await;
        let reply = post_through_proxy(&certificates.ca_file, addr, body).await;
        assert_eq!(reply.status, status, "{reason:?}: {}", reply.text());
        assert_eq!(opened.load(Ordering::SeqCst), connections, "{reason:?}");
        if status == 200 {
            assert_eq!(reply.text(), "ok");
            assert_eq!(answered.lock().unwrap().as_slice(), [body]);
        }
    }
}
