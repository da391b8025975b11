#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use super::*;

/// A chat request whose turns each call `tool` with `arguments` and get
/// `output` back.
fn chat(turns: &[(&str, Value, String)]) -> String {
    let mut messages = vec![json!({"role": "system", "content": "You are an agent."})];
    for (index, (tool, arguments, output)) in turns.iter().enumerate() {
        let id = format!("call_{index}");
        messages.push(json!({"role": "assistant", "content": "", "tool_calls": [
            {"id": id, "type": "function", "function": {"name": tool, "arguments": arguments.to_string()}}
        ]}));
        messages.push(json!({"role": "tool", "tool_call_id": id, "content": output}));
    }
    json!({"model": "m", "messages": messages, "tools": [{"type": "function"}]}).to_string()
}

fn test_log(lines: usize) -> String {
    let mut text = String::from("running tests\n");
    for n in 0..lines {
        if n == lines / 2 {
            text.push_str("test parser::status_code ... FAILED\n");
        } else {
            text.push_str(&format!("test parser::case_{n} ... ok\n"));
        }
    }
    text.push_str("\nerror: test failed, to rerun pass `--lib`\n");
    text
}

fn file(lines: usize, changed: Option<usize>) -> String {
    (1..=lines)
        .map(|n| match changed {
            Some(at) if at == n => format!("{n}: let status = parse(digits);"),
            _ => format!("{n}: fn line_{n}() {{ body_{n}(); }}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn engine() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Engine::new(SpillDir::new(dir.path().join("spill"))), dir)
}

fn tool_contents(body: &str) -> Vec<String> {
    let value: Value = serde_json::from_str(body).unwrap();
    value["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_long_test_run_is_cut_and_kept_whole_in_its_spill_file() {
    let (engine, _dir) = engine();
    let log = test_log(2000);
    let body = chat(&[("bash", json!({"command": "cargo test"}), log.clone())]);
    let rewritten = engine
        .rewrite(&body, Family::OpenAiChat, Level::Safe)
        .unwrap();
    let sent = rewritten.body.unwrap();
    let output = &tool_contents(&sent)[0];
    assert!(output.contains("test parser::status_code ... FAILED"));
    assert!(output.contains("error: test failed"));
    assert!(output.len() < log.len() / 10, "{}", output.len());
    let spill = output
        .split("full output in ")
        .nth(1)
        .and_then(|rest| rest.split([';', ']']).next())
        .unwrap();
    assert_eq!(std::fs::read_to_string(spill).unwrap(), log);
    let tokens = rewritten.counts.count(&body);
    assert!(tokens.after * 10 < tokens.before, "{tokens:?}");
    // Everything but the output is the client's, byte for byte.
    let start = body.find(r#""content":"running tests"#).unwrap();
    assert_eq!(sent[..start], body[..start]);
    assert!(sent.ends_with(r#""}],"tools":[{"type":"function"}]}"#));
}

#[test]
fn a_file_read_is_never_cut_and_a_reread_sends_only_its_changes() {
    let (engine, _dir) = engine();
    let before = file(400, None);
    let after = file(400, Some(120));
    let read = |path: &str| json!({"filePath": path});
    let body = chat(&[
        ("read", read("/src/parser.rs"), before.clone()),
        (
            "edit",
            json!({"filePath": "/src/parser.rs"}),
            "Edit applied successfully.".into(),
        ),
        ("read", read("/src/parser.rs"), after),
        ("read", read("/src/other.rs"), before.clone()),
    ]);
    let sent = engine
        .rewrite(&body, Family::OpenAiChat, Level::Safe)
        .unwrap()
        .body
        .unwrap();
    let outputs = tool_contents(&sent);
    assert_eq!(outputs[0], before);
    assert_eq!(
        outputs[2],
        "[headroom: the output of call call_0 above with its lines 120-120 replaced by these:]\n120: let status = parse(digits);"
    );
    assert_eq!(
        outputs[3],
        "[headroom: the same output as call call_0 above]"
    );
}

#[test]
fn the_same_output_is_sent_the_same_way_on_every_turn_and_by_every_engine() {
    let turns: Vec<(&str, Value, String)> = (0..6)
        .map(|n| {
            (
                "bash",
                json!({"command": format!("run {n}")}),
                test_log(300 + n),
            )
        })
        .collect();
    let (first, _a) = engine();
    let (second, _b) = engine();
    let mut previous: Option<String> = None;
    for count in 1..=turns.len() {
        let body = chat(&turns[..count]);
        let sent = first
            .rewrite(&body, Family::OpenAiChat, Level::Safe)
            .unwrap()
            .body
            .unwrap();
        let again = first
            .rewrite(&body, Family::OpenAiChat, Level::Safe)
            .unwrap()
            .body
            .unwrap();
        assert_eq!(sent, again);
        let other = second
            .rewrite(&body, Family::OpenAiChat, Level::Safe)
            .unwrap()
            .body
            .unwrap();
        // Spill paths differ by directory only.
        assert_eq!(tool_contents(&sent).len(), tool_contents(&other).len());
        if let Some(previous) = &previous {
            // The earlier request, less its closing, is where this one starts.
            let cut = previous.find(r#"],"tools""#).unwrap();
            assert!(
                sent.starts_with(&previous[..cut]),
                "turn {count} broke the prefix"
            );
        }
        previous = Some(sent);
    }
}

/// A turn that reads a file of `30 + n` short lines, nothing to cut.
fn short_read(n: usize) -> (&'static str, Value, String) {
    (
        "read",
        json!({"filePath": format!("/src/{n}.rs")}),
        file(30 + n, None),
    )
}

/// Fourteen turns that each read a file of 150 lines or more: enough
/// stale output for aggressive mode's checkpoints.
fn long_reads() -> Vec<(&'static str, Value, String)> {
    (0..14)
        .map(|n| {
            (
                "read",
                json!({"filePath": format!("/src/f{n}.rs")}),
                file(150 + n, None),
            )
        })
        .collect()
}

#[test]
fn aggressive_mode_elides_stale_outputs_in_sticky_batches() {
    let (engine, _dir) = engine();
    let turns = long_reads();
    let mut previous: Option<(String, usize)> = None;
    let mut elided_counts = Vec::new();
    for count in 1..=turns.len() {
        let body = chat(&turns[..count]);
        let rewritten = engine
            .rewrite(&body, Family::OpenAiChat, Level::Aggressive)
            .unwrap();
        let may_rewrite_cache = rewritten.counts.count(&body).may_rewrite_cache;
        // The provider read it, the cache read of a warm conversation.
        rewritten.conversation.answered(Some(50_000), Some(40_000));
        let sent = rewritten.body.unwrap_or(body.clone());
        let outputs = tool_contents(&sent);
        let elided = outputs.iter().filter(|o| o.contains("was elided")).count();
        let previously = previous.as_ref().map_or(0, |(_, elided)| *elided);
        assert_eq!(
            may_rewrite_cache,
            elided > previously,
            "turn {count}: the request that elides more says so, no other"
        );
        // The most recent outputs are never elided.
        for (output, turn) in outputs.iter().zip(&turns).rev().take(RECENT_OUTPUTS) {
            assert_eq!(output, &turn.2);
        }
        for stub in outputs.iter().filter(|o| o.contains("was elided")) {
            let path = stub
                .split("full text is in ")
                .nth(1)
                .unwrap()
                .trim_end_matches(']');
            assert!(turns
                .iter()
                .any(|t| std::fs::read_to_string(path).ok().as_deref() == Some(t.2.as_str())));
        }
        if let Some((previous, previous_elided)) = &previous {
            if elided == *previous_elided {
                let cut = previous.find(r#"],"tools""#).unwrap();
                assert!(
                    sent.starts_with(&previous[..cut]),
                    "turn {count} rewrote the cache without a checkpoint"
                );
            } else {
                assert!(elided > *previous_elided, "an elided output came back");
            }
        }
        elided_counts.push(elided);
        previous = Some((sent, elided));
    }
    let checkpoints = elided_counts.windows(2).filter(|w| w[1] != w[0]).count();
    assert!(elided_counts.last().unwrap() > &0, "{elided_counts:?}");
    assert!(checkpoints <= 3, "{elided_counts:?}");
}

/// Whether the rewrite of `turns` says it may have changed bytes the
/// provider's cache held; its answer reported usage when `answered`.
fn may_rewrite_cache(engine: &Engine, turns: &[(&str, Value, String)], answered: bool) -> bool {
    let body = chat(turns);
    let rewritten = engine
        .rewrite(&body, Family::OpenAiChat, Level::Safe)
        .unwrap();
    if answered {
        rewritten.conversation.answered(Some(50_000), Some(40_000));
    }
    rewritten.counts.count(&body).may_rewrite_cache
}

#[test]
fn a_conversation_met_midway_may_have_its_earlier_outputs_cached_whole() {
    let (engine, _dir) = engine();
    let log = ("bash", json!({"command": "cargo test"}), test_log(2000));
    let read = ("read", json!({"filePath": "/src/a.rs"}), file(40, None));
    // A new conversation: its first output was never sent before.
    assert!(!may_rewrite_cache(
        &engine,
        std::slice::from_ref(&log),
        true
    ));
    assert!(!may_rewrite_cache(
        &engine,
        &[log.clone(), read.clone()],
        true
    ));

    // Resumed in another process: its earlier test log went whole to the
    // provider then, and is cut now.
    let (resumed, _other) = self::engine();
    let turns = [read.clone(), log.clone(), read.clone()];
    assert!(may_rewrite_cache(&resumed, &turns, false));
    // Until an answer says the provider has read it as it is sent now.
    assert!(may_rewrite_cache(&resumed, &turns, true));
    let next = [read.clone(), log, read.clone(), read];
    assert!(!may_rewrite_cache(&resumed, &next, true));
}

/// Another process may have sent its earlier outputs otherwise (stubs of
/// a cold cache, say): sending them as the client does is no safer.
#[test]
fn a_conversation_met_midway_counts_as_rewritten_whatever_it_rewrites() {
    let (engine, _dir) = engine();
    assert!(may_rewrite_cache(
        &engine,
        &[short_read(1), short_read(2), short_read(3)],
        true
    ));
    assert!(!may_rewrite_cache(
        &engine,
        &[short_read(1), short_read(2), short_read(3), short_read(4)],
        true
    ));
}

/// Fewer stubs than the provider has seen re-write its cache as surely as
/// more: a conversation switched from aggressive to safe mode.
#[test]
fn stubs_taken_back_count_as_a_rewrite() {
    let (engine, _dir) = engine();
    let turns = long_reads();
    let mut stubbed = false;
    for count in 1..=turns.len() {
        let body = chat(&turns[..count]);
        let rewritten = engine
            .rewrite(&body, Family::OpenAiChat, Level::Aggressive)
            .unwrap();
        rewritten.conversation.answered(Some(50_000), Some(40_000));
        stubbed |= rewritten
            .body
            .is_some_and(|sent| sent.contains("was elided"));
    }
    assert!(stubbed, "no checkpoint in 14 turns");
    let body = chat(&turns);
    let safe = engine
        .rewrite(&body, Family::OpenAiChat, Level::Safe)
        .unwrap();
    assert!(safe.counts.count(&body).may_rewrite_cache);
}

/// Each model has a cache of its own: an answer from one says nothing of
/// what another's holds.
#[test]
fn another_models_cache_is_a_conversation_met_midway() {
    let (engine, _dir) = engine();
    let flagged = |turns: &[(&str, Value, String)], model: &str| {
        let body = chat(turns);
        let rewritten = engine
            .rewrite_at(
                &body,
                Family::OpenAiChat,
                Level::Safe,
                Some(model),
                Instant::now(),
            )
            .unwrap();
        rewritten.conversation.answered(Some(50_000), Some(40_000));
        rewritten.counts.count(&body).may_rewrite_cache
    };
    assert!(!flagged(&[short_read(1)], "opus"));
    assert!(!flagged(&[short_read(1), short_read(2)], "opus"));
    assert!(flagged(
        &[short_read(1), short_read(2), short_read(3)],
        "sonnet"
    ));
    assert!(!flagged(
        &[short_read(1), short_read(2), short_read(3), short_read(4)],
        "sonnet"
    ));
}

/// A checkpoint whose answer never came (a 529, a cut) left the cache as
/// it was: the retry that sends the same stubs re-writes it all the same.
#[test]
fn stubs_count_as_seen_only_once_an_answer_reports_them() {
    let (engine, _dir) = engine();
    let turns = long_reads();
    let rewrite = |count: usize| {
        let body = chat(&turns[..count]);
        let rewritten = engine
            .rewrite(&body, Family::OpenAiChat, Level::Aggressive)
            .unwrap();
        let flagged = rewritten.counts.count(&body).may_rewrite_cache;
        (rewritten.conversation, flagged)
    };
    let mut checkpoint = None;
    for count in 1..=turns.len() {
        let (conversation, flagged) = rewrite(count);
        if flagged {
            checkpoint = Some(count);
            break;
        }
        conversation.answered(Some(50_000), Some(40_000));
    }
    let count = checkpoint.unwrap_or_else(|| panic!("no checkpoint in 14 turns"));
    let (retry, flagged) = rewrite(count);
    assert!(flagged, "the retry of an unanswered checkpoint");
    retry.answered(Some(50_000), Some(40_000));
    assert!(
        !rewrite(count + 1).1,
        "the turn after an answered checkpoint"
    );
}

#[test]
fn nothing_is_done_when_off_or_without_outputs() {
    let (engine, _dir) = engine();
    let body = chat(&[("bash", json!({}), test_log(500))]);
    assert!(engine
        .rewrite(&body, Family::OpenAiChat, Level::Off)
        .is_none());
    let plain = r#"{"messages":[{"role":"user","content":"hi"}]}"#;
    assert!(engine
        .rewrite(plain, Family::OpenAiChat, Level::Safe)
        .is_none());
    assert!(engine
        .rewrite("{broken", Family::OpenAiChat, Level::Safe)
        .is_none());
}

#[test]
fn a_cold_cache_lets_aggressive_mode_elide_every_stale_output_at_once() {
    let (engine, _dir) = engine();
    let turns: Vec<(&str, Value, String)> = (0..7)
        .map(|n| {
            (
                "read",
                json!({"filePath": format!("/src/f{n}.rs")}),
                file(40 + n, None),
            )
        })
        .collect();
    let start = std::time::Instant::now();
    let send = |count: usize, seconds: u64| {
        let body = chat(&turns[..count]);
        let at = start + std::time::Duration::from_secs(seconds);
        let sent = engine
            .rewrite_at(&body, Family::OpenAiChat, Level::Aggressive, None, at)
            .unwrap();
        tool_contents(&sent.body.unwrap_or(body))
    };
    let elided = |outputs: &[String]| outputs.iter().filter(|o| o.contains("was elided")).count();
    // Too little to checkpoint, and the cache is warm.
    assert_eq!(elided(&send(5, 0)), 0);
    // Six minutes later the cache is cold: all but the latest three go.
    let cold = send(6, 360);
    assert_eq!(elided(&cold[..3]), 3);
    assert_eq!(
        cold[3..],
        turns[3..6].iter().map(|t| t.2.clone()).collect::<Vec<_>>()[..]
    );
    // The next turn, warm again, renders the same stubs and elides no more.
    let next = send(7, 370);
    assert_eq!(next[..3], cold[..3]);
    assert_eq!(elided(&next), 3);
}
