use super::*;

fn joined(base: &str, path: &str) -> String {
    match Upstream::parse(base) {
        Ok(upstream) => {
            let path = PathAndQuery::try_from(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            match upstream.target(Some(&path)) {
                Ok(uri) => uri.to_string(),
                Err(e) => panic!("{base:?} + {path}: {e}"),
            }
        }
        Err(e) => panic!("{base:?} refused: {e}"),
    }
}

#[test]
fn a_target_without_a_path_is_the_base_and_a_slash() {
    for (base, want) in [
        ("https://openrouter.ai/api/v1", "https://openrouter.ai/api/"),
        ("http://127.0.0.1:9999", "http://127.0.0.1:9999/"),
    ] {
        let upstream = Upstream::parse(base).unwrap_or_else(|e| panic!("{base}: {e}"));
        let target = upstream.target(None).map(|uri| uri.to_string());
        assert_eq!(target.ok().as_deref(), Some(want), "{base}");
    }
}

#[test]
fn normalization_table() {
    let cases = [
        (
            "https://api.deepseek.com",
            "/v1/chat/completions",
            "https://api.deepseek.com/v1/chat/completions",
        ),
        (
            "https://api.deepseek.com/v1",
            "/v1/chat/completions",
            "https://api.deepseek.com/v1/chat/completions",
        ),
        (
            "https://generativelanguage.googleapis.com/v1beta",
            "/v1beta/models/g:streamGenerateContent?alt=sse",
            "https://generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent?alt=sse",
        ),
        (
            "https://openrouter.ai/api/v1",
            "/v1/chat/completions",
            "https://openrouter.ai/api/v1/chat/completions",
        ),
        (
            "https://api.z.ai/api/paas/v4",
            "/chat/completions",
            "https://api.z.ai/api/paas/v4/chat/completions",
        ),
        (
            "http://127.0.0.1:9999/",
            "/v1/models",
            "http://127.0.0.1:9999/v1/models",
        ),
        (
            "  https://api.openai.com/v1/  ",
            "/v1/responses",
            "https://api.openai.com/v1/responses",
        ),
        ("https://x.dev/v1beta2", "/p", "https://x.dev/v1beta2/p"),
        ("https://x.dev/api/v1x", "/p", "https://x.dev/api/v1x/p"),
        ("HTTPS://API.Example.COM:443/v1", "/p", "https://api.example.com/p"),
        ("http://[::1]:8080/v1", "/p", "http://[::1]:8080/p"),
        ("http://10.0.0.7:80/v1", "/p", "http://10.0.0.7/p"),
        ("https://x.dev./v1", "/p", "https://x.dev./p"),
        ("https://1password.com", "/p", "https://1password.com/p"),
        ("https://a.0xfoo", "/p", "https://a.0xfoo/p"),
        ("https://x.dev/.well-known/...", "/p", "https://x.dev/.well-known/.../p"),
    ];
    for (base, path, want) in cases {
        assert_eq!(joined(base, path), want, "{base} + {path}");
    }
}

#[test]
fn refuses_bad_values_with_the_reason() {
    let cases = [
        ("", UpstreamError::Empty),
        ("api.openai.com", UpstreamError::NotAbsolute),
        ("ftp://x.dev", UpstreamError::UnsupportedScheme),
        ("javascript:alert(1)", UpstreamError::UnsupportedScheme),
        ("file:///etc/passwd", UpstreamError::UnsupportedScheme),
        ("https://", UpstreamError::MissingHost),
        ("https:///v1", UpstreamError::MissingHost),
        ("https://user:pw@x.dev", UpstreamError::Userinfo),
        ("http://a@b", UpstreamError::Userinfo),
        ("http://a\\@b", UpstreamError::Backslash),
        ("https://x.dev/#f", UpstreamError::Fragment),
        ("https://x.dev/?a=1", UpstreamError::Query),
        (
            "https://x.dev\r\nX-Evil: 1",
            UpstreamError::ControlCharacter,
        ),
        ("https://x .dev", UpstreamError::Whitespace),
        ("https://bücher.de", UpstreamError::NonAscii),
        ("https://x.dev:0", UpstreamError::InvalidPort),
        ("https://x.dev:65536", UpstreamError::InvalidPort),
        ("https://x.dev:", UpstreamError::InvalidPort),
        ("https://x..dev", UpstreamError::InvalidHost),
        ("http://127.1:8787", UpstreamError::InvalidHost),
        ("http://2130706433", UpstreamError::InvalidHost),
        ("http://0x7f.0.0.1", UpstreamError::InvalidHost),
        ("http://0177.0.0.1", UpstreamError::InvalidHost),
        ("http://127.0.0.1.", UpstreamError::InvalidHost),
        ("http://0", UpstreamError::InvalidHost),
        ("http://a.0x", UpstreamError::InvalidHost),
        ("https://%78.dev", UpstreamError::InvalidHost),
        ("https://[::1", UpstreamError::InvalidHost),
        ("https://[nope]:1", UpstreamError::InvalidHost),
        ("https://x.dev/a%zz", UpstreamError::InvalidPath),
        ("https://x.dev/a<b>", UpstreamError::InvalidPath),
        ("http://h/../../admin", UpstreamError::DotSegment),
        ("http://h/api/./v1", UpstreamError::DotSegment),
        ("http://h/api/..", UpstreamError::DotSegment),
        ("http://h/%2e%2E/admin", UpstreamError::DotSegment),
        ("http://h/.%2e/admin", UpstreamError::DotSegment),
        ("http://h/%2E/v1", UpstreamError::DotSegment),
    ];
    for (raw, want) in cases {
        assert_eq!(Upstream::parse(raw), Err(want), "{raw:?}");
    }
    let long = format!("https://x.dev/{}", "a".repeat(MAX_UPSTREAM_LEN));
    assert_eq!(Upstream::parse(&long), Err(UpstreamError::TooLong));
}

#[test]
fn a_base_that_ends_with_the_requested_endpoint_is_a_full_endpoint() {
    let ends = |base: &str, path: &str| {
        Upstream::parse(base).map(|upstream| upstream.ends_with_endpoint(path))
    };
    let full = [
        (
            "https://api.x.com/v1/chat/completions",
            "/v1/chat/completions",
        ),
        (
            "https://api.x.com/v1/chat/completions/",
            "/chat/completions",
        ),
        (
            "https://h/api/paas/v4/chat/completions",
            "/chat/completions",
        ),
        ("https://h/v1/messages", "/v1/messages"),
        (
            "https://h/v1beta/models/g:generateContent",
            "/v1beta/models/g:generateContent",
        ),
    ];
    for (base, path) in full {
        assert_eq!(ends(base, path), Ok(true), "{base} + {path}");
    }
    let bases = [
        ("https://openrouter.ai/api/v1", "/v1/chat/completions"),
        ("https://api.x.com/v1", "/v1"),
        ("https://api.x.com", "/"),
        ("https://h/openai/deployments/x", "/chat/completions"),
        ("https://h/my-completions", "/v1/completions"),
        ("https://h/v1beta2/models", "/v1beta2/models/x"),
    ];
    for (base, path) in bases {
        assert_eq!(ends(base, path), Ok(false), "{base} + {path}");
    }
}

#[test]
fn origin_makes_default_ports_explicit() {
    let a = Origin::parse("https://api.openai.com").ok();
    let b = Origin::parse("https://API.openai.com:443/").ok();
    assert!(a.is_some());
    assert_eq!(a, b);
    assert_ne!(a, Origin::parse("http://api.openai.com").ok());
    assert_eq!(
        Origin::parse("https://x.dev/v1"),
        Err(UpstreamError::PathInOrigin)
    );
}

#[test]
fn version_segment_split() {
    assert_eq!(split_version_segment("/api/v1/"), ("/api", "/v1"));
    assert_eq!(split_version_segment("/v1beta"), ("", "/v1beta"));
    assert_eq!(split_version_segment("/v1beta2"), ("/v1beta2", ""));
    assert_eq!(split_version_segment(""), ("", ""));
    assert_eq!(split_version_segment("/openai/v1"), ("/openai", "/v1"));
}
