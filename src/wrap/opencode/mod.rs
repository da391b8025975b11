//! opencode's configuration, read the way opencode 1.18.33 reads it, and the
//! overlay that points every proxyable provider at headroom's proxy. Forks of
//! opencode (Kilo) read theirs the same way under other names
//! ([`ConfigNames`]), so the same code serves them.
//!
//! Loading (`load`) touches the filesystem; planning (`plan`) and building the
//! child's `OPENCODE_CONFIG_CONTENT` (`config_content`) are pure.

mod active;
mod agent;
mod auth;
mod base_url;
mod catalog;
mod error;
pub(crate) mod jsonc;
mod layers;
pub(crate) mod merge;
mod names;
mod overlay;
mod plan;
mod provider;
mod selection;
mod substitute;
mod unroutable;

#[cfg(test)]
mod invariant_tests;

pub(crate) use super::environment;
pub use agent::{read_setup, AGENT};
pub use environment::Environment;
pub use error::ConfigError;
pub(crate) use jsonc::parse_object;
pub use layers::{load, managed_configs, UserConfig};
pub(crate) use merge::deep_merge;
pub use names::{ConfigNames, OwnSdk, OPENCODE};
pub use overlay::config_content;
pub use plan::{plan, Plan};
pub use selection::{InactiveSelection, Selection};
