use super::*;
use Family::OpenAiResponses;

const RESPONSE: &str = r#"{
  "id": "resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41",
  "object": "response",
  "created_at": 1741476777,
  "status": "completed",
  "error": null,
  "incomplete_details": null,
  "instructions": "You are a coding agent. Report \"usage\": {\"input_tokens\": 1} never.",
  "max_output_tokens": null,
  "model": "gpt-5-2025-08-07",
  "output": [
    {"type": "reasoning", "id": "rs_1", "summary": []},
    {
      "type": "message",
      "id": "msg_67ccd3acc8d48190a77525dc6de64b4104becb25c45c1d41",
      "status": "completed",
      "role": "assistant",
      "content": [{"type": "output_text", "text": "Done.", "annotations": []}]
    }
  ],
  "parallel_tool_calls": true,
  "previous_response_id": null,
  "reasoning": {"effort": "medium", "summary": null},
  "store": true,
  "temperature": 1.0,
  "text": {"format": {"type": "text"}},
  "tool_choice": "auto",
  "tools": [],
  "top_p": 1.0,
  "truncation": "disabled",
  "usage": {
    "input_tokens": 5230,
    "input_tokens_details": {"cached_tokens": 4096},
    "output_tokens": 811,
    "output_tokens_details": {"reasoning_tokens": 640},
    "total_tokens": 6041
  },
  "user": null,
  "metadata": {}
}"#;

const STREAM: &str = concat!(
    "event: response.created\n",
    r#"data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","created_at":1741290958,"status":"in_progress","error":null,"instructions":"Be brief.","model":"gpt-5-codex","output":[],"tools":[],"usage":null,"metadata":{}}}"#,
    "\n\n",
    "event: response.in_progress\n",
    r#"data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-5-codex","output":[],"usage":null}}"#,
    "\n\n",
    "event: response.output_item.added\n",
    r#"data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","content":[],"role":"assistant"}}"#,
    "\n\n",
    "event: response.output_text.delta\n",
    r#"data: {"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","logprobs":[]}"#,
    "\n\n",
    "event: response.output_text.done\n",
    r#"data: {"type":"response.output_text.done","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"text":"Hi","logprobs":[]}"#,
    "\n\n",
    "event: response.completed\n",
    r#"data: {"type":"response.completed","sequence_number":5,"response":{"id":"resp_1","object":"response","created_at":1741290958,"status":"completed","error":null,"instructions":"Be brief.","model":"gpt-5-codex","output":[{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi","annotations":[]}]}],"tools":[],"usage":{"input_tokens":12000,"input_tokens_details":{"cached_tokens":11776},"output_tokens":540,"output_tokens_details":{"reasoning_tokens":448},"total_tokens":12540},"metadata":{}}}"#,
    "\n\n",
);

#[test]
fn json_response() {
    let read = read_every_way(OpenAiResponses, JSON, None, RESPONSE.as_bytes());
    let expected = [Some(5230), Some(4096), None, Some(811), Some(640)];
    assert_eq!(read, usage("gpt-5-2025-08-07", expected));
}

#[test]
fn stream_read_from_response_completed() {
    let read = read_every_way(OpenAiResponses, SSE, None, STREAM.as_bytes());
    let expected = [Some(12000), Some(11776), None, Some(540), Some(448)];
    assert_eq!(read, usage("gpt-5-codex", expected));
}

#[test]
fn stream_read_from_response_incomplete() {
    let body = STREAM
        .replace("response.completed", "response.incomplete")
        .replace(
            r#""status":"completed","error""#,
            r#""status":"incomplete","error""#,
        );
    let read = read_every_way(OpenAiResponses, SSE, None, body.as_bytes());
    let expected = [Some(12000), Some(11776), None, Some(540), Some(448)];
    assert_eq!(read, usage("gpt-5-codex", expected));
}

#[test]
fn a_stream_cut_before_completion_knows_only_the_model() {
    let body = cut_before(STREAM.as_bytes(), "event: response.completed");
    let read = read_chunks(OpenAiResponses, SSE, None, &[body], false);
    assert_eq!(read, cut_knowing_only_model("gpt-5-codex"));
}
