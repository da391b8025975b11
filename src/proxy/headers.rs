//! What goes upstream and what comes back: control headers and hop-by-hop
//! headers are removed; everything else passes byte-for-byte.

use http::header::{self, Entry, HeaderMap, HeaderName, HeaderValue};

/// The header that names a request's upstream.
pub const UPSTREAM_HEADER: &str = "x-headroom-upstream";

/// The header that names the provider a request is made for, so that the
/// usage it reports is counted under that name.
pub const PROVIDER_HEADER: &str = "x-headroom-provider";

/// The header that sets how hard a request's tool outputs are compressed:
/// `off`, `safe` or `aggressive`.
pub const COMPRESS_HEADER: &str = "x-headroom-compress";

/// The longest provider id `X-Headroom-Provider` may name.
pub const MAX_PROVIDER_ID: usize = 64;

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

/// A request's control headers, taken off it before anything else reads
/// it: they are for headroom alone and never forwarded. `V` is what a
/// value is held as: a `HeaderValue`, or where it lies in a request head
/// still being parsed.
#[derive(Debug)]
pub struct Controls<V = HeaderValue> {
    /// The first `X-Headroom-Upstream` value.
    pub upstream: Option<V>,
    /// `X-Headroom-Upstream` came more than once.
    pub upstream_repeated: bool,
    /// The first `X-Headroom-Provider` value.
    pub provider: Option<V>,
    /// `X-Headroom-Provider` came more than once.
    pub provider_repeated: bool,
    /// The first `X-Headroom-Compress` value.
    pub compress: Option<V>,
    /// `X-Headroom-Compress` came more than once.
    pub compress_repeated: bool,
    /// How many control fields there were.
    pub count: usize,
}

impl<V> Default for Controls<V> {
    fn default() -> Self {
        Controls {
            upstream: None,
            upstream_repeated: false,
            provider: None,
            provider_repeated: false,
            compress: None,
            compress_repeated: false,
            count: 0,
        }
    }
}

impl Controls {
    /// Takes every control header out of `headers`.
    pub fn take(headers: &mut HeaderMap) -> Controls {
        let mut controls = Controls::default();
        // Usually one control name; finding the next after each removal
        // costs less than collecting their names.
        while let Some(name) = headers.keys().find(|name| is_control(name)).cloned() {
            if let Entry::Occupied(entry) = headers.entry(name) {
                let (name, values) = entry.remove_entry_mult();
                for value in values {
                    controls.note(&name, value);
                }
            }
        }
        controls
    }
}

impl<V> Controls<V> {
    /// Notes one control field.
    pub fn note(&mut self, name: &HeaderName, value: V) {
        self.count += 1;
        let (slot, repeated) = match name.as_str() {
            UPSTREAM_HEADER => (&mut self.upstream, &mut self.upstream_repeated),
            PROVIDER_HEADER => (&mut self.provider, &mut self.provider_repeated),
            COMPRESS_HEADER => (&mut self.compress, &mut self.compress_repeated),
            _ => return,
        };
        match slot {
            None => *slot = Some(value),
            Some(_) => *repeated = true,
        }
    }

    /// The same controls with their values made into `W`s.
    pub fn try_map<W, E>(self, mut make: impl FnMut(V) -> Result<W, E>) -> Result<Controls<W>, E> {
        Ok(Controls {
            upstream: self.upstream.map(&mut make).transpose()?,
            upstream_repeated: self.upstream_repeated,
            provider: self.provider.map(&mut make).transpose()?,
            provider_repeated: self.provider_repeated,
            compress: self.compress.map(&mut make).transpose()?,
            compress_repeated: self.compress_repeated,
            count: self.count,
        })
    }
}

/// The provider id an `X-Headroom-Provider` value names, or why it names
/// none: an id is 1 to 64 visible ASCII characters, with no space.
pub fn provider_id(value: &HeaderValue) -> Result<&str, &'static str> {
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return Err("is empty");
    }
    if bytes.len() > MAX_PROVIDER_ID {
        return Err("is longer than 64 characters");
    }
    if !bytes.iter().all(u8::is_ascii_graphic) {
        return Err("holds a space, a control or a non-ASCII character");
    }
    // All visible ASCII, so this cannot fail.
    value.to_str().map_err(|_| "is not text")
}

/// Prepares a client's headers for the upstream hop, in place, once its
/// control headers are taken (`Controls`). Host is replaced: the client
/// sets it from the upstream URL. Returns how many hop-by-hop headers were
/// removed.
pub fn prepare_request(headers: &mut HeaderMap) -> usize {
    // A pass over the names costs less than a removal that misses, and the
    // HTTP/1.1 parser has already left Host out.
    if headers.keys().any(|name| name == header::HOST) {
        headers.remove(header::HOST);
    }
    let before = headers.len();
    if has_hop_by_hop(headers) {
        remove_hop_by_hop(headers);
    }
    before - headers.len()
}

/// A header for headroom, never for a provider.
pub fn is_control(name: &HeaderName) -> bool {
    name.as_str().starts_with(CONTROL_PREFIX)
}

/// Prepares an upstream response's headers for the client, in place. An
/// error when the body has a transfer coding other than chunked: it would
/// go with the rest of `transfer-encoding` as the client's hop is framed
/// anew, and the client would get the body still coded, unlabelled.
pub fn prepare_response(headers: &mut HeaderMap) -> Result<(), &'static str> {
    if !has_hop_by_hop(headers) {
        return Ok(());
    }
    let codings = match transfer_codings(headers) {
        TransferCodings::None | TransferCodings::Chunked => Ok(()),
        _ => Err(
            "its answer has a transfer coding other than chunked, which the proxy cannot pass on",
        ),
    };
    remove_hop_by_hop(headers);
    codings
}

/// What a message's `transfer-encoding` lists (RFC 9112 section 6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferCodings {
    None,
    /// `chunked` alone.
    Chunked,
    /// `chunked` last, once, after other codings (`gzip, chunked`).
    OthersThenChunked,
    /// Not `chunked` last, or `chunked` more than once: the body's end is
    /// not where the chunks say.
    NotChunkedLast,
}

/// The transfer codings `headers` list. Empty list items are skipped, as
/// RFC 9110 section 5.6.1 asks; a value that is not text is a coding the
/// proxy does not know.
pub fn transfer_codings(headers: &HeaderMap) -> TransferCodings {
    let (mut chunked, mut others, mut chunked_last) = (0, false, false);
    for value in headers.get_all(header::TRANSFER_ENCODING) {
        let Ok(value) = value.to_str() else {
            (others, chunked_last) = (true, false);
            continue;
        };
        for coding in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            chunked_last = coding.eq_ignore_ascii_case("chunked");
            chunked += usize::from(chunked_last);
            others |= !chunked_last;
        }
    }
    match (chunked, others, chunked_last) {
        (0, false, _) => TransferCodings::None,
        (1, false, _) => TransferCodings::Chunked,
        (1, true, true) => TransferCodings::OthersThenChunked,
        _ => TransferCodings::NotChunkedLast,
    }
}

/// Most messages carry no hop-by-hop field; one pass over their names
/// costs less than a removal of each listed name.
fn has_hop_by_hop(headers: &HeaderMap) -> bool {
    headers.keys().any(|name| HOP_BY_HOP.contains(name))
}

fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = list_items(headers, header::CONNECTION)
        .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
        .collect();
    for name in listed.into_iter().chain(HOP_BY_HOP) {
        headers.remove(name);
    }
}

/// The items of a comma-separated list header, over all its fields,
/// trimmed.
pub fn list_items(headers: &HeaderMap, name: HeaderName) -> impl Iterator<Item = &str> {
    headers
        .get_all(name)
        .into_iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    /// What reaches the upstream of `headers`, and how many fields went.
    fn forwarded(headers: &mut HeaderMap) -> (Controls, usize) {
        let controls = Controls::take(headers);
        let stripped = controls.count + prepare_request(headers);
        (controls, stripped)
    }

    #[test]
    fn request_loses_control_hop_and_host_headers_only() {
        let mut headers = map(&[
            ("host", "127.0.0.1:8787"),
            ("x-headroom-upstream", "https://api.deepseek.com"),
            ("x-headroom-provider", "deepseek"),
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
        let (controls, stripped) = forwarded(&mut headers);
        assert_eq!(stripped, 8);
        assert_eq!(
            controls.upstream,
            Some(HeaderValue::from_static("https://api.deepseek.com"))
        );
        assert!(!controls.upstream_repeated);
        assert_eq!(
            controls.provider,
            Some(HeaderValue::from_static("deepseek"))
        );
        assert!(!controls.provider_repeated);
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
        let (controls, stripped) = forwarded(&mut headers);
        assert_eq!((controls.count, stripped), (4, 5));
        assert!(controls.upstream.is_some());
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept"]);
    }

    #[test]
    fn a_repeated_upstream_is_noted_and_its_first_value_kept() {
        let mut headers = map(&[
            ("x-headroom-upstream", "http://a.example"),
            ("x-headroom-upstream", "http://b.example"),
        ]);
        let controls = Controls::take(&mut headers);
        assert!(headers.is_empty());
        assert_eq!(controls.count, 2);
        assert!(controls.upstream_repeated);
        assert_eq!(
            controls.upstream,
            Some(HeaderValue::from_static("http://a.example"))
        );
    }

    #[test]
    fn a_repeated_provider_is_noted_apart_from_the_upstream() {
        let mut headers = map(&[
            ("x-headroom-provider", "groq"),
            ("X-Headroom-Provider", "deepseek"),
            ("x-headroom-upstream", "http://a.example"),
        ]);
        let controls = Controls::take(&mut headers);
        assert!(headers.is_empty());
        assert_eq!(controls.count, 3);
        assert!(controls.provider_repeated);
        assert!(!controls.upstream_repeated);
        assert_eq!(controls.provider, Some(HeaderValue::from_static("groq")));
    }

    #[test]
    fn a_provider_id_is_short_visible_ascii() {
        let id =
            |raw: &[u8]| HeaderValue::from_bytes(raw).map(|v| provider_id(&v).map(str::to_owned));
        assert_eq!(id(b"groq").ok(), Some(Ok("groq".into())));
        assert_eq!(id(b"my.gateway-2").ok(), Some(Ok("my.gateway-2".into())));
        let longest = "p".repeat(MAX_PROVIDER_ID);
        assert_eq!(id(longest.as_bytes()).ok(), Some(Ok(longest.clone())));
        for bad in [
            &b""[..],
            b"two words",
            b"caf\xe9",
            b"tab\there",
            &[b'p'; MAX_PROVIDER_ID + 1],
        ] {
            assert!(matches!(id(bad), Ok(Err(_))), "{bad:?}");
        }
    }

    #[test]
    fn response_keeps_content_headers() {
        let mut headers = map(&[
            ("content-type", "text/event-stream"),
            ("content-encoding", "gzip"),
            ("transfer-encoding", "chunked"),
            ("connection", "close"),
        ]);
        assert_eq!(prepare_response(&mut headers), Ok(()));
        assert_eq!(headers.len(), 2);
        assert!(headers.contains_key("content-encoding"));

        let plain = map(&[
            ("content-type", "application/json"),
            ("content-length", "2"),
            ("x-request-id", "req_1"),
        ]);
        let mut headers = plain.clone();
        assert_eq!(prepare_response(&mut headers), Ok(()));
        assert_eq!(headers, plain);
    }

    #[test]
    fn a_response_coded_other_than_chunked_is_refused() {
        for coding in ["gzip, chunked", "gzip", "chunked, chunked"] {
            let mut headers = map(&[("transfer-encoding", coding), ("x-a", "1")]);
            assert!(prepare_response(&mut headers).is_err(), "{coding}");
            assert!(!headers.contains_key("transfer-encoding"), "{coding}");
        }
    }

    #[test]
    fn transfer_codings_are_read_over_every_field() {
        let codings = |values: &[&'static str]| {
            let pairs: Vec<_> = values.iter().map(|v| ("transfer-encoding", *v)).collect();
            transfer_codings(&map(&pairs))
        };
        assert_eq!(codings(&[]), TransferCodings::None);
        assert_eq!(codings(&["Chunked"]), TransferCodings::Chunked);
        assert_eq!(codings(&[" , chunked"]), TransferCodings::Chunked);
        assert_eq!(
            codings(&["gzip, chunked"]),
            TransferCodings::OthersThenChunked
        );
        assert_eq!(
            codings(&["gzip", "chunked"]),
            TransferCodings::OthersThenChunked
        );
        for not_last in [
            &["gzip"][..],
            &["chunked, gzip"],
            &["chunked", "gzip"],
            &["chunked, chunked"],
            &["xchunked"],
            &["identity"],
        ] {
            assert_eq!(
                codings(not_last),
                TransferCodings::NotChunkedLast,
                "{not_last:?}"
            );
        }
    }
}
