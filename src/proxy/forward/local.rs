//! The only requests the proxy answers itself: `GET /health`, `/healthz`,
//! `/stats` and `/metrics`. Everything else is forwarded.

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response};
use http_body_util::Full;

use super::Shared;
use crate::proxy::stats::METRICS_CONTENT_TYPE;

const JSON: &str = "application/json";

pub fn answer<B>(shared: &Shared, request: &Request<B>) -> Option<Response<Full<Bytes>>> {
    if request.method() != Method::GET {
        return None;
    }
    let (body, content_type) = match request.uri().path() {
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
