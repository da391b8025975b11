//! Raw TCP on both sides of the proxy, for what an HTTP library will not
//! send or answer: malformed responses, silent upstreams, smuggling tries.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest request head `read_head` reads.
const MAX_HEAD: usize = 64 * 1024;

/// A fake upstream that hands each accepted connection to a function, on a
/// thread of its own. Stops accepting when dropped.
pub struct RawUpstream {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl RawUpstream {
    pub fn start<F>(serve: F) -> RawUpstream
    where
        F: Fn(TcpStream) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind raw upstream");
        let addr = listener.local_addr().expect("raw upstream addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let serve = Arc::new(serve);
        let (counter, stopped) = (accepted.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let serve = serve.clone();
                std::thread::spawn(move || serve(stream));
            }
        });
        RawUpstream {
            addr,
            accepted,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for RawUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// Reads a request head up to its blank line, within 5 s; `None` when the
/// peer closed or sent no complete head.
pub fn read_head(stream: &mut TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Reads a request head and its `content-length` body, so that closing the
/// connection afterwards sends a FIN rather than a reset for unread data.
pub fn read_request(stream: &mut TcpStream) -> Option<String> {
    let head = read_head(stream)?;
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let mut body = Vec::new();
    stream.take(length).read_to_end(&mut body).ok()?;
    Some(head)
}

/// The request target of a head: `GET /x?y HTTP/1.1` gives `/x?y`.
pub fn target(head: &str) -> &str {
    head.split_whitespace().nth(1).unwrap_or("")
}

/// Keeps a connection open without answering until the peer closes it, or
/// for at most `limit`.
pub fn hold_open(mut stream: TcpStream, limit: Duration) {
    let deadline = Instant::now() + limit;
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => return,
        }
    }
}

fn is_timeout(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// What a raw exchange with the proxy gave back.
#[derive(Debug)]
pub struct RawReply {
    pub bytes: Vec<u8>,
    /// The proxy closed (or reset) the connection, rather than going quiet.
    pub closed: bool,
}

impl RawReply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The status of the first response, if one came.
    pub fn status(&self) -> Option<u16> {
        let text = self.text();
        let line = text.lines().next()?;
        line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }

    /// How many responses the bytes hold.
    pub fn responses(&self) -> usize {
        self.text().matches("HTTP/1.1 ").count()
    }
}

/// Writes `bytes` to the proxy (a refused write is fine: the proxy may
/// close early), then reads until it closes the connection or sends
/// nothing for `quiet`. Bounded by 10 s in all.
pub fn exchange(addr: SocketAddr, bytes: &[u8], quiet: Duration) -> RawReply {
    let mut stream = TcpStream::connect(addr).expect("connect to the proxy");
    let _ = stream.write_all(bytes);
    let _ = stream.flush();
    read_reply(&mut stream, quiet)
}

/// Reads what the proxy sends until it closes or goes quiet for `quiet`.
pub fn read_reply(stream: &mut TcpStream, quiet: Duration) -> RawReply {
    let deadline = Instant::now() + Duration::from_secs(10);
    let _ = stream.set_read_timeout(Some(quiet));
    let mut bytes = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let closed = loop {
        if Instant::now() >= deadline {
            break false;
        }
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if is_timeout(&e) => break false,
            Err(_) => break true,
        }
    };
    let _ = stream.shutdown(Shutdown::Both);
    RawReply { bytes, closed }
}

/// Reads from `stream` until `needle` has arrived (10 s at most); what
/// came, as text.
pub fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while !text.contains(needle) {
        let read = stream.read(&mut buf).expect("the proxy answers");
        assert!(read > 0, "the proxy closed the connection after {text:?}");
        text.push_str(&String::from_utf8_lossy(&buf[..read]));
    }
    text
}

/// Starts a 4 MiB upload to the proxy at `addr` (with `headers`, whole
/// lines), sends 64 KiB of it and reads the answer that comes before the
/// rest, up to `answer_end`; then sends the rest and a `GET /health` on the
/// same connection, which must both go through. Returns the answer.
///
/// A proxy that closed the connection with the upload unread would reset
/// it: the client, still writing, would get an error instead.
pub fn upload_answered_early(addr: SocketAddr, headers: &str, answer_end: &str) -> String {
    let upload = 4 << 20;
    let first_part = 64 << 10;
    let mut client = TcpStream::connect(addr).expect("connect to the proxy");
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: proxy\r\n{headers}content-length: {upload}\r\n\r\n"
    );
    client.write_all(head.as_bytes()).expect("send the head");
    client
        .write_all(&vec![b'x'; first_part])
        .expect("send the first part");
    let answer = read_until(&mut client, answer_end);
    client
        .write_all(&vec![b'x'; upload - first_part])
        .expect("the proxy reads the rest of the upload");
    client
        .write_all(b"GET /health HTTP/1.1\r\nhost: proxy\r\n\r\n")
        .expect("send a next request");
    let health = read_until(&mut client, "\"ok\"");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    answer
}
