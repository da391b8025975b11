//! Which providers the agent turns on.

use std::collections::BTreeSet;

use serde_json::Value;

use super::auth::AuthKind;
use super::environment::Environment;
use super::layers::UserConfig;

/// Configured, credentialed (env var or auth entry) and always-on providers
/// (the agent's own), narrowed by `disabled_providers` and `enabled_providers`.
pub(crate) fn active_providers(config: &UserConfig, env: &Environment) -> BTreeSet<String> {
    let mut ids = BTreeSet::from([config.names.own_provider.to_string()]);
    if let Some(Value::Object(configured)) = config.merged.get("provider") {
        ids.extend(configured.keys().cloned());
    }
    let has_env = |vars: &[String]| vars.iter().any(|v| env.non_empty(v).is_some());
    for (id, entry) in &config.catalog.providers {
        if has_env(entry.env()) {
            ids.insert(id.clone());
        }
    }
    for (id, kind) in &config.auth {
        if *kind != AuthKind::WellKnown {
            ids.insert(id.clone());
        }
    }
    if let Some(disabled) = id_list(config, "disabled_providers") {
        ids.retain(|id| !disabled.contains(id));
    }
    if let Some(enabled) = id_list(config, "enabled_providers") {
        ids.retain(|id| enabled.contains(id));
    }
    ids
}

fn id_list(config: &UserConfig, key: &str) -> Option<BTreeSet<String>> {
    let list = config.merged.get(key)?.as_array()?;
    Some(
        list.iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::wrap::opencode::environment::testing::env_in;
    use serde_json::json;

    fn config(merged: Value, auth: &[(&str, AuthKind)]) -> UserConfig {
        UserConfig::from_parts(merged, auth)
    }

    fn ids(set: BTreeSet<String>) -> Vec<String> {
        set.into_iter().collect()
    }

    #[test]
    fn activation_by_config_env_and_auth() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        env.vars.insert("GROQ_API_KEY".into(), "k".into());
        env.vars.insert("MISTRAL_API_KEY".into(), String::new());
        let auth = [
            ("deepseek", AuthKind::Api),
            ("https://corp.dev", AuthKind::WellKnown),
        ];
        let config = config(json!({"provider": {"custom": {}}}), &auth);
        let got = ids(active_providers(&config, &env));
        assert_eq!(got, ["custom", "deepseek", "groq", "opencode"]);
    }

    #[test]
    fn only_opencode_without_anything() {
        let root = tempfile::tempdir().unwrap();
        let env = env_in(root.path());
        assert_eq!(
            ids(active_providers(&config(json!({}), &[]), &env)),
            ["opencode"]
        );
    }

    #[test]
    fn disabled_and_enabled_providers() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        env.vars.insert("GROQ_API_KEY".into(), "k".into());
        env.vars.insert("XAI_API_KEY".into(), "k".into());
        let disabled = config(json!({"disabled_providers": ["groq", "opencode"]}), &[]);
        assert_eq!(ids(active_providers(&disabled, &env)), ["xai"]);
        let enabled = config(json!({"enabled_providers": ["groq", "nothing"]}), &[]);
        assert_eq!(ids(active_providers(&enabled, &env)), ["groq"]);
        let both = config(
            json!({"enabled_providers": ["groq", "xai"], "disabled_providers": ["xai"]}),
            &[],
        );
        assert_eq!(ids(active_providers(&both, &env)), ["groq"]);
    }
}
