//! HTTP/2 with prior knowledge, served by hyper.
//!
//! hyper times nothing on an HTTP/2 connection once its preface has come,
//! so a client beyond loopback could hold descriptors with connections
//! that never open a stream, which the head deadline prevents on
//! HTTP/1.1. Here a connection with no stream open for that long is sent
//! a GOAWAY, as an idle HTTP/1.1 connection is closed; one that is still
//! up and idle as long again is dropped.

use std::future::pending;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::Handler;
use crate::proxy::error::BoxError;
use crate::proxy::headers::Controls;
use crate::proxy::wire::body::ClientBody;
use crate::proxy::wire::io::Prefixed;

/// What hyper may hold of one HTTP/2 answer that its client does not
/// read, as an HTTP/1.1 connection holds (`conn::FLUSH_AT`): hyper's
/// default, 400 KiB, lets one connection of 200 unread streams hold 80 MiB.
const SEND_BUFFER: usize = 64 * 1024;

/// Serves one HTTP/2 connection until it ends, the proxy stops, or it has
/// had no stream open for `idle_limit` (`None`: no limit).
pub(super) async fn serve<H: Handler>(
    io: Prefixed<TcpStream>,
    handler: Arc<H>,
    mut stop: watch::Receiver<bool>,
    idle_limit: Option<Duration>,
) {
    let (streams, mut open) = watch::channel(0_usize);
    let service = service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
        let stream = OpenStream::new(&streams);
        let controls = Controls::take(request.headers_mut());
        let answer = handler
            .clone()
            .handle(request.map(ClientBody::Http2), controls);
        async move {
            let response = answer.await?;
            Ok::<_, std::convert::Infallible>(response.map(|body| Answer {
                body,
                _stream: stream,
            }))
        }
    });
    let connection = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .max_send_buf_size(SEND_BUFFER)
        .serve_connection(TokioIo::new(io), service);
    let mut connection = pin!(connection);
    let mut going_away = false;
    let ended = loop {
        tokio::select! {
            ended = connection.as_mut() => break ended,
            _ = stop.wait_for(|stopping| *stopping), if !going_away => {
                connection.as_mut().graceful_shutdown();
                going_away = true;
            }
            _ = idle_for(&mut open, idle_limit) => {
                if going_away {
                    tracing::debug!("an idle HTTP/2 client did not close after GOAWAY");
                    return;
                }
                connection.as_mut().graceful_shutdown();
                going_away = true;
            }
        }
    };
    if let Err(error) = ended {
        tracing::debug!(%error, "client connection ended with an error");
    }
}

/// Resolves once no stream has been open for `limit`; never without one.
async fn idle_for(open: &mut watch::Receiver<usize>, limit: Option<Duration>) {
    let Some(limit) = limit else {
        return pending().await;
    };
    loop {
        // The service holds the sender as long as the connection is up.
        if open.wait_for(|streams| *streams == 0).await.is_err() {
            return pending().await;
        }
        tokio::select! {
            _ = tokio::time::sleep(limit) => return,
            _ = open.changed() => {}
        }
    }
}

/// One stream counted open, from its request's arrival to its answer's
/// end (or the stream's reset, which drops it).
struct OpenStream(watch::Sender<usize>);

impl OpenStream {
    fn new(streams: &watch::Sender<usize>) -> OpenStream {
        streams.send_modify(|open| *open += 1);
        OpenStream(streams.clone())
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.send_modify(|open| *open -= 1);
    }
}

/// An answer's body, holding its stream open until hyper drops it.
struct Answer<B> {
    body: B,
    _stream: OpenStream,
}

impl<B: Body<Data = Bytes, Error = BoxError> + Unpin> Body for Answer<B> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
