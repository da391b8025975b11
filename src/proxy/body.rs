//! Body wrappers for the two directions. Both stream frame by frame; neither
//! buffers or looks inside a frame.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use super::client::BoxError;
use super::forward::Exchange;
use super::stats::Outcome;

/// What the proxy answers with: an upstream's body, or one it made itself.
pub type ResponseBody = Either<UpstreamBody, Full<Bytes>>;

/// The client's request body on its way upstream, counting its bytes.
pub struct RequestBody {
    inner: Incoming,
    bytes: Arc<AtomicU64>,
}

impl RequestBody {
    pub fn new(inner: Incoming, bytes: Arc<AtomicU64>) -> RequestBody {
        RequestBody { inner, bytes }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The upstream's response body on its way to the client. Ends the stream
/// with an error when the upstream goes quiet for longer than the idle
/// timeout, and closes the exchange (log line, stats) exactly once: when the
/// body ends, fails, or is dropped because the client went away.
pub struct UpstreamBody {
    inner: Incoming,
    /// Armed on the first wait: a body that never waits needs no timer.
    idle: Option<Pin<Box<Sleep>>>,
    idle_timeout: Duration,
    last_frame: Instant,
    bytes: u64,
    exchange: Option<Exchange>,
}

/// The upstream sent nothing for longer than the idle timeout.
#[derive(Debug)]
pub struct IdleTimeout;

impl std::fmt::Display for IdleTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("upstream idle timeout")
    }
}

impl std::error::Error for IdleTimeout {}

impl UpstreamBody {
    pub fn new(inner: Incoming, idle_timeout: Duration, exchange: Exchange) -> UpstreamBody {
        UpstreamBody {
            inner,
            idle: None,
            idle_timeout,
            last_frame: Instant::now(),
            bytes: 0,
            exchange: Some(exchange),
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        if let Some(exchange) = self.exchange.take() {
            exchange.finish(outcome, self.bytes);
        }
    }

    /// The idle timer is re-armed lazily: a frame only records its time,
    /// and the timer moves its deadline when it fires early.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let deadline = self.last_frame + self.idle_timeout;
        let idle = self
            .idle
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        loop {
            if idle.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let deadline = self.last_frame + self.idle_timeout;
            if Instant::now() >= deadline {
                self.finish(Outcome::Failed("upstream_idle_timeout"));
                return Poll::Ready(Some(Err(Box::new(IdleTimeout))));
            }
            idle.as_mut().reset(deadline);
        }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes += data.len() as u64;
                }
                this.last_frame = Instant::now();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                this.finish(Outcome::Failed("upstream_body"));
                Poll::Ready(Some(Err(error.into())))
            }
            Poll::Ready(None) => {
                this.finish(Outcome::Completed);
                Poll::Ready(None)
            }
            Poll::Pending => this.poll_idle(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        let outcome = if self.inner.is_end_stream() {
            Outcome::Completed
        } else {
            Outcome::Failed("client_disconnect")
        };
        self.finish(outcome);
    }
}
