//! The one forwarder every request goes through: resolve the upstream,
//! check it, strip control and hop-by-hop headers, stream both ways.

use std::cell::RefCell;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{request, Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::Either;
use tokio::time::Instant;

use super::body::{is_client_body_error, ClientBody, RequestBody, ResponseBody, UpstreamBody};
use super::client::{
    is_connect_error, is_connect_timeout, is_idle_timeout, reached_itself, root_cause,
    ReachedItself, UpstreamResponseBody,
};
use super::clock;
use super::error::ProxyError;
use super::h1::keep_spare;
use super::headers::{self, Controls};
use super::routes::{self, Family};
use super::stats::{self, Outcome, Sample};
use super::tls_failure;
use super::tunnel::{self, Io, UpgradeRequested};
use super::upstream::{Origin, Upstream};
use super::{local, Allowed, Shared};

/// Origin recorded for requests refused before an upstream was known.
const NO_UPSTREAM: &str = "(none)";

/// Forwards `request`, whose control headers were taken off it as
/// `controls`.
pub async fn handle(
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
    let (shared, upstream, parts, upgrade_asked) = match outgoing(&mut exchange, parts, controls) {
        Ok(ready) => ready,
        Err(error) => return Ok(exchange.fail(error)),
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
        } else {
            headers::prepare_response(response.headers_mut());
        }
    }
    match sent {
        Ok(response) => {
            exchange.status = response.status().as_u16();
            exchange.head_latency = clock::since(exchange.started);
            Ok(response.map(|body| Either::Left(UpstreamBody::new(body, exchange, switched))))
        }
        Err(error) => Ok(exchange.fail(error)),
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

    parts.uri = upstream
        .target(exchange.uri.path_and_query())
        .map_err(|_| ProxyError::bad_upstream_header("and path do not form a valid URL"))?;
    exchange.stripped_headers = controls.count + headers::prepare_request(&mut parts.headers);
    let upgrade_asked = match parts.extensions.get::<UpgradeRequested>() {
        Some(UpgradeRequested(protocol)) => {
            tunnel::name_upgrade(&mut parts.headers, protocol.clone());
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
    headers::prepare_response(response.headers_mut());
    tunnel::name_upgrade(response.headers_mut(), protocol);
    tunnel::upstream_side(response)
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
        tls_failure::explain(origin, error)
            .unwrap_or_else(|| ProxyError::connect_failed(origin, &root_cause(error)))
    } else if is_idle_timeout(error) {
        ProxyError::response_timeout(origin)
    } else {
        ProxyError::bad_response(origin, &root_cause(error))
    }
}

/// The record of one forwarded request, closed once when its response ends.
pub struct Exchange {
    shared: Arc<Shared>,
    /// `None` when the request was refused before an upstream was known.
    upstream: Option<Arc<Upstream>>,
    family: Family,
    method: Method,
    /// The client's request target; only its path is ever logged.
    uri: Uri,
    status: u16,
    started: Instant,
    head_latency: Duration,
    stripped_headers: usize,
    bytes_in: Arc<AtomicU64>,
}

impl Exchange {
    /// Starts the record as the request arrives; its target moves here
    /// from `parts` (the outgoing request gets the upstream's).
    fn begin(shared: Arc<Shared>, parts: &mut request::Parts) -> Exchange {
        Exchange {
            shared,
            upstream: None,
            family: routes::classify(parts.uri.path()),
            method: parts.method.clone(),
            uri: std::mem::take(&mut parts.uri),
            status: 0,
            started: clock::now(),
            head_latency: Duration::ZERO,
            stripped_headers: 0,
            bytes_in: byte_counter(),
        }
    }

    /// Closes the record of a request that got no answer, and gives the
    /// answer that says why.
    fn fail(mut self, error: ProxyError) -> Response<ResponseBody> {
        let family = self.family;
        self.status = error.status.as_u16();
        self.head_latency = clock::since(self.started);
        self.finish(Outcome::Failed(error.class), 0);
        error.to_response(family).map(Either::Right)
    }

    fn origin(&self) -> &str {
        self.upstream
            .as_deref()
            .map_or(NO_UPSTREAM, Upstream::origin_str)
    }

    /// Closes the record of an exchange that became a tunnel, whose bytes
    /// each way count as its bodies'.
    pub fn finish_switched(self, outcome: Outcome, to_upstream: u64, to_client: u64) {
        self.bytes_in.fetch_add(to_upstream, Ordering::Relaxed);
        self.finish(outcome, to_client);
    }

    /// Logs the request's one line and adds it to the stats. The path is
    /// logged without its query, which may hold a `key=` secret.
    pub fn finish(self, outcome: Outcome, bytes_out: u64) {
        let bytes_in = self.bytes_in.load(Ordering::Relaxed);
        let outcome_name = match outcome {
            Outcome::Completed => "completed",
            Outcome::Failed(class) => class,
        };
        tracing::info!(
            target: "headroom::request",
            method = %self.method,
            path = self.uri.path(),
            upstream = self.origin(),
            family = self.family.as_str(),
            status = self.status,
            outcome = outcome_name,
            bytes_in,
            bytes_out,
            duration_ms = stats::micros_in_ms(stats::whole_micros(clock::since(self.started))),
            stripped_headers = self.stripped_headers,
        );
        self.shared.stats.record(Sample {
            origin: self.origin(),
            family: self.family,
            status: self.status,
            outcome,
            bytes_in,
            bytes_out,
            latency: self.head_latency,
        });
        keep_byte_counter(self.bytes_in);
    }
}

thread_local! {
    /// Byte counters of exchanges done with, for the next ones: a counter
    /// is shared with the request body, so it is an allocation of its own.
    static SPARE_COUNTERS: RefCell<Vec<Arc<AtomicU64>>> = const { RefCell::new(Vec::new()) };
}

/// A counter at zero, a spare one when there is one.
fn byte_counter() -> Arc<AtomicU64> {
    SPARE_COUNTERS.with_borrow_mut(Vec::pop).unwrap_or_default()
}

/// Keeps `counter` for another exchange once nothing else holds it (the
/// request body that counted into it is gone).
fn keep_byte_counter(mut counter: Arc<AtomicU64>) {
    if let Some(count) = Arc::get_mut(&mut counter) {
        *count.get_mut() = 0;
        keep_spare(&SPARE_COUNTERS, counter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(raw: &str) -> Origin {
        Origin::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn a_byte_counter_is_used_again_at_zero_once_nothing_else_holds_it() {
        SPARE_COUNTERS.with_borrow_mut(Vec::clear);
        let counter = byte_counter();
        counter.fetch_add(7, Ordering::Relaxed);
        let body_side = counter.clone();
        keep_byte_counter(counter);
        assert_eq!(SPARE_COUNTERS.with_borrow(Vec::len), 0, "kept while shared");
        drop(body_side);
        let counter = byte_counter();
        counter.fetch_add(7, Ordering::Relaxed);
        keep_byte_counter(counter);
        assert_eq!(SPARE_COUNTERS.with_borrow(Vec::len), 1);
        assert_eq!(byte_counter().load(Ordering::Relaxed), 0);
        assert_eq!(SPARE_COUNTERS.with_borrow(Vec::len), 0);
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
