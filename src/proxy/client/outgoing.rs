//! The outgoing proxy's variables, checked at start: hyper-util drops a
//! value it cannot read, and would take a SOCKS proxy for an HTTP one, so
//! without a check a mistyped `HTTPS_PROXY` makes headroom connect
//! directly, and fail, or leak past a corporate proxy, in silence.

use crate::error::UsageError;

/// The variables an outgoing proxy is read from.
pub(super) const PROXY_VARS: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Refuses a proxy variable headroom would not use as it says.
pub fn check_outgoing_proxies() -> Result<(), UsageError> {
    for name in PROXY_VARS {
        let Some(value) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        if let Err(why) = http_proxy(value.trim()) {
            return Err(UsageError::new(format!(
                "{name} {why}: set it to http://HOST:PORT, or unset it"
            )));
        }
    }
    Ok(())
}

/// Whether `value` names an HTTP proxy: `[http://]host[:port]`. An
/// `https://` one is spoken to as the HTTP proxy many set ups name so.
fn http_proxy(value: &str) -> Result<(), &'static str> {
    let uri: http::Uri = value.parse().map_err(|_| "is not a URL")?;
    match uri.scheme_str() {
        None | Some("http" | "https") => {}
        Some(_) => {
            return Err("names a proxy that is not an HTTP proxy, the one kind headroom speaks to")
        }
    }
    match uri.host() {
        Some(host) if !host.is_empty() => Ok(()),
        _ => Err("names no host"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_proxies_pass_and_others_are_named() {
        for good in [
            "http://proxy.corp:3128",
            "proxy.corp:3128",
            "http://user:pw@10.0.0.1:8080/",
            "https://proxy.corp:443",
        ] {
            assert_eq!(http_proxy(good), Ok(()), "{good}");
        }
        for bad in [
            "garbage with space",
            "socks5://127.0.0.1:1080",
            "ftp://x",
            "http://",
        ] {
            assert!(http_proxy(bad).is_err(), "{bad}");
        }
    }
}
