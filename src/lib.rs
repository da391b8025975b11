//! headroom: run coding agents through one local LLM proxy.

pub mod cli;
pub mod error;
pub mod generate;
pub mod logging;
pub mod proxy;
pub mod standalone;
pub mod wrap;

/// The runtime the proxy serves on, standalone or under `wrap`.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
