//! The only requests the proxy answers itself: `GET /health`, `/healthz`,
//! `/stats` and `/metrics`, and `OPTIONS *`. Everything else is forwarded.

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response};
use http_body_util::Full;

use super::Shared;
use crate::proxy::error::ProxyError;
use crate::proxy::routes::Family;
use crate::proxy::stats::METRICS_CONTENT_TYPE;

const JSON: &str = "application/json";

/// The methods `OPTIONS *` is told the proxy takes: those LLM APIs use.
/// It forwards any but CONNECT; TRACE is left unadvertised.
const ALLOWED: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

pub fn answer<B>(shared: &Shared, request: &Request<B>) -> Option<Response<Full<Bytes>>> {
    let path = request.uri().path();
    if path == "*" {
        return Some(about_the_server(request.method()));
    }
    if request.method() != Method::GET {
        return None;
    }
    let (body, content_type) = match path {
        "/health" | "/healthz" => (
            serde_json::json!({
                "status": "ok",
                "version": env!("CARGO_PKG_VERSION"),
            })
            .to_string(),
            JSON,
        ),
        "/stats" => (
            serde_json::to_string(&shared.stats.snapshot()).unwrap_or_default(),
            JSON,
        ),
        "/metrics" => (shared.stats.metrics(), METRICS_CONTENT_TYPE),
        _ => return None,
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    Some(response)
}

/// The asterisk-form target (RFC 9112 section 3.2.4) asks about the server
/// itself, not about a resource behind it, so no upstream is meant: as Go's
/// net/http (under Caddy and Traefik) does, the proxy answers `OPTIONS *`
/// with a 200 and no body, here with the methods it takes. No other method
/// may be sent to `*`.
fn about_the_server(method: &Method) -> Response<Full<Bytes>> {
    if method != Method::OPTIONS {
        return ProxyError::asterisk_target().to_response(Family::OpenAi);
    }
    let mut response = Response::new(Full::new(Bytes::new()));
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(ALLOWED));
    response
}
