//! The upstream hop for plain-HTTP upstreams reached directly: HTTP/1.1 over
//! pooled connections, driven by the task that serves the client.
//!
//! hyper's client runs each connection as a task of its own and hands body
//! frames across a channel, so every streamed event is polled by two tasks.
//! Here the response body reads its frames straight off the upstream socket
//! in the client's task: one wake-up per event, as in nginx. HTTPS and
//! proxied upstreams keep hyper's client (`super`).

mod pool;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;

use super::idle::IdleTimer;
use super::replay::{REPLAY_LIMIT, STALE_WITHIN};
use super::UpstreamConnector;
use crate::proxy::clock;
use crate::proxy::error::BoxError;
use crate::proxy::spares::keep_spare;
use crate::proxy::upstream::Upstream;
use crate::proxy::wire::body::RequestBody;
use crate::proxy::wire::framing::{Decoded, Framing};
use crate::proxy::wire::head::{self, RequestFraming};
use crate::proxy::wire::io::poll_read_more;
use crate::proxy::wire::upgrade::UpgradeRequested;
use pool::Pool;

thread_local! {
    /// Where request heads are written: each head is split off as a slice
    /// of one shared buffer, which is written into again once every head in
    /// it has been sent, instead of allocating (and then sharing, for a
    /// resend) a buffer per head.
    static HEADS: RefCell<BytesMut> = RefCell::new(BytesMut::with_capacity(HEADS_CAPACITY));
}

/// Room for the heads of a few dozen requests in flight at once; a head
/// larger than what is left still fits (the buffer grows, or is replaced).
const HEADS_CAPACITY: usize = 8 * 1024;

thread_local! {
    /// Piece queues of requests done with, emptied, for requests to come:
    /// a queue is allocated once, not for every request.
    static SPARE_QUEUES: RefCell<Vec<VecDeque<Bytes>>> = const { RefCell::new(Vec::new()) };
}

/// Request pieces gathered into one write at most (a few more may wait).
const MAX_QUEUED_PIECES: usize = 16;

pub struct DirectClient {
    connector: UpstreamConnector,
    pool: Arc<Pool>,
    idle_timeout: Duration,
}

impl DirectClient {
    pub fn new(connector: UpstreamConnector, idle_timeout: Duration) -> DirectClient {
        DirectClient {
            connector,
            pool: Pool::start(),
            idle_timeout,
        }
    }

    /// Sends `request` (an absolute `http://` URI on `upstream`) and
    /// returns the response once its head has arrived; the body streams from
    /// the upstream as the client reads it.
    pub async fn send(
        &self,
        upstream: &Arc<Upstream>,
        request: Request<RequestBody>,
    ) -> Result<Response<DirectBody>, BoxError> {
        let (mut parts, body) = request.into_parts();
        let (head, framing) = HEADS.with_borrow_mut(|heads| {
            heads.reserve(head::encoded_len(&parts));
            let has_body = !body.is_end_stream();
            let framing = head::encode_request(&parts, upstream.authority(), has_body, heads);
            (heads.split().freeze(), framing)
        });
        // Written out: a resend writes the same bytes again.
        head::recycle(std::mem::take(&mut parts.headers));
        let mut writer = Writer::new(head, body, framing);
        let upgrade_asked = parts.extensions.get::<UpgradeRequested>().is_some();
        // A pooled connection the upstream closed just as it was taken
        // fails before any answer; the request is then sent once more on
        // another connection, if what was written of it was kept.
        loop {
            let (mut link, reused) = self.connection(upstream).await?;
            let taken_from_pool = reused.then(clock::now);
            link.writer = writer;
            let mut transfer = Transfer::new(link);
            match poll_fn(|cx| transfer.poll_head(cx, &parts.method, upgrade_asked)).await {
                Ok(head) => {
                    transfer.link.writer.answer_began();
                    let body = DirectBody::new(
                        transfer,
                        head.framing,
                        head.keep_alive,
                        self.pool.clone(),
                        upstream.clone(),
                    );
                    return Ok(Response::from_parts(head.parts, body));
                }
                Err(error)
                    if transfer.stale()
                        && taken_from_pool.is_some_and(|at| clock::since(at) < STALE_WITHIN) =>
                {
                    tracing::debug!(%error, "pooled upstream connection was stale; reconnecting");
                    writer = std::mem::replace(&mut transfer.link.writer, Writer::idle());
                    writer.rewind();
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// A live pooled connection to `upstream`'s origin, else a new one;
    /// `true` when pooled.
    async fn connection(&self, upstream: &Upstream) -> Result<(Box<Link>, bool), BoxError> {
        if let Some(link) = self.pool.checkout(upstream.origin()) {
            return Ok((link, true));
        }
        let io = self.connector.connect_direct(upstream.origin_str()).await?;
        let link = Box::new(Link {
            io,
            idle: IdleTimer::new(self.idle_timeout),
            read_buf: BytesMut::new(),
            writer: Writer::idle(),
        });
        Ok((link, false))
    }
}

/// What an upstream connection keeps from one request to the next: its
/// socket, its idle timer (kept armed, not armed anew for each request),
/// and its read buffer. The buffer is free again once the client has been
/// sent what was read into it, so the next response is read into the same
/// allocation instead of a new one.
///
/// The request being written lives here too: a link is boxed once per
/// connection, and the response that holds it is moved several times on
/// its way to the client, cheaper the smaller it is.
pub(crate) struct Link {
    io: TcpStream,
    idle: IdleTimer,
    read_buf: BytesMut,
    writer: Writer,
}

/// One request-response exchange on one connection: the request written
/// while the response is read, so neither side can stall the other.
struct Transfer {
    link: Box<Link>,
    /// Any byte of the response arrived.
    answered: bool,
    /// The upstream closed or reset the connection.
    closed: bool,
}

impl Transfer {
    fn new(link: Box<Link>) -> Transfer {
        Transfer {
            link,
            answered: false,
            closed: false,
        }
    }

    /// The upstream closed the connection without answering, and the
    /// request can be sent again: a pooled connection that had gone stale.
    fn stale(&self) -> bool {
        self.closed && !self.answered && self.link.writer.can_rewind()
    }

    fn poll_head(
        &mut self,
        cx: &mut Context<'_>,
        method: &http::Method,
        upgrade_asked: bool,
    ) -> Poll<Result<head::ResponseHead, BoxError>> {
        if self.link.writer.hold_head(cx)? {
            // Polled again at once: the head waits one turn, no longer.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        loop {
            self.poll_write(cx)?;
            if let Some(head) =
                head::parse_response(&mut self.link.read_buf, method, upgrade_asked)?
            {
                return Poll::Ready(Ok(head));
            }
            if ready!(self.poll_read(cx))? == 0 {
                let message = if self.answered {
                    "the upstream closed the connection in the middle of the response head"
                } else {
                    "the upstream closed the connection without answering"
                };
                return Poll::Ready(Err(message.into()));
            }
        }
    }

    /// Moves the request forward as far as it goes without waiting;
    /// `Err` when the client's body fails, which aborts the exchange.
    ///
    /// A failed write does not: an upstream may answer before it has read
    /// the whole request (a 413, say) and close, and that answer is still
    /// read and relayed. Writing stops, and the connection is not reused.
    ///
    /// Called on every poll of the response body, so the common case, a
    /// request already sent, returns before any work: inlined, with the
    /// work itself kept out of line (left to itself, the compiler did the
    /// opposite and made each event pay for a call).
    #[inline(always)]
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Result<(), BoxError> {
        if self.link.writer.has_more() {
            self.write_more(cx)?;
        }
        Ok(())
    }

    #[inline(never)]
    fn write_more(&mut self, cx: &mut Context<'_>) -> Result<(), BoxError> {
        let link = &mut *self.link;
        while link.writer.has_more() {
            if link.writer.queued() == 0 && !link.writer.refill(cx)? {
                return Ok(());
            }
            let (slices, count) = link.writer.slices();
            match Pin::new(&mut link.io).poll_write_vectored(cx, &slices[..count]) {
                Poll::Ready(Ok(written)) => {
                    link.writer.advance(written);
                    link.idle.touch();
                }
                Poll::Ready(Err(error)) => {
                    tracing::debug!(%error, "writing to the upstream failed; reading its answer");
                    link.writer.abandon();
                }
                Poll::Pending => return Ok(()),
            }
        }
        Ok(())
    }

    /// Reads what the socket has into the buffer: `Ready(0)` at its end,
    /// `Pending` (with the idle timeout armed) when it has nothing yet.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Result<usize, BoxError>> {
        let link = &mut self.link;
        match poll_read_more(&mut link.io, cx, &mut link.read_buf) {
            Poll::Ready(Ok(read)) => {
                self.answered |= read > 0;
                self.closed |= read == 0;
                link.idle.touch();
                Poll::Ready(Ok(read))
            }
            Poll::Ready(Err(e)) => {
                self.closed |= matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                );
                Poll::Ready(Err(e.into()))
            }
            Poll::Pending => {
                let expired = ready!(link.idle.poll_expired(cx));
                Poll::Ready(Err(expired.into()))
            }
        }
    }
}

/// The request on its way out: the head, then the client's body frames,
/// chunk-framed when the client gave no length. What is ready is written
/// with one vectored write, so a head and a small body leave together.
struct Writer {
    /// The request's pieces in order: the first `sent` written whole, the
    /// next one `partly` written, the rest waiting. Written pieces stay
    /// while the request can be sent again (`kept`).
    out: VecDeque<Bytes>,
    sent: usize,
    partly: usize,
    /// Bytes written and kept, while they are `REPLAY_LIMIT` at most and
    /// no answer has begun; `None` once written pieces are dropped.
    kept: Option<usize>,
    body: Option<RequestBody>,
    framing: RequestFraming,
    /// The head has been held back once for the body to join it.
    head_held: bool,
    /// Writing failed; the rest of the request is dropped.
    abandoned: bool,
}

/// Hands the piece queue, emptied, to the next request.
impl Drop for Writer {
    fn drop(&mut self) {
        let mut pieces = std::mem::take(&mut self.out);
        // An idle writer's queue never had room; a grown one is let go.
        if pieces.capacity() == 0 || pieces.capacity() > MAX_QUEUED_PIECES {
            return;
        }
        pieces.clear();
        keep_spare(&SPARE_QUEUES, pieces);
    }
}

impl Writer {
    /// A writer with nothing to write, for a connection between requests.
    fn idle() -> Writer {
        Writer {
            out: VecDeque::new(),
            sent: 0,
            partly: 0,
            kept: None,
            body: None,
            framing: RequestFraming::AsIs,
            head_held: true,
            abandoned: false,
        }
    }

    fn new(head: Bytes, body: RequestBody, framing: RequestFraming) -> Writer {
        Writer {
            out: Writer::pieces_with(head),
            sent: 0,
            partly: 0,
            kept: Some(0),
            body: Some(body),
            framing,
            head_held: false,
            abandoned: false,
        }
    }

    /// The queue with `head` first, and room for a body of one frame, or
    /// of one chunk with its size line and end, without growing: a spare
    /// queue when there is one.
    fn pieces_with(head: Bytes) -> VecDeque<Bytes> {
        let spare = SPARE_QUEUES.with_borrow_mut(Vec::pop);
        let mut pieces = spare.unwrap_or_else(|| VecDeque::with_capacity(5));
        pieces.push_back(head);
        pieces
    }

    /// The whole request has been written.
    fn finished(&self) -> bool {
        !self.abandoned && !self.unsent()
    }

    /// Something of the request is still to be written.
    fn has_more(&self) -> bool {
        !self.abandoned && self.unsent()
    }

    /// Pieces are queued, or the client's body has more to give.
    fn unsent(&self) -> bool {
        self.body.is_some() || self.queued() > 0
    }

    /// Pieces waiting to be written.
    fn queued(&self) -> usize {
        self.out.len() - self.sent
    }

    fn abandon(&mut self) {
        self.abandoned = true;
        // Kept while the request can be sent again.
        if !self.can_rewind() {
            self.drop_unsent();
        }
    }

    /// Drops the rest of the request; the written pieces are gone already
    /// (`drop_written`), so what is queued is all unsent.
    fn drop_unsent(&mut self) {
        self.out.clear();
        self.body = None;
    }

    fn can_rewind(&self) -> bool {
        self.kept.is_some()
    }

    /// Starts the request over, for another connection: every piece is
    /// queued again, and the rest of the body follows.
    fn rewind(&mut self) {
        (self.sent, self.partly) = (0, 0);
        self.kept = Some(0);
        self.abandoned = false;
    }

    /// The upstream began its answer: the request is not sent again.
    fn answer_began(&mut self) {
        self.drop_written();
        if self.abandoned {
            self.drop_unsent();
        }
    }

    /// Drops the written pieces, and with them the means to rewind.
    fn drop_written(&mut self) {
        self.kept = None;
        self.out.drain(..self.sent);
        self.sent = 0;
        if let Some(piece) = self.out.front_mut() {
            piece.advance(self.partly);
        }
        self.partly = 0;
    }

    /// True when the head should wait a turn: the request has a body and
    /// none of it is ready yet. hyper's HTTP/2 server hands over a body's
    /// first data only after the handler has run, and an HTTP/1.1 client
    /// may write its body just after its head; writing at once would then
    /// send the head and the body as two segments. (Body bytes that came
    /// with an HTTP/1.1 head are ready at once, see `serve::upload`.)
    fn hold_head(&mut self, cx: &mut Context<'_>) -> Result<bool, BoxError> {
        if std::mem::replace(&mut self.head_held, true) || self.body.is_none() {
            return Ok(false);
        }
        self.refill(cx)?;
        Ok(self.queued() == 1 && self.body.is_some())
    }

    /// The first pieces to write, on the stack: this runs on every write.
    fn slices(&self) -> ([IoSlice<'_>; MAX_QUEUED_PIECES], usize) {
        let mut slices = [IoSlice::new(&[]); MAX_QUEUED_PIECES];
        let count = self.queued().min(MAX_QUEUED_PIECES);
        let waiting = self.out.range(self.sent..);
        for (index, (slice, piece)) in slices.iter_mut().zip(waiting).enumerate() {
            let skip = if index == 0 { self.partly } else { 0 };
            *slice = IoSlice::new(&piece[skip..]);
        }
        (slices, count)
    }

    fn advance(&mut self, mut written: usize) {
        if let Some(kept) = &mut self.kept {
            *kept += written;
        }
        while let Some(piece) = self.out.get(self.sent) {
            let rest = piece.len() - self.partly;
            if written < rest {
                self.partly += written;
                break;
            }
            written -= rest;
            (self.sent, self.partly) = (self.sent + 1, 0);
        }
        if self.kept.is_none_or(|kept| kept > REPLAY_LIMIT) {
            self.drop_written();
        }
    }

    /// Queues the client's body frames that are ready; `false` when none
    /// were (the client's body is pending) or the request is done.
    fn refill(&mut self, cx: &mut Context<'_>) -> Result<bool, BoxError> {
        let chunked = self.framing == RequestFraming::Chunked;
        while self.queued() < MAX_QUEUED_PIECES {
            let Some(body) = self.body.as_mut() else {
                break;
            };
            let Poll::Ready(frame) = Pin::new(body).poll_frame(cx) else {
                break;
            };
            match frame {
                // Trailers are not sent on: nothing a provider reads
                // arrives in them.
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => self.queue(data, chunked),
                    _ => {}
                },
                Some(Err(error)) => return Err(error),
                None => {
                    self.body = None;
                    if chunked {
                        self.out.push_back(Bytes::from_static(b"0\r\n\r\n"));
                    }
                }
            }
        }
        Ok(self.queued() > 0)
    }

    fn queue(&mut self, data: Bytes, chunked: bool) {
        if chunked {
            self.out
                .push_back(Bytes::from(format!("{:x}\r\n", data.len())));
            self.out.push_back(data);
            self.out.push_back(Bytes::from_static(b"\r\n"));
        } else {
            self.out.push_back(data);
        }
    }
}

/// The upstream's response body, read off its socket by whoever polls it.
/// Once it has been read to its end (and the request written to its end),
/// the connection goes back to the pool; dropped before that, the
/// connection closes, which cancels the upstream's work.
pub struct DirectBody {
    transfer: Option<Transfer>,
    framing: Framing,
    keep_alive: bool,
    pool: Arc<Pool>,
    /// Whose pool the connection goes back to.
    upstream: Arc<Upstream>,
}

impl DirectBody {
    fn new(
        transfer: Transfer,
        framing: Framing,
        keep_alive: bool,
        pool: Arc<Pool>,
        upstream: Arc<Upstream>,
    ) -> DirectBody {
        DirectBody {
            transfer: Some(transfer),
            framing,
            keep_alive,
            pool,
            upstream,
        }
    }

    /// After a 101: the connection, and what was read of it past the head.
    pub fn take_upgraded(&mut self) -> Option<(TcpStream, BytesMut)> {
        let transfer = self.transfer.take()?;
        let Link { io, read_buf, .. } = *transfer.link;
        Some((io, read_buf))
    }

    /// The body is complete: pool the connection if it can carry another
    /// request, else close it.
    fn release(&mut self) {
        let Some(transfer) = self.transfer.take() else {
            return;
        };
        let reusable = self.keep_alive
            && self.framing.keeps_connection()
            && transfer.link.writer.finished()
            && transfer.link.read_buf.is_empty();
        if reusable {
            self.pool.put(self.upstream.origin(), transfer.link);
        }
    }

    fn next_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BoxError>>> {
        let Some(transfer) = self.transfer.as_mut() else {
            return Poll::Ready(None);
        };
        loop {
            transfer.poll_write(cx)?;
            match self.framing.decode(&mut transfer.link.read_buf)? {
                Decoded::Data(data) => return Poll::Ready(Some(Ok(data))),
                Decoded::End => return Poll::Ready(None),
                Decoded::NeedMore => {}
            }
            if ready!(transfer.poll_read(cx))? == 0 {
                self.framing.at_eof()?;
                return Poll::Ready(None);
            }
        }
    }
}

/// The server side never polls a body it knows is empty (a HEAD answer, a
/// 204, `content-length: 0`), so a finished body is released when dropped.
impl Drop for DirectBody {
    fn drop(&mut self) {
        if self.framing.is_done() {
            self.release();
        }
    }
}

impl Body for DirectBody {
    type Data = Bytes;
    type Error = BoxError;

    #[inline]
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = self.next_frame(cx);
        match &polled {
            // The server side stops polling once `is_end_stream` says so,
            // so the connection is released with the last frame.
            Poll::Ready(Some(Ok(_))) if self.framing.is_done() => self.release(),
            Poll::Ready(None) => self.release(),
            Poll::Ready(Some(Err(_))) => self.transfer = None,
            _ => {}
        }
        polled.map(|frame| frame.map(|data| data.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.framing.is_done()
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            Framing::Length(remaining) => SizeHint::with_exact(remaining),
            _ => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer with `pieces` queued and no client body behind them.
    fn writer_of(pieces: &[&'static str]) -> Writer {
        Writer {
            out: pieces
                .iter()
                .map(|piece| Bytes::from_static(piece.as_bytes()))
                .collect(),
            sent: 0,
            partly: 0,
            kept: Some(0),
            body: None,
            framing: RequestFraming::AsIs,
            head_held: true,
            abandoned: false,
        }
    }

    #[test]
    fn a_finished_writers_queue_serves_the_next_request_empty() {
        SPARE_QUEUES.with_borrow_mut(Vec::clear);
        drop(writer_of(&["POST / HTTP/1.1\r\n\r\n", "secret body"]));
        assert_eq!(SPARE_QUEUES.with_borrow(Vec::len), 1);
        let pieces = Writer::pieces_with(Bytes::from_static(b"GET / HTTP/1.1\r\n\r\n"));
        assert_eq!(pieces, [Bytes::from_static(b"GET / HTTP/1.1\r\n\r\n")]);
        assert_eq!(SPARE_QUEUES.with_borrow(Vec::len), 0);
    }

    /// What a socket taking at most `step` bytes per write receives.
    fn write_out(writer: &mut Writer, step: usize) -> Vec<u8> {
        let mut wire = Vec::new();
        while writer.has_more() {
            let (slices, count) = writer.slices();
            let gathered: Vec<u8> = slices[..count].iter().flat_map(|s| s.to_vec()).collect();
            let taken = gathered.len().min(step);
            wire.extend_from_slice(&gathered[..taken]);
            writer.advance(taken);
        }
        wire
    }

    const REQUEST: [&str; 4] = ["POST / HTTP/1.1\r\n\r\n", "{\"a\":", "1", "}"];

    #[test]
    fn a_rewound_request_is_written_again_byte_for_byte() {
        let whole = REQUEST.concat().into_bytes();
        for first_step in 1..=whole.len() {
            let mut writer = writer_of(&REQUEST);
            assert_eq!(write_out(&mut writer, first_step), whole);
            assert!(writer.can_rewind());
            writer.rewind();
            assert_eq!(
                write_out(&mut writer, 3),
                whole,
                "after steps of {first_step}"
            );
        }
    }

    #[test]
    fn a_request_rewound_in_the_middle_starts_over() {
        let mut writer = writer_of(&REQUEST);
        writer.advance(21);
        writer.abandon();
        assert!(!writer.has_more());
        writer.rewind();
        assert_eq!(write_out(&mut writer, 5), REQUEST.concat().into_bytes());
    }

    #[test]
    fn past_the_limit_or_once_answered_written_pieces_are_dropped() {
        let large: &'static str = "x".repeat(REPLAY_LIMIT).leak();
        let mut writer = writer_of(&["head", large, "tail"]);
        writer.advance(REPLAY_LIMIT);
        assert!(writer.can_rewind());
        writer.advance(1);
        assert!(!writer.can_rewind());
        assert_eq!(writer.out.len(), 2, "the head is dropped");
        assert_eq!(write_out(&mut writer, 64), b"xxxtail");

        let whole = REQUEST.concat().into_bytes();
        let mut writer = writer_of(&REQUEST);
        writer.advance(22);
        writer.answer_began();
        assert!(!writer.can_rewind());
        assert_eq!(write_out(&mut writer, 64), whole[22..]);
    }
}
