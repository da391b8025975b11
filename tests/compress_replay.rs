//! Replays every recorded session through the compression stage and holds
//! it to its rules: each rewritten request is JSON of the same shape, every
//! byte outside a tool output is the client's, safe mode never shortens a
//! request's cached prefix, every spill file holds its original whole, and
//! problem lines of the latest outputs are kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use common::sessions::{self, shared_prefix, Session};
use headroom::compress::{may_hold_tool_outputs, tool_output_spans, Engine, Level, SpillDir};
use serde_json::Value;

/// The pieces of `body` between its tool outputs.
fn outside_outputs(body: &str, family: headroom::usage::Family) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut at = 0;
    for span in tool_output_spans(body, family) {
        pieces.push(&body[at..span.start]);
        at = span.end;
    }
    pieces.push(&body[at..]);
    pieces
}

/// The decoded tool outputs of `body`.
fn outputs(body: &str, family: headroom::usage::Family) -> Vec<String> {
    tool_output_spans(body, family)
        .into_iter()
        .map(|span| serde_json::from_str(&body[span]).unwrap())
        .collect()
}

/// The spill files a rewritten output names.
fn spill_paths(text: &str, dir: &str) -> Vec<String> {
    text.match_indices(dir)
        .map(|(at, _)| {
            let rest = &text[at..];
            let end = rest.find(".txt").map_or(rest.len(), |end| end + 4);
            rest[..end].to_owned()
        })
        .collect()
}

fn names_a_problem(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    ["error", "failed", "panicked", "traceback"]
        .iter()
        .any(|w| lower.contains(w))
}

struct Replayed {
    prefix_breaks: usize,
    rewritten: usize,
}

fn replay(session: &Session, level: Level) -> Replayed {
    let spill = tempfile::tempdir().unwrap();
    let dir = spill.path().to_str().unwrap().to_owned();
    let engine = Engine::new(SpillDir::new(spill.path().to_path_buf()));
    let mut originals: HashSet<String> = HashSet::new();
    let mut previous: Option<(&str, String)> = None;
    let mut replayed = Replayed {
        prefix_breaks: 0,
        rewritten: 0,
    };
    let what = |index: usize| format!("{} request {}", session.name, index + 1);
    for (index, request) in session.requests.iter().enumerate() {
        let Some(family) = request.family() else {
            continue;
        };
        let body = request.body.as_str();
        let before = outputs(body, family);
        originals.extend(before.iter().cloned());
        let sent = match engine.rewrite(body, family, level) {
            Some(rewritten) => {
                let tokens = rewritten.counts.count(body);
                assert!(tokens.after <= tokens.before, "{}", what(index));
                rewritten.body.unwrap_or_else(|| body.to_owned())
            }
            None => body.to_owned(),
        };
        if sent != body {
            replayed.rewritten += 1;
        }
        // Valid JSON, and byte for byte the client's outside the outputs.
        let parsed: Value =
            serde_json::from_str(&sent).unwrap_or_else(|e| panic!("{}: {e}", what(index)));
        assert!(parsed.is_object(), "{}", what(index));
        assert_eq!(
            outside_outputs(&sent, family),
            outside_outputs(body, family),
            "{}",
            what(index)
        );
        let after = outputs(&sent, family);
        assert_eq!(after.len(), before.len(), "{}", what(index));
        for text in &after {
            for path in spill_paths(text, &dir) {
                let kept = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                assert!(
                    originals.contains(&kept),
                    "{path} of {} holds no original output",
                    what(index)
                );
            }
        }
        // The problem lines of the latest three outputs, as sent or as
        // found in the earlier output a reference names.
        for (original, text) in before.iter().zip(&after).rev().take(3) {
            let whole: String = after.join("\n");
            for line in original.lines().filter(|line| names_a_problem(line)) {
                assert!(
                    text.contains(line) || whole.contains(line),
                    "{}: the problem line {line:?} was lost",
                    what(index)
                );
            }
        }
        let is_turn = parsed.get("tools").is_some();
        if is_turn {
            if let Some((client_previous, sent_previous)) = &previous {
                let (client_shared, _) = shared_prefix(client_previous, body);
                let (our_shared, _) = shared_prefix(sent_previous, &sent);
                if our_shared < client_shared {
                    replayed.prefix_breaks += 1;
                }
            }
            previous = Some((body, sent));
        }
    }
    replayed
}

#[test]
#[cfg_attr(
    sessions_missing,
    ignore = "the recorded sessions (../shared/data/sessions) are not here"
)]
fn safe_mode_keeps_every_rule_on_every_recorded_session() {
    let mut rewritten = 0;
    for session in sessions::all() {
        let replayed = replay(&session, Level::Safe);
        assert_eq!(
            replayed.prefix_breaks, 0,
            "{}: safe mode broke a cached prefix",
            session.name
        );
        rewritten += replayed.rewritten;
    }
    assert!(rewritten > 50, "only {rewritten} requests were rewritten");
}

#[test]
#[cfg_attr(
    sessions_missing,
    ignore = "the recorded sessions (../shared/data/sessions) are not here"
)]
fn aggressive_mode_keeps_the_latest_outputs_and_every_elided_one_recoverable() {
    for session in sessions::all() {
        replay(&session, Level::Aggressive);
        // The latest three outputs of the last turn are never elided.
        let spill = tempfile::tempdir().unwrap();
        let engine = Engine::new(SpillDir::new(spill.path().to_path_buf()));
        let Some(last) = session
            .requests
            .iter()
            .rev()
            .find(|r| r.body.contains("\"tools\""))
        else {
            continue;
        };
        let family = last.family().unwrap();
        let sent = engine
            .rewrite(&last.body, family, Level::Aggressive)
            .and_then(|rewritten| rewritten.body)
            .unwrap_or_else(|| last.body.clone());
        for text in outputs(&sent, family).iter().rev().take(3) {
            assert!(
                !text.contains("was elided"),
                "{}: a recent output was elided",
                session.name
            );
        }
    }
}

#[test]
#[cfg_attr(
    sessions_missing,
    ignore = "the recorded sessions (../shared/data/sessions) are not here"
)]
fn the_look_before_parsing_never_skips_a_body_with_outputs() {
    let (mut held, mut skipped) = (0, 0);
    for session in sessions::all() {
        for (index, request) in session.requests.iter().enumerate() {
            let Some(family) = request.family() else {
                continue;
            };
            let body = request.body.as_str();
            let look = may_hold_tool_outputs(body.as_bytes(), family);
            if !tool_output_spans(body, family).is_empty() {
                assert!(look, "{} request {}", session.name, index + 1);
                held += 1;
            } else if !look {
                skipped += 1;
            }
        }
    }
    assert!(held > 50, "only {held} requests hold outputs");
    assert!(skipped > 0, "the look skipped no request");
}
