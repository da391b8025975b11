//! Connections that switch protocols (WebSocket, or any other `Upgrade`):
//! an HTTP/1.1 client's upgrade request goes upstream with its `Upgrade`
//! set anew on the proxy's own hop, and once the upstream answers 101 the
//! two connections are joined. Bytes then pass both ways untouched until
//! either side ends, neither moves for the idle timeout, or the proxy
//! stops.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::proxy::stats::Outcome;
use crate::proxy::wire::io::{Io, Prefixed};

/// The record of an exchange whose upstream switched protocols, closed once
/// its tunnel ends.
pub trait Record: Send {
    /// Closes the record: how the tunnel ended, and the bytes it carried
    /// each way.
    fn finish(self: Box<Self>, outcome: Outcome, to_upstream: u64, to_client: u64);
}

/// An exchange whose upstream switched protocols: the upstream's side of
/// the connection, and the record to close when the tunnel ends.
pub struct Switched {
    pub upstream: Box<dyn Io>,
    pub exchange: Box<dyn Record>,
    pub idle_timeout: Duration,
}

/// Joins the client's connection (and the bytes it sent past its request)
/// to the upstream's until either side ends, neither moves for the idle
/// timeout, or `stop` says the proxy is stopping; then closes the record.
pub async fn join(
    client: TcpStream,
    client_ahead: BytesMut,
    switched: Switched,
    mut stop: watch::Receiver<bool>,
) {
    let Switched {
        upstream,
        exchange,
        idle_timeout,
    } = switched;
    let activity = Activity::new();
    let mut client = Watched::new(Prefixed::new(client_ahead, client), &activity);
    let mut upstream = Watched::new(upstream, &activity);
    let outcome = tokio::select! {
        joined = tokio::io::copy_bidirectional(&mut client, &mut upstream) => match joined {
            Ok(_) => Outcome::Completed,
            Err(_) if upstream.failed => Outcome::Failed("upstream_body"),
            Err(_) => Outcome::Failed("client_disconnect"),
        },
        () = activity.idle_for(idle_timeout) => Outcome::Failed("upstream_idle_timeout"),
        _ = stop.wait_for(|stopping| *stopping) => Outcome::Failed("proxy_stopped"),
    };
    exchange.finish(outcome, client.read, upstream.read);
}

/// When bytes last moved either way through a tunnel.
struct Activity {
    start: Instant,
    /// Nanoseconds after `start`.
    last: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let since = self.start.elapsed().as_nanos();
        self.last
            .store(u64::try_from(since).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Returns once nothing has moved for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            let last = self.start + Duration::from_nanos(self.last.load(Ordering::Relaxed));
            let deadline = last + timeout;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// One side of a tunnel: counts what is read from it, notes activity, and
/// remembers whether it failed, so that a broken tunnel names its side.
struct Watched<'a, T> {
    io: T,
    activity: &'a Activity,
    read: u64,
    failed: bool,
}

impl<'a, T> Watched<'a, T> {
    fn new(io: T, activity: &'a Activity) -> Watched<'a, T> {
        Watched {
            io,
            activity,
            read: 0,
            failed: false,
        }
    }

    /// Notes what an operation on this side came to.
    fn note<R>(
        &mut self,
        polled: Poll<io::Result<R>>,
        moved: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        match &polled {
            Poll::Ready(Ok(done)) if moved(done) => self.activity.touch(),
            Poll::Ready(Err(_)) => self.failed = true,
            _ => {}
        }
        polled
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<'_, T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        let read = (buf.filled().len() - before) as u64;
        this.read += read;
        this.note(polled, |()| read > 0)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<'_, T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        this.note(polled, |written| *written > 0)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_flush(cx);
        this.note(polled, |()| false)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_shutdown(cx);
        this.note(polled, |()| false)
    }
}
