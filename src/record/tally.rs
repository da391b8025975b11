//! One run's LLM requests, summed by provider and model as they finish:
//! what `wrap`'s exit summary shows, also when the ledger is off.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::ledger::Row;
use crate::usage::prices::{self, Price};

/// Lines kept by name; past this, further pairs are summed under
/// `OTHER`, so that a run of many models cannot grow the tally without end.
const MAX_LINES: usize = 64;

/// The provider and model summed for the pairs past `MAX_LINES`.
pub const OTHER: &str = "(other)";

/// The requests of one run, by provider and model.
#[derive(Default)]
pub struct RunTally {
    lines: Mutex<BTreeMap<Key, Entry>>,
}

/// Provider, then model; `None` when unknown.
type Key = (Option<String>, Option<String>);

/// One line's sums, and its model's price, looked up once for the line.
struct Entry {
    price: Option<&'static Price>,
    line: TallyLine,
}

/// The sums of one provider and model.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TallyLine {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub requests: u64,
    /// Requests that failed, or that the upstream answered with an error.
    pub errors: u64,
    /// Every prompt token, cached or not.
    pub input_tokens: u64,
    /// Of those, the ones read from the provider's cache.
    pub cache_read_tokens: u64,
    pub output_tokens: u64,
    /// The sum of the priced requests' costs; `None` when none was priced.
    pub cost_usd: Option<f64>,
    /// Requests the cost leaves out that may have cost something (see
    /// [`Row::cost_unknown`]).
    pub unpriced_requests: u64,
    /// At least what compression saved the priced requests (see
    /// [`Row::saved_usd`]); `None` when none was priced.
    pub saved_usd: Option<f64>,
}

impl RunTally {
    /// Adds one request, pricing it first when it has no cost yet.
    pub fn add(&self, row: &mut Row, failed: bool) {
        let Ok(mut lines) = self.lines.lock() else {
            return;
        };
        let mut key = (row.provider.clone(), row.usage.model.clone());
        if lines.len() >= MAX_LINES && !lines.contains_key(&key) {
            // Past the cap the line has no price of its own: the row is
            // priced apart.
            price_unpriced(row, price_of(&key));
            key = (Some(OTHER.to_string()), Some(OTHER.to_string()));
        }
        let entry = lines.entry(key).or_insert_with_key(|key| Entry {
            price: price_of(key),
            line: TallyLine::default(),
        });
        price_unpriced(row, entry.price);
        entry.line.add(row, failed);
    }

    /// Every line, by provider then model, with its key filled in.
    pub fn lines(&self) -> Vec<TallyLine> {
        let Ok(lines) = self.lines.lock() else {
            return Vec::new();
        };
        lines
            .iter()
            .map(|((provider, model), entry)| TallyLine {
                provider: provider.clone(),
                model: model.clone(),
                ..entry.line.clone()
            })
            .collect()
    }
}

/// Prices a row recorded without a cost.
fn price_unpriced(row: &mut Row, price: Option<&Price>) {
    if let (None, Some(price)) = (row.cost_usd, price) {
        row.price_at(price);
    }
}

/// The catalog's price of a line's model as its provider sells it. A
/// provider list (`a,b`: one origin serving several) names no one seller,
/// so the maker's price applies, as in the ledger.
fn price_of((provider, model): &Key) -> Option<&'static Price> {
    let provider = provider.as_deref().filter(|id| !id.contains(','));
    prices::catalog().price(model.as_deref()?, provider)
}

impl TallyLine {
    fn add(&mut self, row: &Row, failed: bool) {
        let usage = &row.usage;
        self.requests += 1;
        self.errors += u64::from(failed);
        let sum = |total: &mut u64, figure: Option<u64>| {
            *total = total.saturating_add(figure.unwrap_or(0));
        };
        sum(&mut self.input_tokens, usage.input_tokens);
        sum(&mut self.cache_read_tokens, usage.cache_read_tokens);
        sum(&mut self.output_tokens, usage.output_tokens);
        add_to(&mut self.cost_usd, row.cost_usd);
        add_to(&mut self.saved_usd, row.saved_usd);
        self.unpriced_requests += u64::from(row.cost_unknown());
    }

    /// The sum of `lines`, keyless.
    pub fn total(lines: &[TallyLine]) -> TallyLine {
        let mut total = TallyLine::default();
        for line in lines {
            total.requests += line.requests;
            total.errors += line.errors;
            total.input_tokens = total.input_tokens.saturating_add(line.input_tokens);
            total.cache_read_tokens = total
                .cache_read_tokens
                .saturating_add(line.cache_read_tokens);
            total.output_tokens = total.output_tokens.saturating_add(line.output_tokens);
            add_to(&mut total.cost_usd, line.cost_usd);
            add_to(&mut total.saved_usd, line.saved_usd);
            total.unpriced_requests += line.unpriced_requests;
        }
        total
    }
}

/// Adds `dollars`, if known, to a sum that is known once one is.
fn add_to(sum: &mut Option<f64>, dollars: Option<f64>) {
    if let Some(dollars) = dollars {
        *sum.get_or_insert(0.0) += dollars;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::Usage;

    fn row(provider: &str, model: Option<&str>, input: Option<u64>, cost: Option<f64>) -> Row {
        Row {
            time_ms: 0,
            agent: "opencode",
            run_id: "r".into(),
            provider: Some(provider.into()),
            upstream_origin: "https://a.dev".into(),
            family: None,
            status: 200,
            duration_ms: 1,
            usage: Usage {
                model: model.map(str::to_owned),
                input_tokens: input,
                cache_read_tokens: input.map(|n| n / 2),
                output_tokens: input.map(|n| n * 2),
                ..Usage::default()
            },
            cost_usd: cost,
            tool_tokens: None,
            saved_usd: None,
        }
    }

    #[test]
    fn sums_by_provider_and_model_and_counts_the_unpriced_and_failed() {
        let tally = RunTally::default();
        tally.add(
            &mut row("anthropic", Some("claude"), Some(10), Some(0.5)),
            false,
        );
        tally.add(
            &mut row("anthropic", Some("claude"), Some(20), Some(0.25)),
            false,
        );
        let mut refused = row("anthropic", Some("claude"), None, None);
        refused.status = 429;
        tally.add(&mut refused, true);
        tally.add(&mut row("groq", Some("llama"), Some(4), None), false);
        // Cut before its usage: it cost something, no one knows what.
        tally.add(&mut row("groq", Some("llama"), None, None), true);
        let lines = tally.lines();
        assert_eq!(lines.len(), 2);
        let claude = &lines[0];
        assert_eq!(claude.provider.as_deref(), Some("anthropic"));
        assert_eq!((claude.requests, claude.errors), (3, 1));
        assert_eq!(
            (
                claude.input_tokens,
                claude.cache_read_tokens,
                claude.output_tokens
            ),
            (30, 15, 60)
        );
        assert_eq!((claude.cost_usd, claude.unpriced_requests), (Some(0.75), 0));
        let llama = &lines[1];
        assert_eq!((llama.cost_usd, llama.unpriced_requests), (None, 2));
        let total = TallyLine::total(&lines);
        assert_eq!(
            (total.requests, total.errors, total.input_tokens),
            (5, 2, 34)
        );
        assert_eq!((total.cost_usd, total.unpriced_requests), (Some(0.75), 2));
    }

    #[test]
    fn what_compression_saved_is_priced_with_the_row() {
        let tally = RunTally::default();
        // claude-sonnet-4-5 at anthropic: these rows read half their
        // prompt from the cache, at 0.3 per million tokens.
        let mut compressed = row("anthropic", Some("claude-sonnet-4-5"), Some(10_000), None);
        compressed.tool_tokens = Some(crate::proxy::stages::ToolTokens {
            before: 3_000_000,
            after: 1_000_000,
            may_rewrite_cache: false,
        });
        tally.add(&mut compressed, false);
        let saved = compressed.saved_usd.unwrap_or_default();
        assert!((saved - 0.6).abs() < 1e-9, "{saved}");
        tally.add(
            &mut row("anthropic", Some("claude-sonnet-4-5"), Some(10), None),
            false,
        );
        let total = TallyLine::total(&tally.lines());
        assert_eq!(total.saved_usd, compressed.saved_usd);
    }

    #[test]
    fn pairs_past_the_cap_are_summed_as_other() {
        let tally = RunTally::default();
        for n in 0..MAX_LINES + 5 {
            tally.add(&mut row("p", Some(&format!("m{n}")), Some(1), None), false);
        }
        tally.add(&mut row("p", Some("m0"), Some(1), None), false);
        let lines = tally.lines();
        assert_eq!(lines.len(), MAX_LINES + 1);
        let other = lines
            .iter()
            .find(|line| line.model.as_deref() == Some(OTHER))
            .unwrap_or_else(|| panic!("no {OTHER} line"));
        assert_eq!(other.requests, 5);
        let total = TallyLine::total(&lines);
        assert_eq!(total.requests, MAX_LINES as u64 + 6);
    }
}
