//! What went wrong on the upstream hop, read off an error's chain of
//! causes: the forwarder answers each kind differently.

use std::io;

use super::connect::{ConnectFailed, ConnectTimeout, ReachedItself};
use crate::proxy::error::chain;

/// True when the error chain says the connect timed out.
pub fn is_connect_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    chain(error).any(|e| e.is::<ConnectTimeout>())
}

/// True when the upstream connection went idle past the idle timeout.
/// HTTP/2 passes on only the kind and text of the I/O error that ended its
/// connection, and a stream's error holds it inside an `h2::Error`, so any
/// timed-out I/O counts: on an upstream connection only the idle timer
/// times out, or the kernel giving up on a silent peer.
pub fn is_idle_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let timed_out = |e: &io::Error| e.kind() == io::ErrorKind::TimedOut;
    chain(error).any(|e| {
        e.downcast_ref::<io::Error>().is_some_and(timed_out)
            || e.downcast_ref::<h2::Error>()
                .and_then(h2::Error::get_io)
                .is_some_and(timed_out)
    })
}

/// How the connection reached the proxy itself, when that ended it.
pub fn reached_itself<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a ReachedItself> {
    chain(error).find_map(|e| e.downcast_ref::<ReachedItself>())
}

/// True when the error happened before a connection was established.
pub fn is_connect_error(error: &(dyn std::error::Error + 'static)) -> bool {
    chain(error).any(|e| {
        e.is::<ConnectFailed>()
            || e.downcast_ref::<hyper_util::client::legacy::Error>()
                .is_some_and(|e| e.is_connect())
    })
}

/// The innermost cause's message: the most specific, and never a URL.
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    chain(error)
        .last()
        .map(|e| e.to_string())
        .unwrap_or_default()
}
