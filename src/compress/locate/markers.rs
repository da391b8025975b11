//! A look at a request body's raw bytes, before any parsing, for the value
//! or member each API marks a tool output with. A body that has none holds
//! no output [`super::outputs`] would find, so the stage can pass it on
//! unparsed: an agent's first turn, and every request of a plain chat,
//! holds none.
//!
//! The look may say "maybe" of a body without outputs; it never says "no"
//! of one with them. JSON can spell a letter of a key or value only as
//! itself or as a `\u` escape, so a body with such an escape anywhere is
//! always a "maybe".

use std::sync::LazyLock;

use memchr::memmem::Finder;

use crate::usage::Family;

/// The key of a chat message's role, whose value `"tool"` marks an output.
static ROLE_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"role\""));
/// The end of both Responses output item types, `function_call_output`
/// and `custom_tool_call_output`, with the value's closing quote.
static CALL_OUTPUT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"_call_output\""));
static TOOL_RESULT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"tool_result\""));
static FUNCTION_RESPONSE: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"\"functionResponse\""));
static ESCAPE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\\u"));

/// False only when `body`, a request of `family`, cannot hold a tool
/// output that `outputs` would find.
pub fn may_hold_outputs(body: &[u8], family: Family) -> bool {
    let marked = match family {
        Family::OpenAiChat => names_role_tool(body),
        Family::OpenAiResponses => CALL_OUTPUT.find(body).is_some(),
        Family::Anthropic => TOOL_RESULT.find(body).is_some(),
        Family::Gemini => FUNCTION_RESPONSE.find(body).is_some(),
    };
    marked || escapes_a_letter(body)
}

/// Does the key `role` have the value `tool` somewhere, with any white
/// space JSON allows around its colon?
fn names_role_tool(body: &[u8]) -> bool {
    ROLE_KEY.find_iter(body).any(|at| {
        let rest = &body[at + ROLE_KEY.needle().len()..];
        rest.trim_ascii_start()
            .strip_prefix(b":")
            .is_some_and(|value| value.trim_ascii_start().starts_with(b"\"tool\""))
    })
}

/// Does a `\u` escape spell a letter or an underscore? (An escaped
/// backslash followed by `u` counts too: a "maybe" costs only a parse.)
fn escapes_a_letter(body: &[u8]) -> bool {
    ESCAPE.find_iter(body).any(|at| {
        let digits = body.get(at + 2..at + 6).and_then(|digits| {
            let digits = std::str::from_utf8(digits).ok()?;
            u32::from_str_radix(digits, 16).ok()
        });
        digits
            .and_then(char::from_u32)
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::locate::outputs;

    /// The look and the parse agree that `body` holds outputs, or the look
    /// says "maybe" of one that holds none (`maybe`).
    fn check(body: &str, family: Family, maybe: bool) {
        let held = !outputs(body, family).is_empty();
        let look = may_hold_outputs(body.as_bytes(), family);
        assert!(look || !held, "the look missed an output: {body}");
        assert_eq!(look, held || maybe, "{body}");
    }

    #[test]
    fn each_api_is_marked_by_its_own_member() {
        let chat = |role: &str| {
            format!(
                r#"{{"messages":[{{"role":"user","content":"hi"}},{{"role"{role},"content":"out"}}]}}"#
            )
        };
        check(&chat(r#":"tool""#), Family::OpenAiChat, false);
        check(&chat(" :\t\r\n \"tool\""), Family::OpenAiChat, false);
        check(&chat(r#":"assistant""#), Family::OpenAiChat, false);
        check(&chat(r#":"toolkit""#), Family::OpenAiChat, false);
        check(
            r#"{"messages":[{"role":"user","content":"say \"tool\""}]}"#,
            Family::OpenAiChat,
            false,
        );
        for kind in ["function_call_output", "custom_tool_call_output"] {
            let body = format!(r#"{{"input":[{{"type":"{kind}","call_id":"c","output":"o"}}]}}"#);
            check(&body, Family::OpenAiResponses, false);
        }
        check(r#"{"input":"plain"}"#, Family::OpenAiResponses, false);
        let anthropic = r#"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"o"}]}]}"#;
        check(anthropic, Family::Anthropic, false);
        check(
            r#"{"messages":[{"role":"user","content":"hi"}]}"#,
            Family::Anthropic,
            false,
        );
        let gemini = r#"{"contents":[{"parts":[{"functionResponse":{"name":"f","response":{"out":"o"}}}]}]}"#;
        check(gemini, Family::Gemini, false);
        check(
            r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#,
            Family::Gemini,
            false,
        );
    }

    #[test]
    fn another_apis_marker_is_no_mark() {
        let anthropic =
            r#"{"messages":[{"role":"user","content":[{"type":"tool_result","content":"o"}]}]}"#;
        check(anthropic, Family::OpenAiChat, false);
        check(r#"{"role":"tool"}"#, Family::Gemini, false);
    }

    #[test]
    fn an_escaped_letter_anywhere_is_a_maybe() {
        // Escaped in the value, in the key, or elsewhere: all found by the
        // parse or not, the look says maybe.
        let value = r#"{"messages":[{"role":"\u0074ool","tool_call_id":"c","content":"out"}]}"#;
        check(value, Family::OpenAiChat, false);
        let key = r#"{"messages":[{"r\u006Fle":"tool","content":"out"}]}"#;
        check(key, Family::OpenAiChat, false);
        let underscore = r#"{"input":[{"type":"function\u005fcall_output","output":"o"}]}"#;
        check(underscore, Family::OpenAiResponses, false);
        let gemini =
            r#"{"contents":[{"parts":[{"function\u0052esponse":{"response":{"o":"x"}}}]}]}"#;
        check(gemini, Family::Gemini, false);
        let elsewhere = r#"{"messages":[{"role":"user","content":"caf\u0065"}]}"#;
        check(elsewhere, Family::OpenAiChat, true);
    }

    #[test]
    fn escapes_of_other_characters_are_no_mark() {
        for body in [
            r#"{"messages":[{"role":"user","content":"\u003cb\u003e \u00e9 \u4e2d \u001b"}]}"#,
            r#"{"messages":[{"role":"user","content":"cut \u00"}]}"#,
            r#"{"messages":[{"role":"user","content":"\u"}]}"#,
        ] {
            check(body, Family::OpenAiChat, false);
        }
    }
}
