//! The idle timeout of one upstream connection: it fires when no byte has
//! moved either way for the timeout. Kept per connection rather than per
//! request, one timer serves every request a pooled connection carries; it
//! is armed on the first wait and moved only when it fires early.
//! `RequestIdle` times one request instead, where connections are shared,
//! and `IdleBody` holds a response body from hyper's client to it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use crate::proxy::clock;
use crate::proxy::error::BoxError;

/// The upstream sent and took nothing for longer than the idle timeout.
#[derive(Debug)]
pub struct UpstreamIdle;

impl std::fmt::Display for UpstreamIdle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("upstream idle timeout")
    }
}

impl std::error::Error for UpstreamIdle {}

pub struct IdleTimer {
    timeout: Duration,
    last_activity: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    /// The waker the timer last registered: while it is the current one
    /// and the timer has not fired, a wait needs no new registration.
    registered: Option<Waker>,
}

impl IdleTimer {
    pub fn new(timeout: Duration) -> IdleTimer {
        IdleTimer {
            timeout,
            last_activity: clock::now(),
            timer: None,
            registered: None,
        }
    }

    /// Records that bytes moved.
    pub fn touch(&mut self) {
        self.last_activity = clock::now();
    }

    /// Called when an operation would wait: `Ready` with an error once the
    /// connection has been idle too long.
    #[inline]
    pub fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        // Streaming waits here after every event; skipping the timer's poll
        // when nothing changed keeps that wait cheap.
        let armed = self.timer.as_ref().is_some_and(|timer| !timer.is_elapsed());
        if armed
            && self
                .registered
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        self.poll_timer(cx)
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        // A timer set before the last touch fires early; it is then reset
        // to this.
        let deadline = self.last_activity + self.timeout;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        loop {
            if timer.as_mut().poll(cx).is_pending() {
                self.registered = Some(cx.waker().clone());
                return Poll::Pending;
            }
            // Read afresh, not `clock::now`: a reading taken earlier in
            // this poll may lie before a deadline the timer has passed, and
            // the timer, reset to it, would fire again at once, and again.
            if Instant::now() >= deadline {
                return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, UpstreamIdle));
            }
            timer.as_mut().reset(deadline);
        }
    }
}

/// The idle timeout of one request on a connection others may share (an
/// HTTP/2 upstream's): it fires when neither the upstream's answer nor the
/// client's upload has moved for the timeout. The upload is looked at only
/// as the timeout passes, so one that moved may stretch a wait up to twice
/// the timeout.
pub struct RequestIdle {
    timer: IdleTimer,
    /// Bytes of the upload so far (see `body::RequestBody::uploaded`), and
    /// their count when last looked at.
    uploaded: Arc<AtomicU64>,
    uploaded_seen: u64,
}

impl RequestIdle {
    pub fn new(timeout: Duration, uploaded: Arc<AtomicU64>) -> RequestIdle {
        RequestIdle {
            timer: IdleTimer::new(timeout),
            uploaded_seen: uploaded.load(Ordering::Relaxed),
            uploaded,
        }
    }

    /// Records that the answer moved.
    pub fn touch(&mut self) {
        self.timer.touch();
    }

    /// Called when the answer would wait: `Ready` with an error once the
    /// request has been idle too long.
    pub fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            let expired = ready!(self.timer.poll_expired(cx));
            let uploaded = self.uploaded.load(Ordering::Relaxed);
            if uploaded == self.uploaded_seen {
                return Poll::Ready(expired);
            }
            // The upload moved in the meantime, which is activity too.
            self.uploaded_seen = uploaded;
            self.timer.touch();
        }
    }
}

/// A response body from hyper's client that fails with `UpstreamIdle` once
/// the request has been idle for the timeout (see `RequestIdle`). The
/// connection's own timer (`client::UpstreamStream`) cannot tell one
/// stalled stream from the others sharing an HTTP/2 connection.
pub struct IdleBody {
    inner: Incoming,
    idle: RequestIdle,
}

impl IdleBody {
    pub fn new(inner: Incoming, idle: RequestIdle) -> IdleBody {
        IdleBody { inner, idle }
    }
}

impl Body for IdleBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.idle.touch();
            return Poll::Ready(frame.map(|result| result.map_err(BoxError::from)));
        }
        this.idle
            .poll_expired(cx)
            .map(|expired| Some(Err(expired.into())))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
