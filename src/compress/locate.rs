//! Finds the tool outputs in a request body, as byte spans of their JSON
//! string literals, and the call each answers: its tool's name and its
//! arguments. Everything else in the body is only skipped over.

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::usage::Family;
use list::ListOrOther;

mod list;
mod markers;

pub use markers::may_hold_outputs;

/// One tool output's text, as it lies in the body.
#[derive(Debug)]
pub struct Output<'a> {
    /// The JSON string literal, quotes included, exactly as sent.
    pub literal: &'a str,
    /// Where `literal` lies in the body.
    pub span: Range<usize>,
    /// The id of the call it answers, when the API has ids.
    pub call_id: Option<String>,
    /// The call's tool and arguments, when the call was found.
    pub call: Option<Call<'a>>,
    /// An assistant turn comes after it: an earlier request of the
    /// conversation held it already.
    pub replied: bool,
}

/// A tool call, as the assistant's turn made it.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub name: String,
    pub arguments: Arguments<'a>,
}

/// A call's arguments: a JSON object, or JSON text inside a string
/// (OpenAI's `arguments`).
#[derive(Debug, Clone)]
pub enum Arguments<'a> {
    Object(&'a RawValue),
    Text(Cow<'a, str>),
    None,
}

impl Arguments<'_> {
    /// The string member `name` of the arguments, if there is one.
    pub fn get(&self, name: &str) -> Option<String> {
        let text = match self {
            Arguments::Object(raw) => raw.get(),
            Arguments::Text(text) => text,
            Arguments::None => return None,
        };
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
        object.get(name)?.as_str().map(str::to_owned)
    }
}

/// The tool outputs of `body`, a request of `family`, in order; empty when
/// the body is not the JSON its route expects.
pub fn outputs(body: &str, family: Family) -> Vec<Output<'_>> {
    let mut found = Found::new(body);
    let parsed = match family {
        Family::OpenAiChat => chat(body, &mut found),
        Family::OpenAiResponses => responses(body, &mut found),
        Family::Anthropic => anthropic(body, &mut found),
        Family::Gemini => gemini(body, &mut found),
    };
    match parsed {
        Some(()) => found.finish(),
        None => Vec::new(),
    }
}

/// Outputs and calls gathered while walking a body, in its order.
struct Found<'a> {
    body: &'a str,
    outputs: Vec<(Option<String>, &'a RawValue, Option<Call<'a>>)>,
    /// Each call with its id and the number of outputs found before it.
    calls: Vec<(String, Call<'a>, usize)>,
    /// The outputs found before the last assistant turn.
    replied: usize,
}

impl<'a> Found<'a> {
    fn new(body: &'a str) -> Found<'a> {
        Found {
            body,
            outputs: Vec::new(),
            calls: Vec::new(),
            replied: 0,
        }
    }

    /// An assistant turn: every output found so far has been answered.
    fn reply(&mut self) {
        self.replied = self.outputs.len();
    }

    fn call(&mut self, id: &str, name: &str, arguments: Arguments<'a>) {
        let call = Call {
            name: name.to_owned(),
            arguments,
        };
        self.calls.push((id.to_owned(), call, self.outputs.len()));
    }

    /// A tool output whose text is `content`: a string, or an array of text
    /// blocks (each of its `text` strings counts as one output).
    fn output(&mut self, id: Option<&str>, content: &'a RawValue, call: Option<Call<'a>>) {
        let text = content.get();
        if text.starts_with('"') {
            self.outputs.push((id.map(str::to_owned), content, call));
        } else if text.starts_with('[') {
            let Ok(blocks) = serde_json::from_str::<Vec<TextBlock<'a>>>(text) else {
                return;
            };
            for block in blocks {
                if let Some(text) = block
                    .text
                    .filter(|_| block.kind.as_deref() != Some("image"))
                {
                    self.outputs
                        .push((id.map(str::to_owned), text, call.clone()));
                }
            }
        }
    }

    fn finish(self) -> Vec<Output<'a>> {
        let base = self.body.as_ptr() as usize;
        let calls = self.calls;
        let replied = self.replied;
        let mut outputs: Vec<Output<'a>> = self
            .outputs
            .into_iter()
            .enumerate()
            .filter_map(|(index, (call_id, raw, call))| {
                let literal = raw.get();
                let start = (literal.as_ptr() as usize).checked_sub(base)?;
                let span = start..start + literal.len();
                if self.body.get(span.clone()) != Some(literal) || !literal.starts_with('"') {
                    return None;
                }
                let call = call.or_else(|| answered(&calls, call_id.as_deref()?, index));
                Some(Output {
                    literal,
                    span,
                    call_id,
                    call,
                    replied: index < replied,
                })
            })
            .collect();
        // Gemini's members come in key order; every other API's in order.
        outputs.sort_by_key(|output| output.span.start);
        outputs
    }
}

/// The call the output found `index`-th answers: the last call with its id
/// before it, as a client that reuses ids means it (a file read must never
/// be taken for the command run under the same id earlier); else the first
/// with its id, for a body that puts an output before its call.
fn answered<'a>(calls: &[(String, Call<'a>, usize)], id: &str, index: usize) -> Option<Call<'a>> {
    let with_id = || calls.iter().filter(|(known, _, _)| known == id);
    with_id()
        .rfind(|(_, _, outputs_before)| *outputs_before <= index)
        .or_else(|| with_id().next())
        .map(|(_, call, _)| call.clone())
}

#[derive(Deserialize)]
struct TextBlock<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<&'a RawValue>,
}

/// OpenAI chat completions: `role: "tool"` messages answer the assistant's
/// `tool_calls`.
fn chat<'a>(body: &'a str, found: &mut Found<'a>) -> Option<()> {
    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        messages: Vec<Message<'a>>,
    }
    #[derive(Deserialize)]
    struct Message<'a> {
        #[serde(borrow, default)]
        role: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        content: Option<&'a RawValue>,
        #[serde(borrow, default)]
        tool_call_id: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        tool_calls: Option<Vec<ToolCall<'a>>>,
    }
    #[derive(Deserialize)]
    struct ToolCall<'a> {
        #[serde(borrow)]
        id: Cow<'a, str>,
        #[serde(borrow)]
        function: Function<'a>,
    }
    #[derive(Deserialize)]
    struct Function<'a> {
        #[serde(borrow)]
        name: Cow<'a, str>,
        #[serde(borrow, default)]
        arguments: Option<Cow<'a, str>>,
    }
    let parsed: Body<'a> = serde_json::from_str(body).ok()?;
    for message in parsed.messages {
        if message.role.as_deref() == Some("assistant") {
            found.reply();
        }
        for call in message.tool_calls.into_iter().flatten() {
            let arguments = call
                .function
                .arguments
                .map_or(Arguments::None, Arguments::Text);
            found.call(&call.id, &call.function.name, arguments);
        }
        if message.role.as_deref() == Some("tool") {
            if let Some(content) = message.content {
                found.output(message.tool_call_id.as_deref(), content, None);
            }
        }
    }
    Some(())
}

/// OpenAI Responses: `function_call_output` (and `custom_tool_call_output`)
/// items answer `function_call` (and `custom_tool_call`) items.
fn responses<'a>(body: &'a str, found: &mut Found<'a>) -> Option<()> {
    #[derive(Deserialize)]
    struct Body<'a> {
        // A plain-text input has no tool outputs.
        #[serde(borrow)]
        input: ListOrOther<Item<'a>>,
    }
    #[derive(Deserialize)]
    struct Item<'a> {
        #[serde(rename = "type", borrow, default)]
        kind: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        role: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        call_id: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        name: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        arguments: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        input: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        output: Option<&'a RawValue>,
    }
    let parsed: Body<'a> = serde_json::from_str(body).ok()?;
    for item in parsed.input.0 {
        let id = item.call_id.as_deref();
        let kind = item.kind.as_deref();
        if item.role.as_deref() == Some("assistant")
            || matches!(
                kind,
                Some("function_call" | "custom_tool_call" | "reasoning")
            )
        {
            found.reply();
        }
        match (kind, id) {
            (Some("function_call" | "custom_tool_call"), Some(id)) => {
                let arguments = item
                    .arguments
                    .or(item.input)
                    .map_or(Arguments::None, Arguments::Text);
                found.call(id, item.name.as_deref().unwrap_or(""), arguments);
            }
            (Some("function_call_output" | "custom_tool_call_output"), _) => {
                if let Some(output) = item.output {
                    found.output(id, output, None);
                }
            }
            _ => {}
        }
    }
    Some(())
}

/// Anthropic Messages: `tool_result` blocks answer `tool_use` blocks.
fn anthropic<'a>(body: &'a str, found: &mut Found<'a>) -> Option<()> {
    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        messages: Vec<Message<'a>>,
    }
    #[derive(Deserialize)]
    struct Message<'a> {
        #[serde(borrow, default)]
        role: Option<Cow<'a, str>>,
        // A plain-text message has no tool outputs.
        #[serde(borrow)]
        content: ListOrOther<Block<'a>>,
    }
    #[derive(Deserialize)]
    struct Block<'a> {
        #[serde(rename = "type", borrow, default)]
        kind: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        id: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        name: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        input: Option<&'a RawValue>,
        #[serde(borrow, default)]
        tool_use_id: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        content: Option<&'a RawValue>,
    }
    let parsed: Body<'a> = serde_json::from_str(body).ok()?;
    for message in parsed.messages {
        if message.role.as_deref() == Some("assistant") {
            found.reply();
        }
        for block in message.content.0 {
            match block.kind.as_deref() {
                Some("tool_use") => {
                    let arguments = block.input.map_or(Arguments::None, Arguments::Object);
                    let id = block.id.as_deref().unwrap_or("");
                    found.call(id, block.name.as_deref().unwrap_or(""), arguments);
                }
                Some("tool_result") => {
                    if let Some(content) = block.content {
                        found.output(block.tool_use_id.as_deref(), content, None);
                    }
                }
                _ => {}
            }
        }
    }
    Some(())
}

/// Gemini: a `functionResponse` part names its function; its text is each
/// string member of its `response` object.
fn gemini<'a>(body: &'a str, found: &mut Found<'a>) -> Option<()> {
    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        contents: Vec<Content<'a>>,
    }
    #[derive(Deserialize)]
    struct Content<'a> {
        #[serde(borrow, default)]
        role: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        parts: Vec<Part<'a>>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Part<'a> {
        #[serde(borrow, default)]
        function_response: Option<Response<'a>>,
    }
    #[derive(Deserialize)]
    struct Response<'a> {
        #[serde(borrow, default)]
        id: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        name: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        response: Option<std::collections::BTreeMap<Cow<'a, str>, &'a RawValue>>,
    }
    let parsed: Body<'a> = serde_json::from_str(body).ok()?;
    for content in parsed.contents {
        if content.role.as_deref() == Some("model") {
            found.reply();
        }
        for response in content
            .parts
            .into_iter()
            .filter_map(|p| p.function_response)
        {
            let call = response.name.as_deref().map(|name| Call {
                name: name.to_owned(),
                arguments: Arguments::None,
            });
            for value in response
                .response
                .into_iter()
                .flat_map(|members| members.into_values())
            {
                if value.get().starts_with('"') {
                    found.output(response.id.as_deref(), value, call.clone());
                }
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests;
