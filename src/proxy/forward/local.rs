//! The only requests the proxy answers itself: `GET /health`, `/healthz`
//! and `/stats`. Everything else is forwarded.

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response};
use http_body_util::Full;

use super::Shared;

pub fn answer<B>(shared: &Shared, request: &Request<B>) -> Option<Response<Full<Bytes>>> {
    if request.method() != Method::GET {
        return None;
    }
    let body = match request.uri().path() {
        "/health" | "/healthz" => serde_json::json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
        })
        .to_string(),
        "/stats" => serde_json::to_string(&shared.stats.snapshot()).unwrap_or_default(),
        _ => return None,
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Some(response)
}
