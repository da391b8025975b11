//! A forwarding proxy that knows nothing of agents: each request goes to the
//! upstream its `X-Headroom-Upstream` header names, or to its API family's
//! default, with bodies streamed both ways.
//!
//! Layers, each using only those below it:
//! - `forward`: the one pipeline every request passes through, with its
//!   stages (`forward::stages`);
//! - `client` (the upstream hop) and `serve` (the client side), which know
//!   nothing of each other or of forwarding;
//! - `wire`: HTTP/1 heads, framing and bodies;
//! - beneath them all, the shared vocabulary: `config`, `upstream`,
//!   `headers`, `routes`, `error`, `stats`, `clock`, `lock`, `spares`.

mod client;
mod clock;
mod config;
pub mod error;
mod forward;
pub mod headers;
mod lock;
pub mod routes;
mod serve;
mod spares;
pub mod stats;
pub mod upstream;
mod wire;

pub use config::{
    is_loopback, Allowed, Config, Defaults, ANTHROPIC_DEFAULT, GEMINI_DEFAULT, HEADER_READ_TIMEOUT,
    OPENAI_DEFAULT,
};
pub use forward::points_at;
pub use forward::stages;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::UsageError;
use client::UpstreamClient;
use forward::Shared;
use routes::Family;
use serve::Deadlines;
use stats::Snapshot;
use upstream::Upstream;

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
        self.shared.stats().snapshot()
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
    start_with(config, stages::Stages::default()).await
}

/// Like `start`, with `stages` on every request's way.
pub async fn start_with(config: Config, stages: stages::Stages) -> anyhow::Result<RunningProxy> {
    if !is_loopback(config.listen.ip()) && config.allowed == Allowed::Unspecified {
        return Err(UsageError::new(format!(
            "refusing to listen on {} without an upstream allow-list: pass --allow-upstream ORIGIN (repeatable) or --allow-any-upstream",
            config.listen.ip()
        ))
        .into());
    }
    client::check_outgoing_proxies()?;
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
    let client = UpstreamClient::new(addr, config.connect_timeout, config.idle_timeout);
    let shared = Arc::new(Shared::new(defaults, config.allowed, addr, client, stages));
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
