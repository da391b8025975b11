//! The one forwarder every request goes through: resolve the upstream,
//! check it, strip control and hop-by-hop headers, stream both ways. It
//! sits on the two hops: the server (`serve`) hands it each request as a
//! `Handler`, and the client (`client`) sends it upstream.

mod body;
mod exchange;
mod local;
mod overrides;
pub mod stages;

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::{request, Method, Request, Response, StatusCode, Version};
use http_body_util::Either;

use crate::proxy::client::{
    explain_tls_failure, is_connect_error, is_connect_timeout, is_idle_timeout, reached_itself,
    root_cause, upstream_side, ReachedItself, UpstreamClient, UpstreamResponseBody,
};
use crate::proxy::clock;
use crate::proxy::config::Allowed;
use crate::proxy::error::ProxyError;
use crate::proxy::headers::{self, Controls};
use crate::proxy::routes::Family;
use crate::proxy::serve::{Handler, Record, Switched};
use crate::proxy::stats::{Outcome, Stats};
use crate::proxy::upstream::{Origin, Upstream};
use crate::proxy::wire::body::{is_client_body_error, ClientBody, RequestBody};
use crate::proxy::wire::io::Io;
use crate::proxy::wire::upgrade::{name_upgrade, UpgradeRequested};
pub use body::{ResponseBody, UpstreamBody};
use exchange::Exchange;
use overrides::OverrideCache;
use stages::{Asked, Counting, Level, Stages};

/// State every request handler shares.
pub(crate) struct Shared {
    /// Per family, indexed like `Family::index`.
    defaults: [Arc<Upstream>; 3],
    overrides: OverrideCache,
    allowed: Allowed,
    listen: SocketAddr,
    client: UpstreamClient,
    stats: Stats,
    stages: Stages,
}

impl Shared {
    /// The forwarder for the proxy listening at `listen`, sending through
    /// `client` and running `stages`; `defaults` in `Family::ALL` order.
    pub fn new(
        defaults: [Upstream; 3],
        allowed: Allowed,
        listen: SocketAddr,
        client: UpstreamClient,
        stages: Stages,
    ) -> Shared {
        Shared {
            defaults: defaults.map(Arc::new),
            overrides: OverrideCache::default(),
            allowed,
            listen,
            client,
            stats: Stats::default(),
            stages,
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

impl Handler for Shared {
    type Body = ResponseBody;

    fn handle(
        self: Arc<Self>,
        request: Request<ClientBody>,
        controls: Controls,
    ) -> impl Future<Output = Result<Response<ResponseBody>, Infallible>> + Send + 'static {
        handle(self, request, controls)
    }

    fn switched(response: &mut Response<ResponseBody>) -> Option<Switched> {
        let Either::Left(body) = response.body_mut() else {
            return None;
        };
        let (upstream, exchange) = body.take_switched()?;
        Some(Switched {
            upstream,
            idle_timeout: exchange.shared.client.idle_timeout(),
            exchange: Box::new(exchange),
        })
    }

    fn refused(&self, error: &ProxyError, family: Family) {
        exchange::count_refused_head(&self.stats, error, family);
    }
}

impl Record for Exchange {
    fn finish(self: Box<Self>, outcome: Outcome, to_upstream: u64, to_client: u64) {
        self.finish_switched(outcome, to_upstream, to_client);
    }
}

/// Forwards `request`, whose control headers were taken off it as
/// `controls`.
async fn handle(
    shared: Arc<Shared>,
    request: Request<ClientBody>,
    controls: Controls,
) -> Result<Response<ResponseBody>, Infallible> {
    if let Some(response) = local::answer(&shared, &request) {
        return Ok(response.map(Either::Right));
    }
    let (mut parts, body) = request.into_parts();
    let mut exchange = Exchange::begin(shared, &mut parts);
    // Made at once so that a refusal, too, reads the rest of an upload.
    let body = RequestBody::new(body, exchange.bytes_in.clone());
    let family = exchange.family;
    let api = exchange.api;
    let asked = Asked {
        family,
        method: &exchange.method,
        path: exchange.uri.path(),
        api,
    };
    let (body, found) = exchange.shared.stages.watch_request(asked, body);
    exchange.request_found = found;
    let (shared, upstream, mut parts, upgrade_asked) =
        match outgoing(&mut exchange, parts, controls) {
            Ok(ready) => ready,
            Err(error) => return Ok(exchange.fail(error).map(Either::Right)),
        };
    // The request stage, on the requests it wants. Boxed: most requests
    // have none, and their future would carry its state inline.
    let (mut counting, mut on_answer) = (None, None);
    let body = match shared.stages.request_for(api, &parts) {
        None => body,
        Some(stage) => {
            let idle = shared.client.idle_timeout();
            match Box::pin(
                shared
                    .stages
                    .run_request(stage, api, &mut parts, body, idle),
            )
            .await
            {
                Ok((body, rest)) => {
                    counting = rest.counting.map(Counting::start);
                    on_answer = rest.on_answer;
                    body
                }
                Err(error) => return Ok(exchange.fail(error).map(Either::Right)),
            }
        }
    };
    // Sent and awaited here, not in a function of its own, and the answer
    // worked on where it lies: every async layer and every move copies the
    // request or the response (over half a kilobyte) once more.
    let request = Request::from_parts(parts, body);
    let mut sent = shared
        .client
        .request(upstream, request)
        .await
        .map_err(|error| send_error(shared, family, upstream, error.as_ref()));
    let mut switched = None;
    if let Ok(response) = &mut sent {
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            // Boxed: rare, and every request's future would carry it inline.
            match Box::pin(switch_upstream(response, upstream, upgrade_asked)).await {
                Ok(connection) => switched = Some(connection),
                Err(error) => sent = Err(error),
            }
        } else if let Err(coding) = headers::prepare_response(response.headers_mut()) {
            sent = Err(ProxyError::bad_response(upstream.origin_str(), coding));
        }
    }
    if let Some(counting) = counting {
        exchange.tool_tokens = counting.finish().await;
    }
    exchange.on_answer = on_answer;
    match sent {
        Ok(response) => {
            exchange.status = response.status().as_u16();
            exchange.head_latency = clock::since(exchange.started);
            // The response stage sees the body the client gets; a tunnel
            // has no body to watch.
            let watch = match switched {
                Some(_) => None,
                None => exchange.shared.stages.watch(
                    Asked {
                        family,
                        method: &exchange.method,
                        path: exchange.uri.path(),
                        api,
                    },
                    response.status(),
                    response.headers(),
                ),
            };
            let body = |body| Either::Left(UpstreamBody::new(body, exchange, switched, watch));
            Ok(response.map(body))
        }
        Err(error) => Ok(exchange.fail(error).map(Either::Right)),
    }
}

/// Readies the client's request for its upstream: resolves and checks the
/// upstream, sets the target, strips hop-by-hop headers; records on
/// `exchange` what it learns. Gives the shared state and the upstream as
/// `exchange` holds them, and says whether the request asks to switch
/// protocols.
fn outgoing(
    exchange: &mut Exchange,
    mut parts: request::Parts,
    controls: Controls,
) -> Result<(&Shared, &Arc<Upstream>, request::Parts, bool), ProxyError> {
    if parts.method == Method::CONNECT {
        return Err(ProxyError::method_not_supported());
    }
    let shared = &exchange.shared;
    let resolved = resolve(shared, &controls, exchange.family, exchange.uri.path())?;
    let upstream = exchange.upstream.insert(resolved);
    check_allowed(shared, upstream.origin())?;
    exchange.provider = provider(&controls)?;
    if let Some(level) = compress_level(&controls)? {
        parts.extensions.insert(level);
    }

    parts.uri = upstream
        .target(exchange.uri.path_and_query())
        .map_err(|_| ProxyError::bad_upstream_header("and path do not form a valid URL"))?;
    exchange.stripped_headers = controls.count + headers::prepare_request(&mut parts.headers);
    let upgrade_asked = match parts.extensions.get::<UpgradeRequested>() {
        Some(UpgradeRequested(protocol)) => {
            name_upgrade(&mut parts.headers, protocol.clone());
            true
        }
        None => false,
    };
    parts.version = Version::HTTP_11;
    Ok((shared, upstream, parts, upgrade_asked))
}

/// The error for a request that got no answer from `upstream`.
fn send_error(
    shared: &Shared,
    family: Family,
    upstream: &Arc<Upstream>,
    error: &(dyn std::error::Error + 'static),
) -> ProxyError {
    match reached_itself(error) {
        Some(reached) => {
            // A default is shared; an override is parsed into one of its own.
            let overridden = !Arc::ptr_eq(upstream, &shared.defaults[family.index()]);
            loop_error(reached, overridden, upstream.origin_str(), family)
        }
        None => upstream_error(upstream.origin_str(), error),
    }
}

/// After a 101 to an upgrade request: names the upgrade on the client's
/// hop and takes over the upstream's connection. A 101 nobody asked for
/// is the upstream's error.
async fn switch_upstream(
    response: &mut Response<UpstreamResponseBody>,
    upstream: &Upstream,
    upgrade_asked: bool,
) -> Result<Box<dyn Io>, ProxyError> {
    let refused = |reason: &str| ProxyError::bad_response(upstream.origin_str(), reason);
    let protocol = response.headers().get(http::header::UPGRADE).cloned();
    let Some(protocol) = protocol.filter(|_| upgrade_asked) else {
        return Err(refused("it switched protocols unasked"));
    };
    // A 101 has no body, so its codings do not matter.
    let _ = headers::prepare_response(response.headers_mut());
    name_upgrade(response.headers_mut(), protocol);
    upstream_side(response)
        .await
        .map_err(|error| refused(&error.to_string()))
}

/// The upstream the override header names when there is one, else the
/// family's default; `path` is the request's.
fn resolve(
    shared: &Shared,
    controls: &Controls,
    family: Family,
    path: &str,
) -> Result<Arc<Upstream>, ProxyError> {
    if controls.upstream_repeated {
        return Err(ProxyError::bad_upstream_header("is given more than once"));
    }
    let Some(value) = &controls.upstream else {
        return Ok(shared.defaults[family.index()].clone());
    };
    let upstream = shared.overrides.parse(value)?;
    if points_at(upstream.origin(), shared.listen) {
        return Err(ProxyError::loop_detected());
    }
    if upstream.ends_with_endpoint(path) {
        return Err(ProxyError::upstream_header_is_endpoint());
    }
    Ok(upstream)
}

/// The provider `X-Headroom-Provider` names, if it is given. A value that
/// cannot be an id is refused like a malformed `X-Headroom-Upstream`: the
/// usage would otherwise be counted under a name nobody meant.
fn provider(controls: &Controls) -> Result<Option<Box<str>>, ProxyError> {
    if controls.provider_repeated {
        return Err(ProxyError::bad_provider_header("is given more than once"));
    }
    let Some(value) = &controls.provider else {
        return Ok(None);
    };
    let id = headers::provider_id(value).map_err(ProxyError::bad_provider_header)?;
    Ok(Some(id.into()))
}

/// The level `X-Headroom-Compress` asks for, if it is given.
fn compress_level(controls: &Controls) -> Result<Option<Level>, ProxyError> {
    if controls.compress_repeated {
        return Err(ProxyError::bad_compress_header("is given more than once"));
    }
    controls
        .compress
        .as_ref()
        .map(|value| Level::parse(value.as_bytes()).map_err(ProxyError::bad_compress_header))
        .transpose()
}

fn check_allowed(shared: &Shared, origin: &Origin) -> Result<(), ProxyError> {
    match &shared.allowed {
        Allowed::Only(origins) if !origins.contains(origin) => {
            Err(ProxyError::forbidden_upstream(origin))
        }
        _ => Ok(()),
    }
}

/// True when `origin` would reach the proxy's own listening socket.
pub fn points_at(origin: &Origin, listen: SocketAddr) -> bool {
    if origin.port != listen.port() {
        return false;
    }
    let host = origin.host.trim_start_matches('[').trim_end_matches(']');
    // The resolver ignores one trailing dot: `localhost.` is `localhost`.
    let host = host.strip_suffix('.').unwrap_or(host);
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    // `::ffff:127.0.0.1` reaches an IPv4 listener as well.
    match host.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(ip) => ip.is_loopback() || ip.is_unspecified() || ip == listen.ip().to_canonical(),
        Err(_) => false,
    }
}

/// The error for a connection that came back to the proxy, naming the
/// setting that sent it there.
fn loop_error(
    reached: &ReachedItself,
    overridden: bool,
    origin: &str,
    family: Family,
) -> ProxyError {
    if reached.via_http_proxy {
        ProxyError::http_proxy_loop(origin)
    } else if overridden {
        ProxyError::loop_detected()
    } else {
        ProxyError::default_upstream_loop(origin, family)
    }
}

fn upstream_error(origin: &str, error: &(dyn std::error::Error + 'static)) -> ProxyError {
    if is_client_body_error(error) {
        ProxyError::bad_request_body()
    } else if is_connect_timeout(error) {
        ProxyError::connect_timeout(origin)
    } else if is_connect_error(error) {
        explain_tls_failure(origin, error)
            .unwrap_or_else(|| ProxyError::connect_failed(origin, &root_cause(error)))
    } else if is_idle_timeout(error) {
        ProxyError::response_timeout(origin)
    } else {
        ProxyError::bad_response(origin, &root_cause(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(raw: &str) -> Origin {
        Origin::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn loop_detection_covers_local_names_for_the_listen_port() {
        let listen: SocketAddr = "127.0.0.1:8787".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(points_at(&origin("http://127.0.0.1:8787"), listen));
        assert!(points_at(&origin("http://localhost:8787"), listen));
        assert!(points_at(&origin("http://[::1]:8787"), listen));
        assert!(points_at(&origin("http://0.0.0.0:8787"), listen));
        assert!(points_at(&origin("http://localhost.:8787"), listen));
        assert!(points_at(&origin("http://[::ffff:127.0.0.1]:8787"), listen));
        assert!(points_at(&origin("http://[::ffff:7f00:2]:8787"), listen));
        assert!(points_at(&origin("http://[::ffff:0.0.0.0]:8787"), listen));
        assert!(!points_at(&origin("http://127.0.0.1:8788"), listen));
        assert!(!points_at(&origin("http://example.com:8787"), listen));
    }

    #[test]
    fn a_loop_names_the_setting_that_sent_the_request_back() {
        let direct = ReachedItself {
            via_http_proxy: false,
        };
        let via_proxy = ReachedItself {
            via_http_proxy: true,
        };
        let origin = "http://gateway:8787";
        let by_default = loop_error(&direct, false, origin, Family::Anthropic);
        assert_eq!(by_default.status, http::StatusCode::LOOP_DETECTED);
        assert!(by_default.message.contains("--anthropic-upstream"));
        assert!(by_default.message.contains(origin));
        let by_header = loop_error(&direct, true, origin, Family::Anthropic);
        assert_eq!(by_header, ProxyError::loop_detected());
        for overridden in [false, true] {
            let by_proxy = loop_error(&via_proxy, overridden, origin, Family::OpenAi);
            assert!(
                by_proxy.message.contains("HTTP_PROXY"),
                "{}",
                by_proxy.message
            );
        }
    }
}
