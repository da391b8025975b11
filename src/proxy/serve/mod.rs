//! The client side: connections accepted, HTTP/1.1 served here (see
//! `conn`), HTTP/2 with prior knowledge handed to hyper (see `http2`),
//! and a bounded drain of in-flight requests at shutdown.
//!
//! HTTP/1.1 is served by hand for the same reason the upstream hop is
//! (`client::direct`): each streamed event then costs one wake-up of one
//! task and one write, with no layer between the frame read off the
//! upstream and the write to the client.
//!
//! What each request is answered with is the `Handler`'s: the server knows
//! nothing of forwarding.

mod conn;
mod http2;
mod output;
mod request;
mod response;
mod signal;
mod tunnel;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

use crate::proxy::clock;
use crate::proxy::error::{BoxError, ProxyError};
use crate::proxy::headers::Controls;
use crate::proxy::routes::Family;
use crate::proxy::wire::body::ClientBody;
use crate::proxy::wire::io::Prefixed;
use conn::{Connection, Opening};
pub use tunnel::{Record, Switched};

/// What the server hands each request to (the forwarder), and how it
/// learns that an answer switched protocols.
pub trait Handler: Send + Sync + 'static {
    /// An answer's body.
    type Body: Body<Data = Bytes, Error = BoxError> + Send + Unpin + 'static;

    /// Answers `request`, whose control headers were taken off it as
    /// `controls`.
    fn handle(
        self: Arc<Self>,
        request: Request<ClientBody>,
        controls: Controls,
    ) -> impl Future<Output = Result<Response<Self::Body>, Infallible>> + Send + 'static;

    /// For an answer that switched protocols: the upstream's side of the
    /// connection, and the record its tunnel closes.
    fn switched(response: &mut Response<Self::Body>) -> Option<Switched>;

    /// A request head refused before it became a request (malformed, too
    /// large, too slow), answered with `error` in `family`'s shape.
    fn refused(&self, error: &ProxyError, family: Family);
}

/// Pause after a failed accept (for example out of file descriptors), so the
/// loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How long things may take: in-flight requests at shutdown, and a
/// request head, or an HTTP/2 connection with no stream open (`None`: no
/// limit).
pub struct Deadlines {
    pub drain: Duration,
    pub head: Option<Duration>,
}

/// Accepts and serves connections until `stop` fires, then lets in-flight
/// requests finish within the drain deadline.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    mut stop: oneshot::Receiver<()>,
    deadlines: Deadlines,
) {
    // Every connection holds a receiver: the channel tells them to stop,
    // and closes when the last of them has ended.
    let (stopping, _) = watch::channel(false);
    // Out of file descriptors, accept fails at every try until some close,
    // for as long as a client cares to hold them: warned once per spell.
    let mut failing = false;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    if failing {
                        failing = false;
                        tracing::info!("accepting connections again");
                    }
                    let connection = serve_connection(stream, handler.clone(), stopping.subscribe(), deadlines.head);
                    tokio::spawn(clock::in_turns(connection));
                }
                Err(error) => {
                    if failing {
                        tracing::debug!(%error, "accept failed");
                    } else {
                        tracing::warn!(%error, retry_every = ?ACCEPT_BACKOFF, "accept failed");
                    }
                    failing = true;
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            _ = &mut stop => break,
        }
    }
    drop(listener);
    stopping.send_replace(true);
    if tokio::time::timeout(deadlines.drain, stopping.closed())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the drain timeout");
    }
}

async fn serve_connection<H: Handler>(
    stream: TcpStream,
    handler: Arc<H>,
    stop: watch::Receiver<bool>,
    head_timeout: Option<Duration>,
) {
    // Small writes (SSE events) must leave at once.
    let _ = stream.set_nodelay(true);
    let connection = Connection::new(stream, handler.clone(), stop.clone(), head_timeout);
    match connection.serve().await {
        Opening::Done => {}
        Opening::Http2(stream, read) => {
            http2::serve(Prefixed::new(read, stream), handler, stop, head_timeout).await;
        }
        Opening::Switched(stream, read, switched) => {
            tunnel::join(stream, read, *switched, stop).await;
        }
    }
}

#[cfg(test)]
mod tests;
