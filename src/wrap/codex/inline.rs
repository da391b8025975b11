//! TOML values written inline, on one line, as Codex's `-c key=value`
//! takes them; and the same with the secrets masked for a dry run.

use toml::{Table, Value};

use crate::wrap::mask;

/// The provider's key for the query parameters Codex adds to every URL.
const QUERY_PARAMS: &str = "query_params";

/// `{ key = value, ... }` on one line.
pub fn table(table: &Table) -> String {
    let entries: Vec<String> = table
        .iter()
        .map(|(k, v)| format!("{} = {}", key(k), value(v)))
        .collect();
    format!("{{ {} }}", entries.join(", "))
}

pub fn value(value: &Value) -> String {
    match value {
        Value::String(s) => string(s),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => "nan".into(),
        Value::Float(f) if f.is_infinite() => if *f > 0.0 { "inf" } else { "-inf" }.into(),
        Value::Float(f) => format!("{f:?}"),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => d.to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(self::value).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Table(t) => self::table(t),
    }
}

/// A basic string. JSON's escapes are all valid TOML escapes.
pub fn string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A bare key when it may be one, else a quoted one.
pub fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        k.to_string()
    } else {
        string(k)
    }
}

/// `table` with secret-looking values, foreign header values and the
/// values of the query Codex adds to the URL masked, and every URL masked
/// by [`mask::url`].
pub fn masked(table: &Table) -> Table {
    table
        .iter()
        .map(|(k, v)| {
            let shown = if mask::is_header_map(k) {
                match v {
                    Value::Table(headers) => Value::Table(
                        headers
                            .iter()
                            .map(|(name, inner)| (name.clone(), header(name, inner)))
                            .collect(),
                    ),
                    _ => hidden(),
                }
            } else if mask::is_secret_key(k) {
                hidden()
            } else if k == QUERY_PARAMS {
                match v {
                    Value::Table(params) => {
                        Value::Table(params.keys().map(|name| (name.clone(), hidden())).collect())
                    }
                    _ => hidden(),
                }
            } else {
                match v {
                    Value::Table(inner) => Value::Table(masked(inner)),
                    Value::String(text) => Value::String(mask::url(text)),
                    other => other.clone(),
                }
            };
            (k.clone(), shown)
        })
        .collect()
}

fn header(name: &str, value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(mask::header_value(name, text)),
        _ => hidden(),
    }
}

fn hidden() -> Value {
    Value::String(mask::MASK.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_table_reads_back_as_itself() {
        let text = r#"
            name = "Corp \"gw\""
            base_url = "http://127.0.0.1:1/v1"
            retries = 4
            ratio = 0.5
            supports_websockets = false
            list = ["a", 1]
            http_headers = { "X-Headroom-Upstream" = "https://a.dev", "x.y" = "z" }
            query_params = { api-version = "2025-04-01" }
        "#;
        let parsed: Table = text.parse().unwrap();
        let inline = table(&parsed);
        assert!(!inline.contains('\n'), "{inline}");
        let back: Table = format!("v = {inline}").parse().unwrap();
        assert_eq!(back["v"].as_table(), Some(&parsed));
    }

    #[test]
    fn secrets_and_foreign_headers_are_masked() {
        let parsed: Table = r#"
            env_key = "CORP_KEY"
            experimental_bearer_token = "tok"
            base_url = "https://u:pw@gw.dev/v1"
            query_params = { code = "fn-secret" }
            http_headers = { "X-Headroom-Upstream" = "https://u:pw@gw.dev/v1", "X-Auth" = "s" }
        "#
        .parse()
        .unwrap();
        let shown = table(&masked(&parsed));
        assert!(shown.contains(r#"env_key = "CORP_KEY""#), "{shown}");
        assert!(
            shown.contains(r#"experimental_bearer_token = "***""#),
            "{shown}"
        );
        assert!(shown.contains(r#"X-Auth = "***""#), "{shown}");
        assert!(
            shown.contains(r#"X-Headroom-Upstream = "https://u:***@gw.dev/v1""#),
            "{shown}"
        );
        assert!(
            shown.contains(r#"base_url = "https://u:***@gw.dev/v1""#),
            "{shown}"
        );
        assert!(
            shown.contains(r#"query_params = { code = "***" }"#),
            "{shown}"
        );
    }
}
