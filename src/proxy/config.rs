//! What the proxy is started with: where it listens, where requests go by
//! default, which upstreams they may reach, and its timeouts.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::upstream::{Origin, Upstream};

pub struct Config {
    pub listen: SocketAddr,
    pub defaults: Defaults,
    pub allowed: Allowed,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    /// How long in-flight requests may take to finish at shutdown.
    pub drain_timeout: Duration,
    /// How long a client may take to send a request head, and keep an
    /// HTTP/2 connection with no stream open; `None` for no limit.
    /// `headroom proxy` sets `HEADER_READ_TIMEOUT` when it listens beyond
    /// loopback.
    pub head_timeout: Option<Duration>,
}

/// How long a client beyond loopback may take to send a request head:
/// long enough for any real client, short enough that connections
/// trickling their heads cannot pile up.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether an address to listen on is loopback, an IPv4 one written as
/// IPv6 (`::ffff:127.0.0.1`) included: only loopback clients reach it.
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

impl Config {
    /// Loopback on an ephemeral port, public upstreams, default timeouts.
    pub fn loopback_ephemeral() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            defaults: Defaults::public(),
            allowed: Allowed::Unspecified,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            drain_timeout: Duration::from_secs(5),
            // Local clients need no deadline.
            head_timeout: None,
        }
    }
}

/// Where requests without an override go, per API family.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub openai: Upstream,
    pub anthropic: Upstream,
    pub gemini: Upstream,
}

pub const OPENAI_DEFAULT: &str = "https://api.openai.com";
pub const ANTHROPIC_DEFAULT: &str = "https://api.anthropic.com";
pub const GEMINI_DEFAULT: &str = "https://generativelanguage.googleapis.com";

impl Defaults {
    pub fn public() -> Defaults {
        let parse = |raw| Upstream::parse(raw).unwrap_or_else(|e| unreachable!("{raw}: {e}"));
        Defaults {
            openai: parse(OPENAI_DEFAULT),
            anthropic: parse(ANTHROPIC_DEFAULT),
            gemini: parse(GEMINI_DEFAULT),
        }
    }

    /// The three upstreams in `Family::ALL` order.
    pub(super) fn by_family(self) -> [Upstream; 3] {
        [self.openai, self.anthropic, self.gemini]
    }
}

/// Which upstream origins requests may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// Nothing said: fine on loopback, refused at start on other addresses.
    Unspecified,
    Any,
    Only(Vec<Origin>),
}
