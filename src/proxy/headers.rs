//! What goes upstream and what comes back: control headers and hop-by-hop
//! headers are removed; everything else passes byte-for-byte.

use http::header::{self, HeaderMap, HeaderName};

use super::h1::head::list_items;

/// The header that names a request's upstream.
pub const UPSTREAM_HEADER: &str = "x-headroom-upstream";

/// Every header with this prefix is for headroom and never reaches a provider.
const CONTROL_PREFIX: &str = "x-headroom-";

/// Connection-scoped headers (RFC 9110 section 7.6.1) plus the proxy ones.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
];

/// Prepares a client's headers for the upstream hop, in place. Host is
/// replaced: the client sets it from the upstream URL. Returns how many
/// control and hop-by-hop headers were removed.
pub fn prepare_request(headers: &mut HeaderMap) -> usize {
    // One pass over the names finds what goes; a removal (or a lookup
    // that misses) costs more than the pass.
    let (mut host, mut controls) = (false, 0);
    for name in headers.keys() {
        host |= name == header::HOST;
        controls += usize::from(is_control(name));
    }
    if host {
        headers.remove(header::HOST);
    }
    let before = headers.len();
    remove_hop_by_hop(headers);
    // Usually one control header; finding them again after each removal
    // costs less than collecting their names.
    for _ in 0..controls {
        if let Some(name) = headers.keys().find(|name| is_control(name)).cloned() {
            headers.remove(name);
        }
    }
    before - headers.len()
}

fn is_control(name: &HeaderName) -> bool {
    name.as_str().starts_with(CONTROL_PREFIX)
}

/// Prepares an upstream response's headers for the client, in place.
pub fn prepare_response(headers: &mut HeaderMap) {
    remove_hop_by_hop(headers);
}

fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // Most messages carry none; one pass over their names costs less than
    // a removal of each listed name.
    if !headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        return;
    }
    let listed: Vec<HeaderName> = list_items(headers, header::CONNECTION)
        .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
        .collect();
    for name in listed.into_iter().chain(HOP_BY_HOP) {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn request_loses_control_hop_and_host_headers_only() {
        let mut headers = map(&[
            ("host", "127.0.0.1:8787"),
            ("x-headroom-upstream", "https://api.deepseek.com"),
            ("x-headroom-trace", "1"),
            ("connection", "keep-alive, x-custom-hop"),
            ("x-custom-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("proxy-authorization", "Basic abc"),
            ("authorization", "Bearer sk-secret"),
            ("x-api-key", "k"),
            ("anthropic-version", "2023-06-01"),
            ("user-agent", "opencode/1.18.33"),
        ]);
        assert_eq!(prepare_request(&mut headers), 7);
        let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "anthropic-version",
                "authorization",
                "user-agent",
                "x-api-key"
            ]
        );
        assert_eq!(headers["authorization"], "Bearer sk-secret");
    }

    #[test]
    fn control_headers_go_however_often_and_wherever_listed() {
        let mut headers = map(&[
            ("x-headroom-trace", "1"),
            ("x-headroom-trace", "2"),
            ("connection", "x-headroom-upstream"),
            ("x-headroom-upstream", "https://api.deepseek.com"),
            ("x-headroom-log", "debug"),
            ("accept", "*/*"),
        ]);
        assert_eq!(prepare_request(&mut headers), 5);
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept"]);
    }

    #[test]
    fn response_keeps_content_headers() {
        let mut headers = map(&[
            ("content-type", "text/event-stream"),
            ("content-encoding", "gzip"),
            ("transfer-encoding", "chunked"),
            ("connection", "close"),
        ]);
        prepare_response(&mut headers);
        assert_eq!(headers.len(), 2);
        assert!(headers.contains_key("content-encoding"));

        let plain = map(&[
            ("content-type", "application/json"),
            ("content-length", "2"),
            ("x-request-id", "req_1"),
        ]);
        let mut headers = plain.clone();
        prepare_response(&mut headers);
        assert_eq!(headers, plain);
    }
}
