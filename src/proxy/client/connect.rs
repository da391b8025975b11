//! Connections to upstreams: TCP with a connect timeout, through
//! `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` when they are set, with an idle
//! timeout on every byte, and never onto the proxy's own listener
//! (`ReachedItself`). `WithinConnectTimeout` stretches the connect timeout
//! over a TLS handshake on top.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use super::idle::IdleTimer;
use super::replay::OpenedAt;
use crate::proxy::error::BoxError;

/// Error returned when the TCP connection (and any proxy tunnel and TLS
/// handshake) is not established within the connect timeout.
#[derive(Debug)]
pub struct ConnectTimeout;

impl std::fmt::Display for ConnectTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connect timed out")
    }
}

impl std::error::Error for ConnectTimeout {}

/// `connecting`'s outcome, or `ConnectTimeout` once `timeout` has passed.
async fn within_connect_timeout<T>(
    timeout: Duration,
    connecting: impl Future<Output = Result<T, BoxError>>,
) -> Result<T, BoxError> {
    tokio::time::timeout(timeout, connecting)
        .await
        .unwrap_or_else(|_| Err(Box::new(ConnectTimeout)))
}

/// The connection itself failed: refused, unreachable, or the name did not
/// resolve.
#[derive(Debug)]
pub struct ConnectFailed(BoxError);

impl std::fmt::Display for ConnectFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connect failed")
    }
}

impl std::error::Error for ConnectFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// The connection landed on the proxy's own listener: the request would
/// come straight back, be forwarded again, and so on until file
/// descriptors ran out. It happens when an upstream's name resolves to the
/// proxy's address, or when `HTTP_PROXY` or `HTTPS_PROXY` is the proxy
/// itself.
#[derive(Debug)]
pub struct ReachedItself {
    /// The connection went to the HTTP proxy, not to the upstream.
    pub via_http_proxy: bool,
}

impl std::fmt::Display for ReachedItself {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the connection reached this proxy itself")
    }
}

impl std::error::Error for ReachedItself {}

/// Fails with `ReachedItself` when `stream` is connected to the listener
/// at `listen`.
fn refuse_own_listener(
    stream: &TcpStream,
    listen: SocketAddr,
    via_http_proxy: bool,
) -> Result<(), BoxError> {
    let (Ok(local), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) else {
        return Ok(());
    };
    if lands_on(listen, local, peer) {
        return Err(Box::new(ReachedItself { via_http_proxy }));
    }
    Ok(())
}

/// True when a connection from `local` to `peer` lands on the listener at
/// `listen`.
fn lands_on(listen: SocketAddr, local: SocketAddr, peer: SocketAddr) -> bool {
    if peer.port() != listen.port() {
        return false;
    }
    let peer_ip = peer.ip().to_canonical();
    let listen_ip = listen.ip().to_canonical();
    if !listen_ip.is_unspecified() {
        return peer_ip == listen_ip;
    }
    // An IPv4 wildcard takes no IPv6 connection; an IPv6 one takes both.
    if listen_ip.is_ipv4() && peer_ip.is_ipv6() {
        return false;
    }
    // A wildcard listener takes every address of this host: the loopback
    // ones, and the one a connection to this host leaves from.
    peer_ip.is_loopback() || peer_ip == local.ip().to_canonical()
}

/// TCP connector that honours the proxy environment: HTTPS upstreams are
/// tunnelled with CONNECT, plain HTTP ones are sent to the proxy in
/// absolute form.
#[derive(Clone)]
pub struct UpstreamConnector {
    tcp: HttpConnector,
    /// The proxy's own listening address, which no connection may reach.
    listen: SocketAddr,
    proxies: Option<Arc<Matcher>>,
    connect_timeout: Duration,
    idle_timeout: Duration,
}

impl UpstreamConnector {
    pub(super) fn new(
        listen: SocketAddr,
        connect_timeout: Duration,
        idle_timeout: Duration,
    ) -> UpstreamConnector {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        UpstreamConnector {
            tcp,
            listen,
            proxies: proxy_matcher_from_env().map(Arc::new),
            connect_timeout,
            idle_timeout,
        }
    }

    /// `connector`, which wraps this one, bounded by the same connect
    /// timeout from its start to its end.
    pub(super) fn bound<C>(&self, connector: C) -> WithinConnectTimeout<C> {
        WithinConnectTimeout {
            inner: connector,
            timeout: self.connect_timeout,
        }
    }

    pub(super) fn intercept(
        &self,
        dst: &Uri,
    ) -> Option<hyper_util::client::proxy::matcher::Intercept> {
        self.proxies.as_ref()?.intercept(dst)
    }

    /// A TCP stream straight to `origin` (as `Upstream::origin_str` writes
    /// it), for the direct HTTP/1.1 path.
    pub async fn connect_direct(&self, origin: &str) -> Result<TcpStream, BoxError> {
        let uri = Uri::try_from(origin)?;
        let mut tcp = self.tcp.clone();
        let listen = self.listen;
        within_connect_timeout(self.connect_timeout, async move {
            match tcp.call(uri).await {
                Ok(io) => {
                    let stream = io.into_inner();
                    refuse_own_listener(&stream, listen, false)?;
                    Ok(stream)
                }
                Err(error) => Err(Box::new(ConnectFailed(error.into())) as BoxError),
            }
        })
        .await
    }
}

/// `None` when no proxy variable is set, so the common case skips matching.
fn proxy_matcher_from_env() -> Option<Matcher> {
    let any_set = super::outgoing::PROXY_VARS
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    any_set.then(Matcher::from_env)
}

impl Service<Uri> for UpstreamConnector {
    type Response = UpstreamStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<UpstreamStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let intercept = self.intercept(&dst);
        let mut tcp = self.tcp.clone();
        let listen = self.listen;
        let timeout = self.connect_timeout;
        let idle_timeout = self.idle_timeout;
        Box::pin(within_connect_timeout(timeout, async move {
            let Some(proxy) = intercept else {
                let io = tcp.call(dst).await?;
                refuse_own_listener(io.inner(), listen, false)?;
                return Ok(UpstreamStream::new(io, false, idle_timeout));
            };
            let mut to_proxy = ToHttpProxy { tcp, listen };
            if dst.scheme() == Some(&http::uri::Scheme::HTTPS) {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), to_proxy);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let io = tunnel.call(dst).await?;
                Ok(UpstreamStream::new(io, false, idle_timeout))
            } else {
                let io = to_proxy.call(proxy.uri().clone()).await?;
                Ok::<_, BoxError>(UpstreamStream::new(io, true, idle_timeout))
            }
        }))
    }
}

/// A connector that fails with `ConnectTimeout` when `inner` has not
/// connected within the timeout. It bounds the TLS handshake that a TLS
/// connector adds on top of `UpstreamConnector`: a peer that accepts and
/// never answers the handshake would otherwise hold the request until the
/// idle timeout.
#[derive(Clone)]
pub struct WithinConnectTimeout<C> {
    inner: C,
    timeout: Duration,
}

impl<C> Service<Uri> for WithinConnectTimeout<C>
where
    C: Service<Uri>,
    C::Error: Into<BoxError>,
    C::Response: 'static,
    C::Future: Send + 'static,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connecting = self.inner.call(dst);
        Box::pin(within_connect_timeout(self.timeout, async move {
            connecting.await.map_err(Into::into)
        }))
    }
}

/// Connects to the HTTP proxy in front of an upstream, refusing one that
/// is this proxy itself.
struct ToHttpProxy {
    tcp: HttpConnector,
    listen: SocketAddr,
}

impl Service<Uri> for ToHttpProxy {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<TokioIo<TcpStream>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, proxy: Uri) -> Self::Future {
        let mut tcp = self.tcp.clone();
        let listen = self.listen;
        Box::pin(async move {
            let io = tcp.call(proxy).await?;
            refuse_own_listener(io.inner(), listen, true)?;
            Ok(io)
        })
    }
}

/// A TCP stream to the upstream or to the HTTP proxy in front of it,
/// failing with `UpstreamIdle` once no byte has moved for the idle timeout.
pub struct UpstreamStream {
    io: TokioIo<TcpStream>,
    via_http_proxy: bool,
    idle: IdleTimer,
    opened: OpenedAt,
}

impl UpstreamStream {
    fn new(io: TokioIo<TcpStream>, via_http_proxy: bool, idle_timeout: Duration) -> UpstreamStream {
        UpstreamStream {
            io,
            via_http_proxy,
            idle: IdleTimer::new(idle_timeout),
            opened: OpenedAt(tokio::time::Instant::now()),
        }
    }
}

impl Connection for UpstreamStream {
    fn connected(&self) -> Connected {
        // Marking the hop as proxied makes hyper send absolute-form targets.
        self.io
            .connected()
            .proxy(self.via_http_proxy)
            .extra(self.opened)
    }
}

impl Read for UpstreamStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                self.idle.touch();
                Poll::Ready(result)
            }
            Poll::Pending => self.idle.poll_expired(cx).map(Err),
        }
    }
}

impl UpstreamStream {
    /// A write that moved bytes counts as activity (a long upload to an
    /// upstream that answers only at its end is not idle); one that waits
    /// is subject to the idle timeout like a read.
    fn after_write(
        &mut self,
        written: Poll<io::Result<usize>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(result) => {
                if matches!(result, Ok(n) if n > 0) {
                    self.idle.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.idle.poll_expired(cx).map(Err),
        }
    }
}

impl Write for UpstreamStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, buf);
        self.after_write(written, cx)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.after_write(written, cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::failure::reached_itself;
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_connection_lands_on_the_listener_that_takes_its_address() {
        let from = addr("127.0.0.1:50000");
        let from_lan = addr("192.0.2.7:50000");
        let cases = [
            ("127.0.0.1:8787", from, "127.0.0.1:8787", true),
            ("127.0.0.1:8787", from, "127.0.0.1:8788", false),
            ("127.0.0.1:8787", from, "127.0.0.2:8787", false),
            ("[::ffff:127.0.0.1]:8787", from, "127.0.0.1:8787", true),
            ("0.0.0.0:8787", from, "127.0.0.2:8787", true),
            ("0.0.0.0:8787", from_lan, "192.0.2.7:8787", true),
            ("0.0.0.0:8787", from_lan, "192.0.2.8:8787", false),
            ("0.0.0.0:8787", addr("[::1]:50000"), "[::1]:8787", false),
            ("[::]:8787", from, "127.0.0.1:8787", true),
            ("[::]:8787", addr("[::1]:50000"), "[::1]:8787", true),
        ];
        for (listen, local, peer, lands) in cases {
            assert_eq!(
                lands_on(addr(listen), local, addr(peer)),
                lands,
                "listen {listen}, peer {peer}"
            );
        }
    }

    #[tokio::test]
    async fn a_direct_connection_to_the_proxys_own_listener_is_refused() {
        let own = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listen = own.local_addr().unwrap();
        let connector =
            UpstreamConnector::new(listen, Duration::from_secs(5), Duration::from_secs(5));

        let error = connector
            .connect_direct(&format!("http://{listen}"))
            .await
            .err()
            .unwrap();
        let reached = reached_itself(error.as_ref()).unwrap();
        assert!(!reached.via_http_proxy);

        let elsewhere = format!("http://{}", other.local_addr().unwrap());
        assert!(connector.connect_direct(&elsewhere).await.is_ok());
    }
}
