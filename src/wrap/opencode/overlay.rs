//! The inline config (`OPENCODE_CONFIG_CONTENT`) the child runs with.
//!
//! Only `options.baseURL` and two headers are set per provider: the real
//! base URL, and the provider's id, under which the proxy counts its usage.
//! opencode's deep merge keeps everything else the user configured.
//! `options.baseURL` also wins over per-model `api` URLs, so models need no
//! entries.

use std::path::Path;

use http::HeaderValue;
use serde_json::{json, Map, Value};

use crate::proxy::headers::provider_id;

use super::error::ConfigError;
use super::jsonc::parse_object;
use super::merge::deep_merge;
use crate::wrap::agent::Routed;

pub(crate) use crate::wrap::agent::{PROVIDER_HEADER, UPSTREAM_HEADER};

pub(crate) fn build(routed: &[Routed]) -> Value {
    let providers: Map<String, Value> = routed
        .iter()
        .map(|r| {
            let mut headers = Map::new();
            headers.insert(UPSTREAM_HEADER.into(), json!(r.upstream));
            // Without it, the proxy names the provider by its origin.
            if r.names_itself {
                headers.insert(PROVIDER_HEADER.into(), json!(r.id));
            }
            let options = json!({
                "options": { "baseURL": r.base_url, "headers": headers }
            });
            (r.id.clone(), options)
        })
        .collect();
    if providers.is_empty() {
        return json!({});
    }
    json!({ "provider": providers })
}

/// Lets the agent read the files in `dir` (compression's spill files, which
/// a cut output names) without asking: opencode asks before its tools touch
/// a directory outside the project, and `opencode run` rejects what it
/// would ask. Added as one more `external_directory` rule, which comes after
/// the user's and so wins for `dir` alone. A user whose config answers every
/// external directory (or every permission) with one action, or denies them
/// all, keeps exactly that.
pub(crate) fn allow_reading(overlay: &mut Value, user: &Map<String, Value>, dir: &Path) {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let pattern = format!("{}/*", dir.display());
    let rules = match user.get("permission") {
        None => json!({ pattern: "allow" }),
        Some(Value::Object(permission)) => match permission.get("external_directory") {
            None => json!({ pattern: "allow" }),
            // One action for every directory: kept for all but `dir`.
            Some(Value::String(action)) if action == "ask" => {
                json!({ "*": "ask", pattern: "allow" })
            }
            Some(Value::Object(rules)) if rules.get("*") != Some(&json!("deny")) => {
                json!({ pattern: "allow" })
            }
            Some(_) => return,
        },
        Some(_) => return,
    };
    if let Some(overlay) = overlay.as_object_mut() {
        overlay.insert("permission".into(), json!({ "external_directory": rules }));
    }
}

/// True when the proxy takes `id` as an `X-Headroom-Provider` value
/// (opencode takes any JSON key as an id).
pub(crate) fn names_a_provider(id: &str) -> bool {
    HeaderValue::from_str(id).is_ok_and(|value| provider_id(&value).is_ok())
}

/// `overlay` deep-merged into the user's own inline config, the value of
/// `var` (JSONC, maybe absent or empty). `{env:}`/`{file:}` tokens are kept
/// as text for the agent to substitute. An empty overlay leaves the text as is.
pub fn config_content(
    var: &str,
    existing: Option<&str>,
    overlay: &Value,
) -> Result<String, ConfigError> {
    let empty = Map::new();
    let overlay = overlay.as_object().unwrap_or(&empty);
    let existing = existing.unwrap_or_default();
    if overlay.is_empty() && !existing.trim().is_empty() {
        return Ok(existing.to_string());
    }
    let mut merged = parse_object(existing, var)?;
    deep_merge(&mut merged, overlay);
    Ok(Value::Object(merged).to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const VAR: &str = "OPENCODE_CONFIG_CONTENT";

    fn routed(id: &str, upstream: &str, base_url: &str) -> Routed {
        Routed {
            id: id.into(),
            upstream: upstream.into(),
            base_url: base_url.into(),
            names_itself: names_a_provider(id),
        }
    }

    #[test]
    fn overlay_sets_base_url_and_header_only() {
        let overlay = build(&[routed(
            "openrouter",
            "https://openrouter.ai/api/v1",
            "http://p:1/v1",
        )]);
        assert_eq!(
            overlay,
            json!({"provider": {"openrouter": {"options": {
                "baseURL": "http://p:1/v1",
                "headers": {
                    "X-Headroom-Upstream": "https://openrouter.ai/api/v1",
                    "X-Headroom-Provider": "openrouter",
                }
            }}}})
        );
        assert_eq!(build(&[]), json!({}));
    }

    #[test]
    fn an_id_the_proxy_would_refuse_is_not_sent() {
        for id in ["my gateway", "café", &"p".repeat(65)] {
            let overlay = build(&[routed(id, "https://gw.example/v1", "http://p:1/v1")]);
            let headers = &overlay["provider"][id]["options"]["headers"];
            assert_eq!(headers["X-Headroom-Upstream"], "https://gw.example/v1");
            assert!(
                headers.get("X-Headroom-Provider").is_none(),
                "{id}: {headers}"
            );
        }
    }

    #[test]
    fn merges_into_existing_jsonc_keeping_the_users_keys() {
        let existing = r#"{
            // mine
            "model": "openrouter/x",
            "provider": {"openrouter": {"options": {"apiKey": "{env:OR_KEY}",
                "headers": {"HTTP-Referer": "me",},
                "baseURL": "https://old"}}},
        }"#;
        let overlay = build(&[routed("openrouter", "https://old", "http://p:1")]);
        let out: Value =
            serde_json::from_str(&config_content(VAR, Some(existing), &overlay).unwrap()).unwrap();
        assert_eq!(
            out,
            json!({"model": "openrouter/x", "provider": {"openrouter": {"options": {
                "apiKey": "{env:OR_KEY}",
                "headers": {"HTTP-Referer": "me", "X-Headroom-Upstream": "https://old",
                    "X-Headroom-Provider": "openrouter"},
                "baseURL": "http://p:1"
            }}}})
        );
    }

    #[test]
    fn absent_or_empty_existing_is_just_the_overlay() {
        let overlay = build(&[routed("groq", "https://g/openai/v1", "http://p:1/v1")]);
        for existing in [None, Some(""), Some("  ")] {
            let out: Value =
                serde_json::from_str(&config_content(VAR, existing, &overlay).unwrap()).unwrap();
            assert_eq!(out, overlay);
        }
    }

    #[test]
    fn empty_overlay_keeps_existing_text_and_bad_existing_is_an_error() {
        assert_eq!(
            config_content(VAR, Some("{/*c*/}"), &json!({})).unwrap(),
            "{/*c*/}"
        );
        assert_eq!(config_content(VAR, None, &json!({})).unwrap(), "{}");
        let overlay = build(&[routed("groq", "https://g/v1", "http://p:1/v1")]);
        let err = config_content(VAR, Some("{\"a\": }"), &overlay).unwrap_err();
        assert!(
            err.to_string().starts_with("OPENCODE_CONFIG_CONTENT:1:"),
            "{err}"
        );
    }

    /// The `external_directory` rules the overlay adds for `/spill` under a
    /// user config whose `permission` is `user`; `None` when it adds none.
    fn spill_rules(user: Option<Value>) -> Option<Value> {
        let mut config = Map::new();
        if let Some(permission) = user {
            config.insert("permission".into(), permission);
        }
        let mut overlay = json!({ "provider": {} });
        allow_reading(&mut overlay, &config, Path::new("/spill"));
        overlay
            .get("permission")
            .map(|permission| permission["external_directory"].clone())
    }

    #[test]
    fn the_spill_dir_is_allowed_unless_the_user_answers_every_directory() {
        let allowed = Some(json!({ "/spill/*": "allow" }));
        assert_eq!(spill_rules(None), allowed);
        assert_eq!(spill_rules(Some(json!({ "bash": "ask" }))), allowed);
        assert_eq!(
            spill_rules(Some(
                json!({ "external_directory": { "/home/*": "allow" } })
            )),
            allowed
        );
        assert_eq!(
            spill_rules(Some(json!({ "external_directory": "ask" }))),
            Some(json!({ "*": "ask", "/spill/*": "allow" }))
        );
        for kept in [
            json!("ask"),
            json!({ "external_directory": "deny" }),
            json!({ "external_directory": "allow" }),
            json!({ "external_directory": { "*": "deny" } }),
        ] {
            assert_eq!(spill_rules(Some(kept.clone())), None, "{kept}");
        }
    }
}
