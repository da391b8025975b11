//! The upstream's response body on its way to the client, which closes the
//! exchange's record when it ends.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{Either, Full};

use super::exchange::Exchange;
use super::stages::ResponseWatch;
use crate::proxy::client::{is_idle_timeout, UpstreamResponseBody};
use crate::proxy::error::BoxError;
use crate::proxy::stats::Outcome;
use crate::proxy::wire::io::Io;

/// What the proxy answers with: an upstream's body, or one it made itself.
pub type ResponseBody = Either<UpstreamBody, Full<Bytes>>;

/// The upstream's response body on its way to the client. Closes the
/// exchange (log line, stats) exactly once: when the body ends, fails (an
/// idle upstream fails it, see `IdleBody` and the direct path's
/// `h1::Transfer`), or is dropped because the client went away; or hands
/// it on with the upstream's connection once that switched protocols.
pub struct UpstreamBody {
    inner: UpstreamResponseBody,
    bytes: u64,
    exchange: Option<Exchange>,
    /// The upstream's connection, after a 101.
    switched: Option<Box<dyn Io>>,
    /// The response stage's watch, when it wanted this response.
    watch: Option<Box<dyn ResponseWatch>>,
}

impl UpstreamBody {
    pub fn new(
        inner: UpstreamResponseBody,
        exchange: Exchange,
        switched: Option<Box<dyn Io>>,
        watch: Option<Box<dyn ResponseWatch>>,
    ) -> UpstreamBody {
        UpstreamBody {
            inner,
            bytes: 0,
            exchange: Some(exchange),
            switched,
            watch,
        }
    }

    /// For an answer that switched protocols: the upstream's connection,
    /// and the exchange, which the tunnel closes when it ends.
    pub fn take_switched(&mut self) -> Option<(Box<dyn Io>, Exchange)> {
        let io = self.switched.take()?;
        Some((io, self.exchange.take()?))
    }

    fn finish(&mut self, outcome: Outcome) {
        // The watch ends first, so that its findings are on the log line.
        let findings = self.watch.take().map(|watch| watch.end(outcome));
        if let Some(exchange) = self.exchange.take() {
            exchange.finish(outcome, self.bytes, findings.unwrap_or_default());
        }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes += data.len() as u64;
                    if let Some(watch) = &mut this.watch {
                        watch.chunk(data);
                    }
                }
            }
            Poll::Ready(Some(Err(error))) => {
                let class = if is_idle_timeout(error.as_ref()) {
                    "upstream_idle_timeout"
                } else {
                    "upstream_body"
                };
                this.finish(Outcome::Failed(class));
            }
            Poll::Ready(None) => this.finish(Outcome::Completed),
            Poll::Pending => {}
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
