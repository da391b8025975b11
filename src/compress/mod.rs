//! The compression stage: rewrites the tool outputs of requests on the LLM
//! routes so that they cost fewer tokens, without ever changing a byte a
//! provider's prompt cache has seen. Each output is rewritten once, as a
//! pure function of its bytes and its tool, and sent the same way on every
//! later turn; whatever is cut stays whole in a spill file the cut names.
//! See docs/compression.md.

mod clean;
mod cold;
mod counts;
mod cut;
mod encoding;
mod fold;
mod lines;
mod locate;
mod memo;
mod render;
mod repeat;
mod spill;
mod tokens;
mod tool;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, request};

use crate::cli::{CompressArgs, CompressLevel};
use crate::error::UsageError;
pub use crate::proxy::stages::Level;
use crate::proxy::stages::{Counting, OnAnswer, Replaced, RequestStage, Stages, ToolTokens};
use crate::usage::request_model::{self, ModelScan};
use crate::usage::Family;
pub use counts::Counts;
use encoding::BodyEncoding;
pub use render::{Engine, Rewritten};
pub use spill::SpillDir;

/// How the stage is set up: its default level and where cut outputs go.
#[derive(Debug, Clone)]
pub struct Settings {
    pub level: Level,
    pub spill_dir: PathBuf,
    /// The user named the spill directory (`--spill-dir`).
    pub spill_dir_named: bool,
    /// Spill files older than this are removed when the stage starts.
    pub spill_retention: Duration,
}

impl Settings {
    pub fn from_args(args: &CompressArgs) -> Settings {
        Settings {
            level: match args.compress {
                CompressLevel::Off => Level::Off,
                CompressLevel::Safe => Level::Safe,
                CompressLevel::Aggressive => Level::Aggressive,
            },
            spill_dir: args.spill_dir.clone().unwrap_or_else(default_spill_dir),
            spill_dir_named: args.spill_dir.is_some(),
            spill_retention: args.spill_retention,
        }
    }

    /// Checks, with compression on, that the spill directory can be created
    /// and written. One the user named is refused, like a bad flag; the
    /// default one only costs the cuts (an output that cannot be spilled is
    /// sent uncut), so it is a warning to show, and the start goes on.
    pub fn check_spill_dir(&self) -> Result<Option<String>, UsageError> {
        if self.level == Level::Off {
            return Ok(None);
        }
        let Err(why) = SpillDir::new(self.spill_dir.clone()).check() else {
            return Ok(None);
        };
        let dir = self.spill_dir.display();
        if self.spill_dir_named {
            return Err(UsageError::new(format!(
                "the spill directory {dir} cannot be used: {why}; give --spill-dir a directory you can write, or pass --compress off"
            )));
        }
        Ok(Some(format!(
            "the spill directory {dir} cannot be used: {why}; long tool outputs are sent uncut (give --spill-dir a directory you can write)"
        )))
    }
}

/// `$XDG_STATE_HOME/headroom/spill`, where the agent's own tools can read
/// it; a directory under the system's temporary one without a home.
fn default_spill_dir() -> PathBuf {
    crate::xdg::headroom_dir("XDG_STATE_HOME", ".local/state")
        .unwrap_or_else(|| std::env::temp_dir().join("headroom"))
        .join("spill")
}

/// `stages` with the compression stage, unless it is off for every request:
/// a request cannot turn on what the proxy was started without.
pub fn install(stages: Stages, settings: &Settings) -> Stages {
    match settings.level {
        Level::Off => stages,
        _ => stages.with_request(Arc::new(Compressor::new(settings))),
    }
}

/// Where the tool outputs of `body`, a request of `family`, lie: the byte
/// ranges of their JSON string literals, in order.
pub fn tool_output_spans(body: &str, family: Family) -> Vec<std::ops::Range<usize>> {
    locate::outputs(body, family)
        .into_iter()
        .map(|output| output.span)
        .collect()
}

/// False only when `body`, a request of `family`, holds no tool output
/// that [`tool_output_spans`] would find: a look at its bytes, no parse.
pub fn may_hold_tool_outputs(body: &[u8], family: Family) -> bool {
    locate::may_hold_outputs(body, family)
}

/// The request stage that compresses tool outputs.
pub struct Compressor {
    level: Level,
    engine: Engine,
}

impl Compressor {
    /// The stage for `settings`; prunes old spill files on a thread of its
    /// own. The tokenizer (some 30 MiB of ranks) is built on first use, by
    /// the first request with a tool output: a proxy that never sees one
    /// stays small.
    pub fn new(settings: &Settings) -> Compressor {
        let spill = SpillDir::new(settings.spill_dir.clone());
        let pruned = spill.clone();
        let retention = settings.spill_retention;
        let _ = std::thread::Builder::new()
            .name("headroom-spill-prune".into())
            .spawn(move || pruned.prune(retention));
        Compressor {
            level: settings.level,
            engine: Engine::new(spill),
        }
    }

    /// The level a request asked for, else the stage's own.
    fn level(&self, parts: &request::Parts) -> Level {
        parts
            .extensions
            .get::<Level>()
            .copied()
            .unwrap_or(self.level)
    }
}

impl RequestStage for Compressor {
    fn wants(&self, api: Option<Family>, parts: &request::Parts) -> bool {
        // `api` is set for POSTs to an LLM route only.
        api.is_some()
            && self.level(parts) != Level::Off
            // A body it could not re-encode the same way goes untouched.
            && BodyEncoding::of(&parts.headers).is_some()
            && is_json(&parts.headers)
    }

    fn replace(&self, api: Option<Family>, parts: &request::Parts, body: &Bytes) -> Replaced {
        let Some(family) = api else {
            return Replaced::default();
        };
        let Some(encoding) = BodyEncoding::of(&parts.headers) else {
            return Replaced::default();
        };
        let Some(plain) = encoding.decode(body) else {
            return Replaced::default();
        };
        // Most bodies hold no tool output: a look at their bytes spares
        // them the parse.
        if !locate::may_hold_outputs(&plain, family) {
            return Replaced::default();
        }
        let Ok(text) = std::str::from_utf8(&plain) else {
            return Replaced::default();
        };
        let model = asked_model(family, parts, &plain);
        let level = self.level(parts);
        let now = Instant::now();
        let Some(rewritten) = self
            .engine
            .rewrite_at(text, family, level, model.as_deref(), now)
        else {
            return Replaced::default();
        };
        let Rewritten {
            body: new,
            counts,
            conversation,
        } = rewritten;
        let new = match new.map(|new| encoding.encode(new)) {
            None => None,
            Some(Some(encoded)) => Some(encoded),
            // Not encoded again: the client's body goes as it came.
            Some(None) => return Replaced::default(),
        };
        let counting = match counts.known() {
            Some(tokens) => Counting::Known(tokens),
            None => {
                let body = plain.clone();
                Counting::Later(Box::new(move || {
                    std::str::from_utf8(&body)
                        .map_or_else(|_| ToolTokens::default(), |text| counts.count(text))
                }))
            }
        };
        let on_answer = OnAnswer::new(move |usage| {
            conversation.answered(usage.input_tokens, usage.cache_read_tokens)
        });
        Replaced {
            body: new,
            counting: Some(counting),
            on_answer: Some(on_answer),
        }
    }
}

/// The model a request asks for: Gemini names it in the path, the other
/// APIs in the body.
fn asked_model(family: Family, parts: &request::Parts, body: &[u8]) -> Option<String> {
    match family {
        Family::Gemini => request_model::from_gemini_path(parts.uri.path()),
        _ => {
            let mut scan = ModelScan::default();
            scan.feed(body);
            scan.finish()
        }
    }
}

/// True when the body says it is JSON: only such a body is held back to
/// be read whole; any other streams on as it comes.
fn is_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim)
        .is_some_and(|essence| {
            // Compared in place, without allocating: this runs on every
            // POST to an LLM route.
            let suffix = essence
                .len()
                .checked_sub(5)
                .and_then(|at| essence.get(at..));
            essence.eq_ignore_ascii_case("application/json")
                || suffix.is_some_and(|tail| tail.eq_ignore_ascii_case("+json"))
        })
}

#[cfg(test)]
mod tests;
