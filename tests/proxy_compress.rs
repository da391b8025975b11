//! The compression stage in `headroom proxy`: a request's long command
//! output reaches the upstream cut, with a correct length, the whole of it
//! in a spill file; `X-Headroom-Compress` turns it off per request, a bad
//! value is refused, and a body the stage cannot re-encode goes untouched.
//! In aggressive mode, an answer that read nothing from the provider's
//! cache lets the conversation's next request elide its stale outputs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::mock::MockUpstream;
use common::{client, family_defaults, request, send, ProxyProcess};
use serde_json::{json, Value};

fn test_run(lines: usize) -> String {
    let mut text = String::new();
    for n in 0..lines {
        text.push_str(&format!("test tests::case_{n} ... ok\n"));
    }
    text.push_str("test tests::status_code ... FAILED\nerror: test failed\n");
    text
}

/// A chat request whose one tool call ran `cargo test` and got `output`.
fn chat_body(output: &str) -> String {
    json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "fix it"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "bash", "arguments": "{\"command\":\"cargo test\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": output}
        ]
    })
    .to_string()
}

/// Bodies too long to print when they differ.
fn assert_same(seen: &[u8], sent: &str) {
    let first_difference = seen.iter().zip(sent.as_bytes()).position(|(a, b)| a != b);
    assert!(
        seen == sent.as_bytes(),
        "the upstream got {} bytes, the client sent {}; first difference at {first_difference:?}: {:?}",
        seen.len(),
        sent.len(),
        String::from_utf8_lossy(&seen[..seen.len().min(200)]),
    );
}

fn tool_output(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).unwrap();
    value["messages"][2]["content"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_long_command_output_reaches_the_upstream_cut_and_stays_whole_on_disk() {
    let mock = MockUpstream::start();
    let spill = tempfile::tempdir().unwrap();
    let spill_dir = spill.path().to_str().unwrap();
    let url = mock.url();
    let mut args = vec!["--log-format", "json", "--spill-dir", spill_dir];
    args.extend(family_defaults(&url));
    let proxy = ProxyProcess::start(&args);
    let client = client();
    let output = test_run(1200);
    let json = [("content-type", "application/json")];
    let body = chat_body(&output);

    let got = send(
        &client,
        request(
            "POST",
            &proxy.url("/v1/chat/completions"),
            &json,
            body.clone(),
        ),
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.text());
    let seen = mock.last();
    assert_eq!(
        seen.header("content-length"),
        Some(seen.body.len().to_string().as_str())
    );
    assert!(
        seen.body.len() * 10 < body.len(),
        "{} of {}",
        seen.body.len(),
        body.len()
    );
    let sent = tool_output(&seen.body);
    assert!(
        sent.contains("test tests::status_code ... FAILED\n"),
        "{sent}"
    );
    assert!(sent.contains("error: test failed"), "{sent}");
    let spilled: Vec<_> = std::fs::read_dir(spill.path()).unwrap().flatten().collect();
    assert_eq!(spilled.len(), 1);
    assert_eq!(std::fs::read_to_string(spilled[0].path()).unwrap(), output);
    assert!(
        sent.contains(&spilled[0].path().display().to_string()),
        "{sent}"
    );

    // Off for this request: the body goes as it came, header and all gone.
    let off = [
        ("content-type", "application/json"),
        ("x-headroom-compress", "off"),
    ];
    let got = send(
        &client,
        request(
            "POST",
            &proxy.url("/v1/chat/completions"),
            &off,
            body.clone(),
        ),
    )
    .await;
    assert_eq!(got.status, 200);
    let seen = mock.last();
    assert_same(&seen.body, &body);
    assert!(seen
        .headers
        .keys()
        .all(|name| !name.as_str().starts_with("x-headroom")));

    // A body the stage could not re-encode the same way goes untouched.
    let gzip = [
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
    ];
    send(
        &client,
        request(
            "POST",
            &proxy.url("/v1/chat/completions"),
            &gzip,
            body.clone(),
        ),
    )
    .await;
    assert_same(&mock.last().body, &body);

    // Neither a route without tool outputs nor a body it cannot read.
    for (path, sent) in [
        ("/v1/embeddings", body.clone()),
        ("/v1/chat/completions", "{not json".into()),
    ] {
        send(
            &client,
            request("POST", &proxy.url(path), &[], sent.clone()),
        )
        .await;
        assert_same(&mock.last().body, &sent);
    }

    let stats = send(&client, request("GET", &proxy.url("/stats"), &[], ""))
        .await
        .json();
    let compression = &stats["compression"];
    assert_eq!(compression["requests"], 1, "{stats}");
    let before = compression["tool_tokens_before"].as_u64().unwrap();
    let after = compression["tool_tokens_after"].as_u64().unwrap();
    assert!(after * 10 < before, "{compression}");
    let line = proxy
        .log()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| event["fields"]["tool_tokens_before"].is_u64())
        .unwrap_or_else(|| panic!("no tool token counts in the log:\n{}", proxy.log()));
    assert_eq!(line["fields"]["tool_tokens_before"], before);
    assert_eq!(line["fields"]["tool_tokens_after"], after);
}

#[tokio::test]
async fn a_bad_compress_header_is_refused_and_never_forwarded() {
    let mock = MockUpstream::start();
    let url = mock.url();
    let proxy = ProxyProcess::start(&family_defaults(&url));
    let client = client();
    for headers in [
        vec![("x-headroom-compress", "max")],
        vec![
            ("x-headroom-compress", "safe"),
            ("x-headroom-compress", "off"),
        ],
    ] {
        let got = send(
            &client,
            request("POST", &proxy.url("/v1/chat/completions"), &headers, "{}"),
        )
        .await;
        assert_eq!(got.status, 400, "{headers:?}");
        let error = got.json();
        assert_eq!(error["error"]["code"], "bad_compress_header", "{error}");
        assert!(error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("X-Headroom-Compress"));
    }
    assert!(mock.requests().is_empty());
}

#[test]
fn the_level_flag_takes_only_its_values() {
    let (code, stderr) = ProxyProcess::refused_at_start(&["--compress", "max"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("off, safe, aggressive"), "{stderr}");
}

/// Found only at the first cut, such a directory would leave every cut
/// output uncut.
#[test]
fn a_spill_dir_that_cannot_be_made_stops_the_start_unless_compression_is_off() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("file");
    std::fs::write(&file, "").unwrap();
    let file = file.to_str().unwrap();
    for dir in [file.to_string(), format!("{file}/spill")] {
        let (code, stderr) =
            ProxyProcess::refused_at_start(&["--no-ledger", "--port", "0", "--spill-dir", &dir]);
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(
            stderr,
            format!("headroom: error: the spill directory {dir} cannot be used: {file} is not a directory; give --spill-dir a directory you can write, or pass --compress off\n")
        );
    }
    let made = temp.path().join("new/spill");
    let _proxy = ProxyProcess::start(&["--spill-dir", made.to_str().unwrap()]);
    assert!(made.is_dir());
    let _off = ProxyProcess::start(&["--compress", "off", "--spill-dir", file]);
}

/// The default spill directory is not the user's choice: one that cannot
/// be made costs only the cuts, so the proxy says so and serves.
#[test]
fn a_default_spill_dir_that_cannot_be_made_is_a_warning() {
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("headroom"), "").unwrap();
    let state_home = state.path().to_str().unwrap();
    let proxy = ProxyProcess::start_with_env(&[], &[("XDG_STATE_HOME", state_home)]);
    let log = proxy.log();
    let warning = format!(
        "the spill directory {state_home}/headroom/spill cannot be used: {state_home}/headroom is not a directory; long tool outputs are sent uncut"
    );
    assert!(log.contains(&warning), "{log}");
}

/// A mock, a proxy in front of it, and the temporary spill dir it uses.
fn proxy_spilling_to_a_temporary_dir() -> (MockUpstream, ProxyProcess, tempfile::TempDir) {
    let mock = MockUpstream::start();
    let spill = tempfile::tempdir().unwrap();
    let url = mock.url();
    let mut args = vec!["--spill-dir", spill.path().to_str().unwrap()];
    args.extend(family_defaults(&url));
    let proxy = ProxyProcess::start(&args);
    (mock, proxy, spill)
}

/// A chat request of a conversation that read `files` (each answered by a
/// distinct file's text) in turn; `topic` tells conversations apart.
fn reads_body(topic: &str, files: usize) -> String {
    let mut messages = vec![json!({"role": "user", "content": format!("explain {topic}")})];
    for n in 0..files {
        let id = format!("call_{topic}_{n}");
        let arguments = json!({ "filePath": format!("/src/{topic}_{n}.rs") }).to_string();
        messages.push(json!({"role": "assistant", "content": "", "tool_calls": [
            {"id": id, "type": "function", "function": {"name": "read", "arguments": arguments}}
        ]}));
        let text: String = (0..80)
            .map(|line| format!("{line}: let {topic}_{n}_{line} = compute({line});\n"))
            .collect();
        messages.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
    }
    json!({ "model": "m", "messages": messages }).to_string()
}

/// The tool outputs of a chat body, in order.
fn tool_outputs(body: &[u8]) -> Vec<String> {
    let value: Value = serde_json::from_slice(body).unwrap();
    value["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|message| message["role"] == "tool")
        .map(|message| message["content"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_answer_that_read_no_cache_lets_the_next_request_elide_stale_outputs() {
    let (mock, proxy, _spill) = proxy_spilling_to_a_temporary_dir();
    let client = client();
    let path = proxy.url("/v1/chat/completions");
    let aggressive = ("x-headroom-compress", "aggressive");
    let json = ("content-type", "application/json");
    // Two conversations, four turns each; the mock's answers to the first
    // read no cache, its answers to the second read some (of a prompt too
    // short to say anything).
    for files in 3..=6 {
        for (topic, headers) in [
            ("uncached", vec![json, aggressive, ("x-mock-uncached", "1")]),
            ("cached", vec![json, aggressive]),
        ] {
            let got = send(
                &client,
                request("POST", &path, &headers, reads_body(topic, files)),
            )
            .await;
            assert_eq!(got.status, 200, "{}", got.text());
        }
    }
    let seen = mock.requests();
    // The uncached conversation's turns: the first two go whole; from the
    // third on (after its second answer, the first whose prompt had been
    // sent before, read nothing) every stale output is a stub naming the
    // spill file that holds it, and the latest three are whole.
    for (turn, stubs) in [(0, 0), (1, 0), (2, 2), (3, 3)] {
        let files = turn + 3;
        let sent = tool_outputs(&seen[turn * 2].body);
        let whole = tool_outputs(reads_body("uncached", files).as_bytes());
        assert_eq!(sent.len(), files);
        for (n, (output, original)) in sent.iter().zip(&whole).enumerate() {
            if n < stubs {
                assert!(
                    output.starts_with("[headroom: this read output"),
                    "turn {turn}, output {n}: {output}"
                );
                let spilled = output.split("is in ").nth(1).unwrap().trim_end_matches(']');
                assert!(std::fs::read_to_string(spilled).unwrap() == *original);
            } else {
                assert!(output == original, "turn {turn}, output {n} changed");
            }
        }
    }
    // The cached conversation's outputs all go whole.
    for turn in 0..4 {
        let sent = tool_outputs(&seen[turn * 2 + 1].body);
        assert!(
            sent == tool_outputs(reads_body("cached", turn + 3).as_bytes()),
            "turn {turn}"
        );
    }
}

#[tokio::test]
async fn a_zstd_request_reaches_the_upstream_cut_and_in_zstd() {
    let (mock, proxy, _spill) = proxy_spilling_to_a_temporary_dir();
    let output = test_run(1200);
    let body = chat_body(&output);
    let encoded = zstd::bulk::compress(body.as_bytes(), 3).unwrap();
    let headers = [
        ("content-type", "application/json"),
        ("content-encoding", "zstd"),
    ];
    let path = proxy.url("/v1/chat/completions");
    let got = send(&client(), request("POST", &path, &headers, encoded)).await;
    assert_eq!(got.status, 200, "{}", got.text());
    let seen = mock.last();
    assert_eq!(seen.header("content-encoding"), Some("zstd"));
    assert_eq!(
        seen.header("content-length"),
        Some(seen.body.len().to_string().as_str())
    );
    let decoded = zstd::stream::decode_all(&seen.body[..]).unwrap();
    let sent = tool_output(&decoded);
    assert!(sent.len() * 10 < output.len(), "{sent}");
    assert!(
        sent.contains("test tests::status_code ... FAILED\n"),
        "{sent}"
    );
}
