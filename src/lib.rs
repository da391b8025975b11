//! headroom: run coding agents through one local LLM proxy.

pub mod cli;
pub mod error;
pub mod generate;
pub mod logging;
pub mod proxy;
pub mod standalone;
pub mod wrap;
