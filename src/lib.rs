//! headroom: run coding agents through one local LLM proxy.

pub mod cli;
pub mod compress;
pub mod error;
mod figures;
pub mod generate;
pub mod ledger;
pub mod logging;
pub mod parse;
pub mod proxy;
pub mod record;
pub mod report;
pub mod standalone;
pub mod tap;
pub mod usage;
pub mod wrap;
mod xdg;

/// The runtime the proxy serves on, standalone or under `wrap`: one thread.
/// A local proxy for agents has far more cores than it can use, and one
/// thread relays a burst of events sooner than a work-stealing pool, whose
/// worker pays for parking, waking and queue handoffs on every burst.
/// Blocking work (name lookups, loading the trust store) still goes to
/// tokio's blocking pool.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
