#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use super::*;
use crate::proxy::{start, Config};

/// Writes `bytes`, then reads until the proxy closes (5 s at most).
async fn answer_to(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    read_answer(&mut stream).await
}

/// Reads until the proxy closes its side (5 s at most).
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let read = timeout(Duration::from_secs(5), stream.read_to_end(&mut answer));
    read.await
        .expect("the proxy closed the connection")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_head_not_finished_in_time_gets_a_408_and_an_idle_connection_closes() {
    let head_timeout = Duration::from_millis(200);
    let config = Config {
        head_timeout: Some(head_timeout),
        ..Config::loopback_ephemeral()
    };
    let proxy = start(config).await.unwrap();
    let addr = proxy.local_addr();

    let begun = answer_to(addr, b"GET /health HTTP/1.1\r\nHost: x\r\n").await;
    assert!(begun.starts_with("HTTP/1.1 408 "), "{begun}");
    assert!(begun.contains("connection: close\r\n"), "{begun}");
    assert!(begun.contains("did not arrive in time"), "{begun}");

    let started = Instant::now();
    let idle = answer_to(addr, b"").await;
    assert_eq!(idle, "", "an idle connection is closed, not answered");
    assert!(started.elapsed() >= head_timeout);

    let in_time = answer_to(
        addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(in_time.starts_with("HTTP/1.1 200 "), "{in_time}");
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_request_without_one_valid_host_gets_a_json_400_and_the_close() {
    let proxy = start(Config::loopback_ephemeral()).await.unwrap();
    let addr = proxy.local_addr();
    let no_host = answer_to(addr, b"GET /health HTTP/1.1\r\n\r\n").await;
    assert!(no_host.starts_with("HTTP/1.1 400 "), "{no_host}");
    assert!(no_host.contains("connection: close\r\n"), "{no_host}");
    assert!(no_host.contains("no Host header"), "{no_host}");
    let two = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nHost: y\r\ncontent-length: 2\r\n\r\n{}";
    let two_hosts = answer_to(addr, two).await;
    assert!(two_hosts.starts_with("HTTP/1.1 400 "), "{two_hosts}");
    let body = two_hosts
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body);
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        json["type"], "error",
        "Anthropic's shape on its path: {json}"
    );
    for host in ["a b", "user@x", "x/y", "x:80x"] {
        let wire = format!("GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n");
        let answer = answer_to(addr, wire.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 400 "), "{host:?}: {answer}");
        assert!(answer.contains("\"bad_request\""), "{answer}");
        assert!(answer.contains("connection: close\r\n"), "{answer}");
    }
    let old = answer_to(addr, b"GET /health HTTP/1.0\r\n\r\n").await;
    assert!(old.starts_with("HTTP/1.1 200 "), "{old}");
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_refused_request_gets_its_error_without_100_continue_and_the_close() {
    let proxy = start(Config::loopback_ephemeral()).await.unwrap();
    let head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\
        X-Headroom-Upstream: api.example.com\r\nExpect: 100-continue\r\n\
        Content-Length: 4096\r\n\r\n";
    let answer = answer_to(proxy.local_addr(), head).await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("bad_upstream_header"), "{answer}");
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    proxy.shutdown().await;
}

/// A proxy whose default upstreams nothing listens on: a request it
/// forwards fails at once, so an answer of its own stands out.
async fn start_forwarding_nowhere() -> crate::proxy::RunningProxy {
    let closed = crate::proxy::upstream::Upstream::parse("http://127.0.0.1:9").unwrap();
    let config = Config {
        defaults: crate::proxy::Defaults {
            openai: closed.clone(),
            anthropic: closed.clone(),
            gemini: closed,
        },
        ..Config::loopback_ephemeral()
    };
    start(config).await.unwrap()
}

#[tokio::test]
async fn options_asterisk_is_answered_here_and_no_other_method_may_ask_for_it() {
    let proxy = start_forwarding_nowhere().await;
    let addr = proxy.local_addr();
    let options = answer_to(
        addr,
        b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(options.starts_with("HTTP/1.1 200 "), "{options}");
    assert!(options.contains("\r\nallow: GET, HEAD, POST"), "{options}");
    assert!(options.contains("\r\ncontent-length: 0\r\n"), "{options}");
    assert!(options.ends_with("\r\n\r\n"), "a body came: {options}");
    let get = answer_to(
        addr,
        b"GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(get.starts_with("HTTP/1.1 400 "), "{get}");
    assert!(get.contains("is for OPTIONS only"), "{get}");
    proxy.shutdown().await;
}

/// Sends `method` with `:path` `*` over HTTP/2 with prior knowledge,
/// and returns the answer's head and body.
async fn asterisk_over_http2(
    addr: SocketAddr,
    method: http::Method,
) -> (http::response::Parts, Bytes) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut client, connection) = h2::client::handshake(stream).await.unwrap();
    tokio::spawn(connection);
    let uri = http::Uri::builder()
        .scheme("http")
        .authority(addr.to_string())
        .path_and_query("*")
        .build()
        .unwrap();
    let request = Request::builder().method(method).uri(uri).body(()).unwrap();
    let (response, _) = client.send_request(request, true).unwrap();
    let (parts, mut body) = response.await.unwrap().into_parts();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    (parts, Bytes::from(bytes))
}

/// HTTP/2 carries the asterisk-form target as a `:path` of `*` (RFC
/// 9113 section 8.3.1), which hyper passes on: it is answered here as
/// over HTTP/1.1, never forwarded.
#[tokio::test]
async fn options_asterisk_over_http2_is_answered_here() {
    let proxy = start_forwarding_nowhere().await;
    let addr = proxy.local_addr();
    let (options, body) = asterisk_over_http2(addr, http::Method::OPTIONS).await;
    assert_eq!(options.status, 200);
    assert_eq!(
        options.headers["allow"],
        "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    );
    assert!(body.is_empty(), "a body came: {body:?}");
    let (get, body) = asterisk_over_http2(addr, http::Method::GET).await;
    assert_eq!(get.status, 400);
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("is for OPTIONS only"), "{body}");
    proxy.shutdown().await;
}

#[tokio::test]
async fn without_a_deadline_a_slow_head_is_served() {
    let proxy = start(Config::loopback_ephemeral()).await.unwrap();
    let mut stream = TcpStream::connect(proxy.local_addr()).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream
        .write_all(b"Connection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    proxy.shutdown().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_client_that_keeps_its_side_open() {
    let proxy = start(Config::loopback_ephemeral()).await.unwrap();
    let mut stream = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let request = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    stream.write_all(request).await.unwrap();
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    // The proxy has closed its side and now reads this client's last
    // bytes until it closes too, for up to LINGER; a stop ends that.
    stream.write_all(b"late bytes").await.unwrap();
    let stopping = Instant::now();
    proxy.shutdown().await;
    assert!(
        stopping.elapsed() < conn::LINGER / 2,
        "shutdown waited {:?} for the client",
        stopping.elapsed()
    );
    drop(stream);
}

/// An answer that never ends, counting what is taken of it.
struct Endless(Arc<std::sync::atomic::AtomicUsize>);

impl Body for Endless {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        static CHUNK: [u8; 16 * 1024] = [b'x'; 16 * 1024];
        self.0
            .fetch_add(CHUNK.len(), std::sync::atomic::Ordering::Relaxed);
        let data = http_body::Frame::data(Bytes::from_static(&CHUNK));
        std::task::Poll::Ready(Some(Ok(data)))
    }
}

/// Answers every request with an `Endless` body.
struct Firehose(Arc<std::sync::atomic::AtomicUsize>);

impl Handler for Firehose {
    type Body = Endless;

    fn handle(
        self: Arc<Self>,
        _: Request<ClientBody>,
        _: Controls,
    ) -> impl Future<Output = Result<Response<Endless>, Infallible>> + Send + 'static {
        std::future::ready(Ok(Response::new(Endless(self.0.clone()))))
    }

    fn switched(_: &mut Response<Endless>) -> Option<Switched> {
        None
    }

    fn refused(&self, _: &ProxyError, _: Family) {}
}

fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    frame.extend_from_slice(&[kind, flags]);
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// An HTTP/2 client that opens many streams, grants them every byte of
/// flow control and reads none: what the proxy takes of the answers
/// is what hyper buffers, per stream, plus what the socket holds.
#[tokio::test]
async fn an_http2_client_that_reads_nothing_holds_little_per_stream() {
    const STREAMS: u32 = 100;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let pulled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (stop, stopped) = oneshot::channel();
    let deadlines = Deadlines {
        drain: Duration::from_secs(1),
        head: None,
    };
    let server = tokio::spawn(serve(
        listener,
        Arc::new(Firehose(pulled.clone())),
        stopped,
        deadlines,
    ));

    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let mut opening = conn::HTTP2_PREFACE.to_vec();
    let window = (i32::MAX as u32).to_be_bytes();
    let mut settings = vec![0, 4];
    settings.extend_from_slice(&window);
    opening.extend(h2_frame(4, 0, 0, &settings));
    let grown = (i32::MAX as u32 - 65_535).to_be_bytes();
    opening.extend(h2_frame(8, 0, 0, &grown));
    // GET http://x/ from HPACK's static table, then END_STREAM and
    // END_HEADERS.
    let head = [0x82, 0x86, 0x84, 0x01, 0x01, b'x'];
    for id in 0..STREAMS {
        opening.extend(h2_frame(1, 0x5, 2 * id + 1, &head));
    }
    stream.write_all(&opening).await.unwrap();

    // Waits until the proxy stops taking more, however slow the machine.
    let mut seen = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = pulled.load(std::sync::atomic::Ordering::Relaxed);
        if now == seen && now > 0 {
            break;
        }
        seen = now;
    }
    let per_stream = 64 * 1024 + 16 * 1024;
    let socket_room = 12 * 1024 * 1024;
    let bound = STREAMS as usize * per_stream + socket_room;
    assert!(seen > 0, "no answer began");
    assert!(seen < bound, "{seen} bytes taken, over {bound}");
    drop(stream);
    stop.send(()).unwrap();
    server.await.unwrap();
}

/// An answer of `left` pieces of 1 KiB, one every `gap`.
struct Trickle {
    left: usize,
    gap: Duration,
    next: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl Body for Trickle {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        std::task::ready!(self.next.as_mut().poll(cx));
        self.left -= 1;
        let gap = self.gap;
        self.next.as_mut().reset(Instant::now() + gap);
        let piece = http_body::Frame::data(Bytes::from_static(&[b'x'; 1024]));
        std::task::Poll::Ready(Some(Ok(piece)))
    }
}

/// Answers every request with a `Trickle` of 6 pieces, 100 ms apart.
struct Trickling;

impl Handler for Trickling {
    type Body = Trickle;

    fn handle(
        self: Arc<Self>,
        _: Request<ClientBody>,
        _: Controls,
    ) -> impl Future<Output = Result<Response<Trickle>, Infallible>> + Send + 'static {
        let gap = Duration::from_millis(100);
        let next = Box::pin(tokio::time::sleep(gap));
        std::future::ready(Ok(Response::new(Trickle { left: 6, gap, next })))
    }

    fn switched(_: &mut Response<Trickle>) -> Option<Switched> {
        None
    }

    fn refused(&self, _: &ProxyError, _: Family) {}
}

/// Serves `Trickling` with `idle` as the head deadline.
async fn serve_trickling(idle: Duration) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel();
    let deadlines = Deadlines {
        drain: Duration::from_secs(1),
        head: Some(idle),
    };
    tokio::spawn(serve(listener, Arc::new(Trickling), stopped, deadlines));
    (addr, stop)
}

/// Beyond loopback an HTTP/2 connection is timed as an HTTP/1.1 one is:
/// with no stream open for the head deadline it is sent away, but a
/// stream that lasts longer than that is never cut.
#[tokio::test]
async fn an_http2_connection_without_a_stream_for_the_deadline_is_sent_away() {
    let idle = Duration::from_millis(300);
    let (addr, _stop) = serve_trickling(idle).await;

    let quiet = TcpStream::connect(addr).await.unwrap();
    let (_quiet_client, quiet_connection) = h2::client::handshake(quiet).await.unwrap();
    let opened = Instant::now();
    let ended = timeout(Duration::from_secs(5), quiet_connection).await;
    assert!(ended.is_ok(), "a connection with no stream stayed open");
    assert!(
        opened.elapsed() >= idle,
        "sent away after {:?}",
        opened.elapsed()
    );

    let busy = TcpStream::connect(addr).await.unwrap();
    let (mut client, connection) = h2::client::handshake(busy).await.unwrap();
    let connection = tokio::spawn(connection);
    let request = Request::get(format!("http://{addr}/")).body(()).unwrap();
    let (response, _) = client.send_request(request, true).unwrap();
    let asked = Instant::now();
    let mut body = response.await.unwrap().into_body();
    let mut received = 0;
    while let Some(piece) = body.data().await {
        let piece = piece.expect("the answer was cut");
        received += piece.len();
        let _ = body.flow_control().release_capacity(piece.len());
    }
    assert_eq!(received, 6 * 1024);
    assert!(
        asked.elapsed() > idle,
        "the answer took {:?}",
        asked.elapsed()
    );
    let answered = Instant::now();
    let ended = timeout(Duration::from_secs(5), connection).await;
    assert!(
        ended.is_ok(),
        "the connection stayed open once its stream ended"
    );
    assert!(answered.elapsed() >= idle / 2, "{:?}", answered.elapsed());
}

/// A client that ignores the GOAWAY, and everything else, loses the
/// connection when it has stayed idle as long again.
#[tokio::test]
async fn an_http2_client_that_ignores_goaway_is_dropped() {
    let idle = Duration::from_millis(300);
    let (addr, _stop) = serve_trickling(idle).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut opening = conn::HTTP2_PREFACE.to_vec();
    opening.extend(h2_frame(4, 0, 0, &[]));
    stream.write_all(&opening).await.unwrap();
    let opened = Instant::now();
    let mut frames = Vec::new();
    let read = timeout(Duration::from_secs(5), stream.read_to_end(&mut frames)).await;
    assert!(read.is_ok(), "the connection stayed open");
    assert!(
        opened.elapsed() >= idle,
        "dropped after {:?}",
        opened.elapsed()
    );
    let goaway = 7;
    assert!(
        frames
            .windows(4)
            .any(|w| w[3] == goaway && w[..3] == [0, 0, 8]),
        "no GOAWAY came first"
    );
}
