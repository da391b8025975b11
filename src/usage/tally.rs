//! What the documents of one response reported, folded as they are read,
//! and turned into the ledger's one meaning for each figure at the end.

use super::bounded::{push_bounded, MAX_DOCUMENT_BYTES};
use super::document::{names_model, names_usage, Picked};
use super::Family;
use serde_json::Value;

/// Counts in the provider's own meaning (Anthropic's `input` excludes cached
/// tokens, Gemini's `output` excludes thoughts); `None` is not reported.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Reported {
    input: Option<u64>,
    cache_read: Option<u64>,
    cache_write: Option<u64>,
    output: Option<u64>,
    reasoning: Option<u64>,
}

impl Reported {
    /// Keeps the latest reported value of each figure: Anthropic's
    /// `message_delta` repeats some of `message_start`'s and updates others.
    fn overlay(&mut self, newer: Reported) {
        self.input = newer.input.or(self.input);
        self.cache_read = newer.cache_read.or(self.cache_read);
        self.cache_write = newer.cache_write.or(self.cache_write);
        self.output = newer.output.or(self.output);
        self.reasoning = newer.reasoning.or(self.reasoning);
    }
}

/// The ledger's figures: `input` counts every prompt token, cached or not;
/// `output` includes reasoning.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counts {
    pub input: Option<u64>,
    pub cache_read: Option<u64>,
    pub cache_write: Option<u64>,
    pub output: Option<u64>,
    pub reasoning: Option<u64>,
}

pub(super) struct Tally {
    family: Family,
    model: Option<String>,
    reported: Reported,
    /// Gemini's latest document with usage, parsed only at the end: every
    /// chunk carries the running total, and copying one is far cheaper than
    /// parsing it.
    last_running_total: Vec<u8>,
}

impl Tally {
    pub fn new(family: Family) -> Tally {
        Tally {
            family,
            model: None,
            reported: Reported::default(),
            last_running_total: Vec::new(),
        }
    }

    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// Takes in one document of the response (a body, an event's data, an
    /// array element). This runs on every event of every stream, most of
    /// which carry a token or two of text: only those that can tell
    /// something new are parsed.
    pub fn read(&mut self, document: &[u8]) {
        let usage = names_usage(document);
        if usage && self.family == Family::Gemini {
            self.last_running_total.clear();
            if !push_bounded(&mut self.last_running_total, document, MAX_DOCUMENT_BYTES) {
                self.last_running_total = Vec::new();
            }
        } else if usage || (self.model.is_none() && names_model(document)) {
            self.parse(document);
        }
    }

    /// The response ended (or was cut): reads what was kept for the end.
    pub fn finish(&mut self) {
        let last = std::mem::take(&mut self.last_running_total);
        if !last.is_empty() {
            self.parse(&last);
        }
    }

    fn parse(&mut self, document: &[u8]) {
        let picked = Picked::parse(document);
        let nested = picked.nested.as_deref();
        let model = picked
            .model
            .or_else(|| nested.and_then(|n| n.model.clone()));
        if let Some(model) = model.filter(|m| !m.is_empty()) {
            self.model = Some(model);
        }
        // Streams carry usage in the Responses API's `response.completed`
        // (or `.incomplete`) response and in Anthropic's `message_start`
        // message as well as at the top.
        let nested_usage = match self.family {
            Family::Anthropic | Family::OpenAiResponses => nested.and_then(|n| n.usage.as_ref()),
            Family::OpenAiChat | Family::Gemini => None,
        };
        let from_start = picked.usage.is_none() && nested_usage.is_some();
        let Some(usage) = picked
            .usage
            .as_ref()
            .or(nested_usage)
            .filter(|u| u.is_object())
        else {
            return;
        };
        match self.family {
            Family::OpenAiChat => self.reported.overlay(Reported {
                input: count(usage, &["prompt_tokens"]),
                cache_read: count(usage, &["prompt_tokens_details", "cached_tokens"]),
                cache_write: None,
                output: count(usage, &["completion_tokens"]),
                reasoning: count(usage, &["completion_tokens_details", "reasoning_tokens"]),
            }),
            Family::OpenAiResponses => self.reported.overlay(Reported {
                input: count(usage, &["input_tokens"]),
                cache_read: count(usage, &["input_tokens_details", "cached_tokens"]),
                cache_write: None,
                output: count(usage, &["output_tokens"]),
                reasoning: count(usage, &["output_tokens_details", "reasoning_tokens"]),
            }),
            Family::Anthropic => self.reported.overlay(Reported {
                input: count(usage, &["input_tokens"]),
                cache_read: count(usage, &["cache_read_input_tokens"]),
                cache_write: count(usage, &["cache_creation_input_tokens"]),
                // message_start's output_tokens is a placeholder from before
                // generation; only message_delta counts the output.
                output: count(usage, &["output_tokens"]).filter(|_| !from_start),
                reasoning: None,
            }),
            // Each chunk's usageMetadata is the running total, so the last
            // one replaces the others whole.
            Family::Gemini => {
                self.reported = Reported {
                    input: proto_count(usage, "promptTokenCount"),
                    cache_read: proto_count(usage, "cachedContentTokenCount"),
                    cache_write: None,
                    output: proto_count(usage, "candidatesTokenCount"),
                    reasoning: proto_count(usage, "thoughtsTokenCount"),
                }
            }
        }
    }

    /// The figures in the ledger's meaning.
    pub fn counts(&self) -> Counts {
        let r = self.reported;
        match self.family {
            // prompt/input tokens already include the cached ones, and
            // completion/output tokens the reasoning ones.
            Family::OpenAiChat | Family::OpenAiResponses => Counts {
                input: r.input,
                cache_read: r.cache_read,
                cache_write: r.cache_write,
                output: r.output,
                reasoning: r.reasoning,
            },
            // Anthropic's input_tokens are only those after the last cache
            // breakpoint; a cache figure it does not report adds nothing.
            Family::Anthropic => Counts {
                input: r.input.map(|input| {
                    input
                        .saturating_add(r.cache_read.unwrap_or(0))
                        .saturating_add(r.cache_write.unwrap_or(0))
                }),
                cache_read: r.cache_read,
                cache_write: r.cache_write,
                output: r.output,
                reasoning: None,
            },
            // promptTokenCount includes cached content; candidatesTokenCount
            // excludes thoughts, which are billed as output.
            Family::Gemini => Counts {
                input: r.input,
                cache_read: r.cache_read,
                cache_write: None,
                output: r.output.zip(r.reasoning).map(|(c, t)| c.saturating_add(t)),
                reasoning: r.reasoning,
            },
        }
    }
}

/// The unsigned integer at `path` inside `usage`, if there is one.
fn count(usage: &Value, path: &[&str]) -> Option<u64> {
    path.iter()
        .try_fold(usage, |value, key| value.get(key))
        .and_then(Value::as_u64)
}

/// A Gemini count: its JSON is proto3's, which leaves out a count that is
/// zero, so a missing member of a present usageMetadata means 0.
fn proto_count(usage: &Value, key: &str) -> Option<u64> {
    match usage.get(key) {
        None => Some(0),
        Some(value) => value.as_u64(),
    }
}
