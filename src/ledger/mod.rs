//! The usage ledger: one row per request headroom forwards, kept in an
//! embedded SQLite database so that `headroom usage` can answer what a run,
//! a day or a model cost.
//!
//! A row holds attribution and token counts only: no body, header value
//! (but the provider id a request names for itself), path or query, so no
//! secret can land in the file. Rows are written by a
//! thread of their own ([`Ledger`]); the request path only hands a row over.

mod query;
mod since;
mod store;
mod writer;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

pub use query::{totals, Group, GroupBy, Reading};
pub use since::Since;
pub use store::{open_for_reading, StoreError};
pub use writer::Ledger;

use crate::proxy::stages::ToolTokens;
use crate::usage::prices::Price;
use crate::usage::{Family, Usage};

/// One forwarded request, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// When the request arrived, in Unix milliseconds.
    pub time_ms: i64,
    /// `opencode` under `wrap`, `proxy` when standalone.
    pub agent: &'static str,
    /// One per `wrap` run or per proxy process, shared by its rows.
    pub run_id: Arc<str>,
    /// The provider id `wrap` routed the request for, if any.
    pub provider: Option<String>,
    /// `scheme://host[:port]` of the upstream; never its path.
    pub upstream_origin: String,
    /// The API the request spoke, when its path names one.
    pub family: Option<Family>,
    pub status: u16,
    /// From the request's arrival to the response's last byte.
    pub duration_ms: u64,
    /// What the response reported (its model included).
    pub usage: Usage,
    /// Filled from the price catalog; `None` when the model has no price.
    pub cost_usd: Option<f64>,
    /// The tokens of its tool outputs before and after compression, when
    /// the compression stage read the request.
    pub tool_tokens: Option<ToolTokens>,
    /// At least what compression saved the request, from the price
    /// catalog (`Price::removed_worth`, or `removed_worth_rewritten` when
    /// a stub may have re-written the provider's cache, which can be below
    /// zero); `None` when it read no tool output or the model has no price.
    pub saved_usd: Option<f64>,
}

impl Row {
    /// Prices the row at `price`: what it cost, and what compression
    /// saved it.
    pub fn price_at(&mut self, price: &Price) {
        self.cost_usd = price.cost(&self.usage);
        self.saved_usd = self.tool_tokens.and_then(|tokens| {
            let removed = tokens.before.saturating_sub(tokens.after);
            match tokens.may_rewrite_cache {
                false => price.removed_worth(&self.usage, removed),
                true => price.removed_worth_rewritten(&self.usage, removed),
            }
        });
    }

    /// Does the cost leave this request out though it may have cost
    /// something? It has no cost, and either reported tokens (a model
    /// without a price, or usage too partial to price) or succeeded
    /// without reporting any (a stream cut before its usage, an answer
    /// too large to read). A failed request that reported nothing is
    /// billed nothing.
    pub fn cost_unknown(&self) -> bool {
        self.cost_usd.is_none() && (self.status < 400 || self.usage.reported())
    }
}

/// `$XDG_STATE_HOME/headroom/usage.db`, XDG's default (`~/.local/state`)
/// otherwise; `None` when neither the variable nor `HOME` is set.
pub fn default_path() -> Option<PathBuf> {
    Some(crate::xdg::headroom_dir("XDG_STATE_HOME", ".local/state")?.join("usage.db"))
}
