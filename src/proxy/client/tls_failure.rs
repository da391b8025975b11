//! Plain words for a TLS handshake with an upstream that failed. rustls
//! names the fault in protocol terms (`received corrupt message of type
//! InvalidContentType`); the caller needs to know what to change.

use std::io;

use rustls::{CertificateError, InvalidMessage};

use crate::proxy::error::chain;
use crate::proxy::error::ProxyError;

/// The error to answer when `error` is a failed TLS handshake with
/// `origin`; `None` when no TLS error is in its chain.
pub fn explain(origin: &str, error: &(dyn std::error::Error + 'static)) -> Option<ProxyError> {
    let failed = chain(error).find_map(tls_error)?;
    Some(match failed {
        // A plain-HTTP server answers a ClientHello with text, whose first
        // bytes are neither a TLS record type nor a TLS version.
        rustls::Error::InvalidMessage(
            InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion,
        ) => ProxyError::tls_handshake(
            origin,
            "it does not speak TLS; if it is a plain-HTTP server, use http:// instead of https://",
        ),
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            ProxyError::untrusted_certificate(origin)
        }
        other => ProxyError::tls_handshake(origin, &other.to_string()),
    })
}

/// The rustls error `error` is or carries. An `io::Error` does not list
/// the error it wraps as its source, so it is looked into here.
fn tls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = error;
    loop {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        current = current.downcast_ref::<io::Error>()?.get_ref()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As tokio-rustls reports it: an `io::Error` around the rustls one,
    /// here wrapped once more, as a connector may.
    fn wrapped(tls: rustls::Error) -> io::Error {
        io::Error::other(io::Error::new(io::ErrorKind::InvalidData, tls))
    }

    fn message(error: &io::Error) -> Option<String> {
        explain("https://h", error).map(|e| e.message)
    }

    #[test]
    fn a_plain_http_server_and_an_unknown_issuer_are_said_in_plain_words() {
        let plain = wrapped(rustls::Error::InvalidMessage(
            InvalidMessage::InvalidContentType,
        ));
        assert_eq!(
            message(&plain).as_deref(),
            Some("TLS handshake with upstream https://h failed: it does not speak TLS; if it is a plain-HTTP server, use http:// instead of https://")
        );
        let untrusted = wrapped(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        let untrusted = message(&untrusted).unwrap_or_default();
        assert!(untrusted.contains("SSL_CERT_FILE"), "{untrusted}");
        let expired = wrapped(rustls::Error::InvalidCertificate(CertificateError::Expired));
        let expired = message(&expired).unwrap_or_default();
        assert!(expired.starts_with("TLS handshake with upstream https://h failed: "));
        assert_eq!(message(&io::Error::other("connection reset")), None);
    }
}
