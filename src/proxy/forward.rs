//! The one forwarder every request goes through: resolve the upstream,
//! check it, strip control and hop-by-hop headers, stream both ways.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderMap, Method, Request, Response, Uri, Version};
use http_body_util::Either;
use hyper::body::Incoming;

use super::body::{RequestBody, ResponseBody, UpstreamBody};
use super::client::{is_connect_error, is_connect_timeout, is_idle_timeout, root_cause};
use super::error::ProxyError;
use super::headers::{self, UPSTREAM_HEADER};
use super::routes::{self, Family};
use super::stats::{Outcome, Sample};
use super::upstream::{Origin, Upstream};
use super::{local, Allowed, Shared};

/// Origin recorded for requests refused before an upstream was known.
const NO_UPSTREAM: &str = "(none)";

pub async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    if let Some(response) = local::answer(&shared, &request) {
        return Ok(response.map(Either::Right));
    }
    let started = Instant::now();
    let family = routes::classify(request.uri().path());
    // Cheap clones (shared bytes): the exchange's log line needs them.
    let method = request.method().clone();
    let uri = request.uri().clone();
    match forward(&shared, request, family, started).await {
        Ok(response) => Ok(response),
        Err(refusal) => {
            let exchange = Exchange {
                shared,
                upstream: refusal.upstream,
                family,
                method,
                uri,
                status: refusal.error.status.as_u16(),
                started,
                head_latency: started.elapsed(),
                stripped_headers: refusal.stripped_headers,
                bytes_in: Arc::default(),
            };
            exchange.finish(Outcome::Failed(refusal.error.class), 0);
            Ok(refusal.error.to_response(family).map(Either::Right))
        }
    }
}

/// A request the proxy answered itself with an error.
struct Refusal {
    error: ProxyError,
    upstream: Option<Arc<Upstream>>,
    stripped_headers: usize,
}

impl Refusal {
    fn before_upstream(error: ProxyError) -> Refusal {
        Refusal {
            error,
            upstream: None,
            stripped_headers: 0,
        }
    }
}

async fn forward(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    family: Family,
    started: Instant,
) -> Result<Response<ResponseBody>, Refusal> {
    if request.method() == Method::CONNECT {
        return Err(Refusal::before_upstream(ProxyError::method_not_supported()));
    }
    let upstream = resolve(shared, request.headers(), family).map_err(Refusal::before_upstream)?;
    let origin = upstream.origin_str();
    let refuse = |error: ProxyError, stripped_headers: usize| Refusal {
        error,
        upstream: Some(upstream.clone()),
        stripped_headers,
    };
    check_allowed(shared, upstream.origin()).map_err(|e| refuse(e, 0))?;

    let (mut parts, body) = request.into_parts();
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let target = Uri::try_from(upstream.join(path_and_query)).map_err(|_| {
        refuse(
            ProxyError::bad_upstream_header("and path do not form a valid URL"),
            0,
        )
    })?;
    let uri = std::mem::replace(&mut parts.uri, target);
    let stripped_headers = headers::prepare_request(&mut parts.headers);
    parts.version = Version::HTTP_11;
    let method = parts.method.clone();
    let bytes_in = Arc::new(AtomicU64::new(0));
    let outgoing = Request::from_parts(parts, RequestBody::new(body, bytes_in.clone()));

    let response = shared
        .client
        .request(outgoing)
        .await
        .map_err(|error| refuse(upstream_error(origin, error.as_ref()), stripped_headers))?;

    let (mut head, body) = response.into_parts();
    headers::prepare_response(&mut head.headers);
    let exchange = Exchange {
        shared: shared.clone(),
        upstream: Some(upstream.clone()),
        family,
        method,
        uri,
        status: head.status.as_u16(),
        started,
        head_latency: started.elapsed(),
        stripped_headers,
        bytes_in,
    };
    let body = UpstreamBody::new(body, exchange);
    Ok(Response::from_parts(head, Either::Left(body)))
}

/// The override header when present, else the family's default.
fn resolve(
    shared: &Shared,
    headers: &HeaderMap,
    family: Family,
) -> Result<Arc<Upstream>, ProxyError> {
    let mut values = headers.get_all(UPSTREAM_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(shared.defaults[family.index()].clone());
    };
    if values.next().is_some() {
        return Err(ProxyError::bad_upstream_header("is given more than once"));
    }
    let upstream = shared.overrides.parse(value)?;
    if points_at(upstream.origin(), shared.listen) {
        return Err(ProxyError::loop_detected());
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
pub(super) fn points_at(origin: &Origin, listen: SocketAddr) -> bool {
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

fn upstream_error(origin: &str, error: &(dyn std::error::Error + 'static)) -> ProxyError {
    if is_connect_timeout(error) {
        ProxyError::connect_timeout(origin)
    } else if is_idle_timeout(error) {
        ProxyError::response_timeout(origin)
    } else if is_connect_error(error) {
        ProxyError::connect_failed(origin, &root_cause(error))
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
    fn origin(&self) -> &str {
        self.upstream
            .as_deref()
            .map_or(NO_UPSTREAM, Upstream::origin_str)
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
            duration_ms = self.started.elapsed().as_secs_f64() * 1000.0,
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
}
