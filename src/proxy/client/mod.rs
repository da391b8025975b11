//! The upstream hop: pooled HTTP/1.1 and HTTP/2 connections, TLS with the
//! system's trust store, `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`, a connect
//! timeout, and an idle timeout on every upstream connection. Plain-HTTP
//! upstreams reached without a proxy go through `direct`; the rest
//! through hyper's client, wrapped by `replay` so that a request
//! that meets a stale pooled connection is sent again. A connection that
//! lands on the proxy's own listener is refused (`ReachedItself`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, Uri};
use http_body_util::Either;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connect, Connected, Connection, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::sync::OnceCell;
use tower_service::Service;

mod direct;
mod idle;
mod replay;

use crate::proxy::error::{chain, BoxError};
use crate::proxy::upstream::Upstream;
use crate::proxy::wire::body::RequestBody;
use crate::proxy::wire::io::{Io, Prefixed};
use crate::proxy::wire::upgrade::UpgradeRequested;
use direct::{DirectBody, DirectClient};
use idle::{IdleBody, IdleTimer, RequestIdle};
use replay::{OpenedAt, ReplayBody};

/// A response body from hyper's client or from the direct HTTP/1.1 path.
/// hyper's is boxed, as it is the larger by far: every response is moved
/// several times on its way to the client, the direct path's too, and
/// an allocation is nothing beside the TLS that hyper's path carries.
pub type UpstreamResponseBody = Either<Box<IdleBody>, DirectBody>;

type HttpClient = Client<UpstreamConnector, ReplayBody>;
type HttpsClient = Client<HttpsConnector<UpstreamConnector>, ReplayBody>;

/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Sends requests upstream. The TLS client is built on first use: loading
/// the system's trust store takes tens of milliseconds, which a launch that
/// only talks to loopback should not pay.
pub struct UpstreamClient {
    connector: UpstreamConnector,
    /// Plain-HTTP upstreams reached without a proxy.
    direct: DirectClient,
    /// Plain-HTTP upstreams behind an HTTP proxy.
    http: HttpClient,
    https: OnceCell<HttpsClient>,
    /// HTTPS upstreams for requests that switch protocols, which HTTP/2
    /// cannot carry: HTTP/1.1 is the only protocol it offers.
    https_http1: OnceCell<HttpsClient>,
    idle_timeout: Duration,
}

impl UpstreamClient {
    /// A client for the proxy listening at `listen`.
    pub fn new(
        listen: SocketAddr,
        connect_timeout: Duration,
        idle_timeout: Duration,
    ) -> UpstreamClient {
        let connector = UpstreamConnector::new(listen, connect_timeout, idle_timeout);
        UpstreamClient {
            direct: DirectClient::new(connector.clone(), idle_timeout),
            http: client_builder().build(connector.clone()),
            connector,
            https: OnceCell::new(),
            https_http1: OnceCell::new(),
            idle_timeout,
        }
    }

    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Sends `request`, whose URI is `upstream` joined with the client's
    /// path and query.
    pub async fn request(
        &self,
        upstream: &Arc<Upstream>,
        mut request: Request<RequestBody>,
    ) -> Result<Response<UpstreamResponseBody>, BoxError> {
        if request.uri().scheme() == Some(&http::uri::Scheme::HTTPS) {
            let client = match request.extensions().get::<UpgradeRequested>() {
                None => {
                    self.https
                        .get_or_try_init(|| self.build_https(true))
                        .await?
                }
                Some(_) => {
                    let build = || self.build_https(false);
                    self.https_http1.get_or_try_init(build).await?
                }
            };
            return Box::pin(self.through_hyper(client, request)).await;
        }
        let Some(proxy) = self.connector.intercept(request.uri()) else {
            let response = self.direct.send(upstream, request).await?;
            return Ok(response.map(Either::Right));
        };
        if let Some(auth) = proxy.basic_auth() {
            request
                .headers_mut()
                .insert(http::header::PROXY_AUTHORIZATION, auth.clone());
        }
        Box::pin(self.through_hyper(&self.http, request)).await
    }

    /// Sends `request` through one of hyper's clients, with the idle
    /// timeout kept per request: while its answer is awaited, then on the
    /// answer's body (`IdleBody`). An HTTP/2 connection's streams share
    /// the connection's own timer. Callers box the future: inline, its
    /// size (over a kilobyte) would be carried, and copied, by every
    /// request's future, the direct path's too.
    async fn through_hyper<C>(
        &self,
        client: &Client<C, ReplayBody>,
        request: Request<RequestBody>,
    ) -> Result<Response<UpstreamResponseBody>, BoxError>
    where
        C: Connect + Clone + Send + Sync + 'static,
    {
        let mut idle = RequestIdle::new(self.idle_timeout, request.body().uploaded());
        let response = answered_within(&mut idle, replay::send(client, request)).await?;
        idle.touch();
        Ok(response.map(|body| Either::Left(Box::new(IdleBody::new(body, idle)))))
    }

    /// An HTTPS client offering HTTP/1.1, and HTTP/2 too with `http2`.
    async fn build_https(&self, http2: bool) -> Result<HttpsClient, BoxError> {
        let tls = tokio::task::spawn_blocking(tls_config).await??;
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1();
        let https = match http2 {
            true => builder
                .enable_http2()
                .wrap_connector(self.connector.clone()),
            false => builder.wrap_connector(self.connector.clone()),
        };
        Ok(client_builder().build(https))
    }
}

fn client_builder() -> hyper_util::client::legacy::Builder {
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT);
    builder
}

/// rustls with the system's roots; `SSL_CERT_FILE` and `SSL_CERT_DIR`
/// replace them when set.
fn tls_config() -> Result<rustls::ClientConfig, BoxError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let detail = found
            .errors
            .first()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return Err(format!(
            "no trusted root certificates found{detail} (set SSL_CERT_FILE or SSL_CERT_DIR)"
        )
        .into());
    }
    for error in &found.errors {
        tracing::warn!(%error, "skipped part of the system trust store");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// `answer`, or `UpstreamIdle` once the request has been idle (`idle`).
async fn answered_within<T>(
    idle: &mut RequestIdle,
    answer: impl Future<Output = Result<T, BoxError>>,
) -> Result<T, BoxError> {
    let mut answer = std::pin::pin!(answer);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(answered) = answer.as_mut().poll(cx) {
            return Poll::Ready(answered);
        }
        idle.poll_expired(cx).map(|expired| Err(expired.into()))
    })
    .await
}

/// Error returned when the TCP connection (and any proxy tunnel) is not
/// established within the connect timeout.
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
    fn new(
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

    fn intercept(&self, dst: &Uri) -> Option<hyper_util::client::proxy::matcher::Intercept> {
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
    const VARS: [&str; 6] = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ];
    let any_set = VARS
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

/// True when the error chain says the connect timed out.
pub fn is_connect_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    chain(error).any(|e| e.is::<ConnectTimeout>())
}

/// True when the upstream connection went idle past the idle timeout.
/// HTTP/2 passes on only the kind and text of the I/O error that ended its
/// connection, and a stream's error holds it inside an `h2::Error`, so any
/// timed-out I/O counts: on an upstream connection only the idle timer
/// times out, or the kernel giving up on a silent peer.
pub fn is_idle_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let timed_out = |e: &io::Error| e.kind() == io::ErrorKind::TimedOut;
    chain(error).any(|e| {
        e.downcast_ref::<io::Error>().is_some_and(timed_out)
            || e.downcast_ref::<h2::Error>()
                .and_then(h2::Error::get_io)
                .is_some_and(timed_out)
    })
}

/// How the connection reached the proxy itself, when that ended it.
pub fn reached_itself<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a ReachedItself> {
    chain(error).find_map(|e| e.downcast_ref::<ReachedItself>())
}

/// True when the error happened before a connection was established.
pub fn is_connect_error(error: &(dyn std::error::Error + 'static)) -> bool {
    chain(error).any(|e| {
        e.is::<ConnectFailed>()
            || e.downcast_ref::<hyper_util::client::legacy::Error>()
                .is_some_and(|e| e.is_connect())
    })
}

/// The innermost cause's message: the most specific, and never a URL.
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    chain(error)
        .last()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
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
