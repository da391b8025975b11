use super::*;
use Family::Gemini;

const RESPONSE: &str = r#"{
  "candidates": [
    {
      "content": {"parts": [{"text": "The \"usageMetadata\": {\"promptTokenCount\": 1} is text."}], "role": "model"},
      "finishReason": "STOP",
      "index": 0
    }
  ],
  "usageMetadata": {
    "promptTokenCount": 9120,
    "candidatesTokenCount": 310,
    "totalTokenCount": 10100,
    "cachedContentTokenCount": 8192,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 9120}],
    "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 8192}],
    "thoughtsTokenCount": 670
  },
  "modelVersion": "gemini-2.5-pro",
  "responseId": "mN0DaJ2uKvOF7dcPnqC-gQk"
}"#;

/// The chunks of a streamed answer; each usageMetadata is the running total
/// and proto3 JSON leaves out the counts that are zero.
const CHUNKS: [&str; 3] = [
    r#"{"candidates": [{"content": {"parts": [{"text": "The"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9120,"totalTokenCount": 9688,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 9120}],"thoughtsTokenCount": 568},"modelVersion": "gemini-2.5-flash","responseId": "9N0DaOq8"}"#,
    r#"{"candidates": [{"content": {"parts": [{"text": " answer"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9120,"candidatesTokenCount": 12,"totalTokenCount": 9700,"cachedContentTokenCount": 4000,"thoughtsTokenCount": 568},"modelVersion": "gemini-2.5-flash","responseId": "9N0DaOq8"}"#,
    r#"{"candidates": [{"content": {"parts": [{"text": "."}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 9120,"candidatesTokenCount": 95,"totalTokenCount": 9783,"cachedContentTokenCount": 4000,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 9120}],"cacheTokensDetails": [{"modality": "TEXT","tokenCount": 4000}],"thoughtsTokenCount": 568},"modelVersion": "gemini-2.5-flash","responseId": "9N0DaOq8"}"#,
];

const STREAMED: [Option<u64>; 5] = [Some(9120), Some(4000), None, Some(95 + 568), Some(568)];

/// `alt=sse`: one event per chunk, lines ended by CRLF.
fn sse_stream() -> String {
    CHUNKS
        .iter()
        .map(|chunk| format!("data: {chunk}\r\n\r\n"))
        .collect()
}

/// Without `alt=sse`: one JSON array, its elements arriving as generated.
fn array_stream() -> String {
    format!("[{}]", CHUNKS.join("\r\n,\r\n"))
}

#[test]
fn json_response_counts_thoughts_as_output() {
    let read = read_every_way(Gemini, JSON, None, RESPONSE.as_bytes());
    let expected = [Some(9120), Some(8192), None, Some(310 + 670), Some(670)];
    assert_eq!(read, usage("gemini-2.5-pro", expected));
}

#[test]
fn sse_stream_reads_the_last_usage() {
    let read = read_every_way(Gemini, SSE, None, sse_stream().as_bytes());
    assert_eq!(read, usage("gemini-2.5-flash", STREAMED));
}

#[test]
fn array_stream_reads_the_last_usage() {
    let read = read_every_way(Gemini, JSON, None, array_stream().as_bytes());
    assert_eq!(read, usage("gemini-2.5-flash", STREAMED));
}

#[test]
fn framing_is_sniffed_without_a_content_type() {
    for body in [sse_stream(), array_stream()] {
        let read = read_every_way(Gemini, None, None, body.as_bytes());
        assert_eq!(read, usage("gemini-2.5-flash", STREAMED));
    }
}

#[test]
fn a_cut_stream_keeps_the_last_running_total() {
    let body = array_stream();
    let cut = cut_before(
        body.as_bytes(),
        r#"{"candidates": [{"content": {"parts": [{"text": "."}]"#,
    );
    let read = read_chunks(Gemini, JSON, None, &[cut], false);
    let expected = Usage {
        complete: false,
        ..usage(
            "gemini-2.5-flash",
            [Some(9120), Some(4000), None, Some(12 + 568), Some(568)],
        )
    };
    assert_eq!(read, expected);
}

#[test]
fn a_model_without_thoughts_reports_zero_reasoning() {
    let body = br#"{"candidates":[],"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":3,"totalTokenCount":10},"modelVersion":"gemini-2.0-flash"}"#;
    let read = read_every_way(Gemini, JSON, None, body);
    assert_eq!(
        read,
        usage(
            "gemini-2.0-flash",
            [Some(7), Some(0), None, Some(3), Some(0)]
        )
    );
}

/// Objects one after another, some whole in their chunk (read at once) and
/// some not (split into documents): the last running total wins either way.
#[test]
fn the_last_running_total_wins_whole_in_its_chunk_or_not() {
    let [first, middle, last] = CHUNKS;
    let want = usage("gemini-2.5-flash", STREAMED);
    let middle_then_rest = format!("{middle}\n{{\"candidates\": []");
    let orders: [&[&str]; 3] = [
        &[first, middle, last],
        &[&format!("{first}\n{middle}"), last],
        &[first, &middle_then_rest, "}\n", last],
    ];
    for chunks in orders {
        let bytes: Vec<&[u8]> = chunks.iter().map(|chunk| chunk.as_bytes()).collect();
        assert_eq!(
            read_chunks(Gemini, JSON, None, &bytes, true),
            want,
            "{chunks:?}"
        );
    }
}
