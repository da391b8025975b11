//! The mock upstream: a canned JSON answer, or a timed SSE stream.
//!
//! It shares its core with the load generator, and under load at 32
//! connections that core must keep up with the proxy's: what the mock spends
//! per request is spent there. So it speaks just enough HTTP/1.1 for the
//! bench's requests (a head, a body of `content-length` bytes, keep-alive)
//! on a single-thread runtime, and writes each answer from bytes made once
//! a second (for the `date` a real upstream sends). Under hyper's server on
//! a work-stealing runtime that core saturated first: the proxies' cores
//! idled for part of every load round, and the tcp relay, which spends a
//! fifth less than either proxy per request, could complete no more of
//! them.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::{paths, JSON_REPLY, SSE_EVENTS, SSE_GAP};

/// A request head longer than this is refused: the bench sends short ones.
const MAX_HEAD: usize = 16 * 1024;
const MAX_FIELDS: usize = 32;

/// The mock on a thread of its own, so serving it does not compete with the
/// load generator's scheduler. Stops when dropped.
pub struct Mock {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Mock {
    pub fn start(epoch: Instant) -> anyhow::Result<Mock> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("mock-upstream".into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        () = accept(listener, epoch) => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(Mock {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept(listener: TcpListener, epoch: Instant) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        // Each SSE event must leave as its own segment, not wait for Nagle.
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve(stream, epoch));
    }
}

/// What the mock answers, dated as a real upstream's answers are.
struct Answers {
    /// The second they were made in: servers remake their `date` once a
    /// second.
    made_in: u64,
    /// The JSON answer whole.
    json: Bytes,
    /// The SSE stream's head.
    sse_head: Bytes,
}

thread_local! {
    static ANSWERS: RefCell<Answers> = const {
        RefCell::new(Answers { made_in: u64::MAX, json: Bytes::new(), sse_head: Bytes::new() })
    };
}

/// The answer `pick` chooses, as made this second.
fn dated(pick: fn(&Answers) -> &Bytes) -> Bytes {
    let now = SystemTime::now();
    let second = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    ANSWERS.with_borrow_mut(|answers| {
        if answers.made_in != second {
            let date = httpdate::fmt_http_date(now);
            *answers = Answers {
                made_in: second,
                json: Bytes::from(format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\ndate: {date}\r\n\r\n{JSON_REPLY}",
                    JSON_REPLY.len()
                )),
                sse_head: Bytes::from(format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\ndate: {date}\r\n\r\n"
                )),
            };
        }
        pick(answers).clone()
    })
}

/// What the mock needs of a request.
struct Asked {
    sse_phase: Option<Duration>,
    /// The head and body together.
    len: usize,
}

/// Answers the requests on one connection until the client closes it.
async fn serve(mut stream: TcpStream, epoch: Instant) -> io::Result<()> {
    let mut buf = BytesMut::with_capacity(8 * 1024);
    loop {
        let asked = loop {
            if let Some(asked) = parse(&buf)? {
                if buf.len() >= asked.len {
                    break asked;
                }
                buf.reserve(asked.len - buf.len());
            }
            if stream.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        };
        buf.advance(asked.len);
        match asked.sse_phase {
            Some(phase) => {
                let head = dated(|answers| &answers.sse_head);
                stream_events(&mut stream, &head, epoch, phase).await?;
            }
            None => stream.write_all(&dated(|answers| &answers.json)).await?,
        }
    }
}

/// The request at the start of `buf`, once its head is whole.
fn parse(buf: &[u8]) -> io::Result<Option<Asked>> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut request = httparse::Request::new(&mut fields);
    let head_len = match request.parse(buf).map_err(invalid)? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial if buf.len() > MAX_HEAD => {
            return Err(invalid("request head too long"))
        }
        httparse::Status::Partial => return Ok(None),
    };
    let mut body_len = 0;
    for field in request.headers.iter() {
        if field.name.eq_ignore_ascii_case("content-length") {
            body_len = std::str::from_utf8(field.value)
                .ok()
                .and_then(|value| value.trim().parse::<usize>().ok())
                .ok_or_else(|| invalid("bad content-length"))?;
        }
        if field.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(invalid("the mock reads no chunked bodies"));
        }
    }
    let target = request.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Ok(Some(Asked {
        sse_phase: (path == paths().sse).then(|| sse_phase(query)),
        len: head_len + body_len,
    }))
}

fn invalid(error: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error.to_string())
}

/// The `phase_us` query parameter of an SSE request: how far to shift the
/// stream's events against the others'.
fn sse_phase(query: &str) -> Duration {
    let micros = query
        .strip_prefix("phase_us=")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    Duration::from_micros(micros)
}

/// `SSE_EVENTS` events, each its own chunk and write: the first at once,
/// with the head, the rest `SSE_GAP` apart on a grid shared by every stream
/// (multiples of `SSE_GAP` since the epoch), shifted by `phase`. The grid
/// keeps a round's streams in step however their requests were spread,
/// where each stream's own clock would let the timer wheel's 1 ms ticks
/// split a burst in two. Each event carries the microseconds since the
/// epoch at which it was written.
async fn stream_events(
    stream: &mut TcpStream,
    head: &[u8],
    epoch: Instant,
    phase: Duration,
) -> io::Result<()> {
    let gap = SSE_GAP.as_nanos();
    let slot = epoch.elapsed().as_nanos().div_ceil(gap);
    let grid = Duration::from_nanos((slot * gap).try_into().unwrap_or(u64::MAX));
    let start = tokio::time::Instant::from_std(epoch + grid) + phase;
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(head);
    let mut timer = pin!(tokio::time::sleep_until(start));
    for seq in 0..SSE_EVENTS {
        // The first event leaves at once: the timer wheel's 1 ms tick would
        // otherwise delay it. The rest are scheduled from the start, so slow
        // writes do not stretch the stream.
        if seq > 0 {
            timer.as_mut().reset(start + SSE_GAP * seq);
            timer.as_mut().await;
        }
        let sent_us = epoch.elapsed().as_micros();
        let event = format!("data: {{\"seq\":{seq},\"sent_us\":{sent_us}}}\n\n");
        out.extend_from_slice(format!("{:x}\r\n{event}\r\n", event.len()).as_bytes());
        if seq + 1 == SSE_EVENTS {
            out.extend_from_slice(b"0\r\n\r\n");
        }
        stream.write_all(&out).await?;
        out.clear();
    }
    Ok(())
}
