//! One provider as opencode would build it: config over catalog.

use serde_json::Value;

use super::catalog::CatalogEntry;
use super::layers::UserConfig;

/// The fields that decide where a provider's requests go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Provider<'a> {
    pub id: &'a str,
    pub npm: Option<&'a str>,
    pub api: Option<&'a str>,
    /// `options.baseURL` from config, which beats everything else.
    pub base_url: Option<&'a str>,
    /// The user's config already sends `X-Headroom-Upstream` (any case):
    /// the provider talks to a headroom proxy of its own.
    pub names_upstream: bool,
    /// The user's config already sends `X-Headroom-Provider` (any case):
    /// the usage is to be counted under the name it gives.
    pub names_provider: bool,
}

impl<'a> Provider<'a> {
    pub fn new(id: &'a str, config: &'a UserConfig) -> Provider<'a> {
        let configured = config.merged.get("provider").and_then(|p| p.get(id));
        let entry = config.catalog.get(id);
        let from_config = |key: &str| configured.and_then(|c| text(c.get(key)));
        let from_catalog = |pick: fn(&CatalogEntry) -> &Option<String>| {
            entry
                .and_then(|e| pick(e).as_deref())
                .filter(|s| !s.is_empty())
        };
        let options = configured.and_then(|c| c.get("options"));
        let sends = |header: &str| {
            options
                .and_then(|o| o.get("headers"))
                .and_then(Value::as_object)
                .is_some_and(|headers| headers.keys().any(|name| name.eq_ignore_ascii_case(header)))
        };
        Provider {
            id,
            npm: from_config("npm").or_else(|| from_catalog(|e| &e.npm)),
            api: from_config("api").or_else(|| from_catalog(|e| &e.api)),
            base_url: options.and_then(|o| text(o.get("baseURL"))),
            names_upstream: sends(crate::proxy::headers::UPSTREAM_HEADER),
            names_provider: sends(crate::proxy::headers::PROVIDER_HEADER),
        }
    }
}

/// A non-empty string value; anything else counts as unset.
fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn config(merged: Value) -> UserConfig {
        UserConfig::from_parts(merged, &[])
    }

    #[test]
    fn config_fields_beat_the_catalog() {
        let config = config(json!({"provider": {
            "openrouter": {"api": "https://or.example/v1", "options": {"baseURL": "https://b.example"}},
            "mine": {"npm": "@ai-sdk/anthropic"},
            "groq": {"npm": "", "options": {"baseURL": 5}}
        }}));
        let or = Provider::new("openrouter", &config);
        assert_eq!(or.api, Some("https://or.example/v1"));
        assert_eq!(or.base_url, Some("https://b.example"));
        assert_eq!(or.npm, Some("@openrouter/ai-sdk-provider"));
        let mine = Provider::new("mine", &config);
        assert_eq!(
            (mine.npm, mine.api, mine.base_url),
            (Some("@ai-sdk/anthropic"), None, None)
        );
        let groq = Provider::new("groq", &config);
        assert_eq!((groq.npm, groq.base_url), (Some("@ai-sdk/groq"), None));
    }

    #[test]
    fn an_upstream_header_in_config_is_noticed_in_any_case() {
        let config = config(json!({"provider": {
            "a": {"options": {"headers": {"x-headroom-UPSTREAM": "https://a.dev"}}},
            "b": {"options": {"headers": {"X-Other": "1"}}},
            "c": {"options": {"headers": {"x-HEADROOM-provider": "mine"}}}
        }}));
        assert!(Provider::new("a", &config).names_upstream);
        assert!(!Provider::new("b", &config).names_upstream);
        assert!(!Provider::new("b", &config).names_provider);
        let c = Provider::new("c", &config);
        assert!(c.names_provider && !c.names_upstream);
    }
}
