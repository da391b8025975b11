use super::*;

/// Each output's decoded text, its call id and its tool's name.
fn found(body: &str, family: Family) -> Vec<(String, Option<String>, Option<String>)> {
    outputs(body, family)
        .into_iter()
        .map(|output| {
            assert_eq!(&body[output.span.clone()], output.literal);
            let text = serde_json::from_str(output.literal).unwrap_or_default();
            (text, output.call_id, output.call.map(|call| call.name))
        })
        .collect()
}

fn one(text: &str, id: &str, tool: &str) -> (String, Option<String>, Option<String>) {
    (text.into(), Some(id.into()), Some(tool.into()))
}

#[test]
fn chat_tool_messages_answer_the_assistants_calls() {
    let body = r#"{"model":"m","messages":[
        {"role":"system","content":"sys"},
        {"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"bash","arguments":"{\"command\":\"ls\"}"}}]},
        {"role":"tool","tool_call_id":"c1","content":"a\nb \u00e9"},
        {"role":"tool","tool_call_id":"c2","content":[{"type":"text","text":"block"}]},
        {"role":"user","content":"not an output"}
    ]}"#;
    assert_eq!(
        found(body, Family::OpenAiChat),
        [
            one("a\nb é", "c1", "bash"),
            ("block".into(), Some("c2".into()), None)
        ]
    );
    let outputs = outputs(body, Family::OpenAiChat);
    let call = outputs[0].call.as_ref();
    assert_eq!(
        call.and_then(|c| c.arguments.get("command")).as_deref(),
        Some("ls")
    );
}

#[test]
fn responses_outputs_answer_function_and_custom_calls() {
    let body = r#"{"input":[
        {"role":"developer","content":"sys"},
        {"type":"reasoning","encrypted_content":"gAAA"},
        {"type":"function_call","call_id":"f1","name":"read","arguments":"{\"filePath\":\"/a\"}"},
        {"type":"function_call_output","call_id":"f1","output":"1: x"},
        {"type":"custom_tool_call","call_id":"p1","name":"apply_patch","input":"*** Begin Patch"},
        {"type":"custom_tool_call_output","call_id":"p1","output":"Done"}
    ]}"#;
    assert_eq!(
        found(body, Family::OpenAiResponses),
        [one("1: x", "f1", "read"), one("Done", "p1", "apply_patch")]
    );
    assert!(found(r#"{"input":"just text"}"#, Family::OpenAiResponses).is_empty());
}

#[test]
fn anthropic_tool_results_answer_tool_uses_and_skip_images() {
    let body = r#"{"system":[{"type":"text","text":"sys"}],"messages":[
        {"role":"user","content":"hi"},
        {"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"tool_use","id":"t1","name":"bash","input":{"command":"git diff"}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"diff --git","cache_control":{"type":"ephemeral"}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[
            {"type":"text","text":"first"},{"type":"image","source":{"data":"QUJD"}},{"type":"text","text":"second"}]}]}
    ]}"#;
    assert_eq!(
        found(body, Family::Anthropic),
        [
            one("diff --git", "t1", "bash"),
            one("first", "t1", "bash"),
            one("second", "t1", "bash")
        ]
    );
}

#[test]
fn gemini_function_responses_name_their_function() {
    let body = r#"{"contents":[
        {"role":"model","parts":[{"functionCall":{"name":"run_shell_command","args":{"command":"ls"}}}]},
        {"role":"user","parts":[{"functionResponse":{"name":"run_shell_command","response":{"output":"a\nb","exit":0}}}]}
    ]}"#;
    assert_eq!(
        found(body, Family::Gemini),
        [("a\nb".into(), None, Some("run_shell_command".into()))]
    );
}

#[test]
fn a_body_that_is_not_what_the_route_expects_has_no_outputs() {
    for body in [
        "",
        "not json",
        r#"{"messages":"no list"}"#,
        r#"{"messages":[{"role":"tool","content":"x"}"#,
        r#"[1,2]"#,
    ] {
        for family in [
            Family::OpenAiChat,
            Family::OpenAiResponses,
            Family::Anthropic,
            Family::Gemini,
        ] {
            assert!(outputs(body, family).is_empty(), "{family:?} {body}");
        }
    }
}

/// A client that reuses call ids means the call just before each output:
/// a read must never be taken for the command run under the same id.
#[test]
fn a_reused_call_id_answers_the_nearest_call_before_it() {
    let chat = r#"{"model":"m","messages":[
        {"role":"assistant","content":"","tool_calls":[{"id":"c0","type":"function","function":{"name":"bash","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"c0","content":"ran"},
        {"role":"assistant","content":"","tool_calls":[{"id":"c0","type":"function","function":{"name":"read","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"c0","content":"file"}
    ]}"#;
    assert_eq!(
        found(chat, Family::OpenAiChat),
        [one("ran", "c0", "bash"), one("file", "c0", "read")]
    );
    let anthropic = r#"{"model":"m","messages":[
        {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ran"}]},
        {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Read","input":{}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"file"}]}
    ]}"#;
    assert_eq!(
        found(anthropic, Family::Anthropic),
        [one("ran", "t1", "Bash"), one("file", "t1", "Read")]
    );
    // An output before any call with its id still finds that call.
    let early = r#"{"model":"m","messages":[
        {"role":"tool","tool_call_id":"c9","content":"out"},
        {"role":"assistant","content":"","tool_calls":[{"id":"c9","type":"function","function":{"name":"bash","arguments":"{}"}}]}
    ]}"#;
    assert_eq!(found(early, Family::OpenAiChat), [one("out", "c9", "bash")]);
}

/// Which outputs an assistant turn follows, in each API's shape.
fn replied(body: &str, family: Family) -> Vec<bool> {
    outputs(body, family).iter().map(|o| o.replied).collect()
}

#[test]
fn an_output_an_assistant_turn_follows_was_held_by_an_earlier_request() {
    let chat = r#"{"messages":[
        {"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"ls","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"a","content":"one"},
        {"role":"assistant","content":"and then"},
        {"role":"user","content":"go on"},
        {"role":"assistant","tool_calls":[{"id":"b","type":"function","function":{"name":"ls","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"b","content":"two"}
    ]}"#;
    assert_eq!(replied(chat, Family::OpenAiChat), [true, false]);
    let responses = r#"{"input":[
        {"type":"function_call","call_id":"a","name":"ls","arguments":"{}"},
        {"type":"function_call_output","call_id":"a","output":"one"},
        {"type":"message","role":"assistant","content":"ok"},
        {"type":"function_call_output","call_id":"b","output":"two"}
    ]}"#;
    assert_eq!(replied(responses, Family::OpenAiResponses), [true, false]);
    for turn in [
        r#"{"type":"reasoning","summary":[]}"#,
        r#"{"type":"function_call","call_id":"b","name":"ls","arguments":"{}"}"#,
        r#"{"type":"custom_tool_call","call_id":"b","name":"patch","input":"x"}"#,
    ] {
        let responses = format!(
            r#"{{"input":[
            {{"type":"function_call_output","call_id":"a","output":"one"}},
            {turn},
            {{"type":"function_call_output","call_id":"b","output":"two"}}
        ]}}"#
        );
        assert_eq!(
            replied(&responses, Family::OpenAiResponses),
            [true, false],
            "{turn}"
        );
    }
    let anthropic = r#"{"messages":[
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"one"}]},
        {"role":"assistant","content":"text only"},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"b","content":"two"}]}
    ]}"#;
    assert_eq!(replied(anthropic, Family::Anthropic), [true, false]);
    let gemini = r#"{"contents":[
        {"role":"user","parts":[{"functionResponse":{"name":"ls","response":{"out":"one"}}}]},
        {"role":"model","parts":[{"text":"ok"}]},
        {"role":"user","parts":[{"functionResponse":{"name":"ls","response":{"out":"two"}}}]}
    ]}"#;
    assert_eq!(replied(gemini, Family::Gemini), [true, false]);
}
