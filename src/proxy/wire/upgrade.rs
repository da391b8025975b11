//! Requests that ask to switch protocols (WebSocket, or any other
//! `Upgrade`): the mark the client side puts on them, and the fields that
//! say so on each hop.

use http::header::{self, HeaderMap, HeaderValue};

/// Marks a request whose client asked to switch to the protocol it names.
/// Only the HTTP/1.1 server sets it: HTTP/2 has no `Upgrade`.
#[derive(Clone, Debug)]
pub struct UpgradeRequested(pub HeaderValue);

impl UpgradeRequested {
    /// The one protocol a request's `Upgrade` names, if it names one.
    pub fn named(headers: &HeaderMap) -> Option<UpgradeRequested> {
        let mut protocols = headers.get_all(header::UPGRADE).iter();
        let protocol = protocols.next()?;
        protocols
            .next()
            .is_none()
            .then(|| UpgradeRequested(protocol.clone()))
    }
}

/// Says on a message's own hop that its connection switches to
/// `protocol`: `Connection` and `Upgrade` are hop-by-hop, so the proxy
/// removed the ones that came with it.
pub fn name_upgrade(headers: &mut HeaderMap, protocol: HeaderValue) {
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, protocol);
}
