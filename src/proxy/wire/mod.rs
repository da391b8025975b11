//! HTTP/1 on the wire, knowing nothing of forwarding: message heads written
//! and parsed (`head`, their fields in `fields`, names kept in `names`, a `Host`
//! value's syntax in `host`), where a body ends
//! (`framing`), a request body read off its connection (`upload`) or from
//! HTTP/2 (`body`), requests that switch protocols (`upgrade`), and the
//! socket reading both hops share (`io`).

pub(crate) mod body;
pub(crate) mod fields;
pub(crate) mod framing;
pub(crate) mod head;
pub(crate) mod host;
pub(crate) mod io;
pub(crate) mod names;
pub(crate) mod upgrade;
pub(crate) mod upload;
