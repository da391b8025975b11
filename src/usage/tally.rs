//! What the documents of one response reported, folded as they are read,
//! and turned into the ledger's one meaning for each figure at the end.

use super::bounded::{push_bounded, MAX_DOCUMENT_BYTES};
use super::document::{self, names_model, names_usage};
use super::figures::Member::*;
use super::picked::Picked;
use super::Family;

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

    /// The model the documents named, taken out.
    pub fn take_model(&mut self) -> Option<String> {
        self.model.take()
    }

    /// Takes in one document of the response (a body, an event's data, an
    /// array element). This runs on every event of every stream, most of
    /// which carry a token or two of text: only those that can tell
    /// something new are parsed.
    pub fn read(&mut self, document: &[u8]) {
        let Some(usage) = self.news_in(document) else {
            return;
        };
        if usage && self.family == Family::Gemini {
            self.last_running_total.clear();
            if !push_bounded(&mut self.last_running_total, document, MAX_DOCUMENT_BYTES) {
                self.last_running_total = Vec::new();
            }
        } else {
            self.parse(document);
        }
    }

    /// Can `document` tell something new, by a look at its bytes? `None`
    /// when not; else whether it names a usage (or only the model, still
    /// unknown).
    fn news_in(&self, document: &[u8]) -> Option<bool> {
        let usage = names_usage(document);
        (usage || (self.model.is_none() && names_model(document))).then_some(usage)
    }

    /// Reads `chunk` when it is one whole document that can tell something
    /// new, as a JSON answer usually arrives: parsed once, with no scan for
    /// where documents start and end. False when it is anything else (part
    /// of a document, several, not JSON, nothing new): the caller then
    /// splits it into documents, and reads them with [`Tally::read`].
    pub fn read_if_whole(&mut self, chunk: &[u8]) -> bool {
        let document = chunk.trim_ascii();
        let object = document.starts_with(b"{") && document.ends_with(b"}");
        if !object || document.len() > MAX_DOCUMENT_BYTES {
            return false;
        }
        let Some(usage) = self.news_in(document) else {
            return false;
        };
        let Some(picked) = document::read_whole(document) else {
            return false;
        };
        if usage {
            // This is now the latest of Gemini's running totals.
            self.last_running_total.clear();
        }
        self.take(picked);
        true
    }

    /// The response ended (or was cut): reads what was kept for the end.
    pub fn finish(&mut self) {
        let last = std::mem::take(&mut self.last_running_total);
        if !last.is_empty() {
            self.parse(&last);
        }
    }

    fn parse(&mut self, document: &[u8]) {
        self.take(document::read(document));
    }

    /// Folds in what one document reported.
    fn take(&mut self, picked: Picked) {
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
            .and_then(|u| u.figures())
        else {
            return;
        };
        let count = |member| usage.get(member).number();
        match self.family {
            Family::OpenAiChat => self.reported.overlay(Reported {
                input: count(PromptTokens),
                cache_read: count(PromptCachedTokens),
                cache_write: None,
                output: count(CompletionTokens),
                reasoning: count(CompletionReasoningTokens),
            }),
            Family::OpenAiResponses => self.reported.overlay(Reported {
                input: count(InputTokens),
                cache_read: count(InputCachedTokens),
                cache_write: None,
                output: count(OutputTokens),
                reasoning: count(OutputReasoningTokens),
            }),
            Family::Anthropic => self.reported.overlay(Reported {
                input: count(InputTokens),
                cache_read: count(CacheReadInputTokens),
                cache_write: count(CacheCreationInputTokens),
                // message_start's output_tokens is a placeholder from before
                // generation; only message_delta counts the output.
                output: count(OutputTokens).filter(|_| !from_start),
                reasoning: None,
            }),
            // Each chunk's usageMetadata is the running total, so the last
            // one replaces the others whole.
            Family::Gemini => {
                let proto = |member| usage.get(member).proto();
                self.reported = Reported {
                    input: proto(PromptTokenCount),
                    cache_read: proto(CachedContentTokenCount),
                    cache_write: None,
                    output: proto(CandidatesTokenCount),
                    reasoning: proto(ThoughtsTokenCount),
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
