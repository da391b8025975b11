//! What one request's tool outputs count, before and after. A count no
//! choice needed is made after the request is sent.

use std::ops::Range;
use std::sync::Arc;

use super::memo::Forms;
use crate::proxy::stages::ToolTokens;

/// The tokens of one request's tool outputs as the client sent them and as
/// headroom sends them. A new output's count may not be known yet: the
/// proxy makes it while the request is upstream.
#[derive(Debug, Default)]
pub struct Counts {
    outputs: Vec<Counted>,
    /// The request may have changed bytes the provider's cache held (see
    /// `ToolTokens::may_rewrite_cache`).
    may_rewrite_cache: bool,
}

#[derive(Debug)]
pub struct Counted {
    /// Where the output's literal lies in the client's body.
    pub span: Range<usize>,
    pub forms: Arc<Forms>,
    /// Tokens of what headroom sends in its place; `None` when it sends
    /// the client's own.
    pub sent: Option<usize>,
}

impl Counts {
    pub fn push(&mut self, output: Counted) {
        self.outputs.push(output);
    }

    /// Notes that the request may have changed bytes the cache held.
    pub fn note_cache_rewrite(&mut self) {
        self.may_rewrite_cache = true;
    }

    /// The counts, when every output's is known without counting.
    pub fn known(&self) -> Option<ToolTokens> {
        let mut tokens = self.empty();
        for output in &self.outputs {
            let client = output.forms.known_tokens()? as u64;
            tokens.before += client;
            tokens.after += output.sent.map_or(client, |sent| sent as u64);
        }
        Some(tokens)
    }

    /// The counts, counting what is not known yet; `body` is the request's
    /// body as the client sent it. Each count made is remembered.
    pub fn count(&self, body: &str) -> ToolTokens {
        let mut tokens = self.empty();
        for output in &self.outputs {
            let literal = body.get(output.span.clone()).unwrap_or_default();
            let client = output.forms.tokens(literal) as u64;
            tokens.before += client;
            tokens.after += output.sent.map_or(client, |sent| sent as u64);
        }
        tokens
    }

    fn empty(&self) -> ToolTokens {
        ToolTokens {
            may_rewrite_cache: self.may_rewrite_cache,
            ..ToolTokens::default()
        }
    }
}
