//! The syntax of a `Host` field value (RFC 9110 section 7.2:
//! `uri-host [ ":" port ]`), checked by a scan of its bytes: a request
//! naming a host no URI could hold is refused rather than passed on to
//! whatever behind the upstream reads it another way.

/// Whether `value` is `uri-host [ ":" port ]`: an IP literal in brackets,
/// or a reg-name (which an IPv4 address also is), then an optional port.
/// Empty is valid: RFC 9112 section 3.2 has it sent for a target with no
/// authority.
pub(crate) fn is_valid_host(value: &[u8]) -> bool {
    match after_host(value).map(<[u8]>::split_first) {
        Some(None) => true,
        Some(Some((b':', digits))) => is_port(digits),
        _ => false,
    }
}

/// What follows the `uri-host` at the front of `value`; `None` when no
/// host is there. A reg-name holds no colon, so the first one ends it.
fn after_host(value: &[u8]) -> Option<&[u8]> {
    if let Some(inner) = value.strip_prefix(b"[") {
        let end = inner.iter().position(|&b| b == b']')?;
        return is_ip_literal(&inner[..end]).then(|| &inner[end + 1..]);
    }
    let end = value.iter().position(|&b| b == b':').unwrap_or(value.len());
    is_reg_name(&value[..end]).then(|| &value[end..])
}

/// RFC 3986's `reg-name`: unreserved characters, sub-delims and
/// percent-encoded octets.
fn is_reg_name(host: &[u8]) -> bool {
    let mut at = 0;
    while let Some(&byte) = host.get(at) {
        if byte == b'%' {
            let encoded = host.get(at + 1..at + 3);
            if !encoded.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            at += 3;
        } else if is_unreserved(byte) || is_sub_delim(byte) {
            at += 1;
        } else {
            return false;
        }
    }
    true
}

/// What lies between the brackets of an `IP-literal`: an IPv6 address's
/// characters (hex digits, colons, and dots for an IPv4 tail), or an
/// `IPvFuture` (`v`, a version, then unreserved, sub-delims and colons).
/// The characters are checked, not the address's groups: a literal no
/// address parser takes fails at the upstream's end, not in a way two
/// readers would take differently.
fn is_ip_literal(inner: &[u8]) -> bool {
    match inner.split_first() {
        None => false,
        Some((b'v' | b'V', rest)) => {
            rest.contains(&b'.')
                && rest
                    .iter()
                    .all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':')
        }
        Some(_) => inner
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
    }
}

/// Digits naming a TCP port, or none (`host:` is allowed by the grammar).
fn is_port(digits: &[u8]) -> bool {
    digits.len() <= 5
        && digits.iter().all(u8::is_ascii_digit)
        && digits
            .iter()
            .fold(0u32, |port, &d| port * 10 + u32::from(d - b'0'))
            <= u32::from(u16::MAX)
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(byte: u8) -> bool {
    matches!(
        byte,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_with_and_without_ports_are_valid() {
        for host in [
            "",
            "localhost",
            "127.0.0.1:8787",
            "api.example.com",
            "Example.COM:443",
            "[::1]:8787",
            "[::1]",
            "[2001:db8::ffff:192.0.2.1]",
            "[v1.fe80::a+en1]",
            "xn--bcher-kva.example",
            "a%2Db",
            "host:",
            ":80",
            "h:65535",
        ] {
            assert!(is_valid_host(host.as_bytes()), "{host:?}");
        }
    }

    #[test]
    fn what_no_uri_host_could_be_is_not() {
        for host in [
            "a b",
            "a/b",
            "user@host",
            "host:port",
            "host:80:80",
            "host:65536",
            "host:000080",
            "host:-1",
            "::1",
            "[::1",
            "[::1]x",
            "[]",
            "[::1]:x",
            "[g::1]",
            "[v1]",
            "a%2",
            "a%zz",
            "a\\b",
            "a?b",
            "a#b",
            "a\"b",
            "caf\u{e9}",
        ] {
            assert!(!is_valid_host(host.as_bytes()), "{host:?}");
        }
    }
}
