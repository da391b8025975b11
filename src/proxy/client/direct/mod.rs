//! The upstream hop for plain-HTTP upstreams reached directly: HTTP/1.1 over
//! pooled connections, driven by the task that serves the client.
//!
//! hyper's client runs each connection as a task of its own and hands body
//! frames across a channel, so every streamed event is polled by two tasks.
//! Here the response body reads its frames straight off the upstream socket
//! in the client's task: one wake-up per event, as in nginx. HTTPS and
//! proxied upstreams keep hyper's client (`super`).

mod pool;
mod writer;

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::idle::IdleTimer;
use super::replay;
use super::UpstreamConnector;
use crate::proxy::clock;
use crate::proxy::error::BoxError;
use crate::proxy::upstream::Upstream;
use crate::proxy::wire::body::RequestBody;
use crate::proxy::wire::fields;
use crate::proxy::wire::framing::{Decoded, Framing};
use crate::proxy::wire::head;
use crate::proxy::wire::io::poll_read_more;
use crate::proxy::wire::upgrade::UpgradeRequested;
use pool::Pool;
use writer::Writer;

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
        fields::recycle(std::mem::take(&mut parts.headers));
        let mut writer = Writer::new(head, body, framing);
        let upgrade_asked = parts.extensions.get::<UpgradeRequested>().is_some();
        // A pooled connection the upstream closed just as it was taken
        // fails before any answer; the request is then sent once more on
        // another connection, if what was written of it was kept and
        // sending it again cannot do its work twice (`may_send_again`).
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
                Err(error) if transfer.may_send_again(&parts.method, taken_from_pool) => {
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

    /// The upstream closed the connection, taken from the pool at
    /// `taken_from_pool`, without answering, and the request can be sent
    /// again on another: none of it was written, so the upstream cannot
    /// have processed it, or its method allows (`replay::may_send_again`).
    fn may_send_again(&self, method: &http::Method, taken_from_pool: Option<Instant>) -> bool {
        let Some(taken) = taken_from_pool else {
            return false;
        };
        let writer = &self.link.writer;
        let stale = self.closed && !self.answered && writer.can_rewind();
        stale && (writer.wrote_nothing() || replay::may_send_again(method, clock::since(taken)))
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
