use super::*;
use Family::OpenAiChat;

const RESPONSE: &str = r#"{
  "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
  "object": "chat.completion",
  "created": 1741570283,
  "model": "o4-mini-2025-04-16",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": "A chunk may say \"usage\": {\"prompt_tokens\": 1} in its text.",
        "refusal": null,
        "annotations": []
      },
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {
    "prompt_tokens": 1117,
    "completion_tokens": 238,
    "total_tokens": 1355,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {
      "reasoning_tokens": 192,
      "audio_tokens": 0,
      "accepted_prediction_tokens": 0,
      "rejected_prediction_tokens": 0
    }
  },
  "service_tier": "default",
  "system_fingerprint": "fp_fc9f1d7035"
}"#;

const STREAM: &str = concat!(
    r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741570300,"model":"gpt-4.1-mini-2025-04-14","service_tier":"default","system_fingerprint":"fp_6f2eabb9a5","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741570300,"model":"gpt-4.1-mini-2025-04-14","service_tier":"default","system_fingerprint":"fp_6f2eabb9a5","choices":[{"index":0,"delta":{"content":"The usage"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741570300,"model":"gpt-4.1-mini-2025-04-14","service_tier":"default","system_fingerprint":"fp_6f2eabb9a5","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741570300,"model":"gpt-4.1-mini-2025-04-14","service_tier":"default","system_fingerprint":"fp_6f2eabb9a5","choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#,
    "\n\n",
    "data: [DONE]\n\n",
);

#[test]
fn json_response() {
    let read = read_every_way(OpenAiChat, JSON, None, RESPONSE.as_bytes());
    let expected = [Some(1117), Some(1024), None, Some(238), Some(192)];
    assert_eq!(read, usage("o4-mini-2025-04-16", expected));
}

#[test]
fn stream_with_usage_in_its_last_chunk() {
    let read = read_every_way(OpenAiChat, SSE, None, STREAM.as_bytes());
    let expected = [Some(2006), Some(1920), None, Some(300), Some(0)];
    assert_eq!(read, usage("gpt-4.1-mini-2025-04-14", expected));
}

#[test]
fn a_stream_cut_before_its_usage_knows_only_the_model() {
    let body = cut_before(STREAM.as_bytes(), r#""choices":[],"usage""#);
    let read = read_chunks(OpenAiChat, SSE, None, &[body], false);
    assert_eq!(read, cut_knowing_only_model("gpt-4.1-mini-2025-04-14"));
}

#[test]
fn a_stream_without_include_usage_reports_nothing() {
    let body = cut_before(
        STREAM.as_bytes(),
        r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741570300,"model":"gpt-4.1-mini-2025-04-14","service_tier":"default","system_fingerprint":"fp_6f2eabb9a5","choices":[],"#,
    );
    let body = [body, b"data: [DONE]\n\n"].concat();
    let read = read_every_way(OpenAiChat, SSE, None, &body);
    assert!(!read.reported());
    assert_eq!(read.model.as_deref(), Some("gpt-4.1-mini-2025-04-14"));
    assert!(read.complete);
}

#[test]
fn a_compatible_provider_without_details_leaves_them_unknown() {
    let body = br#"{"id":"x","object":"chat.completion","model":"deepseek-chat","choices":[],
        "usage":{"prompt_tokens":50,"completion_tokens":7,"total_tokens":57}}"#;
    let read = read_every_way(OpenAiChat, JSON, None, body);
    assert_eq!(
        read,
        usage("deepseek-chat", [Some(50), None, None, Some(7), None])
    );
}

#[test]
fn the_request_model_stands_in_when_the_response_names_none() {
    let body = br#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1}}"#;
    let read = read_every_way(OpenAiChat, JSON, None, body);
    assert_eq!(
        read,
        usage("request-model", [Some(5), None, None, Some(1), None])
    );
}

/// An event larger than the reader keeps is skipped; the usage after it is
/// still read, and the reading is incomplete: what the skipped event said
/// is unknown.
#[test]
fn an_oversized_event_is_skipped() {
    let huge = "x".repeat(super::super::bounded::MAX_DOCUMENT_BYTES + 1);
    let big_event = format!(
        "data: {{\"model\":\"gpt-4.1\",\"choices\":[{{\"delta\":{{\"content\":\"{huge}\"}}}}],\"usage\":{{\"prompt_tokens\":9}}}}\n\n"
    );
    let last = r#"data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#;
    let chunks: Vec<&[u8]> = big_event
        .as_bytes()
        .chunks(16 << 10)
        .chain([last.as_bytes(), b"\n\n"])
        .collect();
    let read = read_chunks(OpenAiChat, SSE, None, &chunks, true);
    assert_eq!(
        read,
        Usage {
            complete: false,
            ..usage("request-model", [Some(3), None, None, Some(4), None])
        }
    );
}

/// A JSON answer larger than the reader keeps (an image model's inline
/// data) is unread: its usage is unknown, and the reading incomplete.
#[test]
fn an_oversized_answer_is_unknown_and_incomplete() {
    let huge = "A".repeat(super::super::bounded::MAX_DOCUMENT_BYTES);
    let body = format!(
        r#"{{"model":"gpt-4.1","choices":[{{"message":{{"content":"{huge}"}}}}],"usage":{{"prompt_tokens":9,"completion_tokens":1}}}}"#
    );
    let whole = read_chunks(OpenAiChat, JSON, None, &[body.as_bytes()], true);
    let chunks: Vec<&[u8]> = body.as_bytes().chunks(16 << 10).collect();
    let split = read_chunks(OpenAiChat, JSON, None, &chunks, true);
    assert_eq!(whole, unknown(false));
    assert_eq!(split, unknown(false));
}
