//! Masks the secrets a dry run would otherwise print: keys, tokens, the
//! values of headers the user configured and of an MCP server's
//! environment, and a URL's password and query values. headroom's own
//! headers are shown.

use serde_json::Value;

use super::agent::{PROVIDER_HEADER, UPSTREAM_HEADER};

/// What a masked value is shown as.
pub const MASK: &str = "***";

/// Keys whose value is a map of MCP servers: opencode's, and Gemini CLI's
/// and its forks'.
const MCP_SERVERS: [&str; 2] = ["mcp", "mcpServers"];

/// Keys of an MCP server whose every value is the server's business:
/// credentials go there under any name (`GITHUB_PAT`).
const MCP_PRIVATE: [&str; 3] = ["environment", "env", "headers"];

/// `value` with every string under a secret-looking key, every header
/// value but headroom's, and every value of an MCP server's environment
/// replaced by [`MASK`], and every URL in it masked by [`url`].
pub fn json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, inner)| {
                    let shown = if is_header_map(key) {
                        header_map(inner)
                    } else if is_secret_key(key) {
                        masked_leaves(inner)
                    } else if MCP_SERVERS.contains(&key.as_str()) {
                        mcp_servers(inner)
                    } else {
                        json(inner)
                    };
                    (key.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        Value::String(text) => Value::String(url(text)),
        other => other.clone(),
    }
}

/// `value` with every URL in it masked by [`url`] and nothing else: for
/// what headroom itself builds, whose keys are ids, not secrets.
pub fn urls(value: &Value) -> Value {
    map_leaves(value, &|leaf| match leaf {
        Value::String(text) => Value::String(url(text)),
        other => other.clone(),
    })
}

/// `text` with its password (or a user alone, often a token) and the values of its
/// query masked, when it is a URL (`scheme://...`); else `text` as is. The
/// rest stays, so the user still sees where it points.
pub fn url(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_string();
    };
    if !is_scheme(scheme) {
        return text.to_string();
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(authority_end);
    let (rest, fragment) = rest.split_at(rest.find('#').unwrap_or(rest.len()));
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, format!("?{}", query_names(query))),
        None => (rest, String::new()),
    };
    format!(
        "{scheme}://{}{path}{query}{fragment}",
        without_password(authority)
    )
}

/// A URL scheme as RFC 3986 spells it: a letter, then letters, digits,
/// `+`, `-` or `.`.
fn is_scheme(scheme: &str) -> bool {
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// `user:password@host` as `user:***@host`, and `user@host` as `***@host`:
/// a user alone is often a token. A password may hold `@`, so the host
/// starts after the last one.
fn without_password(authority: &str) -> String {
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:{MASK}@{host}"),
            None => format!("{MASK}@{host}"),
        },
        None => authority.to_string(),
    }
}

/// `a=1&b=2` as `a=***&b=***`: the names say what the query is for, the
/// values may be keys.
fn query_names(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() => format!("{name}={MASK}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `Name: value` lines (Claude Code's `ANTHROPIC_CUSTOM_HEADERS`, Gemini
/// CLI's `GEMINI_CLI_CUSTOM_HEADERS` use `,`) with every value shown as
/// [`header_value`] shows it.
pub fn header_lines(text: &str, separator: char) -> String {
    text.split(separator)
        .map(|line| match line.split_once(':') {
            Some((name, value)) => format!("{name}: {}", header_value(name.trim(), value.trim())),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join(&separator.to_string())
}

/// How a dry run shows header `name`'s `value`: headroom's upstream as a
/// [`url`], headroom's provider id as is (an id, not a secret), any other
/// header masked.
pub fn header_value(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case(UPSTREAM_HEADER) {
        url(value)
    } else if name.eq_ignore_ascii_case(PROVIDER_HEADER) {
        value.to_string()
    } else {
        MASK.to_string()
    }
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
                    let shown = match inner {
                        Value::String(value) => Value::String(header_value(name, value)),
                        other => masked_leaves(other),
                    };
                    (name.clone(), shown)
                })
                .collect(),
        ),
        other => masked_leaves(other),
    }
}

/// MCP servers with their environment and headers masked whole.
fn mcp_servers(value: &Value) -> Value {
    let Value::Object(servers) = value else {
        return json(value);
    };
    let server = |config: &Value| match config {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, inner)| {
                    let shown = if MCP_PRIVATE.contains(&key.as_str()) {
                        masked_leaves(inner)
                    } else {
                        json(inner)
                    };
                    (key.clone(), shown)
                })
                .collect(),
        ),
        other => json(other),
    };
    Value::Object(
        servers
            .iter()
            .map(|(name, config)| (name.clone(), server(config)))
            .collect(),
    )
}

fn masked_leaves(value: &Value) -> Value {
    map_leaves(value, &|leaf| match leaf {
        Value::String(_) | Value::Number(_) => Value::String(MASK.into()),
        other => other.clone(),
    })
}

/// `value` with each leaf (what is neither an object nor an array) shown
/// as `leaf` shows it.
fn map_leaves(value: &Value, leaf: &dyn Fn(&Value) -> Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, inner)| (key.clone(), map_leaves(inner, leaf)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| map_leaves(item, leaf)).collect())
        }
        other => leaf(other),
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
                "headers": {
                    "X-Headroom-Upstream": "https://a.dev",
                    "X-Headroom-Provider": "p",
                    "X-Gateway-Auth": "g",
                },
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
                    "headers": {
                        "X-Headroom-Upstream": "https://a.dev",
                        "X-Headroom-Provider": "p",
                        "X-Gateway-Auth": "***",
                    },
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
        assert_eq!(
            header_lines(
                "X-Headroom-Upstream: https://u:pw@a.dev/v1?key=k, B: 2",
                ','
            ),
            "X-Headroom-Upstream: https://u:***@a.dev/v1?key=***, B: ***"
        );
    }

    #[test]
    fn a_url_keeps_all_but_its_password_and_query_values() {
        for (text, shown) in [
            (
                "https://user:s3cretpw@gw.example/v1",
                "https://user:***@gw.example/v1",
            ),
            (
                "https://gw.example/v1?key=SECRETKEY&api-version=1&flag&empty=",
                "https://gw.example/v1?key=***&api-version=***&flag&empty=",
            ),
            (
                "http://u:p@ss@h:8080?t=1#top",
                "http://u:***@h:8080?t=***#top",
            ),
            (
                "https://ghp_token@gw.example/v1",
                "https://***@gw.example/v1",
            ),
            ("https://gw.example/a:b@c", "https://gw.example/a:b@c"),
            ("http://127.0.0.1:PORT/v1", "http://127.0.0.1:PORT/v1"),
            ("not a url: a:b@c?d=e", "not a url: a:b@c?d=e"),
        ] {
            assert_eq!(url(text), shown, "{text}");
        }
    }

    #[test]
    fn urls_anywhere_and_an_mcp_servers_environment_are_masked() {
        let value = json!({
            "baseURL": "https://u:pw@gw.example/v1",
            "headers": {"X-Headroom-Upstream": "https://gw.example/v1?key=k"},
            "mcp": {"gh": {
                "environment": {"GITHUB_PAT": "ghp_s", "DEBUG": "1"},
                "headers": {"X-Headroom-Upstream": "https://a.dev"},
                "url": "https://mcp.example/x?token=t",
                "command": ["gh-mcp"],
            }},
            "mcpServers": {"s": {"env": {"PAT": "p"}, "httpUrl": "https://m.dev?k=v"}},
        });
        assert_eq!(
            json(&value),
            json!({
                "baseURL": "https://u:***@gw.example/v1",
                "headers": {"X-Headroom-Upstream": "https://gw.example/v1?key=***"},
                "mcp": {"gh": {
                    "environment": {"GITHUB_PAT": "***", "DEBUG": "***"},
                    "headers": {"X-Headroom-Upstream": "***"},
                    "url": "https://mcp.example/x?token=***",
                    "command": ["gh-mcp"],
                }},
                "mcpServers": {"s": {"env": {"PAT": "***"}, "httpUrl": "https://m.dev?k=***"}},
            })
        );
        assert_eq!(
            urls(&json!({"apiKey": ["https://u:pw@a.dev"]})),
            json!({"apiKey": ["https://u:***@a.dev"]})
        );
    }
}
