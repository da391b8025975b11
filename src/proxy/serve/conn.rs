//! One HTTP/1.1 client connection: request heads read, each request handed
//! to the forwarder, answers written in order, until either side ends it.
//!
//! A streamed answer's frames are written here as they come: the chunk
//! line, the data and its CRLF leave in one write, from the task that read
//! the frame off the upstream.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Method, Request, Response, Version};
use http_body::Body;
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::output::{Framer, Output};
use super::request::{parse_request, Refusal, RequestHead, MAX_HEAD};
use super::response::{encode_head, Outgoing, CONTINUE};
use super::signal::{StopWait, Watch};
use super::tunnel::Switched;
use super::Handler;
use crate::proxy::error::ProxyError;
use crate::proxy::routes::Family;
use crate::proxy::stats::Outcome;
use crate::proxy::wire::body::{ClientBody, DRAIN_LIMIT};
use crate::proxy::wire::fields;
use crate::proxy::wire::framing::Framing;
use crate::proxy::wire::upgrade::UpgradeRequested;
use crate::proxy::wire::upload::{Inbound, Upload};

/// What a client that sends HTTP/2 with prior knowledge sends first.
pub const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Output gathered before it is written even though more is ready.
const FLUSH_AT: usize = 64 * 1024;
/// Pipelined bytes read ahead while an answer is written, at most.
const READ_AHEAD: usize = MAX_HEAD + 8 * 1024;
/// How long the rest of a refused client's bytes are read before the
/// connection closes, so that closing does not reset the answer away.
pub(super) const LINGER: Duration = Duration::from_secs(2);

/// What a connection turned out to carry.
pub enum Opening {
    /// Served as HTTP/1.1 until it ended.
    Done,
    /// HTTP/2 with prior knowledge: the socket, and the bytes read from it.
    Http2(TcpStream, BytesMut),
    /// Switched to another protocol upstream: the socket, the bytes the
    /// client sent past its request, and the upstream's side.
    Switched(TcpStream, BytesMut, Box<Switched>),
}

pub struct Connection<H> {
    handler: Arc<H>,
    /// The read side, while no request body is out reading it.
    inbound: Option<Inbound>,
    /// Where a lent read side comes back from.
    returning: Option<oneshot::Receiver<Inbound>>,
    out: Output,
    stop: watch::Receiver<bool>,
    stopping: StopWait,
    /// How long a request head may take, for clients beyond loopback.
    head_timeout: Option<Duration>,
    /// Watches the client's socket while an answer is pending or streaming.
    watch: Watch,
    /// Where a client that waits for `100 Continue` is.
    continuing: Option<Continue>,
}

/// A client that sent `Expect: 100-continue` and waits to be asked for
/// its body.
enum Continue {
    /// Until the forwarder first reads the body (`Upload::tell_first_read`).
    Unasked(oneshot::Receiver<()>),
    /// The body was dropped unread: the client is never asked for it.
    Never,
    /// Asked: the `100 Continue` is staged and being written.
    Writing,
}

/// How waiting for a request head ended.
// Made once per request and matched at once: boxing the head would cost an
// allocation per request to save a move.
#[allow(clippy::large_enum_variant)]
enum Next {
    Head(RequestHead),
    Refused(Refusal),
    Http2,
    /// The client closed, or the proxy is stopping.
    Closed,
}

impl<H: Handler> Connection<H> {
    pub fn new(
        stream: TcpStream,
        handler: Arc<H>,
        stop: watch::Receiver<bool>,
        head_timeout: Option<Duration>,
    ) -> Connection<H> {
        let (read, write) = stream.into_split();
        Connection {
            handler,
            inbound: Some(Inbound::new(read, BytesMut::new())),
            returning: None,
            out: Output::new(write),
            stopping: StopWait::new(stop.clone()),
            stop,
            head_timeout,
            watch: Watch::new(),
            continuing: None,
        }
    }

    /// Serves requests until the connection ends.
    pub async fn serve(mut self) -> Opening {
        let mut first = true;
        loop {
            let head = match self.next_head(first).await {
                Next::Head(head) => head,
                Next::Refused(refusal) => {
                    self.refuse(refusal).await;
                    return Opening::Done;
                }
                Next::Http2 => return self.into_http2(),
                Next::Closed => return Opening::Done,
            };
            first = false;
            match self.exchange(head).await {
                Ending::KeepAlive => {}
                Ending::ClientGone => return Opening::Done,
                Ending::Close => {
                    self.linger().await;
                    return Opening::Done;
                }
                Ending::Switched(switched) => return self.into_switched(switched).await,
            }
        }
    }

    fn into_http2(self) -> Opening {
        match self.into_socket() {
            Some((stream, read)) => Opening::Http2(stream, read),
            None => Opening::Done,
        }
    }

    /// The socket for a tunnel, once the client's request body (usually
    /// none) has been read.
    async fn into_switched(mut self, switched: Box<Switched>) -> Opening {
        let socket = match self.take_back_inbound().await {
            true => self.into_socket(),
            false => None,
        };
        match socket {
            Some((stream, read)) => Opening::Switched(stream, read, switched),
            None => {
                switched
                    .exchange
                    .finish(Outcome::Failed("client_disconnect"), 0, 0);
                Opening::Done
            }
        }
    }

    /// The whole socket, with the bytes read from it and not used.
    fn into_socket(mut self) -> Option<(TcpStream, BytesMut)> {
        let (read, buf) = self.inbound.take()?.into_parts();
        read.reunite(self.out.io).ok().map(|stream| (stream, buf))
    }

    async fn next_head(&mut self, first: bool) -> Next {
        let Some(inbound) = self.inbound.as_mut() else {
            return Next::Closed;
        };
        let deadline = self.head_timeout.map(|timeout| Instant::now() + timeout);
        loop {
            if first && HTTP2_PREFACE.starts_with(&inbound.buf[..inbound.buf.len().min(24)]) {
                if inbound.buf.len() >= HTTP2_PREFACE.len() {
                    return Next::Http2;
                }
            } else {
                match parse_request(&mut inbound.buf) {
                    Ok(Some(head)) => return Next::Head(head),
                    Ok(None) => {}
                    Err(refusal) => return Next::Refused(refusal),
                }
            }
            let idle = inbound.buf.is_empty();
            if idle && *self.stop.borrow() {
                return Next::Closed;
            }
            let expired = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                // The read first: the branch that is ready all but once.
                biased;
                read = poll_fn(|cx| inbound.poll_read(cx)) => match read {
                    Ok(0) | Err(_) => return Next::Closed,
                    Ok(_) => {}
                },
                // A connection between requests closes when the proxy stops.
                () = &mut self.stopping, if idle => return Next::Closed,
                // An idle keep-alive connection just closes; a head begun
                // and not finished in time is answered.
                () = expired => {
                    return match idle {
                        true => Next::Closed,
                        false => Next::Refused(Refusal {
                            error: ProxyError::unreadable_head(
                                http::StatusCode::REQUEST_TIMEOUT,
                                "the request head did not arrive in time",
                            ),
                            family: Family::OpenAi,
                        }),
                    }
                }
            }
        }
    }

    /// Hands the request to the forwarder and writes its answer.
    async fn exchange(&mut self, head: RequestHead) -> Ending {
        let RequestHead {
            mut parts,
            controls,
            framing,
            keep_alive,
            expects_continue,
            upgrade,
        } = head;
        let method = parts.method.clone();
        let version = parts.version;
        if let Some(asked) = upgrade
            .then(|| UpgradeRequested::named(&parts.headers))
            .flatten()
        {
            parts.extensions.insert(asked);
        }
        let Some(mut body) = self.lend_body(framing) else {
            return Ending::ClientGone;
        };
        if expects_continue && body.needs_client() {
            let (first_read, asked) = oneshot::channel();
            body.tell_first_read(first_read);
            self.continuing = Some(Continue::Unasked(asked));
        }
        let request = Request::from_parts(parts, ClientBody::Http1(body));
        // Pinned where it is made: passed by value, the handler's future
        // (kilobytes) would be copied twice more on every request.
        let handling = pin!(self.handler.clone().handle(request, controls));
        let Some(Ok(mut response)) = self.unless_client_leaves(handling).await else {
            // Dropping the handler's future cancels the upstream request.
            return Ending::ClientGone;
        };
        let switched = H::switched(&mut response);
        // A client never asked for its body may still send it, or not:
        // where its next request would begin is unknown.
        let unasked = matches!(
            self.continuing.take(),
            Some(Continue::Unasked(_) | Continue::Never)
        );
        // A 101 keeps the connection: the tunnel takes it over.
        let keep_alive = switched.is_some() || keep_alive && !unasked && !*self.stop.borrow();
        let written = self
            .respond(&mut response, &method, version, keep_alive)
            .await;
        if let Some(switched) = switched {
            return tunnel(written, switched);
        }
        match written {
            // The client left: the connection cannot say more.
            Err(_) => Ending::ClientGone,
            // Only the close tells the client that the answer is short.
            Ok(Sent::Cut) => Ending::Close,
            Ok(Sent::Whole) if keep_alive && self.take_back_inbound().await => Ending::KeepAlive,
            Ok(Sent::Whole) => Ending::Close,
        }
    }

    /// Lends the read side to the request body; a body that came whole
    /// with its head is split off instead, and the read side stays.
    fn lend_body(&mut self, framing: Framing) -> Option<Upload> {
        let inbound = self.inbound.as_mut()?;
        // The head was read with the task's own waker, and a lent body
        // reads with its reader's: either way, the watch looks afresh.
        self.watch.disarm();
        if let Some(whole) = inbound.take_whole_body(&framing) {
            return Some(Upload::whole(whole));
        }
        let mut inbound = self.inbound.take()?;
        inbound.framing = framing;
        let (home, returning) = oneshot::channel();
        self.returning = Some(returning);
        Some(Upload::new(inbound, home))
    }

    /// Runs `work` unless the client closes its connection first.
    async fn unless_client_leaves<F: Future>(
        &mut self,
        mut work: Pin<&mut F>,
    ) -> Option<F::Output> {
        poll_fn(|cx| {
            if let Poll::Ready(done) = work.as_mut().poll(cx) {
                return Poll::Ready(Some(done));
            }
            if self.poll_continue(cx).is_err() || self.poll_client_left(cx) {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await
    }

    /// Writes `100 Continue` once the forwarder first reads the body of a
    /// client that waits for it. It reads a body only once its head has
    /// passed every check, so a refused request's upload is never asked
    /// for. An error when the client cannot be written to.
    fn poll_continue(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        match &mut self.continuing {
            None | Some(Continue::Never) => return Ok(()),
            Some(Continue::Unasked(asked)) => match Pin::new(asked).poll(cx) {
                Poll::Pending => return Ok(()),
                Poll::Ready(Err(_)) => {
                    self.continuing = Some(Continue::Never);
                    return Ok(());
                }
                Poll::Ready(Ok(())) => {
                    self.out.stage(CONTINUE);
                    self.continuing = Some(Continue::Writing);
                }
            },
            Some(Continue::Writing) => {}
        }
        if let Poll::Ready(written) = self.out.poll_flush(cx) {
            written?;
            self.continuing = None;
        }
        Ok(())
    }

    /// True once the client has closed its side (or reset it). Reads
    /// pipelined requests ahead meanwhile; while a request body is out
    /// being read, or after too much read-ahead, it cannot tell.
    fn poll_client_left(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(returning) = self.returning.as_mut() {
            let Poll::Ready(inbound) = Pin::new(returning).poll(cx) else {
                return false;
            };
            self.returning = None;
            self.inbound = inbound.ok();
        }
        let Some(inbound) = self.inbound.as_mut() else {
            return false;
        };
        if !self.watch.needs_look(cx) {
            return false;
        }
        let mut watched = Context::from_waker(self.watch.arm());
        while inbound.framing.is_done() && inbound.buf.len() < READ_AHEAD {
            match inbound.poll_read_if_ready(&mut watched) {
                Poll::Ready(Ok(0) | Err(_)) => return true,
                Poll::Ready(Ok(_)) => {}
                Poll::Pending => return false,
            }
        }
        // Not registered: the read side is out or full, nothing to watch.
        self.watch.disarm();
        false
    }

    /// Writes the answer: its head, then its body framed for this client;
    /// an error when the client cannot be written to.
    /// Taken by reference: the response is the size of a small page, and
    /// each move would copy it.
    async fn respond<B>(
        &mut self,
        response: &mut Response<B>,
        method: &Method,
        version: Version,
        keep_alive: bool,
    ) -> io::Result<Sent>
    where
        B: Body<Data = Bytes> + Unpin,
    {
        let status = response.status();
        let hint = response.body().size_hint();
        let outgoing = Outgoing::for_response(method, status, response.headers(), &hint, version);
        let close = !keep_alive || outgoing == Outgoing::UntilClose;
        let connection = match (close, version) {
            (true, _) => Some("close"),
            (false, Version::HTTP_10) => Some("keep-alive"),
            (false, _) => None,
        };
        encode_head(
            status,
            response.headers(),
            outgoing,
            connection,
            &mut self.out.staged,
        );
        // Written: let go of what the fields hold of the upstream's buffer
        // (emptied, the map is kept for another head).
        fields::recycle(std::mem::take(response.headers_mut()));
        if outgoing == Outgoing::NoBody {
            return self.out.flush().await.map(|()| Sent::Whole);
        }
        let body = response.body_mut();
        let mut framer = Framer::new(outgoing);
        poll_fn(|cx| self.poll_send_body(cx, Pin::new(body), &mut framer)).await
    }

    /// Moves the body to the client as far as it goes without waiting.
    /// What came before a break is written all the same: the client gets
    /// every byte the upstream sent, then the close.
    fn poll_send_body<B>(
        &mut self,
        cx: &mut Context<'_>,
        mut body: Pin<&mut B>,
        framer: &mut Framer,
    ) -> Poll<io::Result<Sent>>
    where
        B: Body<Data = Bytes>,
    {
        loop {
            if self.poll_client_left(cx) {
                return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
            }
            let mut body_waits = false;
            while !framer.ended && self.out.buffered() < FLUSH_AT {
                match body.as_mut().poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data() {
                            framer.frame(data, &mut self.out);
                        }
                    }
                    // The answer ends unfinished: no fake success.
                    Poll::Ready(Some(Err(_))) => framer.cut(),
                    Poll::Ready(None) => framer.end(&mut self.out),
                    Poll::Pending => {
                        body_waits = true;
                        break;
                    }
                }
            }
            ready!(self.out.poll_flush(cx))?;
            if framer.ended {
                let sent = if framer.cut { Sent::Cut } else { Sent::Whole };
                return Poll::Ready(Ok(sent));
            }
            if body_waits {
                return Poll::Pending;
            }
        }
    }

    /// Gets the read side back from the request body, reading what the
    /// handler left of the body; `false` when the connection cannot carry
    /// another request.
    async fn take_back_inbound(&mut self) -> bool {
        if self.inbound.is_none() {
            let Some(returning) = self.returning.take() else {
                return false;
            };
            match tokio::time::timeout(DRAIN_LIMIT, returning).await {
                Ok(Ok(inbound)) => self.inbound = Some(inbound),
                _ => return false,
            }
        }
        let Some(inbound) = self.inbound.as_mut() else {
            return false;
        };
        if inbound.framing.is_done() {
            return true;
        }
        let read_rest = poll_fn(|cx| loop {
            match ready!(inbound.poll_body(cx)) {
                Some(Ok(_)) => {}
                None => return Poll::Ready(true),
                Some(Err(_)) => return Poll::Ready(false),
            }
        });
        tokio::time::timeout(DRAIN_LIMIT, read_rest)
            .await
            .unwrap_or(false)
    }

    /// Answers a head that cannot be served, in the error shape of its
    /// path's API, then closes.
    async fn refuse(&mut self, Refusal { error, family }: Refusal) {
        tracing::debug!(status = error.status.as_u16(), reason = %error, "refused a request head");
        self.handler.refused(&error, family);
        let mut answer = error.to_response(family);
        if self
            .respond(&mut answer, &Method::GET, Version::HTTP_11, false)
            .await
            .is_ok()
        {
            self.linger().await;
        }
    }

    /// Closes after reading, for a while, what the client still sends, so
    /// that the close does not reset an answer it has not read yet.
    async fn linger(&mut self) {
        if self.out.flush().await.is_err() || self.out.shutdown().await.is_err() {
            return;
        }
        if self.inbound.is_none() {
            // A body dropped unread has sent the read side home.
            let mut returning = self.returning.take();
            self.inbound = returning.as_mut().and_then(|home| home.try_recv().ok());
        }
        let Some(inbound) = self.inbound.as_mut() else {
            return;
        };
        let stopping = tokio::select! {
            _ = tokio::time::timeout(LINGER, inbound.discard(false)) => false,
            _ = self.stop.wait_for(|stop| *stop) => true,
        };
        // A stopping proxy does not wait for the client: it reads what has
        // arrived and closes.
        if stopping {
            inbound.discard(true).await;
        }
    }
}

/// What of an answer was written to the client.
enum Sent {
    Whole,
    /// The body broke off; what came of it was written.
    Cut,
}

/// How an exchange leaves the connection.
enum Ending {
    KeepAlive,
    /// Close, reading the client's last bytes first (see `linger`).
    Close,
    /// The connection is broken or abandoned: drop it.
    ClientGone,
    /// The upstream switched protocols: the connection becomes a tunnel.
    Switched(Box<Switched>),
}

/// Once the 101 that switches protocols is `written`, the connection
/// becomes a tunnel to the upstream `switched` holds.
fn tunnel(written: io::Result<Sent>, switched: Switched) -> Ending {
    if written.is_err() {
        switched
            .exchange
            .finish(Outcome::Failed("client_disconnect"), 0, 0);
        return Ending::ClientGone;
    }
    Ending::Switched(Box::new(switched))
}
