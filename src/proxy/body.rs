//! Body wrappers for the two directions. Both stream frame by frame; neither
//! buffers or looks inside a frame.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;

use super::client::{is_idle_timeout, BoxError, UpstreamResponseBody};
use super::forward::Exchange;
use super::idle::RequestIdle;
use super::serve::Upload;
use super::stats::Outcome;
use super::tunnel::Io;

/// What the proxy answers with: an upstream's body, or one it made itself.
pub type ResponseBody = Either<UpstreamBody, Full<Bytes>>;

/// Where a client's request body is read: off an HTTP/1.1 connection
/// served here, or from hyper's HTTP/2 server.
pub enum ClientBody {
    Http1(Upload),
    Http2(Incoming),
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = BoxError;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            ClientBody::Http1(upload) => Pin::new(upload).poll_frame(cx),
            ClientBody::Http2(incoming) => {
                Pin::new(incoming).poll_frame(cx).map_err(BoxError::from)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ClientBody::Http1(upload) => upload.is_end_stream(),
            ClientBody::Http2(incoming) => incoming.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ClientBody::Http1(upload) => upload.size_hint(),
            ClientBody::Http2(incoming) => incoming.size_hint(),
        }
    }
}

/// The client's request body could not be read: malformed framing, or the
/// client stopped sending it. The exchange fails as the client's fault,
/// not the upstream's (see `is_client_body_error`).
#[derive(Debug)]
pub struct ClientBodyError(BoxError);

impl std::fmt::Display for ClientBodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the client's request body failed: {}", self.0)
    }
}

impl std::error::Error for ClientBodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// True when `error` came from reading the client's request body.
pub fn is_client_body_error(error: &(dyn std::error::Error + 'static)) -> bool {
    super::client::chain(error).any(|cause| cause.is::<ClientBodyError>())
}

/// The client's request body on its way upstream, counting its bytes.
///
/// Dropped before its end (an upstream that answered early, a refusal of
/// the proxy's own, an upstream that could not be reached), the rest is
/// still read, for a few seconds at most: closing the client's connection
/// with bytes unread would reset it, and a client still uploading would
/// lose the answer it has not read yet. An HTTP/1.1 connection reads the
/// rest itself (see `serve::upload`); an HTTP/2 stream's rest is read in
/// the background.
pub struct RequestBody {
    /// Always there until `drop` takes it to read the rest.
    inner: Option<ClientBody>,
    bytes: Arc<AtomicU64>,
}

/// How long the rest of an upload nobody wants is read before it is
/// dropped, as nginx's lingering close does.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(5);

impl RequestBody {
    pub fn new(inner: ClientBody, bytes: Arc<AtomicU64>) -> RequestBody {
        RequestBody {
            inner: Some(inner),
            bytes,
        }
    }

    /// The count of bytes read from the client so far.
    pub fn uploaded(&self) -> Arc<AtomicU64> {
        self.bytes.clone()
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        let Some(ClientBody::Http2(mut rest)) =
            self.inner.take().filter(|body| !body.is_end_stream())
        else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let read_to_end = async { while let Some(Ok(_)) = rest.frame().await {} };
            let _ = tokio::time::timeout(DRAIN_LIMIT, read_to_end).await;
        });
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled.map_err(|error| ClientBodyError(error).into())
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(ClientBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), ClientBody::size_hint)
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
}

impl UpstreamBody {
    pub fn new(
        inner: UpstreamResponseBody,
        exchange: Exchange,
        switched: Option<Box<dyn Io>>,
    ) -> UpstreamBody {
        UpstreamBody {
            inner,
            bytes: 0,
            exchange: Some(exchange),
            switched,
        }
    }

    /// For an answer that switched protocols: the upstream's connection,
    /// and the exchange, which the tunnel closes when it ends.
    pub fn take_switched(&mut self) -> Option<(Box<dyn Io>, Exchange)> {
        let io = self.switched.take()?;
        Some((io, self.exchange.take()?))
    }

    fn finish(&mut self, outcome: Outcome) {
        if let Some(exchange) = self.exchange.take() {
            exchange.finish(outcome, self.bytes);
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
