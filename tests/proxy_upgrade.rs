//! Connections that switch protocols through the proxy: real WebSocket
//! clients and servers (tungstenite) on both sides, over plain HTTP and
//! over TLS, as the Responses API's WebSocket mode is used; an upgrade the
//! upstream declines; bytes sent before the switch; the idle timeout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::mock::MockUpstream;
use common::raw::{read_head, read_until, RawUpstream};
use common::tls::test_certificates;
use common::{client, request, send, ProxyProcess};
use futures_util::{SinkExt, StreamExt};
use http::HeaderMap;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const KEY: &str = "Bearer sk-upgrade-test";
const GREETING: &str = "session.created";

/// A WebSocket server that greets each client, then answers every message
/// with the same message, prefixed for text. Returns its address and the
/// heads of the handshakes it took.
async fn echo_server(
    tls: Option<rustls::ServerConfig>,
) -> (SocketAddr, Arc<Mutex<Vec<HeaderMap>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let acceptor = tls.map(|mut config| {
        // Offered HTTP/2 first: only a client that offers HTTP/1.1 alone
        // gets it, and a WebSocket handshake needs it.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    let recorded = heads.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (heads, acceptor) = (recorded.clone(), acceptor.clone());
            tokio::spawn(async move {
                match acceptor {
                    None => echo(tcp, heads).await,
                    Some(acceptor) => {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                            return;
                        }
                        echo(tls, heads).await;
                    }
                }
            });
        }
    });
    (addr, heads)
}

// The handshake callback's signature is tungstenite's, large error and all.
#[allow(clippy::result_large_err)]
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(stream: S, heads: Arc<Mutex<Vec<HeaderMap>>>) {
    let record = |request: &Request, response: Response| {
        heads.lock().unwrap().push(request.headers().clone());
        Ok(response)
    };
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, record).await else {
        return;
    };
    if socket.send(Message::text(GREETING)).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = socket.next().await {
        let reply = match message {
            Message::Text(text) => Message::text(format!("echo: {text}")),
            Message::Binary(data) => Message::binary(data),
            Message::Close(_) => break,
            _ => continue,
        };
        if socket.send(reply).await.is_err() {
            return;
        }
    }
}

/// Opens a WebSocket to `path` through the proxy, for the upstream
/// `upstream`.
async fn connect(proxy: &ProxyProcess, path: &str, upstream: &str) -> WebSocketStream<TcpStream> {
    let url = format!("ws://{}{path}", proxy.addr);
    let mut handshake = url.into_client_request().unwrap();
    let headers = handshake.headers_mut();
    headers.insert("x-headroom-upstream", upstream.parse().unwrap());
    headers.insert("authorization", KEY.parse().unwrap());
    let tcp = TcpStream::connect(proxy.addr).await.unwrap();
    let (socket, response) = tokio_tungstenite::client_async(handshake, tcp)
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    socket
}

async fn next_text(socket: &mut WebSocketStream<TcpStream>) -> String {
    let next = tokio::time::timeout(Duration::from_secs(10), socket.next());
    match next.await.expect("a message in time") {
        Some(Ok(Message::Text(text))) => text.to_string(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// Messages both ways, a large one among them, then a close from the client.
async fn converse(socket: &mut WebSocketStream<TcpStream>) {
    assert_eq!(next_text(socket).await, GREETING);
    socket.send(Message::text("response.create")).await.unwrap();
    assert_eq!(next_text(socket).await, "echo: response.create");
    let large: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
    socket.send(Message::binary(large.clone())).await.unwrap();
    match socket.next().await {
        Some(Ok(Message::Binary(data))) => assert!(data[..] == large[..], "the echo differs"),
        other => panic!("expected the binary echo, got {other:?}"),
    }
    socket.close(None).await.unwrap();
    // The close is answered, and the tunnel ends with it.
    while let Some(Ok(_)) = socket.next().await {}
}

/// The proxy's `/stats` entry for `origin`, once an exchange with it has
/// ended (5 s at most): a tunnel is counted when it closes.
async fn ended_exchange(proxy: &ProxyProcess, origin: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stats = send(&client(), request("GET", &proxy.url("/stats"), &[], ""))
            .await
            .json();
        let upstreams = stats["upstreams"].as_array().unwrap();
        if let Some(entry) = upstreams.iter().find(|entry| entry["origin"] == origin) {
            return entry.clone();
        }
        assert!(Instant::now() < deadline, "no {origin} in {stats}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_websocket_reaches_a_plain_http_upstream_with_its_headers() {
    let (addr, heads) = echo_server(None).await;
    let proxy = ProxyProcess::start(&[]);
    let upstream = format!("http://{addr}");
    let mut socket = connect(&proxy, "/v1/responses", &format!("{upstream}/v1")).await;
    converse(&mut socket).await;

    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1);
    let head = &heads[0];
    assert_eq!(head["authorization"], KEY, "auth passes untouched");
    assert_eq!(head["host"], addr.to_string().as_str());
    assert!(head["upgrade"]
        .as_bytes()
        .eq_ignore_ascii_case(b"websocket"));
    assert!(head.contains_key("sec-websocket-key"));
    assert!(
        !head
            .keys()
            .any(|name| name.as_str().starts_with("x-headroom-")),
        "{head:?}"
    );

    // The tunnel's bytes count as the exchange's, once it has ended.
    drop(socket);
    let entry = ended_exchange(&proxy, &upstream).await;
    assert_eq!(entry["requests"], 1, "{entry}");
    assert!(entry["bytes_in"].as_u64().unwrap() > 4 << 20, "{entry}");
    assert!(entry["bytes_out"].as_u64().unwrap() > 4 << 20, "{entry}");
    assert!(entry["errors"].as_object().unwrap().is_empty(), "{entry}");
}

#[tokio::test]
async fn a_websocket_reaches_an_https_upstream_over_http_1_1() {
    let certificates = test_certificates();
    let (addr, heads) = echo_server(Some(certificates.server)).await;
    let proxy = ProxyProcess::start_with_env(&[], &[("SSL_CERT_FILE", &certificates.ca_file)]);
    let upstream = format!("https://localhost:{}", addr.port());
    let mut socket = connect(&proxy, "/v1/responses", &upstream).await;
    converse(&mut socket).await;
    assert_eq!(heads.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_upgrade_the_upstream_declines_is_answered_and_the_connection_goes_on() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&[]);
    let mut stream = std::net::TcpStream::connect(proxy.addr).unwrap();
    let upgrade = format!(
        "GET /v1/models HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\
         x-headroom-upstream: {}\r\n\r\n",
        mock.url()
    );
    stream.write_all(upgrade.as_bytes()).unwrap();
    let answer = read_until(&mut stream, "\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    let recorded = mock.last();
    assert_eq!(recorded.header("upgrade"), Some("websocket"));
    assert_eq!(recorded.header("connection"), Some("upgrade"));

    // Not switched: the connection still carries requests.
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    let health = read_until(&mut stream, r#""status":"ok""#);
    assert!(health.contains("HTTP/1.1 200 "), "{health}");
}

#[tokio::test]
async fn bytes_sent_before_the_switch_reach_the_upstream_after_it() {
    let (addr, _heads) = echo_server(None).await;
    let proxy = ProxyProcess::start(&[]);
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    // A handshake and, in the same write, a masked text frame "early".
    let mut wire = format!(
        "GET /v1/responses HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\
         sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         x-headroom-upstream: http://{addr}\r\n\r\n"
    )
    .into_bytes();
    let mask = [1u8, 2, 3, 4];
    wire.extend_from_slice(&[0x81, 0x80 | 5]);
    wire.extend_from_slice(&mask);
    wire.extend(b"early".iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    stream.write_all(&wire).await.unwrap();
    // The 101's head, byte by byte so that no frame after it is taken.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.unwrap());
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let mut socket = WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
    assert_eq!(next_text(&mut socket).await, GREETING);
    assert_eq!(next_text(&mut socket).await, "echo: early");
}

#[tokio::test]
async fn a_quiet_tunnel_ends_after_the_idle_timeout() {
    let (addr, _heads) = echo_server(None).await;
    let proxy = ProxyProcess::start(&["--idle-timeout", "500ms"]);
    let upstream = format!("http://{addr}");
    let mut socket = connect(&proxy, "/v1/responses", &upstream).await;
    assert_eq!(next_text(&mut socket).await, GREETING);
    let quiet = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
    assert!(
        !matches!(ended, Ok(Some(Ok(_)))),
        "a message came: {ended:?}"
    );
    assert!(
        quiet.elapsed() >= Duration::from_millis(450),
        "{:?}",
        quiet.elapsed()
    );
    let entry = ended_exchange(&proxy, &upstream).await;
    assert_eq!(entry["errors"]["upstream_idle_timeout"], 1, "{entry}");
}

/// An upstream that switches every request to `x-echo` (asked or not),
/// sends a greeting in the same write as the 101, then echoes what comes.
fn raw_switching_upstream() -> RawUpstream {
    RawUpstream::start(|mut stream| {
        if read_head(&mut stream).is_none() {
            return;
        }
        let switch = "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\n\
                      upgrade: x-echo\r\n\r\nhello past the head;";
        if stream.write_all(switch.as_bytes()).is_err() {
            return;
        }
        let mut buf = [0u8; 4096];
        while let Ok(read) = stream.read(&mut buf) {
            if read == 0 || stream.write_all(&buf[..read]).is_err() {
                return;
            }
        }
    })
}

#[test]
fn any_protocol_switches_and_bytes_past_the_upstreams_101_arrive() {
    let upstream = raw_switching_upstream();
    let proxy = ProxyProcess::start(&[]);
    let mut stream = std::net::TcpStream::connect(proxy.addr).unwrap();
    let upgrade = format!(
        "GET /v1/stream HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: x-echo\r\n\
         x-headroom-upstream: {}\r\n\r\n",
        upstream.url()
    );
    stream.write_all(upgrade.as_bytes()).unwrap();
    let switched = read_until(&mut stream, "hello past the head;");
    assert!(switched.starts_with("HTTP/1.1 101 "), "{switched}");
    assert!(switched.contains("upgrade: x-echo\r\n"), "{switched}");
    assert!(switched.contains("connection: upgrade\r\n"), "{switched}");
    stream.write_all(b"ping through the tunnel").unwrap();
    read_until(&mut stream, "ping through the tunnel");
}

#[tokio::test]
async fn a_switch_nobody_asked_for_is_the_upstreams_error() {
    let upstream = raw_switching_upstream();
    let proxy = ProxyProcess::start(&[]);
    let url = upstream.url();
    let headers = [("x-headroom-upstream", url.as_str())];
    let reply = send(
        &client(),
        request("POST", &proxy.url("/v1/chat/completions"), &headers, "{}"),
    )
    .await;
    assert_eq!(reply.status, 502, "{}", reply.text());
    assert!(
        reply.text().contains("switched protocols unasked"),
        "{}",
        reply.text()
    );
}

#[tokio::test]
async fn a_stopping_proxy_ends_its_tunnels_at_once() {
    let (addr, _heads) = echo_server(None).await;
    let mut proxy = ProxyProcess::start(&[]);
    let mut socket = connect(&proxy, "/v1/responses", &format!("http://{addr}")).await;
    assert_eq!(next_text(&mut socket).await, GREETING);
    let stopping = Instant::now();
    let status = tokio::task::spawn_blocking(move || proxy.stop_with("TERM"))
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    // Without the stop ending it, the tunnel would hold the drain's 5 s.
    assert!(
        stopping.elapsed() < Duration::from_secs(3),
        "{:?}",
        stopping.elapsed()
    );
    let ended = tokio::time::timeout(Duration::from_secs(5), socket.next()).await;
    assert!(!matches!(ended, Ok(Some(Ok(_)))), "{ended:?}");
}
