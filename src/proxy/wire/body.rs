//! The client's request body on its way upstream: read off an HTTP/1.1
//! connection or from hyper's HTTP/2 server, streamed frame by frame,
//! counted, and read to its end even when nobody wants the rest.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::upload::Upload;
use crate::proxy::error::{chain, BoxError};

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
    chain(error).any(|cause| cause.is::<ClientBodyError>())
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
    /// Reads a copy of the body as it is read, until it has seen enough.
    tap: Option<Box<dyn BodyTap>>,
}

/// Reads the client's body as it passes, without holding it back.
pub trait BodyTap: Send {
    /// The next chunk; false once the tap wants no more.
    fn chunk(&mut self, data: &Bytes) -> bool;

    /// Called once: when the tap wants no more, or the body ended, failed
    /// or was dropped.
    fn end(self: Box<Self>);
}

/// How long the rest of an upload nobody wants is read before it is
/// dropped, as nginx's lingering close does.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(5);

impl RequestBody {
    pub fn new(inner: ClientBody, bytes: Arc<AtomicU64>) -> RequestBody {
        RequestBody {
            inner: Some(inner),
            bytes,
            tap: None,
        }
    }

    /// The same body, with `tap` reading it as it passes.
    pub fn with_tap(mut self, tap: Box<dyn BodyTap>) -> RequestBody {
        self.tap = Some(tap);
        self
    }

    fn end_tap(&mut self) {
        if let Some(tap) = self.tap.take() {
            tap.end();
        }
    }

    /// The count of bytes read from the client so far.
    pub fn uploaded(&self) -> Arc<AtomicU64> {
        self.bytes.clone()
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        self.end_tap();
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
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                    let enough = self.tap.as_mut().is_some_and(|tap| !tap.chunk(data));
                    if enough {
                        self.end_tap();
                    }
                }
            }
            Poll::Ready(_) => self.end_tap(),
            Poll::Pending => {}
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
