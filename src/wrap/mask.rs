//! Masks the secrets a dry run would otherwise print: keys, tokens and the
//! values of headers the user configured. headroom's own header is shown.

use serde_json::Value;

use super::agent::UPSTREAM_HEADER;

/// What a masked value is shown as.
pub const MASK: &str = "***";

/// `value` with every string under a secret-looking key, and every header
/// value but headroom's, replaced by [`MASK`].
pub fn json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, inner)| {
                    let shown = if is_header_map(key) {
                        header_map(inner)
                    } else if is_secret_key(key) {
                        masked_leaves(inner)
                    } else {
                        json(inner)
                    };
                    (key.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        other => other.clone(),
    }
}

/// `Name: value` lines (Claude Code's `ANTHROPIC_CUSTOM_HEADERS`, Gemini
/// CLI's `GEMINI_CLI_CUSTOM_HEADERS` use `,`) with every value but
/// headroom's header masked.
pub fn header_lines(text: &str, separator: char) -> String {
    text.split(separator)
        .map(|line| match line.split_once(':') {
            Some((name, _)) if !name.trim().eq_ignore_ascii_case(UPSTREAM_HEADER) => {
                format!("{name}: {MASK}")
            }
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join(&separator.to_string())
}

/// True for a key whose value is a map of HTTP headers.
pub fn is_header_map(key: &str) -> bool {
    key.to_ascii_lowercase().ends_with("headers") && !key.starts_with("env_")
}

/// True for a key that names a key, token or password. `env_key` and its
/// kind name a variable, not a secret.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    if key.starts_with("env_") {
        return false;
    }
    [
        "key",
        "token",
        "secret",
        "password",
        "authorization",
        "cookie",
    ]
    .iter()
    .any(|word| key.contains(word))
}

fn header_map(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(name, inner)| {
                    let shown = if name.eq_ignore_ascii_case(UPSTREAM_HEADER) {
                        inner.clone()
                    } else {
                        masked_leaves(inner)
                    };
                    (name.clone(), shown)
                })
                .collect(),
        ),
        other => masked_leaves(other),
    }
}

fn masked_leaves(value: &Value) -> Value {
    match value {
        Value::String(_) | Value::Number(_) => Value::String(MASK.into()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), masked_leaves(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(masked_leaves).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_tokens_and_foreign_headers_are_masked() {
        let value = json!({
            "provider": {"p": {"options": {
                "apiKey": "sk-secret",
                "baseURL": "http://127.0.0.1:1/v1",
                "headers": {"X-Headroom-Upstream": "https://a.dev", "X-Gateway-Auth": "g"},
            }}},
            "env_key": "OPENAI_API_KEY",
            "experimental_bearer_token": "t",
            "list": [{"token": "x"}],
        });
        assert_eq!(
            json(&value),
            json!({
                "provider": {"p": {"options": {
                    "apiKey": "***",
                    "baseURL": "http://127.0.0.1:1/v1",
                    "headers": {"X-Headroom-Upstream": "https://a.dev", "X-Gateway-Auth": "***"},
                }}},
                "env_key": "OPENAI_API_KEY",
                "experimental_bearer_token": "***",
                "list": [{"token": "***"}],
            })
        );
    }

    #[test]
    fn header_lines_keep_only_headrooms_value() {
        assert_eq!(
            header_lines("X-Headroom-Upstream: https://a.dev\nX-Key: s3cret", '\n'),
            "X-Headroom-Upstream: https://a.dev\nX-Key: ***"
        );
        assert_eq!(header_lines("A: 1,B: 2", ','), "A: ***,B: ***");
    }
}
