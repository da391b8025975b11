//! The client side: connections accepted, HTTP/1.1 served here (see
//! `conn`), HTTP/2 with prior knowledge handed to hyper, and a bounded
//! drain of in-flight requests at shutdown.
//!
//! HTTP/1.1 is served by hand for the same reason the upstream hop is
//! (`h1`): each streamed event then costs one wake-up of one task and one
//! write, with no layer between the frame read off the upstream and the
//! write to the client.

mod conn;
mod request;
mod response;
mod upload;

use std::io;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

use super::body::ClientBody;
use super::{forward, Shared};
use conn::{Connection, Opening};
pub use upload::Upload;

/// How long a client beyond loopback may take to send a request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Pause after a failed accept (for example out of file descriptors), so the
/// loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts and serves connections until `stop` fires, then lets in-flight
/// requests finish within `drain_timeout`.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
    drain_timeout: Duration,
) {
    // A header-read deadline guards against remote clients that trickle
    // their request heads; local clients (the only ones a loopback
    // listener has) need none.
    let head_timeout = (!shared.listen.ip().is_loopback()).then_some(HEADER_READ_TIMEOUT);
    // Every connection holds a receiver: the channel tells them to stop,
    // and closes when the last of them has ended.
    let (stopping, _) = watch::channel(false);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let connection = serve_connection(stream, shared.clone(), stopping.subscribe(), head_timeout);
                    tokio::spawn(connection);
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            _ = &mut stop => break,
        }
    }
    drop(listener);
    stopping.send_replace(true);
    if tokio::time::timeout(drain_timeout, stopping.closed())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the drain timeout");
    }
}

async fn serve_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    head_timeout: Option<Duration>,
) {
    // Small writes (SSE events) must leave at once.
    let _ = stream.set_nodelay(true);
    let connection = Connection::new(stream, shared.clone(), stop.clone(), head_timeout);
    if let Opening::Http2(stream, read) = connection.serve().await {
        serve_http2(Prefixed { read, stream }, shared, stop).await;
    }
}

async fn serve_http2(io: Prefixed, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
        forward::handle(shared.clone(), request.map(ClientBody::Http2))
    });
    let connection = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(io), service);
    let mut connection = pin!(connection);
    let stopped = tokio::select! {
        ended = connection.as_mut() => Some(ended),
        _ = stop.wait_for(|stopping| *stopping) => None,
    };
    let ended = match stopped {
        Some(ended) => ended,
        None => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = ended {
        tracing::debug!(%error, "client connection ended with an error");
    }
}

/// A socket whose first bytes were read already: they are read again first.
struct Prefixed {
    read: BytesMut,
    stream: TcpStream,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.read.is_empty() {
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        let n = this.read.len().min(buf.remaining());
        buf.put_slice(&this.read[..n]);
        this.read.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
