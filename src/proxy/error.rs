//! Errors the proxy answers itself, shaped like the caller's API so that an
//! agent shows a readable message. Messages never contain header values,
//! query strings or anything else a client sent.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

use super::routes::Family;

/// Response header naming the class of an error headroom generated, so a
/// client can tell it from an upstream's own error.
pub const ERROR_CLASS_HEADER: &str = "x-headroom-error";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyError {
    pub status: StatusCode,
    /// Short stable name, also the `/stats` error class.
    pub class: &'static str,
    pub message: String,
}

impl ProxyError {
    pub fn bad_upstream_header(reason: impl std::fmt::Display) -> ProxyError {
        ProxyError {
            status: StatusCode::BAD_REQUEST,
            class: "bad_upstream_header",
            message: format!("X-Headroom-Upstream header {reason}"),
        }
    }

    /// An `X-Headroom-Provider` that cannot name a provider.
    pub fn bad_provider_header(reason: impl std::fmt::Display) -> ProxyError {
        ProxyError {
            status: StatusCode::BAD_REQUEST,
            class: "bad_provider_header",
            message: format!("X-Headroom-Provider header {reason}"),
        }
    }

    /// An `X-Headroom-Compress` that names no level.
    pub fn bad_compress_header(reason: impl std::fmt::Display) -> ProxyError {
        ProxyError {
            status: StatusCode::BAD_REQUEST,
            class: "bad_compress_header",
            message: format!("X-Headroom-Compress header {reason}"),
        }
    }

    /// An override whose path already ends with the requested endpoint's.
    pub fn upstream_header_is_endpoint() -> ProxyError {
        ProxyError::bad_upstream_header(
            "is a full endpoint URL, but it takes a base URL (such as https://api.openai.com/v1) to which the request's path is appended",
        )
    }

    /// A request head that cannot be read, or did not arrive in time.
    pub fn unreadable_head(status: StatusCode, reason: &str) -> ProxyError {
        ProxyError {
            status,
            class: "bad_request",
            message: reason.to_owned(),
        }
    }

    /// A request body with a transfer coding other than chunked, which
    /// the proxy cannot pass on (RFC 9112 section 6.1).
    pub fn unsupported_transfer_coding() -> ProxyError {
        ProxyError {
            status: StatusCode::NOT_IMPLEMENTED,
            class: "unsupported_transfer_coding",
            message: "the request body has a transfer coding other than chunked, which the proxy does not support: send it with chunked alone or with a content-length".to_string(),
        }
    }

    /// A request for `*` with a method other than OPTIONS.
    pub fn asterisk_target() -> ProxyError {
        ProxyError {
            status: StatusCode::BAD_REQUEST,
            class: "bad_request",
            message: "the request target * is for OPTIONS only: send a path, such as /v1/chat/completions".to_string(),
        }
    }

    pub fn bad_request_body() -> ProxyError {
        ProxyError {
            status: StatusCode::BAD_REQUEST,
            class: "client_body",
            message: "the request body could not be read: its framing is malformed or the client stopped sending it"
                .to_string(),
        }
    }

    /// A request body that stopped coming for the idle timeout, while the
    /// proxy read it whole for a stage.
    pub fn request_body_timeout(idle: std::time::Duration) -> ProxyError {
        ProxyError {
            status: StatusCode::REQUEST_TIMEOUT,
            class: "client_body_timeout",
            message: format!(
                "the request body stopped coming for {}s (--idle-timeout): send it whole, or raise the timeout",
                idle.as_secs()
            ),
        }
    }

    pub fn forbidden_upstream(origin: impl std::fmt::Display) -> ProxyError {
        ProxyError {
            status: StatusCode::FORBIDDEN,
            class: "upstream_not_allowed",
            message: format!(
                "upstream {origin} is not allowed by this proxy (see --allow-upstream)"
            ),
        }
    }

    pub fn loop_detected() -> ProxyError {
        ProxyError {
            status: StatusCode::BAD_REQUEST,
            class: "upstream_loop",
            message: "X-Headroom-Upstream header points at this proxy itself".to_string(),
        }
    }

    /// A default upstream whose name resolves to the proxy's own address.
    pub fn default_upstream_loop(origin: impl std::fmt::Display, family: Family) -> ProxyError {
        let name = family.as_str();
        ProxyError {
            status: StatusCode::LOOP_DETECTED,
            class: "upstream_loop",
            message: format!(
                "the {name} default upstream {origin} reaches this proxy itself, so the request would loop: point --{name}-upstream (or {}_TARGET_API_URL) at the provider",
                name.to_uppercase()
            ),
        }
    }

    /// An HTTP proxy (from the environment) that is this proxy.
    pub fn http_proxy_loop(origin: impl std::fmt::Display) -> ProxyError {
        ProxyError {
            status: StatusCode::LOOP_DETECTED,
            class: "upstream_loop",
            message: format!(
                "the HTTP proxy for upstream {origin} (from HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) is this proxy itself, so the request would loop: unset it for headroom, or list the upstream's host in NO_PROXY"
            ),
        }
    }

    pub fn method_not_supported() -> ProxyError {
        ProxyError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            class: "method_not_supported",
            message: "CONNECT is not supported: headroom forwards requests, it is not a tunnel"
                .to_string(),
        }
    }

    pub fn connect_failed(origin: impl std::fmt::Display, cause: &str) -> ProxyError {
        ProxyError {
            status: StatusCode::BAD_GATEWAY,
            class: "upstream_connect",
            message: format!("could not connect to upstream {origin}: {cause}"),
        }
    }

    /// A TLS handshake that failed, with the reason in plain words.
    pub fn tls_handshake(origin: impl std::fmt::Display, reason: &str) -> ProxyError {
        ProxyError {
            status: StatusCode::BAD_GATEWAY,
            class: "upstream_tls",
            message: format!("TLS handshake with upstream {origin} failed: {reason}"),
        }
    }

    /// A certificate no trusted CA issued. `SSL_CERT_FILE` replaces the
    /// system's roots (see `client::tls_config`).
    pub fn untrusted_certificate(origin: impl std::fmt::Display) -> ProxyError {
        ProxyError {
            status: StatusCode::BAD_GATEWAY,
            class: "upstream_tls",
            message: format!(
                "the certificate of upstream {origin} is not trusted: no trusted CA issued it; set SSL_CERT_FILE to a CA bundle (PEM) that includes its issuer"
            ),
        }
    }

    pub fn connect_timeout(origin: impl std::fmt::Display) -> ProxyError {
        ProxyError {
            status: StatusCode::GATEWAY_TIMEOUT,
            class: "upstream_connect_timeout",
            message: format!("timed out connecting to upstream {origin}"),
        }
    }

    pub fn response_timeout(origin: impl std::fmt::Display) -> ProxyError {
        ProxyError {
            status: StatusCode::GATEWAY_TIMEOUT,
            class: "upstream_timeout",
            message: format!("upstream {origin} sent no response before the idle timeout"),
        }
    }

    pub fn bad_response(origin: impl std::fmt::Display, cause: &str) -> ProxyError {
        ProxyError {
            status: StatusCode::BAD_GATEWAY,
            class: "upstream_protocol",
            message: format!("upstream {origin} failed: {cause}"),
        }
    }

    /// The JSON error response in the caller's API shape.
    pub fn to_response(&self, family: Family) -> Response<Full<Bytes>> {
        let body = match family {
            Family::Anthropic => serde_json::json!({
                "type": "error",
                "error": { "type": self.anthropic_type(), "message": self.message },
            }),
            Family::OpenAi | Family::Gemini => serde_json::json!({
                "error": {
                    "message": self.message,
                    "type": self.openai_type(),
                    "code": self.class,
                },
            }),
        };
        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(ERROR_CLASS_HEADER, HeaderValue::from_static(self.class));
        response
    }

    fn anthropic_type(&self) -> &'static str {
        match self.status {
            StatusCode::FORBIDDEN => "permission_error",
            // The one 5xx the client made and can fix.
            StatusCode::NOT_IMPLEMENTED => "invalid_request_error",
            status if status.is_client_error() => "invalid_request_error",
            _ => "api_error",
        }
    }

    fn openai_type(&self) -> &'static str {
        match self.status {
            StatusCode::FORBIDDEN => "permission_error",
            StatusCode::NOT_IMPLEMENTED => "invalid_request_error",
            status if status.is_client_error() => "invalid_request_error",
            _ => "upstream_error",
        }
    }
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Any error, as the bodies and connections of both hops carry it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `error` and each of its causes, outermost first.
pub fn chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_json(error: &ProxyError, family: Family) -> serde_json::Value {
        let response = error.to_response(family);
        assert_eq!(response.headers()[ERROR_CLASS_HEADER], error.class);
        let bytes = response.into_body().collect().await.map(|b| b.to_bytes());
        serde_json::from_slice(&bytes.unwrap_or_default()).unwrap_or_default()
    }

    #[tokio::test]
    async fn shapes_follow_the_callers_api() {
        let error = ProxyError::connect_failed("https://api.anthropic.com", "connection refused");
        let anthropic = body_json(&error, Family::Anthropic).await;
        assert_eq!(anthropic["type"], "error");
        assert_eq!(anthropic["error"]["type"], "api_error");
        assert_eq!(
            anthropic["error"]["message"],
            "could not connect to upstream https://api.anthropic.com: connection refused"
        );
        let openai = body_json(&error, Family::OpenAi).await;
        assert_eq!(openai["error"]["type"], "upstream_error");
        assert_eq!(openai["error"]["code"], "upstream_connect");
    }

    #[tokio::test]
    async fn a_head_the_proxy_cannot_read_is_the_callers_error() {
        for status in [
            StatusCode::REQUEST_TIMEOUT,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ] {
            let error = ProxyError::unreadable_head(status, "the request head is too large");
            let openai = body_json(&error, Family::OpenAi).await;
            assert_eq!(openai["error"]["type"], "invalid_request_error", "{status}");
            let anthropic = body_json(&error, Family::Anthropic).await;
            assert_eq!(
                anthropic["error"]["type"], "invalid_request_error",
                "{status}"
            );
        }
    }
}
