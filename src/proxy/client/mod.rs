//! The upstream hop: pooled HTTP/1.1 and HTTP/2 connections, TLS with the
//! system's trust store, `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`, a connect
//! timeout, and an idle timeout on every upstream connection. Plain-HTTP
//! upstreams reached without a proxy go through `direct`; the rest
//! through hyper's client, wrapped by `replay` so that a request
//! that meets a stale pooled connection is sent again when that cannot do
//! its work twice. A connection that lands on the proxy's own listener is
//! refused (`ReachedItself`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use http::{Request, Response};
use http_body_util::Either;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::Connect;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::OnceCell;

mod connect;
mod direct;
mod failure;
mod idle;
mod outgoing;
mod replay;
mod tls_failure;

use crate::proxy::error::BoxError;
use crate::proxy::upstream::Upstream;
use crate::proxy::wire::body::RequestBody;
use crate::proxy::wire::io::{Io, Prefixed};
use crate::proxy::wire::upgrade::UpgradeRequested;
use connect::{UpstreamConnector, WithinConnectTimeout};
use direct::{DirectBody, DirectClient};
use idle::{IdleBody, RequestIdle};
use replay::ReplayBody;

pub use connect::ReachedItself;
pub use failure::{
    is_connect_error, is_connect_timeout, is_idle_timeout, reached_itself, root_cause,
};
pub use outgoing::check_outgoing_proxies;
pub use tls_failure::explain as explain_tls_failure;

/// A response body from hyper's client or from the direct HTTP/1.1 path.
/// hyper's is boxed, as it is the larger by far: every response is moved
/// several times on its way to the client, the direct path's too, and
/// an allocation is nothing beside the TLS that hyper's path carries.
pub type UpstreamResponseBody = Either<Box<IdleBody>, DirectBody>;

type HttpClient = Client<UpstreamConnector, ReplayBody>;
type HttpsClient = Client<WithinConnectTimeout<HttpsConnector<UpstreamConnector>>, ReplayBody>;

/// How long an idle pooled connection is kept: under the keep-alive
/// timeouts of the front ends most often before an HTTPS API (an AWS load
/// balancer's 60 s, nginx's 75 s), so that the proxy does not reuse a
/// connection just as they close it, which fails a POST (`replay`);
/// not much shorter, as a new connection costs a TLS handshake across the
/// internet. hyper reads an idle connection, so one a server closes sooner
/// leaves the pool as its close arrives.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(55);

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
        Ok(client_builder().build(self.connector.bound(https)))
    }
}

fn client_builder() -> hyper_util::client::legacy::Builder {
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        // Its default, named for the rule it keeps: hyper sends again, on
        // another connection, only a request it never began to write on a
        // pooled one, which the upstream cannot have processed.
        .retry_canceled_requests(true);
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
