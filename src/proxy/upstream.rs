//! Parse, validate and normalize an upstream base URL, and join a request
//! path onto it.
//!
//! The same rules apply to the `X-Headroom-Upstream` header and to the
//! startup defaults: an absolute `http`/`https` URL with a host, no userinfo,
//! no query, no fragment, no `.` or `..` path segment. Normalization drops
//! trailing `/`, then one trailing whole `/v1` or `/v1beta` segment, because
//! clients put that segment in the request path themselves.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use http::uri::{self, PathAndQuery, Uri};

/// The endpoints of the LLM APIs, as their SDKs append them to a base URL.
const LLM_ENDPOINTS: [&str; 3] = ["/chat/completions", "/responses", "/messages"];

/// Longest upstream value accepted, in bytes.
pub const MAX_UPSTREAM_LEN: usize = 2048;

/// Version segments that clients add to the request path themselves.
const VERSION_SEGMENTS: [&str; 2] = ["/v1", "/v1beta"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    pub fn as_uri(self) -> uri::Scheme {
        match self {
            Scheme::Http => uri::Scheme::HTTP,
            Scheme::Https => uri::Scheme::HTTPS,
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// Scheme, host and port: what the allow-list and the loop check compare.
/// The port is always explicit, so `https://a` and `https://a:443` are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    pub scheme: Scheme,
    /// Lower-cased; IPv6 literals keep their brackets.
    pub host: String,
    pub port: u16,
}

impl Origin {
    /// Parses an origin such as `https://api.openai.com` or `http://[::1]:8080`.
    /// A path other than `/` is refused: an origin names a server, not a base.
    pub fn parse(raw: &str) -> Result<Origin, UpstreamError> {
        let (origin, path) = parse_parts(raw)?;
        if !path.trim_end_matches('/').is_empty() {
            return Err(UpstreamError::PathInOrigin);
        }
        Ok(origin)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.host)?;
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// A validated, normalized upstream base such as `https://openrouter.ai/api`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    origin: Origin,
    /// `origin` as text followed by the normalized path prefix (no trailing `/`).
    base: String,
    /// Length of the origin part of `base`.
    origin_len: usize,
    /// The origin's `host[:port]`, parsed once here rather than in every
    /// request's URI.
    authority: uri::Authority,
    /// The `/v1` or `/v1beta` stripped from the end of the path, or "".
    version_segment: &'static str,
}

/// Why an upstream value was refused. The messages never repeat the value,
/// which may carry a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamError {
    Empty,
    TooLong,
    ControlCharacter,
    NonAscii,
    Whitespace,
    Backslash,
    NotAbsolute,
    UnsupportedScheme,
    MissingHost,
    Userinfo,
    Fragment,
    Query,
    InvalidHost,
    InvalidPort,
    InvalidPath,
    DotSegment,
    PathInOrigin,
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = match self {
            UpstreamError::Empty => "is empty",
            UpstreamError::TooLong => "is longer than 2048 bytes",
            UpstreamError::ControlCharacter => "contains a control character",
            UpstreamError::NonAscii => "contains a non-ASCII character (use punycode for the host)",
            UpstreamError::Whitespace => "contains whitespace",
            UpstreamError::Backslash => "contains a backslash",
            UpstreamError::NotAbsolute => {
                "is not an absolute URL (expected http(s)://host[:port][/path])"
            }
            UpstreamError::UnsupportedScheme => "must use the http or https scheme",
            UpstreamError::MissingHost => "has no host",
            UpstreamError::Userinfo => {
                "must not contain userinfo (user:password@); send credentials in headers"
            }
            UpstreamError::Fragment => "must not contain a fragment (#...)",
            UpstreamError::Query => {
                "must not contain a query (?...); the request's own query is appended"
            }
            UpstreamError::InvalidHost => "has an invalid host",
            UpstreamError::InvalidPort => "has an invalid port",
            UpstreamError::InvalidPath => "has an invalid character in its path",
            UpstreamError::DotSegment => {
                "has a dot segment (. or .., also as %2e) in its path; write the path it stands for"
            }
            UpstreamError::PathInOrigin => {
                "must be an origin (scheme://host[:port]) without a path"
            }
        };
        f.write_str(reason)
    }
}

impl std::error::Error for UpstreamError {}

impl Upstream {
    /// Validates and normalizes `raw` (surrounding whitespace is trimmed).
    pub fn parse(raw: &str) -> Result<Upstream, UpstreamError> {
        let (origin, path) = parse_parts(raw)?;
        let origin_text = origin.to_string();
        let (prefix, version_segment) = split_version_segment(path);
        let origin_len = origin_text.len();
        let mut base = origin_text;
        base.push_str(prefix);
        let authority = &base[origin.scheme.as_str().len() + "://".len()..origin_len];
        let authority =
            uri::Authority::try_from(authority).map_err(|_| UpstreamError::InvalidHost)?;
        Ok(Upstream {
            origin,
            base,
            origin_len,
            authority,
            version_segment,
        })
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The version segment normalization stripped: `/v1`, `/v1beta` or "".
    /// A client pointed at the proxy keeps it in its base URL.
    pub fn version_segment(&self) -> &'static str {
        self.version_segment
    }

    /// The origin as text, e.g. `https://openrouter.ai`: the start of `base`.
    pub fn origin_str(&self) -> &str {
        &self.base[..self.origin_len]
    }

    /// `host[:port]` as the origin is written, the port left out when it is
    /// the scheme's default: the value of a `Host` header for this upstream.
    pub fn authority(&self) -> &str {
        self.authority.as_str()
    }

    /// The normalized base, e.g. `https://api.deepseek.com`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The normalized base's path prefix, e.g. `/api` for OpenRouter.
    pub fn path_prefix(&self) -> &str {
        &self.base[self.origin_len..]
    }

    /// The LLM endpoint this base already ends with, when it is a full
    /// endpoint URL rather than a base URL.
    pub fn llm_endpoint(&self) -> Option<&'static str> {
        LLM_ENDPOINTS
            .into_iter()
            .find(|endpoint| self.ends_with_endpoint(endpoint))
    }

    /// True when this base already ends with the endpoint `request_path`
    /// asks for (less its leading `/v1` or `/v1beta`): the value is a full
    /// endpoint URL, and forwarding would repeat the endpoint's path, as in
    /// `/v1/chat/completions/v1/chat/completions`.
    pub fn ends_with_endpoint(&self, request_path: &str) -> bool {
        let endpoint = without_version_segment(request_path).trim_end_matches('/');
        !endpoint.is_empty() && self.path_prefix().ends_with(endpoint)
    }

    /// The URL to forward to: base + the incoming path and query. Without
    /// a path prefix the incoming path is shared, not copied or parsed again.
    pub fn target(&self, path_and_query: Option<&PathAndQuery>) -> Result<Uri, http::Error> {
        let incoming = path_and_query.map_or("/", PathAndQuery::as_str);
        let prefix = self.path_prefix();
        let rooted = incoming.starts_with('/');
        let path_and_query = match path_and_query {
            Some(shared) if prefix.is_empty() && rooted => shared.clone(),
            _ => {
                let separator = if rooted { "" } else { "/" };
                PathAndQuery::try_from(format!("{prefix}{separator}{incoming}"))?
            }
        };
        let mut parts = uri::Parts::default();
        parts.scheme = Some(self.origin.scheme.as_uri());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path_and_query);
        Ok(Uri::from_parts(parts)?)
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

/// Validates `raw` and splits it into its origin and its path.
fn parse_parts(raw: &str) -> Result<(Origin, &str), UpstreamError> {
    let raw = raw.trim_matches(|c: char| c == ' ' || c == '\t');
    check_characters(raw)?;
    let (scheme, rest) = split_scheme(raw)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (host, port) = parse_authority(authority, scheme)?;
    check_path(path)?;
    Ok((Origin { scheme, host, port }, path))
}

/// Splits a base path into what stays and the version segment clients add
/// themselves: trailing `/` dropped, then one whole trailing `/v1` or
/// `/v1beta`. `"/api/v1/"` -> `("/api", "/v1")`; `"/v1beta2"` -> `("/v1beta2", "")`.
fn split_version_segment(path: &str) -> (&str, &'static str) {
    let trimmed = path.trim_end_matches('/');
    for segment in VERSION_SEGMENTS {
        if let Some(prefix) = trimmed.strip_suffix(segment) {
            return (prefix.trim_end_matches('/'), segment);
        }
    }
    (trimmed, "")
}

/// `path` less one leading whole `/v1` or `/v1beta` segment:
/// `"/v1/models"` -> `"/models"`; `"/v1beta2/models"` stays.
fn without_version_segment(path: &str) -> &str {
    for segment in VERSION_SEGMENTS {
        if let Some(rest) = path.strip_prefix(segment) {
            if rest.is_empty() || rest.starts_with('/') {
                return rest;
            }
        }
    }
    path
}

fn check_characters(raw: &str) -> Result<(), UpstreamError> {
    if raw.is_empty() {
        return Err(UpstreamError::Empty);
    }
    if raw.len() > MAX_UPSTREAM_LEN {
        return Err(UpstreamError::TooLong);
    }
    for c in raw.chars() {
        if c.is_ascii_control() {
            return Err(UpstreamError::ControlCharacter);
        }
        if !c.is_ascii() {
            return Err(UpstreamError::NonAscii);
        }
        if c.is_ascii_whitespace() {
            return Err(UpstreamError::Whitespace);
        }
        if c == '\\' {
            return Err(UpstreamError::Backslash);
        }
    }
    if raw.contains('#') {
        return Err(UpstreamError::Fragment);
    }
    if raw.contains('?') {
        return Err(UpstreamError::Query);
    }
    Ok(())
}

fn split_scheme(raw: &str) -> Result<(Scheme, &str), UpstreamError> {
    let Some((scheme, rest)) = raw.split_once("://") else {
        // `javascript:alert(1)`, `file:/etc/passwd`: a scheme, but not ours.
        return Err(match raw.split_once(':') {
            Some((s, _)) if is_scheme_name(s) => UpstreamError::UnsupportedScheme,
            _ => UpstreamError::NotAbsolute,
        });
    };
    let scheme = if scheme.eq_ignore_ascii_case("https") {
        Scheme::Https
    } else if scheme.eq_ignore_ascii_case("http") {
        Scheme::Http
    } else if is_scheme_name(scheme) {
        return Err(UpstreamError::UnsupportedScheme);
    } else {
        return Err(UpstreamError::NotAbsolute);
    };
    Ok((scheme, rest))
}

fn is_scheme_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn parse_authority(authority: &str, scheme: Scheme) -> Result<(String, u16), UpstreamError> {
    if authority.contains('@') {
        return Err(UpstreamError::Userinfo);
    }
    if authority.is_empty() {
        return Err(UpstreamError::MissingHost);
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (literal, after) = bracketed
            .split_once(']')
            .ok_or(UpstreamError::InvalidHost)?;
        literal
            .parse::<Ipv6Addr>()
            .map_err(|_| UpstreamError::InvalidHost)?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(UpstreamError::InvalidHost)?),
        };
        (format!("[{}]", literal.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        check_host_name(host)?;
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => scheme.default_port(),
        Some(digits) => parse_port(digits)?,
    };
    Ok((host, port))
}

fn check_host_name(host: &str) -> Result<(), UpstreamError> {
    if host.is_empty() {
        return Err(UpstreamError::MissingHost);
    }
    let valid_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    // One trailing dot is the DNS root and allowed.
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > 253 || !name.split('.').all(valid_label) {
        return Err(UpstreamError::InvalidHost);
    }
    // The resolver reads a name ending in a number as an IPv4 address, and
    // also takes `127.1`, `0x7f.0.0.1` or `2130706433` for 127.0.0.1. Only
    // the dotted-quad form is accepted, so that the loop check and the
    // allow-list compare the address that is actually dialled.
    if ends_in_number(name) && host.parse::<Ipv4Addr>().is_err() {
        return Err(UpstreamError::InvalidHost);
    }
    Ok(())
}

/// True when the last label is decimal digits or `0x` hex, as in the URL
/// standard's IPv4 host rule.
fn ends_in_number(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    match last.strip_prefix("0x").or_else(|| last.strip_prefix("0X")) {
        Some(hex) => hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn parse_port(digits: &str) -> Result<u16, UpstreamError> {
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UpstreamError::InvalidPort);
    }
    match digits.parse::<u16>() {
        Ok(0) | Err(_) => Err(UpstreamError::InvalidPort),
        Ok(port) => Ok(port),
    }
}

/// RFC 3986 path characters: unreserved, sub-delims, `:`, `@`, `/`, and
/// percent-escapes with two hex digits; no dot segment, which the upstream
/// or a server on the way may resolve, so that the path sent differs from
/// the one the allow-list and the log show.
fn check_path(path: &str) -> Result<(), UpstreamError> {
    check_path_characters(path)?;
    if path.split('/').any(is_dot_segment) {
        return Err(UpstreamError::DotSegment);
    }
    Ok(())
}

/// `.` or `..`, each dot maybe written `%2e` (RFC 3986 section 6.2.2.2).
fn is_dot_segment(segment: &str) -> bool {
    const DOT_SEGMENTS: [&str; 6] = [".", "..", "%2e", ".%2e", "%2e.", "%2e%2e"];
    DOT_SEGMENTS
        .iter()
        .any(|dots| segment.eq_ignore_ascii_case(dots))
}

fn check_path_characters(path: &str) -> Result<(), UpstreamError> {
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let escape = bytes.get(i + 1..i + 3).ok_or(UpstreamError::InvalidPath)?;
            if !escape.iter().all(u8::is_ascii_hexdigit) {
                return Err(UpstreamError::InvalidPath);
            }
            i += 3;
            continue;
        }
        let allowed = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
        if !allowed {
            return Err(UpstreamError::InvalidPath);
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
