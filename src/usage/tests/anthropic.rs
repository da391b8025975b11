use super::*;
use Family::Anthropic;

const MESSAGE: &str = r#"{
  "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
  "type": "message",
  "role": "assistant",
  "model": "claude-sonnet-4-5-20250929",
  "content": [{"type": "text", "text": "Here is the \"usage\": {\"input_tokens\": 1} you asked for."}],
  "stop_reason": "end_turn",
  "stop_sequence": null,
  "usage": {
    "input_tokens": 12,
    "cache_creation_input_tokens": 1530,
    "cache_read_input_tokens": 20480,
    "cache_creation": {"ephemeral_5m_input_tokens": 1530, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 388,
    "service_tier": "standard"
  }
}"#;

const MESSAGE_START: &str = concat!(
    "event: message_start\n",
    r#"data: {"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","model":"claude-opus-4-1-20250805","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":2048,"cache_read_input_tokens":30000,"cache_creation":{"ephemeral_5m_input_tokens":2048,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}}}"#,
    "\n\n",
    "event: content_block_start\n",
    r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
    "\n\n",
    "event: ping\n",
    "data: {\"type\": \"ping\"}\n\n",
    "event: content_block_delta\n",
    r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The \"usage\": {\"output_tokens\": 9} is text."}}"#,
    "\n\n",
    "event: content_block_stop\n",
    r#"data: {"type":"content_block_stop","index":0}"#,
    "\n\n",
);

/// The current API repeats the input and cache counts in message_delta.
const DELTA_IN_FULL: &str = concat!(
    "event: message_delta\n",
    r#"data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":25,"cache_creation_input_tokens":2048,"cache_read_input_tokens":30000,"output_tokens":503,"server_tool_use":null}}"#,
    "\n\n",
    "event: message_stop\n",
    r#"data: {"type":"message_stop"}"#,
    "\n\n",
);

/// Earlier versions sent only the output count there.
const DELTA_OUTPUT_ONLY: &str = concat!(
    "event: message_delta\n",
    r#"data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":503}}"#,
    "\n\n",
    "event: message_stop\n",
    r#"data: {"type":"message_stop"}"#,
    "\n\n",
);

const STREAMED: [Option<u64>; 5] = [
    Some(25 + 2048 + 30000),
    Some(30000),
    Some(2048),
    Some(503),
    None,
];

#[test]
fn json_message_counts_cached_input_as_input() {
    let read = read_every_way(Anthropic, JSON, None, MESSAGE.as_bytes());
    let expected = [
        Some(12 + 1530 + 20480),
        Some(20480),
        Some(1530),
        Some(388),
        None,
    ];
    assert_eq!(read, usage("claude-sonnet-4-5-20250929", expected));
}

#[test]
fn stream_with_counts_repeated_in_message_delta() {
    let body = [MESSAGE_START, DELTA_IN_FULL].concat();
    let read = read_every_way(Anthropic, SSE, None, body.as_bytes());
    assert_eq!(read, usage("claude-opus-4-1-20250805", STREAMED));
}

#[test]
fn stream_with_only_output_in_message_delta() {
    let body = [MESSAGE_START, DELTA_OUTPUT_ONLY].concat();
    let read = read_every_way(Anthropic, SSE, None, body.as_bytes());
    assert_eq!(read, usage("claude-opus-4-1-20250805", STREAMED));
}

/// message_delta's null counts do not erase what message_start reported.
#[test]
fn null_counts_in_message_delta_keep_the_earlier_ones() {
    let delta = DELTA_IN_FULL.replace(
        r#""input_tokens":25,"cache_creation_input_tokens":2048,"cache_read_input_tokens":30000"#,
        r#""input_tokens":null,"cache_creation_input_tokens":null,"cache_read_input_tokens":null"#,
    );
    let body = [MESSAGE_START, &delta].concat();
    let read = read_every_way(Anthropic, SSE, None, body.as_bytes());
    assert_eq!(read, usage("claude-opus-4-1-20250805", STREAMED));
}

#[test]
fn a_stream_cut_after_message_start_knows_input_but_not_output() {
    let read = read_chunks(Anthropic, SSE, None, &[MESSAGE_START.as_bytes()], false);
    let expected = Usage {
        model: Some("claude-opus-4-1-20250805".to_owned()),
        input_tokens: Some(25 + 2048 + 30000),
        cache_read_tokens: Some(30000),
        cache_write_tokens: Some(2048),
        output_tokens: None,
        reasoning_tokens: None,
        complete: false,
    };
    assert_eq!(read, expected);
}

#[test]
fn a_stream_cut_inside_message_delta_keeps_message_start() {
    let body = [MESSAGE_START, DELTA_IN_FULL].concat();
    let cut = &body.as_bytes()[..MESSAGE_START.len() + 60];
    let read = read_chunks(Anthropic, SSE, None, &[cut], false);
    assert_eq!(read.input_tokens, Some(25 + 2048 + 30000));
    assert_eq!(read.output_tokens, None);
    assert!(!read.complete);
}

#[test]
fn an_error_event_mid_stream_leaves_what_was_read() {
    let error = concat!(
        "event: error\n",
        r#"data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        "\n\n",
    );
    let body = [MESSAGE_START, error].concat();
    let read = read_every_way(Anthropic, SSE, None, body.as_bytes());
    assert_eq!(read.input_tokens, Some(25 + 2048 + 30000));
    assert_eq!(read.output_tokens, None);
}
