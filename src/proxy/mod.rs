//! A forwarding proxy that knows nothing of agents: each request goes to the
//! upstream its `X-Headroom-Upstream` header names, or to its API family's
//! default, with bodies streamed both ways.

mod body;
mod client;
mod clock;
pub mod error;
mod forward;
mod h1;
pub mod headers;
mod idle;
mod local;
mod overrides;
mod replay;
pub mod routes;
mod serve;
pub mod stats;
mod tls_failure;
mod tunnel;
pub mod upstream;

pub use forward::points_at;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::UsageError;
use client::UpstreamClient;
use overrides::OverrideCache;
use routes::Family;
use serve::Deadlines;
use stats::{Snapshot, Stats};
use upstream::{Origin, Upstream};

/// Locks `mutex` even if a panic poisoned it: every map the proxy guards
/// is changed in single steps that a panic cannot leave half-done.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub struct Config {
    pub listen: SocketAddr,
    pub defaults: Defaults,
    pub allowed: Allowed,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    /// How long in-flight requests may take to finish at shutdown.
    pub drain_timeout: Duration,
    /// How long a client may take to send a request head; `None` for no
    /// limit. `headroom proxy` sets `HEADER_READ_TIMEOUT` when it listens
    /// beyond loopback.
    pub head_timeout: Option<Duration>,
}

/// How long a client beyond loopback may take to send a request head:
/// long enough for any real client, short enough that connections
/// trickling their heads cannot pile up.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

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
    fn by_family(self) -> [Upstream; 3] {
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

/// State every request handler shares.
pub(crate) struct Shared {
    /// Per family, indexed like `Family::index`.
    defaults: [Arc<Upstream>; 3],
    overrides: OverrideCache,
    allowed: Allowed,
    listen: SocketAddr,
    client: UpstreamClient,
    stats: Stats,
}

/// A proxy serving in the background of this process.
pub struct RunningProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<()>,
}

impl RunningProxy {
    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> Snapshot {
        self.shared.stats.snapshot()
    }

    /// Stops accepting, lets in-flight requests finish within the drain
    /// timeout, then returns.
    pub async fn shutdown(self) {
        // The server may already be gone; then there is nothing to stop.
        let _ = self.shutdown.send(());
        if let Err(error) = self.server.await {
            tracing::warn!(%error, "proxy server task failed");
        }
    }
}

/// Binds and starts serving. Must be called inside a tokio runtime.
pub async fn start(config: Config) -> anyhow::Result<RunningProxy> {
    if !config.listen.ip().is_loopback() && config.allowed == Allowed::Unspecified {
        return Err(UsageError::new(format!(
            "refusing to listen on {} without an upstream allow-list: pass --allow-upstream ORIGIN (repeatable) or --allow-any-upstream",
            config.listen.ip()
        ))
        .into());
    }
    let listener = TcpListener::bind(config.listen).await.map_err(|error| {
        let hint = if error.kind() == std::io::ErrorKind::AddrInUse {
            " (choose another --port, or --port 0 for a free one)"
        } else {
            ""
        };
        anyhow::anyhow!("could not listen on {}: {error}{hint}", config.listen)
    })?;
    let addr = listener.local_addr()?;
    let defaults = config.defaults.by_family();
    refuse_default_loops(&defaults, addr)?;
    let shared = Arc::new(Shared {
        defaults: defaults.map(Arc::new),
        overrides: OverrideCache::default(),
        allowed: config.allowed,
        listen: addr,
        client: UpstreamClient::new(addr, config.connect_timeout, config.idle_timeout),
        stats: Stats::default(),
    });
    let (shutdown, stop) = oneshot::channel();
    let server = tokio::spawn(serve::serve(
        listener,
        shared.clone(),
        stop,
        Deadlines {
            drain: config.drain_timeout,
            head: config.head_timeout,
        },
    ));
    Ok(RunningProxy {
        addr,
        shared,
        shutdown,
        server,
    })
}

/// A default upstream that is the proxy itself would send each request
/// round again and again until file descriptors run out, so it is refused
/// before serving.
fn refuse_default_loops(defaults: &[Upstream; 3], listen: SocketAddr) -> Result<(), UsageError> {
    for (family, upstream) in Family::ALL.into_iter().zip(defaults) {
        if forward::points_at(upstream.origin(), listen) {
            let name = family.as_str();
            return Err(UsageError::new(format!(
                "the {name} default upstream {} is this proxy's own address {listen}, so requests would loop: point --{name}-upstream (or {}_TARGET_API_URL) at the provider",
                upstream.origin_str(),
                name.to_uppercase(),
            )));
        }
    }
    Ok(())
}
