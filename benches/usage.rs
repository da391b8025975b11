//! What reading usage costs per SSE event: each family's typical text-delta
//! events fed to a `UsageReader` one frame at a time, as the proxy relays
//! them, with the usage event at the end of each stream; then the tap's fixed
//! cost per exchange, on a JSON answer; then whole JSON answers of an
//! agent's sizes. Prints ns per event, per exchange and per answer; nothing
//! here fails a run.
//!
//! Run with `cargo bench --bench usage` (a few seconds).

use bytes::Bytes;
use headroom::proxy::routes;
use headroom::proxy::stages::{Asked, ResponseStage};
use headroom::proxy::stats::Outcome;
use headroom::tap::UsageTap;
use headroom::usage::{Family, UsageReader};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use std::hint::black_box;
use std::time::Instant;

const EVENTS_PER_STREAM: usize = 500;
const STREAMS: usize = 200;

struct Case {
    name: &'static str,
    family: Family,
    delta: String,
    last: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "openai chat (usage:null in every chunk)",
            family: Family::OpenAiChat,
            delta: r#"data: {"id":"chatcmpl-C1a2b3c4d5e6f7g8h9","object":"chat.completion.chunk","created":1755000000,"model":"gpt-4.1-mini-2025-04-14","service_tier":"default","system_fingerprint":"fp_6f2eabb9a5","choices":[{"index":0,"delta":{"content":" token"},"logprobs":null,"finish_reason":null}],"usage":null}"#.to_owned() + "\n\n",
            last: "data: {\"id\":\"chatcmpl-C1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4.1-mini-2025-04-14\",\"choices\":[],\"usage\":{\"prompt_tokens\":2006,\"completion_tokens\":300,\"total_tokens\":2306,\"prompt_tokens_details\":{\"cached_tokens\":1920},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\ndata: [DONE]\n\n",
        },
        Case {
            name: "openai responses",
            family: Family::OpenAiResponses,
            delta: "event: response.output_text.delta\n".to_owned() + r#"data: {"type":"response.output_text.delta","sequence_number":42,"item_id":"msg_68a1b2c3d4e5f6","output_index":1,"content_index":0,"delta":" token","logprobs":[],"obfuscation":"aBcDeF"}"# + "\n\n",
            last: "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"model\":\"gpt-5-codex\",\"output\":[],\"usage\":{\"input_tokens\":12000,\"input_tokens_details\":{\"cached_tokens\":11776},\"output_tokens\":540,\"output_tokens_details\":{\"reasoning_tokens\":448}}}}\n\n",
        },
        Case {
            name: "anthropic",
            family: Family::Anthropic,
            delta: "event: content_block_delta\n".to_owned() + r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" token"}}"# + "\n\n",
            last: "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":503}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        },
        Case {
            name: "gemini (usageMetadata in every chunk)",
            family: Family::Gemini,
            delta: r#"data: {"candidates": [{"content": {"parts": [{"text": " token"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9120,"candidatesTokenCount": 12,"totalTokenCount": 9700,"thoughtsTokenCount": 568},"modelVersion": "gemini-2.5-flash","responseId": "9N0DaOq8"}"#.to_owned() + "\r\n\r\n",
            last: "",
        },
    ]
}

fn main() {
    println!("usage reader cost per SSE event ({STREAMS} streams x {EVENTS_PER_STREAM} events, one event per frame)");
    for case in cases() {
        let mut reported = 0;
        // One warm-up pass, then the timed one.
        for timed in [false, true] {
            let started = Instant::now();
            for _ in 0..STREAMS {
                let mut reader =
                    UsageReader::new(case.family, Some("text/event-stream"), None, None);
                for _ in 0..EVENTS_PER_STREAM {
                    reader.feed(black_box(case.delta.as_bytes()));
                }
                reader.feed(case.last.as_bytes());
                let usage = reader.finish(true);
                reported += usize::from(usage.output_tokens.is_some());
            }
            if timed {
                let events = STREAMS * (EVENTS_PER_STREAM + 1);
                let per_event = started.elapsed().as_nanos() as f64 / events as f64;
                let bytes = case.delta.len();
                println!(
                    "  {:<42} {per_event:>7.0} ns/event ({bytes} B/event)",
                    case.name
                );
            }
        }
        assert!(reported > 0, "{}: no usage read", case.name);
    }
    per_exchange();
    whole_answers();
}

/// What the tap adds to one exchange besides its events: choosing to watch,
/// starting a reader, ending it, on a chat completion answered as one JSON
/// chunk.
fn per_exchange() {
    const EXCHANGES: usize = 100_000;
    let body = Bytes::from_static(br#"{"id":"chatcmpl-C1","object":"chat.completion","created":1755000000,"model":"gpt-4.1-mini-2025-04-14","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, how can I help?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2006,"completion_tokens":8,"total_tokens":2014,"prompt_tokens_details":{"cached_tokens":1920},"completion_tokens_details":{"reasoning_tokens":0}}}"#);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let method = Method::POST;
    let asked = Asked {
        family: routes::Family::OpenAi,
        method: &method,
        path: "/v1/chat/completions",
        api: Family::called_by(&method, "/v1/chat/completions"),
    };
    let mut reported = 0;
    for (timed, with_body) in [(false, true), (true, true), (true, false)] {
        let started = Instant::now();
        for _ in 0..EXCHANGES {
            let Some(mut watch) = UsageTap.watch(black_box(asked), StatusCode::OK, &headers) else {
                continue;
            };
            if with_body {
                watch.chunk(&body);
            }
            let findings = watch.end(Outcome::Completed);
            reported += usize::from(findings.usage.is_some_and(|usage| usage.reported()));
        }
        if timed {
            let per_exchange = started.elapsed().as_nanos() as f64 / EXCHANGES as f64;
            let body = if with_body {
                format!("JSON chat completion, {} B", body.len())
            } else {
                "empty body".to_owned()
            };
            println!("usage tap per exchange ({body}): {per_exchange:.0} ns");
        }
    }
    assert_eq!(reported, 2 * EXCHANGES, "the tap read no usage");
}

/// Reading whole JSON answers of an agent's sizes: a few hundred bytes, a
/// long text with escapes every few words, a long text that is not ASCII.
fn whole_answers() {
    const READS: usize = 20_000;
    let text = r#"Here is the change:\n\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n"#;
    let escaped = format!(
        r#"{{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"{}"}}],"stop_reason":"end_turn","usage":{{"input_tokens":12,"cache_creation_input_tokens":1530,"cache_read_input_tokens":20480,"output_tokens":388}}}}"#,
        text.repeat(250)
    );
    let accented = format!(
        r#"{{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4.1","choices":[{{"index":0,"message":{{"role":"assistant","content":"{}"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306}}}}"#,
        "Voilà le résumé — déjà prêt ✓ ".repeat(300)
    );
    let short = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"mock-1","choices":[{"index":0,"message":{"role":"assistant","content":"pong"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#;
    let answers = [
        (
            "the proxy bench's answer",
            Family::OpenAiChat,
            short.to_owned(),
        ),
        ("Anthropic text, escapes", Family::Anthropic, escaped),
        ("OpenAI text, not ASCII", Family::OpenAiChat, accented),
    ];
    for (name, family, body) in answers {
        let mut reported = 0;
        let started = Instant::now();
        for _ in 0..READS {
            let mut reader = UsageReader::new(family, Some("application/json"), None, None);
            reader.feed(black_box(body.as_bytes()));
            reported += usize::from(reader.finish(true).reported());
        }
        let per_answer = started.elapsed().as_nanos() as f64 / READS as f64;
        let bytes = body.len();
        println!("  whole JSON answer, {name:<26} {per_answer:>8.0} ns ({bytes} B)");
        assert_eq!(reported, READS, "{name}: no usage read");
    }
}
