#![allow(clippy::unwrap_used)]

use super::*;

fn head(method: &str, path: &str, headers: &[(&str, &str)]) -> request::Parts {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("https://api.example.com{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

fn stage(level: Level) -> (Compressor, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        level,
        spill_dir: dir.path().join("spill"),
        spill_dir_named: true,
        spill_retention: Duration::from_secs(3600),
    };
    (Compressor::new(&settings), dir)
}

/// What the stage says of a request, given the API the proxy reads from it.
fn wanted(stage: &Compressor, parts: &request::Parts) -> bool {
    stage.wants(Family::called_by(&parts.method, parts.uri.path()), parts)
}

fn replace(stage: &Compressor, parts: &request::Parts, body: &Bytes) -> Replaced {
    stage.replace(
        Family::called_by(&parts.method, parts.uri.path()),
        parts,
        body,
    )
}

const JSON: (&str, &str) = ("content-type", "application/json; charset=utf-8");

#[test]
fn it_wants_json_posts_to_llm_routes_only() {
    let (safe, _dir) = stage(Level::Safe);
    let wants = |parts: &request::Parts| wanted(&safe, parts);
    for path in [
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/messages",
        "/api/anthropic/v1/messages",
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
    ] {
        assert!(wants(&head("POST", path, &[JSON])), "{path}");
    }
    assert!(!wants(&head("GET", "/v1/chat/completions", &[JSON])));
    assert!(!wants(&head("POST", "/v1/embeddings", &[JSON])));
    assert!(!wants(&head("POST", "/v1/chat/completions", &[])));
    assert!(!wants(&head(
        "POST",
        "/v1/chat/completions",
        &[("content-type", "text/plain")]
    )));
    let zstd = [JSON, ("content-encoding", "zstd")];
    assert!(wants(&head("POST", "/v1/chat/completions", &zstd)));
    let gzip = [JSON, ("content-encoding", "gzip")];
    assert!(!wants(&head("POST", "/v1/chat/completions", &gzip)));
    assert!(wants(&head(
        "POST",
        "/v1/chat/completions",
        &[("content-type", "application/vnd.api+json")]
    )));
}

#[test]
fn a_requests_level_overrides_the_stages_own() {
    let (safe, _dir) = stage(Level::Safe);
    let mut parts = head("POST", "/v1/chat/completions", &[JSON]);
    parts.extensions.insert(Level::Off);
    assert!(!wanted(&safe, &parts));
    let (off, _dir) = stage(Level::Off);
    let mut parts = head("POST", "/v1/chat/completions", &[JSON]);
    assert!(!wanted(&off, &parts));
    parts.extensions.insert(Level::Aggressive);
    assert!(wanted(&off, &parts));
}

#[test]
fn replace_counts_tokens_and_passes_what_it_cannot_read() {
    let (safe, _dir) = stage(Level::Safe);
    let parts = head("POST", "/v1/chat/completions", &[JSON]);
    let spaced = "a   \n\n\n\n\nb   \n".repeat(50);
    let body = serde_json::json!({"messages": [
        {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "bash", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": spaced},
    ]})
    .to_string();
    let replaced = replace(&safe, &parts, &Bytes::from(body.clone()));
    let tokens = counted(replaced.counting.unwrap());
    assert!(tokens.after < tokens.before, "{tokens:?}");
    let sent = replaced.body.unwrap();
    assert!(sent.len() < body.len());
    for unreadable in [&b"\xff\xfe not utf-8"[..], b"{\"messages\":3}", b""] {
        let replaced = replace(&safe, &parts, &Bytes::copy_from_slice(unreadable));
        assert!(replaced.body.is_none() && replaced.counting.is_none());
    }
}

/// The counts, made now if the stage left them for later.
fn counted(counting: Counting) -> ToolTokens {
    match counting {
        Counting::Known(tokens) => tokens,
        Counting::Later(count) => count(),
    }
}

#[test]
fn a_big_new_output_is_counted_after_the_request_and_known_on_the_next() {
    let (safe, _dir) = stage(Level::Safe);
    let parts = head("POST", "/v1/chat/completions", &[JSON]);
    let listing: String = (0..3000)
        .map(|n| format!("src/module_{n}/file_{n}.rs\n"))
        .collect();
    let body = serde_json::json!({"messages": [
        {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "read", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": listing},
    ]});
    let body = Bytes::from(body.to_string());
    let first = replace(&safe, &parts, &body);
    // A file read is sent as it is, and nothing needed its count.
    assert!(first.body.is_none());
    let Some(Counting::Later(count)) = first.counting else {
        panic!("expected the count left for later: {:?}", first.counting);
    };
    let tokens = count();
    let exact = super::tokens::count(&listing) as u64;
    assert_eq!(
        tokens,
        ToolTokens {
            before: exact,
            after: exact,
            may_rewrite_cache: false,
        }
    );
    // The same output on the next turn: its count is remembered.
    let second = replace(&safe, &parts, &body);
    assert!(matches!(second.counting, Some(Counting::Known(known)) if known == tokens));
}

#[test]
fn a_zstd_body_is_read_and_sent_in_zstd() {
    let (safe, _dir) = stage(Level::Safe);
    let parts = head(
        "POST",
        "/v1/responses",
        &[JSON, ("content-encoding", "zstd")],
    );
    let log: String = (0..1500)
        .map(|n| format!("test tests::case_{n} ... ok\n"))
        .collect();
    let body = serde_json::json!({"input": [
        {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": log},
    ]})
    .to_string();
    let encoded = Bytes::from(zstd::bulk::compress(body.as_bytes(), 3).unwrap());
    let replaced = replace(&safe, &parts, &encoded);
    let sent = zstd::stream::decode_all(&replaced.body.unwrap()[..]).unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&sent).unwrap();
    let output = sent["input"][1]["output"].as_str().unwrap();
    assert!(output.len() * 10 < log.len(), "{output}");
    let tokens = counted(replaced.counting.unwrap());
    assert!(tokens.after * 10 < tokens.before, "{tokens:?}");
    // A body that does not decode goes as it came.
    let broken = replace(
        &safe,
        &parts,
        &Bytes::from_static(b"\x28\xb5\x2f\xfd broken"),
    );
    assert!(broken.body.is_none() && broken.counting.is_none());
}

#[test]
fn a_named_spill_dir_that_cannot_be_made_is_refused_and_the_default_one_warned_of() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("file");
    std::fs::write(&file, "").unwrap();
    let mut settings = Settings {
        level: Level::Safe,
        spill_dir: file.join("spill"),
        spill_dir_named: true,
        spill_retention: Duration::from_secs(3600),
    };
    assert!(settings.check_spill_dir().is_err());
    settings.spill_dir_named = false;
    let warning = settings.check_spill_dir().ok().flatten();
    assert!(warning.is_some_and(|w| w.contains("sent uncut")));
    settings.level = Level::Off;
    assert_eq!(settings.check_spill_dir().ok(), Some(None));
    settings.spill_dir = temp.path().join("spill");
    settings.level = Level::Safe;
    assert_eq!(settings.check_spill_dir().ok(), Some(None));
}
