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

use bytes::{Buf, BytesMut};
use http::header::{self, HeaderMap, HeaderValue};
use http::Response;
use http_body_util::Either;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::client::{BoxError, UpstreamResponseBody};
use super::forward::Exchange;
use super::stats::Outcome;

/// Marks a request whose client asked to switch to the protocol it names.
/// Only the HTTP/1.1 server sets it: HTTP/2 has no `Upgrade`.
#[derive(Clone, Debug)]
pub struct UpgradeRequested(pub HeaderValue);

impl UpgradeRequested {
    /// The one protocol a request's `Upgrade` names, if it names one.
    pub fn named(headers: &HeaderMap) -> Option<UpgradeRequested> {
        let mut protocols = headers.get_all(header::UPGRADE).iter();
        let protocol = protocols.next()?;
        protocols
            .next()
            .is_none()
            .then(|| UpgradeRequested(protocol.clone()))
    }
}

/// Says on a message's own hop that its connection switches to
/// `protocol`: `Connection` and `Upgrade` are hop-by-hop, so the proxy
/// removed the ones that came with it.
pub fn name_upgrade(headers: &mut HeaderMap, protocol: HeaderValue) {
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, protocol);
}

/// Anything a tunnel can carry bytes over.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// An exchange whose upstream switched protocols: the upstream's side of
/// the connection, and the record to close when the tunnel ends.
pub struct Switched {
    pub upstream: Box<dyn Io>,
    pub exchange: Exchange,
    pub idle_timeout: Duration,
}

/// The upstream's connection once it has answered 101. The direct path
/// hands over its socket and whatever it read past the head; hyper's
/// client hands over its upgraded connection, which holds its own.
pub async fn upstream_side(
    response: &mut Response<UpstreamResponseBody>,
) -> Result<Box<dyn Io>, BoxError> {
    match response.body_mut() {
        Either::Right(direct) => {
            let (io, read) = direct
                .take_upgraded()
                .ok_or("its connection ended as it switched protocols")?;
            Ok(Box::new(Prefixed::new(read, io)))
        }
        Either::Left(_) => {
            let upgrade = response
                .extensions_mut()
                .remove::<hyper::upgrade::OnUpgrade>()
                .ok_or("its connection cannot switch protocols")?;
            let upgraded = upgrade.await?;
            Ok(Box::new(hyper_util::rt::TokioIo::new(upgraded)))
        }
    }
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
    exchange.finish_switched(outcome, client.read, upstream.read);
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

/// A connection some of whose first bytes were read already: they are
/// read again first.
pub struct Prefixed<T> {
    read: BytesMut,
    io: T,
}

impl<T> Prefixed<T> {
    pub fn new(read: BytesMut, io: T) -> Prefixed<T> {
        Prefixed { read, io }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Prefixed<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.read.is_empty() {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let n = this.read.len().min(buf.remaining());
        buf.put_slice(&this.read[..n]);
        this.read.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Prefixed<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
