//! Token counters per model, from the usage responses reported. Only
//! model names and numbers are kept.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::usage::Usage;

/// The name counted for a response whose model is not known.
pub const UNKNOWN_MODEL: &str = "(unknown)";

/// The name counted for the models past the cap below: the names come
/// from upstreams, and a proxy that runs for weeks must not grow with them.
/// (Each name is bounded where it is read: see `usage::model_name`.)
pub const OTHER_MODELS: &str = "(other)";

/// How many models are counted by name.
const MAX_MODELS: usize = 256;

/// Per model, ordered by name.
#[derive(Default)]
pub(super) struct Models(BTreeMap<String, TokenCounts>);

/// What the responses of one model reported, summed.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct TokenCounts {
    /// Responses whose usage was read.
    pub requests: u64,
    /// Of those, the ones that reported no token count at all: counted here,
    /// not as zeros in the sums.
    pub requests_without_usage: u64,
    /// Of those, the ones whose body was cut or could not be decoded to the
    /// end; what they reported before is in the sums.
    pub incomplete: u64,
    /// Each sum adds the figures that were reported; a response that did
    /// not report one adds nothing to it.
    pub input_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ModelSnapshot {
    pub model: String,
    #[serde(flatten)]
    pub counts: TokenCounts,
}

impl Models {
    pub(super) fn add(&mut self, usage: &Usage) {
        let mut model = usage.model.as_deref().unwrap_or(UNKNOWN_MODEL);
        if self.0.len() >= MAX_MODELS && !self.0.contains_key(model) {
            model = OTHER_MODELS;
        }
        // Looked up by &str: only a model's first response allocates.
        let counts = match self.0.get_mut(model) {
            Some(counts) => counts,
            None => self.0.entry(model.to_owned()).or_default(),
        };
        counts.add(usage);
    }

    pub(super) fn snapshot(&self) -> Vec<ModelSnapshot> {
        self.0
            .iter()
            .map(|(model, counts)| ModelSnapshot {
                model: model.clone(),
                counts: counts.clone(),
            })
            .collect()
    }
}

impl TokenCounts {
    fn add(&mut self, usage: &Usage) {
        self.requests += 1;
        if !usage.reported() {
            self.requests_without_usage += 1;
        }
        if !usage.complete {
            self.incomplete += 1;
        }
        let sum = |total: &mut u64, figure: Option<u64>| {
            *total = total.saturating_add(figure.unwrap_or(0));
        };
        sum(&mut self.input_tokens, usage.input_tokens);
        sum(&mut self.cache_read_tokens, usage.cache_read_tokens);
        sum(&mut self.cache_write_tokens, usage.cache_write_tokens);
        sum(&mut self.output_tokens, usage.output_tokens);
        sum(&mut self.reasoning_tokens, usage.reasoning_tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(model: Option<&str>, input: Option<u64>, output: Option<u64>) -> Usage {
        Usage {
            model: model.map(str::to_owned),
            input_tokens: input,
            output_tokens: output,
            complete: true,
            ..Usage::default()
        }
    }

    #[test]
    fn sums_reported_figures_per_model_and_counts_the_unreported_apart() {
        let mut models = Models::default();
        models.add(&usage(Some("b"), Some(10), Some(3)));
        models.add(&usage(Some("b"), None, Some(4)));
        models.add(&usage(Some("b"), None, None));
        models.add(&Usage {
            complete: false,
            ..usage(None, Some(1), None)
        });
        let snapshot = models.snapshot();
        let names: Vec<&str> = snapshot.iter().map(|m| m.model.as_str()).collect();
        assert_eq!(names, [UNKNOWN_MODEL, "b"]);
        let b = &snapshot[1].counts;
        assert_eq!(
            (b.requests, b.requests_without_usage, b.incomplete),
            (3, 1, 0)
        );
        assert_eq!((b.input_tokens, b.output_tokens), (10, 7));
        assert_eq!(b.cache_read_tokens, 0);
        let unknown = &snapshot[0].counts;
        assert_eq!((unknown.requests, unknown.incomplete), (1, 1));
        assert_eq!(unknown.input_tokens, 1);
    }

    #[test]
    fn names_past_the_cap_count_as_other() {
        let mut models = Models::default();
        for n in 0..MAX_MODELS + 11 {
            models.add(&usage(Some(&format!("model-{n}")), Some(1), None));
        }
        models.add(&usage(Some("model-0"), Some(1), None));
        let snapshot = models.snapshot();
        assert_eq!(
            snapshot.len(),
            MAX_MODELS + 1,
            "the names and {OTHER_MODELS}"
        );
        let find = |name: &str| {
            let found = snapshot.iter().find(|m| m.model == name);
            found.map(|m| m.counts.requests)
        };
        assert_eq!(find(OTHER_MODELS), Some(11));
        assert_eq!(find("model-0"), Some(2));
        let total: u64 = snapshot.iter().map(|m| m.counts.input_tokens).sum();
        assert_eq!(total, MAX_MODELS as u64 + 12);
    }
}
