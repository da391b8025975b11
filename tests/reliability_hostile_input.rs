//! Hostile input: a deterministic fuzz of the upstream parser and the
//! allow-list's origin match, and request-smuggling basics sent over raw
//! TCP to the real binary, which must refuse them without forwarding:
//! ambiguous framing, control bytes in chunk lines and trailers, heads over
//! the size limit however they are written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::mock::MockUpstream;
use common::raw;
use common::{client, request, scaled, send, target, ProxyProcess};
use headroom::proxy::upstream::{Origin, Upstream, MAX_UPSTREAM_LEN};

/// Seeded, so every run fuzzes the same values.
struct Rng(fastrand::Rng);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n)
    }

    fn byte(&mut self) -> u8 {
        self.0.u8(..)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const SCHEMES: [&str; 14] = [
    "http",
    "https",
    "HTTP",
    "hTtPs",
    "javascript",
    "file",
    "ftp",
    "ws",
    "",
    "http:",
    "https+x",
    " http",
    "h\u{200b}ttp",
    "HTTPS",
];
const SEPARATORS: [&str; 9] = [
    "://", ":", ":/", ":\\\\", "//", ":///", "://\\", ":\\/", "://://",
];
const USERINFO: [&str; 12] = [
    "",
    "",
    "",
    "",
    "a@",
    "a:b@",
    "a\\@",
    "%40@",
    "@",
    "api.openai.com@",
    "u:p%40x@",
    "a@b@",
];
const HOSTS: [&str; 34] = [
    "api.openai.com",
    "API.OpenAI.com",
    "api.openai.com.",
    "api.openai.com.evil.dev",
    "evil.dev",
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "localhost",
    "localhost.",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[fe80::1%25eth0]",
    "[::1",
    "::1",
    "[v1.x]",
    "[0:0:0:0:0:0:0:1]",
    "xn--bcher-kva.de",
    "bücher.de",
    "",
    "..",
    "a..b",
    "-a.b",
    "a_b.c",
    "%61pi.openai.com",
    "api%2eopenai.com",
    "a\u{0}b",
    "host\r\nx-evil: 1",
    "ho st",
    "ex\\ample.com",
    "[::1]]",
    "0",
];
const PORTS: [&str; 18] = [
    "",
    "",
    "",
    ":",
    ":0",
    ":80",
    ":443",
    ":8080",
    ":65535",
    ":65536",
    ":99999",
    ":443.evil",
    ":-1",
    ":+80",
    ": 80",
    ":８０",
    ":00443",
    ":1:2",
];
const PATHS: [&str; 22] = [
    "",
    "/",
    "/v1",
    "/v1/",
    "/v1beta",
    "/v1beta2",
    "/api/v1",
    "/api/v1x",
    "/%2e%2e/",
    "/%zz",
    "/%",
    "/a b",
    "/\r\nX: y",
    "/?key=secret",
    "/#frag",
    "/..;/",
    "//evil.com",
    "/@evil.com",
    "/a\\b",
    "/é",
    "/v1/v1",
    "/~user/!$&'()*+,;=:@",
];
/// Characters mutations insert: separators, escapes, and look-alikes.
const NOISE: [&str; 24] = [
    "/", ":", "@", "\\", "?", "#", "%", "%2f", "[", "]", ".", " ", "\t", "\r", "\n", "\0",
    "\u{7f}", "é", "\u{2044}", "\u{ff0f}", "0", "x", "-", "_",
];

/// One generated value: structured from the tables above, mutated, made of
/// random bytes, or very long.
fn generate(rng: &mut Rng, port: u16) -> String {
    let local = format!("127.0.0.1:{port}");
    let mut value = match rng.below(10) {
        0 => random_text(rng),
        1 => long_value(rng),
        2 => format!("http://{local}{}", rng.pick(&PATHS)),
        3..=5 => plausible(rng),
        _ => structured(rng),
    };
    for _ in 0..rng.below(4) {
        if rng.chance(40) {
            mutate(rng, &mut value);
        }
    }
    if rng.chance(10) {
        let pad = rng.pick(&[" ", "\t", "  ", "\r\n", " \t "]);
        value = if rng.chance(50) {
            format!("{pad}{value}")
        } else {
            format!("{value}{pad}")
        };
    }
    value
}

fn structured(rng: &mut Rng) -> String {
    format!(
        "{}{}{}{}{}{}",
        rng.pick(&SCHEMES),
        rng.pick(&SEPARATORS),
        rng.pick(&USERINFO),
        rng.pick(&HOSTS),
        rng.pick(&PORTS),
        rng.pick(&PATHS)
    )
}

/// A value that is mostly well-formed, so that the accepted side of the
/// parser is exercised as hard as the refusing side.
fn plausible(rng: &mut Rng) -> String {
    let scheme = rng.pick(&["http", "https", "HTTP", "HtTpS"]);
    let host = match rng.below(4) {
        0 => rng.pick(&HOSTS[..14]).to_string(),
        1 => format!("{}.{}", random_label(rng), random_label(rng)),
        2 => format!(
            "{}.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            rng.below(256),
            rng.below(256)
        ),
        _ => format!("[{:x}::{:x}]", rng.below(0x10000), rng.below(0x10000)),
    };
    let port = match rng.below(3) {
        0 => String::new(),
        1 => format!(":{}", rng.below(70_000)),
        _ => rng.pick(&PORTS).to_string(),
    };
    let mut path = String::new();
    for _ in 0..rng.below(4) {
        path.push('/');
        path.push_str(&random_segment(rng));
    }
    if rng.chance(30) {
        path.push_str(rng.pick(&["/v1", "/v1/", "/v1beta", "/"]));
    }
    format!("{scheme}://{host}{port}{path}")
}

fn random_label(rng: &mut Rng) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_ABCXYZ";
    let len = 1 + rng.below(12);
    (0..len)
        .map(|_| CHARS[rng.below(CHARS.len())] as char)
        .collect()
}

fn random_segment(rng: &mut Rng) -> String {
    const CHARS: &[u8] = b"abcxyz0189-._~!$&'()*+,;=:@%2F%41";
    let len = rng.below(10);
    (0..len)
        .map(|_| CHARS[rng.below(CHARS.len())] as char)
        .collect()
}

fn random_text(rng: &mut Rng) -> String {
    let len = rng.below(64);
    let bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if rng.chance(50) {
        format!("https://{text}")
    } else {
        text
    }
}

fn long_value(rng: &mut Rng) -> String {
    let target = match rng.below(4) {
        0 => MAX_UPSTREAM_LEN - 1 + rng.below(3),
        1 => 100_000,
        2 => 254 + rng.below(4) + "https://".len(),
        _ => rng.below(4096),
    };
    let label = if rng.chance(50) { "a" } else { "ab." };
    let mut value = String::from("https://");
    while value.len() < target {
        value.push_str(label);
    }
    value.truncate(target);
    value
}

fn mutate(rng: &mut Rng, value: &mut String) {
    let mut chars: Vec<char> = value.chars().collect();
    let at = rng.below(chars.len() + 1);
    match rng.below(3) {
        0 => {
            let noise: Vec<char> = rng.pick(&NOISE).chars().collect();
            chars.splice(at..at, noise);
        }
        1 if at < chars.len() => {
            chars.remove(at);
        }
        _ if at < chars.len() => {
            chars[at] = rng.pick(&NOISE).chars().next().unwrap_or('x');
        }
        _ => {}
    }
    *value = chars.into_iter().collect();
}

/// Scheme, lower-cased host and port, as `http::Uri` reads the value: an
/// independent parser to hold ours against.
fn uri_origin(text: &str) -> Option<(String, String, u16)> {
    let uri: http::Uri = text.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let default = if scheme == "https" { 443 } else { 80 };
    Some((scheme.clone(), host, uri.port_u16().unwrap_or(default)))
}

/// Everything an accepted value must satisfy.
fn check_accepted(raw: &str, upstream: &Upstream) -> Result<(), String> {
    let origin = upstream.origin();
    let base = upstream.base();
    let scheme = origin.scheme.as_str();
    if !base.starts_with(&format!("{scheme}://")) {
        return Err(format!("base {base} does not start with its scheme"));
    }
    if origin.port == 0 {
        return Err("port 0".into());
    }
    let host = origin.host.as_str();
    if host != host.to_ascii_lowercase() {
        return Err(format!("host {host} is not lower-case"));
    }
    check_host(host)?;
    // The origin's text parses back to the same origin.
    let text = origin.to_string();
    match Origin::parse(&text) {
        Ok(again) if &again == origin => {}
        other => return Err(format!("origin {text} re-parses as {other:?}")),
    }
    // The base parses again, to the same origin.
    match Upstream::parse(base) {
        Ok(again) if again.origin() == origin => {}
        other => return Err(format!("base {base} re-parses as {other:?}")),
    }
    let prefix = upstream.path_prefix();
    if !(prefix.is_empty() || prefix.starts_with('/')) || prefix.ends_with('/') {
        return Err(format!("path prefix {prefix:?}"));
    }
    // The value as given and the joined URL mean the same origin to http::Uri.
    let want = (scheme.to_string(), host.to_string(), origin.port);
    if uri_origin(raw.trim_matches([' ', '\t'])).as_ref() != Some(&want) {
        return Err(format!(
            "http::Uri reads the value as {:?}",
            uri_origin(raw.trim())
        ));
    }
    for path in [
        "/v1/chat/completions",
        "/v1beta/models/g:streamGenerateContent?alt=sse&key=k",
        "/",
    ] {
        let path = http::uri::PathAndQuery::from_static(path);
        let target = upstream
            .target(Some(&path))
            .map_err(|e| format!("{base} + {path} is not a URI: {e}"))?;
        let joined = target.to_string();
        let uri: http::Uri = joined
            .parse()
            .map_err(|e| format!("join {joined} is not a URI: {e}"))?;
        if uri != target {
            return Err(format!("join {joined} parses back as {uri:?}"));
        }
        if uri_origin(&joined).as_ref() != Some(&want) {
            return Err(format!("join {joined} has another origin"));
        }
        if !uri.path().starts_with(prefix) {
            return Err(format!("join {joined} lost the prefix {prefix}"));
        }
    }
    Ok(())
}

/// A host is a bracketed IPv6 literal, a dotted-quad IPv4 address, or a
/// DNS name that a resolver cannot take for an address.
fn check_host(host: &str) -> Result<(), String> {
    if let Some(literal) = host.strip_prefix('[') {
        let literal = literal.strip_suffix(']').ok_or("unclosed bracket")?;
        return literal
            .parse::<Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| format!("bad IPv6 literal {host}"));
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return Ok(());
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let labels_ok = name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    let last = name.rsplit('.').next().unwrap_or("");
    // The URL standard's "ends in a number": decimal, or 0x and hex.
    let hex = last.strip_prefix("0x").or_else(|| last.strip_prefix("0X"));
    let numeric = match hex {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_hexdigit()),
        None => last.bytes().all(|b| b.is_ascii_digit()),
    };
    if !labels_ok || numeric {
        return Err(format!("host {host:?} is not a plain DNS name"));
    }
    Ok(())
}

/// The allow-list used while fuzzing, and its judgement computed from
/// `http::Uri`'s reading rather than ours.
struct AllowList {
    origins: Vec<Origin>,
    tuples: Vec<(String, String, u16)>,
}

impl AllowList {
    fn new(port: u16) -> AllowList {
        let raw = [
            "https://api.openai.com".to_string(),
            format!("http://127.0.0.1:{port}"),
            "http://[::1]:8080".to_string(),
        ];
        AllowList {
            origins: raw.iter().map(|r| Origin::parse(r).unwrap()).collect(),
            tuples: raw.iter().map(|r| uri_origin(r).unwrap()).collect(),
        }
    }

    fn check(&self, raw: &str, origin: &Origin) -> Result<bool, String> {
        let ours = self.origins.contains(origin);
        let theirs =
            uri_origin(raw.trim_matches([' ', '\t'])).is_some_and(|o| self.tuples.contains(&o));
        if ours != theirs {
            return Err(format!("allow-list says {ours}, exact match says {theirs}"));
        }
        Ok(ours)
    }
}

#[test]
fn the_upstream_parser_survives_a_hundred_thousand_hostile_values() {
    // The brief's floor is 100,000; a larger scale asks for more.
    let count = scaled(100_000).max(100_000);
    let port = 8787;
    let allow = AllowList::new(port);
    let mut rng = Rng(fastrand::Rng::with_seed(0x005E_ED0F_4EAD_5000));
    let mut accepted = 0;
    let mut allowed = 0;
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let started = std::time::Instant::now();
    for i in 0..count {
        let value = generate(&mut rng, port);
        let outcome = std::panic::catch_unwind(|| {
            let parsed = Upstream::parse(&value);
            let origin = Origin::parse(&value);
            (parsed, origin)
        });
        let Ok((parsed, origin)) = outcome else {
            failures.push(format!("#{i} panicked on {value:?}"));
            continue;
        };
        match parsed {
            Ok(upstream) => {
                accepted += 1;
                if let Err(why) = check_accepted(&value, &upstream) {
                    failures.push(format!("#{i} {value:?}: {why}"));
                }
                match allow.check(&value, upstream.origin()) {
                    Ok(true) => allowed += 1,
                    Ok(false) => {}
                    Err(why) => failures.push(format!("#{i} {value:?}: {why}")),
                }
                // An origin is an upstream without a path.
                if let Ok(origin) = origin {
                    if &origin != upstream.origin() || !upstream.path_prefix().is_empty() {
                        failures.push(format!("#{i} {value:?}: origin {origin:?} disagrees"));
                    }
                }
            }
            Err(error) => {
                *reasons.entry(error.to_string()).or_insert(0) += 1;
                if origin.is_ok() {
                    failures.push(format!("#{i} {value:?}: an origin but not an upstream"));
                }
            }
        }
    }
    eprintln!(
        "fuzz: {count} values in {:.2}s, {accepted} accepted ({allowed} on the allow-list), {} refused; {} failures",
        started.elapsed().as_secs_f64(),
        count - accepted,
        failures.len()
    );
    for (reason, n) in &reasons {
        eprintln!("fuzz:   refused {n:>6}x: {reason}");
    }
    assert!(
        failures.is_empty(),
        "{} failures, first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    // The generator must reach both sides, or it proves little.
    assert!(accepted > count / 20, "only {accepted} accepted");
    assert!(allowed > 100, "only {allowed} on the allow-list");
    assert!(
        reasons.len() >= 12,
        "only {} refusal reasons reached",
        reasons.len()
    );
}

#[test]
fn the_allow_list_matches_scheme_host_and_port_exactly() {
    let allow = AllowList::new(8787);
    let judged = |raw: &str| -> Option<bool> {
        let upstream = Upstream::parse(raw).ok()?;
        Some(allow.check(raw, upstream.origin()).unwrap())
    };
    let cases = [
        ("https://api.openai.com", Some(true)),
        ("HTTPS://API.OPENAI.COM:443/v1/", Some(true)),
        ("https://api.openai.com/anything/v1", Some(true)),
        ("http://api.openai.com", Some(false)),
        ("https://api.openai.com:8443", Some(false)),
        ("https://api.openai.com.", Some(false)),
        ("https://api.openai.com.evil.dev", Some(false)),
        ("https://evil.dev/api.openai.com", Some(false)),
        ("https://api.openai.co", Some(false)),
        ("https://xapi.openai.com", Some(false)),
        ("http://127.0.0.1:8787", Some(true)),
        ("http://127.0.0.1:87870", None),
        ("http://127.0.0.1:878", Some(false)),
        ("http://[::1]:8080/v1", Some(true)),
        ("http://[0:0:0:0:0:0:0:1]:8080", Some(false)),
        ("https://api.openai.com@evil", None),
        ("https://evil@api.openai.com", None),
        ("https://api.openai.com:443.evil", None),
        ("https://api.openai.com\\@evil", None),
        ("https://api.openai.com%2f@evil", None),
        ("https://api.openai.com#@evil", None),
        ("https://api.openai.com?@evil", None),
        ("http://127.1:8787", None),
        ("http://[::ffff:127.0.0.1]:8787", Some(false)),
    ];
    for (raw, want) in cases {
        let got = judged(raw);
        eprintln!("allow-list: {raw:<40} -> {got:?}");
        assert_eq!(got, want, "{raw}");
    }
}

/// Requests hyper must refuse outright: ambiguous framing, malformed or
/// oversized heads.
fn refused_requests() -> Vec<(&'static str, Vec<u8>)> {
    let post = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n";
    let with = |extra: &str, body: &str| format!("{post}{extra}\r\n{body}").into_bytes();
    let mut huge = format!("{post}x-big: ").into_bytes();
    huge.extend(std::iter::repeat_n(b'a', 1024 * 1024));
    huge.extend_from_slice(b"\r\ncontent-length: 2\r\n\r\n{}");
    let mut many = post.to_string();
    for i in 0..200 {
        many.push_str(&format!("x-h{i}: {i}\r\n"));
    }
    many.push_str("content-length: 2\r\n\r\n{}");
    vec![
        ("two different content-lengths", with("content-length: 2\r\ncontent-length: 3\r\n", "{}x")),
        ("a content-length list", with("content-length: 2, 3\r\n", "{}x")),
        ("a signed content-length", with("content-length: +2\r\n", "{}")),
        ("a non-chunked transfer-encoding", with("transfer-encoding: gzip\r\n", "{}")),
        ("chunked not last", with("transfer-encoding: chunked, identity\r\n", "2\r\n{}\r\n0\r\n\r\n")),
        ("an unknown transfer-encoding", with("transfer-encoding: xchunked\r\n", "{}")),
        (
            "content-length with a bad transfer-encoding",
            with("content-length: 2\r\ntransfer-encoding: gzip\r\n", "{}"),
        ),
        (
            "transfer-encoding on HTTP/1.0",
            b"POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n".to_vec(),
        ),
        ("a space in a header name", with("x bad: 1\r\ncontent-length: 2\r\n", "{}")),
        ("a space before the colon", with("content-length : 2\r\n", "{}")),
        ("a folded header line", with("x-a: 1\r\n folded: 2\r\ncontent-length: 2\r\n", "{}")),
        ("a header without a colon", with("no-colon\r\ncontent-length: 2\r\n", "{}")),
        ("a NUL in a header value", with("x-a: a\0b\r\ncontent-length: 2\r\n", "{}")),
        ("a bare CR in a header value", with("x-a: a\rb\r\ncontent-length: 2\r\n", "{}")),
        ("a 1 MiB header", huge),
        ("200 headers", many.into_bytes()),
        ("a space in the target", b"GET /v1/mo dels HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("an unknown version", b"GET /v1/models HTTP/7.1\r\nHost: x\r\n\r\n".to_vec()),
    ]
}

#[test]
fn smuggling_shaped_requests_are_refused_and_never_forwarded() {
    let t = target();
    for (what, bytes) in refused_requests() {
        let reply = raw::exchange(t.proxy.addr, &bytes, Duration::from_secs(2));
        eprintln!(
            "smuggling: {what:<45} -> {:?}, closed: {}",
            reply.status(),
            reply.closed
        );
        let refused =
            matches!(reply.status(), Some(400..=499)) || (reply.bytes.is_empty() && reply.closed);
        assert!(refused, "{what}: {}", reply.text());
        assert!(reply.closed, "{what}: the connection stayed open");
        // A second response would mean bytes after the head were read as
        // another request.
        assert!(reply.responses() <= 1, "{what}: {}", reply.text());
        assert!(t.mock.requests().is_empty(), "{what} was forwarded");
    }
    // And the proxy still serves.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let reply = runtime.block_on(send(
        &client(),
        request("POST", &t.proxy.url("/v1/chat/completions"), &[], "{}"),
    ));
    assert_eq!(reply.status, 200);
}

/// The JSON body of a raw reply.
fn reply_json(reply: &raw::RawReply) -> serde_json::Value {
    let text = reply.text();
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn a_refused_head_takes_the_error_shape_of_its_paths_api() {
    let t = target();
    let conflicting = "Host: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}x";
    for path in ["/v1/messages", "/v1beta/models/g:generateContent"] {
        let bytes = format!("POST {path} HTTP/1.1\r\n{conflicting}");
        let reply = raw::exchange(t.proxy.addr, bytes.as_bytes(), Duration::from_secs(2));
        assert_eq!(reply.status(), Some(400), "{path}: {}", reply.text());
        let body = reply_json(&reply);
        if path == "/v1/messages" {
            assert_eq!(body["type"], "error", "{body}");
            assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
        } else {
            // Gemini's clients read OpenAI's shape.
            assert_eq!(body["error"]["code"], "bad_request", "{body}");
        }
        assert!(body["error"]["message"].is_string(), "{path}: {body}");
    }
    assert!(t.mock.requests().is_empty());
}

#[test]
fn content_length_with_chunked_is_reframed_not_desynchronised() {
    // RFC 9112 6.3: with both, Transfer-Encoding wins; an intermediary
    // forwarding such a message must drop Content-Length and close the
    // connection afterwards. hyper does both, so the upstream sees one
    // request, framed consistently, and the bytes after it are never read
    // as a second request.
    let t = target();
    let smuggled = "GET /v1/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    let body = format!("2\r\n{{}}\r\n0\r\n\r\n{smuggled}");
    for order in ["content-length first", "transfer-encoding first"] {
        let framing = if order == "content-length first" {
            format!(
                "content-length: {}\r\ntransfer-encoding: chunked\r\n",
                body.len()
            )
        } else {
            format!(
                "transfer-encoding: chunked\r\ncontent-length: {}\r\n",
                body.len()
            )
        };
        let bytes = format!("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{framing}\r\n{body}");
        let before = t.mock.requests().len();
        let reply = raw::exchange(t.proxy.addr, bytes.as_bytes(), Duration::from_secs(2));
        let seen: Vec<_> = t.mock.requests().into_iter().skip(before).collect();
        eprintln!(
            "CL+TE ({order}): status {:?}, {} response(s), closed {}, upstream saw {:?}",
            reply.status(),
            reply.responses(),
            reply.closed,
            seen.iter()
                .map(|r| (
                    &r.target,
                    r.body_len,
                    r.header("content-length").map(str::to_owned)
                ))
                .collect::<Vec<_>>()
        );
        assert_eq!(reply.responses(), 1, "{order}: {}", reply.text());
        assert!(reply.closed, "{order}: the connection was kept open");
        assert_eq!(seen.len(), 1, "{order}");
        assert_eq!(seen[0].target, "/v1/chat/completions");
        assert_eq!(
            &seen[0].body[..],
            b"{}",
            "{order}: the body was not the chunked one"
        );
        let length = seen[0].header("content-length");
        assert!(
            length.is_none() || length == Some("2"),
            "{order}: {length:?}"
        );
    }
    assert!(t.mock.requests().iter().all(|r| r.target != "/v1/smuggled"));
}

#[test]
fn an_absolute_form_target_cannot_choose_the_upstream() {
    let t = target();
    let elsewhere = MockUpstream::start();
    let bytes = format!(
        "GET http://{}/v1/models HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        elsewhere.addr, elsewhere.addr
    );
    let reply = raw::exchange(t.proxy.addr, bytes.as_bytes(), Duration::from_secs(2));
    eprintln!("absolute-form target: {:?}", reply.status());
    assert_eq!(reply.status(), Some(200), "{}", reply.text());
    assert!(
        elsewhere.requests().is_empty(),
        "the target's host chose the upstream"
    );
    assert_eq!(t.mock.last().target, "/v1/models");
}

#[test]
fn an_override_reaching_the_proxy_by_another_spelling_is_a_loop() {
    let t = target();
    let port = t.proxy.addr.port();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = client();
    for host in [
        "127.0.0.1".to_string(),
        "localhost".to_string(),
        "localhost.".to_string(),
        "[::ffff:127.0.0.1]".to_string(),
        "[::ffff:7f00:1]".to_string(),
        "127.1".to_string(),
        "2130706433".to_string(),
        "0x7f.0.0.1".to_string(),
        "0177.0.0.1".to_string(),
        "0".to_string(),
    ] {
        let upstream = format!("http://{host}:{port}");
        let headers = [("X-Headroom-Upstream", upstream.as_str())];
        let reply = runtime.block_on(send(
            &client,
            request("GET", &t.proxy.url("/v1/models"), &headers, ""),
        ));
        eprintln!(
            "loop: {upstream:<32} -> {} {}",
            reply.status,
            reply
                .headers
                .get("x-headroom-error")
                .map_or("", |v| v.to_str().unwrap())
        );
        assert_eq!(reply.status, 400, "{upstream}: {}", reply.text());
        let class = reply.headers["x-headroom-error"].to_str().unwrap();
        assert!(
            matches!(class, "upstream_loop" | "bad_upstream_header"),
            "{upstream}: {class}"
        );
    }
    assert!(
        t.mock.requests().is_empty(),
        "a looped request reached the default upstream"
    );
}

/// A raw upstream that keeps every byte it is sent and answers an empty
/// 200 once its client has gone quiet: whatever reached it shows.
fn recording_upstream() -> (raw::RawUpstream, Arc<Mutex<Vec<u8>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let upstream = raw::RawUpstream::start(move |mut stream| {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return,
                Ok(read) => sink.lock().unwrap().extend_from_slice(&buf[..read]),
                Err(_) => break,
            }
        }
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    });
    (upstream, received)
}

/// A chunked upload of `{}` with `body` as its chunked body, sent whole.
fn chunked_upload(upstream: &raw::RawUpstream, body: &[u8]) -> Vec<u8> {
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Headroom-Upstream: {}\r\n\
         transfer-encoding: chunked\r\n\r\n",
        upstream.url()
    );
    [head.as_bytes(), body].concat()
}

#[test]
fn control_bytes_in_chunk_lines_or_trailers_are_refused_and_never_forwarded() {
    // nginx ends a chunk line at a bare LF; a proxy in front of it that read
    // past one would frame the body differently from it.
    let (upstream, received) = recording_upstream();
    let proxy = ProxyProcess::start(&[]);
    let cases: [(&str, &[u8]); 7] = [
        (
            "a bare CR in a chunk extension",
            b"2;a\rb\r\n{}\r\n0\r\n\r\n",
        ),
        (
            "a bare LF in a chunk extension",
            b"2;a\nb\r\n{}\r\n0\r\n\r\n",
        ),
        ("a NUL in a chunk extension", b"2;a\0b\r\n{}\r\n0\r\n\r\n"),
        (
            "an escape in a quoted extension",
            b"2;a=\"\x1b\"\r\n{}\r\n0\r\n\r\n",
        ),
        (
            "a bare LF in the last chunk's extension",
            b"2\r\n{}\r\n0;a\nb\r\n\r\n",
        ),
        (
            "a bare CR in a trailer",
            b"2\r\n{}\r\n0\r\nx-t: a\rb\r\n\r\n",
        ),
        (
            "a trailer that is no field",
            b"2\r\n{}\r\n0\r\nno field\r\n\r\n",
        ),
    ];
    for (what, body) in cases {
        let reply = raw::exchange(
            proxy.addr,
            &chunked_upload(&upstream, body),
            Duration::from_secs(2),
        );
        eprintln!("{what}: {:?}, closed: {}", reply.status(), reply.closed);
        assert_eq!(reply.status(), Some(400), "{what}: {}", reply.text());
        let text = reply.text().to_ascii_lowercase();
        assert!(
            text.contains("x-headroom-error: client_body"),
            "{what}: {text}"
        );
        assert!(reply.closed, "{what}: the connection stayed open");
        let sent = received.lock().unwrap().clone();
        assert!(
            sent.is_empty(),
            "{what} reached the upstream: {:?}",
            sent.escape_ascii()
        );
    }
    // Extensions and trailers as RFC 9112 writes them still go through.
    let valid = b"2;name=\"a \\\"quoted\\\" value\";flag\r\n{}\r\n0;last=1\r\nx-t: 1\r\n\r\n";
    let reply = raw::exchange(
        proxy.addr,
        &chunked_upload(&upstream, valid),
        Duration::from_secs(2),
    );
    assert_eq!(reply.status(), Some(200), "{}", reply.text());
    let sent = String::from_utf8_lossy(&received.lock().unwrap()).into_owned();
    assert!(sent.ends_with("\r\n\r\n2\r\n{}\r\n0\r\n\r\n"), "{sent}");
}

/// Writes `bytes` to the proxy `step` bytes at a time, a millisecond
/// apart, so that the proxy reads them in as many pieces; then reads the
/// reply as `raw::exchange` does.
fn exchange_in_pieces(addr: std::net::SocketAddr, bytes: &[u8], step: usize) -> raw::RawReply {
    let mut stream = TcpStream::connect(addr).expect("connect to the proxy");
    for piece in bytes.chunks(step) {
        // The proxy may refuse and close before the last piece.
        if stream.write_all(piece).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    raw::read_reply(&mut stream, Duration::from_secs(2))
}

#[test]
fn a_head_over_the_limit_gets_431_in_one_write_as_in_pieces() {
    let t = target();
    let mut head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nx-big: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 100 * 1024));
    head.extend_from_slice(b"\r\ncontent-length: 2\r\n\r\n{}");
    let in_pieces = exchange_in_pieces(t.proxy.addr, &head, 4096);
    let whole = raw::exchange(t.proxy.addr, &head, Duration::from_secs(2));
    let body = |reply: &raw::RawReply| {
        let text = reply.text();
        text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
    };
    for (how, reply) in [("in 4 KiB writes", &in_pieces), ("in one write", &whole)] {
        eprintln!("100 KiB head {how}: {:?} {:?}", reply.status(), body(reply));
        assert_eq!(reply.status(), Some(431), "{how}: {}", reply.text());
        assert!(reply.closed, "{how}: the connection stayed open");
    }
    assert_eq!(
        body(&whole),
        body(&in_pieces),
        "the same refusal either way"
    );
    assert!(
        t.mock.requests().is_empty(),
        "an oversized head was forwarded"
    );
}
