//! One request's rewrite: each tool output's form is chosen (its own
//! rewrite, a reference to an earlier output, or, past a checkpoint, a
//! stub), and the chosen literals are spliced into the client's bytes.
//! Every byte outside a rewritten string stays as the client sent it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::cold::{conversation_key, model_key, Conversations};
use super::counts::{Counted, Counts};
use super::locate::{self, Output};
use super::memo::{Forms, Key, Memo};
use super::spill::SpillDir;
use super::tokens::{self, Measured};
use super::tool::{self, Kind};
use super::{clean, cut, fold, repeat, Level};
use crate::usage::Family;

/// A shell output longer than this many tokens is cut.
pub const CUT_TOKENS: usize = 800;
/// Aggressive mode never elides this many most recent outputs.
pub const RECENT_OUTPUTS: usize = 3;
/// Aggressive mode elides stale outputs in batches of at least this many
/// tokens: each batch re-writes the provider's cache once.
pub const CHECKPOINT_TOKENS: usize = 16000;
/// An output shorter than this is not worth a stub.
const MIN_ELIDED_TOKENS: usize = 200;

/// A request body with its tool outputs rewritten, and what to count.
#[derive(Debug)]
pub struct Rewritten {
    /// The new body; `None` when no output changed.
    pub body: Option<String>,
    /// The tokens of its tool outputs, before and after.
    pub counts: Counts,
    /// The conversation, to be told of the answer.
    pub conversation: Conversation,
}

/// The conversation a request belongs to, to be told what its answer
/// reported: whether the provider caches it, and that it has now seen the
/// request's stubs.
#[derive(Debug, Clone)]
pub struct Conversation {
    key: u64,
    /// The model asked for (hashed), and the leading outputs among which
    /// the request sent stubs.
    sent: (u64, usize),
    conversations: Arc<Conversations>,
}

impl Conversation {
    /// Notes the answer's prompt tokens and cache read (see
    /// `Conversations::answered`).
    pub fn answered(&self, input_tokens: Option<u64>, cache_read_tokens: Option<u64>) {
        self.conversations
            .answered(self.key, input_tokens, cache_read_tokens, self.sent);
    }
}

/// Rewrites requests; shared by every request of a proxy.
pub struct Engine {
    spill: SpillDir,
    memo: Memo,
    conversations: Arc<Conversations>,
}

/// The form chosen for one output.
enum Form<'a> {
    Own,
    Literal(String, usize),
    Borrowed(&'a (String, usize)),
}

impl Form<'_> {
    /// The literal to send and its text's tokens; `None` to send the
    /// output as the client did.
    fn literal<'s>(&'s self, forms: &'s Forms) -> Option<(&'s str, usize)> {
        let (literal, tokens) = match self {
            Form::Own => forms.rewrite.as_ref()?,
            Form::Literal(literal, tokens) => return Some((literal, *tokens)),
            Form::Borrowed(pair) => pair,
        };
        Some((literal, *tokens))
    }
}

impl Engine {
    pub fn new(spill: SpillDir) -> Engine {
        Engine {
            spill,
            memo: Memo::default(),
            conversations: Arc::default(),
        }
    }

    /// `body`, a request of `family`, with its tool outputs rewritten at
    /// `level`; `None` when it holds no tool output or is not the JSON its
    /// route expects.
    pub fn rewrite(&self, body: &str, family: Family, level: Level) -> Option<Rewritten> {
        self.rewrite_at(body, family, level, None, Instant::now())
    }

    /// `rewrite`, for a request that asks for `model` (providers cache per
    /// model, which telling whether a request may have changed what a
    /// cache holds needs) and arrived at `now`.
    pub fn rewrite_at(
        &self,
        body: &str,
        family: Family,
        level: Level,
        model: Option<&str>,
        now: Instant,
    ) -> Option<Rewritten> {
        if level == Level::Off {
            return None;
        }
        let outputs = locate::outputs(body, family);
        if outputs.is_empty() {
            return None;
        }
        let kinds: Vec<Kind> = outputs.iter().map(|o| Kind::of(o.call.as_ref())).collect();
        let keys: Vec<Key> = outputs
            .iter()
            .zip(&kinds)
            .map(|(output, kind)| Key::new(output.literal, *kind))
            .collect();
        let forms: Vec<Arc<Forms>> = outputs
            .iter()
            .zip(&keys)
            .map(|(output, key)| {
                self.memo
                    .forms(*key, || self.make_forms(output.literal, key))
            })
            .collect();
        let key = conversation_key(keys[0], outputs[0].call_id.as_deref());
        let elided = match level {
            Level::Aggressive => {
                let stale = outputs.len().saturating_sub(RECENT_OUTPUTS);
                let cold = self.conversations.cold_elided(key, stale, now);
                checkpointed(&outputs, &forms, cold)
            }
            _ => vec![false; outputs.len()],
        };
        let scanned = Scanned {
            outputs: &outputs,
            keys: &keys,
            kinds: &kinds,
            elided: &elided,
        };
        let mut chosen = Vec::with_capacity(outputs.len());
        let mut earlier = Earlier::default();
        for index in 0..outputs.len() {
            let form = if elided[index] {
                self.stub(&outputs[index], &forms[index])
            } else {
                self.reference(&scanned, &earlier, index)
                    .unwrap_or(Form::Own)
            };
            chosen.push(form);
            earlier.note(&scanned, index);
        }
        let (body, mut counts) = splice(body, &outputs, &forms, &chosen);
        let stubbed = (0..outputs.len())
            .filter(|&index| elided[index] && !matches!(chosen[index], Form::Own))
            .map(|index| index + 1)
            .max()
            .unwrap_or(0);
        let model = model_key(model);
        let may_rewrite_cache = match self.conversations.answered_reach(key, model) {
            // Stubs further than the provider has seen, or fewer.
            Some(reach) => stubbed != reach,
            // Met midway (a resumed session, a restart, a memory that
            // started over): the provider may hold its earlier outputs as
            // another process, or none, sent them.
            None => outputs.iter().any(|output| output.replied),
        };
        if may_rewrite_cache {
            counts.note_cache_rewrite();
        }
        Some(Rewritten {
            body,
            counts,
            conversation: Conversation {
                key,
                sent: (model, stubbed),
                conversations: self.conversations.clone(),
            },
        })
    }

    /// An output's forms. Its own count is made here only as far as the
    /// choices need it: a rewrite's few tokens against the client's.
    fn make_forms(&self, literal: &str, key: &Key) -> Forms {
        let Ok(text) = serde_json::from_str::<String>(literal) else {
            return Forms::new(Some(0), None);
        };
        let mut measured = Measured::new(&text);
        let rewrite = self
            .transform(&mut measured, key.kind())
            .filter(|new| *new != text)
            .map(|new| (tokens::count(&new), new))
            .filter(|(new_tokens, _)| measured.more_than(*new_tokens))
            .and_then(|(new_tokens, new)| Some((serde_json::to_string(&new).ok()?, new_tokens)));
        Forms::new(measured.known(), rewrite)
    }

    /// An output's own rewrite, from its text alone.
    fn transform(&self, measured: &mut Measured<'_>, kind: Kind) -> Option<String> {
        let text = measured.text();
        match kind {
            // A file the agent asked to read is what it needs, as it is.
            Kind::Read => None,
            Kind::Shell => {
                let was_cut = measured
                    .more_than(CUT_TOKENS)
                    .then(|| self.spill_path(text))
                    .flatten()
                    .and_then(|path| cut::cut(text, &path));
                let mut out = clean::clean(was_cut.as_deref().unwrap_or(text));
                if was_cut.is_none() {
                    out = json_form(&out).unwrap_or(out);
                }
                Some(fold::fold_routine(&out).unwrap_or(out))
            }
            Kind::Other => {
                let out = clean::clean(text);
                Some(json_form(&out).unwrap_or(out))
            }
        }
    }

    /// The spill file holding `text`, written if it was not; `None` (with a
    /// warning) when it cannot be written: then nothing is cut.
    fn spill_path(&self, text: &str) -> Option<std::path::PathBuf> {
        match self.spill.keep(text) {
            Ok(path) => Some(path),
            Err(error) => {
                tracing::warn!(
                    dir = %self.spill.dir().display(),
                    %error,
                    "cannot write a spill file; sending the output uncut"
                );
                None
            }
        }
    }

    /// A reference to an earlier output, when this one repeats it: the same
    /// text, or (a file read again) the same file with some lines changed.
    /// Never to an elided output, which no longer shows its text.
    fn reference<'f>(
        &self,
        scanned: &Scanned<'_, '_>,
        seen: &Earlier<'_>,
        index: usize,
    ) -> Option<Form<'f>> {
        let Scanned {
            outputs,
            keys,
            kinds,
            elided,
        } = scanned;
        let output = &outputs[index];
        let id = output.call_id.as_deref()?;
        if let Some(&earlier) = seen.first_seen.get(output.literal) {
            let earlier_id = outputs[earlier].call_id.as_deref()?;
            if elided[earlier] || earlier_id == id {
                return None;
            }
            let text = repeat::identical(earlier_id);
            let tokens = tokens::count(&text);
            return Some(Form::Literal(serde_json::to_string(&text).ok()?, tokens));
        }
        if kinds[index] != Kind::Read {
            return None;
        }
        let path = output.call.as_ref().and_then(tool::read_path)?;
        let earlier = *seen.last_read.get(&path)?;
        if elided[earlier] {
            return None;
        }
        let earlier_id = outputs[earlier].call_id.as_deref()?;
        let (literal, tokens) = self.memo.edit(keys[index], keys[earlier], || {
            let text: String = serde_json::from_str(output.literal).ok()?;
            let before: String = serde_json::from_str(outputs[earlier].literal).ok()?;
            let edit = repeat::as_edit_of(&text, &before, earlier_id)?;
            let tokens = tokens::count(&edit);
            Measured::new(&text).more_than(tokens).then_some(())?;
            Some((serde_json::to_string(&edit).ok()?, tokens))
        })?;
        Some(Form::Literal(literal, tokens))
    }

    /// The stub of an elided output, naming the spill file that holds it.
    fn stub<'f>(&self, output: &Output<'_>, forms: &'f Forms) -> Form<'f> {
        let stub = forms.stub.get_or_init(|| {
            let text: String = serde_json::from_str(output.literal).ok()?;
            let path = self.spill_path(&text)?;
            let tool = output.call.as_ref().map_or("tool", |call| call.name.as_str());
            let stub = format!(
                "[headroom: this {tool} output ({} tokens) was elided to save context; its full text is in {}]",
                forms.tokens(output.literal),
                path.display()
            );
            let tokens = tokens::count(&stub);
            Some((serde_json::to_string(&stub).ok()?, tokens))
        });
        stub.as_ref().map_or(Form::Own, Form::Borrowed)
    }
}

/// A request's outputs, as choosing each one's form reads them.
struct Scanned<'r, 'b> {
    outputs: &'r [Output<'b>],
    keys: &'r [Key],
    kinds: &'r [Kind],
    elided: &'r [bool],
}

/// The earlier outputs an output may refer to: where each text first
/// appeared, and the latest read of each file.
#[derive(Default)]
struct Earlier<'b> {
    first_seen: HashMap<&'b str, usize>,
    last_read: HashMap<String, usize>,
}

impl<'b> Earlier<'b> {
    /// Notes output `index`, once its form is chosen.
    fn note(&mut self, scanned: &Scanned<'_, 'b>, index: usize) {
        let output = &scanned.outputs[index];
        self.first_seen.entry(output.literal).or_insert(index);
        if scanned.kinds[index] == Kind::Read {
            if let Some(path) = output.call.as_ref().and_then(tool::read_path) {
                self.last_read.insert(path, index);
            }
        }
    }
}

/// The smaller JSON form of `text`, a table or minified, when it is JSON.
fn json_form(text: &str) -> Option<String> {
    match (clean::json_table(text), clean::minify_json(text)) {
        (Some(table), Some(minified)) if minified.len() < table.len() => Some(minified),
        (Some(table), _) => Some(table),
        (None, minified) => minified,
    }
}

/// Which outputs aggressive mode elides: stale outputs (all but the most
/// recent few) in checkpoints, each a run of outputs from the start of the
/// conversation whose own forms reach `CHECKPOINT_TOKENS`. The checkpoints
/// are a function of the outputs alone, so a later request of the same
/// conversation draws the same ones and renders exactly the same stubs.
/// The first `cold` outputs are elided too: a cold cache let them go.
///
/// Only stale outputs are counted here; a stale output was new on an
/// earlier request, and counted after it was sent.
fn checkpointed(outputs: &[Output<'_>], forms: &[Arc<Forms>], cold: usize) -> Vec<bool> {
    let stale = forms.len().saturating_sub(RECENT_OUTPUTS);
    let worth_a_stub =
        |index: usize| forms[index].own_tokens(outputs[index].literal) >= MIN_ELIDED_TOKENS;
    let mut elided = vec![false; forms.len()];
    let mut batch_start = 0;
    let mut batch_tokens = 0;
    for index in 0..stale {
        batch_tokens += forms[index].own_tokens(outputs[index].literal);
        if batch_tokens < CHECKPOINT_TOKENS {
            continue;
        }
        (batch_start..=index).for_each(|in_batch| elided[in_batch] = worth_a_stub(in_batch));
        batch_start = index + 1;
        batch_tokens = 0;
    }
    (0..cold.min(stale)).for_each(|index| elided[index] = worth_a_stub(index));
    elided
}

/// The body with each chosen literal in place of its output's (`None` when
/// none changed), and what to count.
fn splice(
    body: &str,
    outputs: &[Output<'_>],
    forms: &[Arc<Forms>],
    chosen: &[Form<'_>],
) -> (Option<String>, Counts) {
    let mut out = String::new();
    let mut copied = 0;
    let mut counts = Counts::default();
    for ((output, forms), form) in outputs.iter().zip(forms).zip(chosen) {
        let sent = form.literal(forms).map(|(literal, tokens)| {
            push_replaced(&mut out, body, &mut copied, output, literal);
            tokens
        });
        counts.push(Counted {
            span: output.span.clone(),
            forms: forms.clone(),
            sent,
        });
    }
    let body = (copied > 0).then(|| {
        out.push_str(&body[copied..]);
        out
    });
    (body, counts)
}

fn push_replaced(
    out: &mut String,
    body: &str,
    copied: &mut usize,
    output: &Output<'_>,
    literal: &str,
) {
    if out.capacity() == 0 {
        out.reserve(body.len());
    }
    out.push_str(&body[*copied..output.span.start]);
    out.push_str(literal);
    *copied = output.span.end;
}

#[cfg(test)]
mod tests;
