//! Whatever arrives, the reader neither panics nor invents a figure.

use super::*;

const FAMILIES: [Family; 4] = [
    Family::OpenAiChat,
    Family::OpenAiResponses,
    Family::Anthropic,
    Family::Gemini,
];

const CONTENT_TYPES: [Option<&str>; 4] = [SSE, JSON, None, Some("text/html")];

#[test]
fn random_bytes_read_as_unknown() {
    let mut rng = fastrand::Rng::with_seed(27);
    for round in 0..200 {
        let len = rng.usize(0..2048);
        let body: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        for family in FAMILIES {
            for content_type in CONTENT_TYPES {
                let chunks: Vec<&[u8]> = body.chunks(rng.usize(1..64)).collect();
                let read = read_chunks(family, content_type, None, &chunks, true);
                assert_eq!(
                    read,
                    unknown(true),
                    "round {round}, {family:?}, {content_type:?}"
                );
            }
        }
    }
}

#[test]
fn an_html_error_page_reads_as_unknown() {
    let page = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n";
    for family in FAMILIES {
        for content_type in CONTENT_TYPES {
            let read = read_every_way(family, content_type, None, page);
            assert_eq!(read, unknown(true), "{family:?}, {content_type:?}");
        }
    }
}

#[test]
fn truncated_json_reads_as_unknown() {
    let body =
        br#"{"model":"gpt-4.1","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":2}}"#;
    for end in 0..body.len() {
        for family in FAMILIES {
            let read = read_chunks(family, JSON, None, &[&body[..end]], true);
            assert_eq!(read, unknown(true), "{family:?} cut at {end}");
        }
    }
}

#[test]
fn counts_of_the_wrong_type_read_as_unknown() {
    for usage in [
        r#""usage""#,
        r#"42"#,
        r#"[1,2]"#,
        r#"{"prompt_tokens":"10","completion_tokens":-2}"#,
        r#"{"prompt_tokens":1.5,"completion_tokens":null}"#,
        r#"{"prompt_tokens":{"n":1},"completion_tokens":[3]}"#,
        r#"{"prompt_tokens":18446744073709551616}"#,
    ] {
        let body = format!(r#"{{"choices":[],"usage":{usage}}}"#);
        let read = read_every_way(Family::OpenAiChat, JSON, None, body.as_bytes());
        assert_eq!(read, unknown(true), "{usage}");
    }
}

#[test]
fn api_errors_read_as_unknown() {
    let bodies: [(Family, &str); 3] = [
        (
            Family::OpenAiChat,
            r#"{"error":{"message":"Rate limit reached","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#,
        ),
        (
            Family::Anthropic,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ),
        (
            Family::Gemini,
            r#"{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}"#,
        ),
    ];
    for (family, body) in bodies {
        let read = read_every_way(family, JSON, None, body.as_bytes());
        assert_eq!(read, unknown(true), "{family:?}");
    }
}

/// A count no answer could hold is garbage, read as unknown; the largest
/// taken add up without overflow.
#[test]
fn counts_past_the_largest_read_as_unknown() {
    let body = |input: u64, cache_read: u64| {
        format!(
            r#"{{"model":"claude-x","usage":{{"input_tokens":{input},"cache_read_input_tokens":{cache_read},"cache_creation_input_tokens":1,"output_tokens":1}}}}"#
        )
    };
    let read = |body: String| read_every_way(Family::Anthropic, JSON, None, body.as_bytes());
    let largest = super::super::figures::MAX_COUNT;
    assert_eq!(read(body(u64::MAX, 1)).input_tokens, None);
    assert_eq!(read(body(largest + 1, 1)).input_tokens, None);
    assert_eq!(read(body(1, largest + 1)).cache_read_tokens, None);
    assert_eq!(
        read(body(largest, largest)).input_tokens,
        Some(2 * largest + 1)
    );
}
