//! Which providers exist, their API base, SDK package and activating env
//! vars: opencode's cached models.dev catalog when it has one, else the
//! catalog bundled with opencode 1.18.33.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::environment::Environment;
use super::names::ConfigNames;

const BUILT_IN: &str = include_str!("catalog.json");

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct CatalogEntry {
    #[serde(default)]
    pub api: Option<String>,
    #[serde(default)]
    pub npm: Option<String>,
    #[serde(default)]
    env: Option<Vec<String>>,
}

impl CatalogEntry {
    pub fn env(&self) -> &[String] {
        self.env.as_deref().unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Catalog {
    pub providers: BTreeMap<String, CatalogEntry>,
}

#[derive(Deserialize)]
struct BuiltIn {
    providers: BTreeMap<String, CatalogEntry>,
}

impl Catalog {
    pub fn built_in() -> Catalog {
        let providers = serde_json::from_str::<BuiltIn>(BUILT_IN)
            .map(|b| b.providers)
            .unwrap_or_default();
        Catalog { providers }
    }

    /// The agent's own cache if it parses, else the built-in catalog.
    pub fn load(env: &Environment, names: &ConfigNames) -> Catalog {
        let path = env
            .agent_xdg_dir("XDG_CACHE_HOME", ".cache")
            .join(names.app_dir)
            .join("models.json");
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .filter(|providers: &BTreeMap<String, CatalogEntry>| !providers.is_empty())
            .map_or_else(Catalog::built_in, |providers| Catalog { providers })
    }

    pub fn get(&self, id: &str) -> Option<&CatalogEntry> {
        self.providers.get(id)
    }

    /// Gives provider `id` the base URL `api`, adding it if missing.
    pub fn set_api(&mut self, id: &str, api: String) {
        self.providers.entry(id.to_string()).or_default().api = Some(api);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::wrap::opencode::environment::testing::{env_in, write};
    use crate::wrap::opencode::names::OPENCODE;

    #[test]
    fn built_in_catalog_parses() {
        let catalog = Catalog::built_in();
        assert!(catalog.providers.len() > 200);
        let openrouter = catalog.get("openrouter").unwrap();
        assert_eq!(
            openrouter.api.as_deref(),
            Some("https://openrouter.ai/api/v1")
        );
        assert_eq!(
            catalog.get("anthropic").unwrap().env(),
            ["ANTHROPIC_API_KEY"]
        );
    }

    #[test]
    fn prefers_the_cache_and_falls_back_when_it_is_broken() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        env.vars.insert(
            "XDG_CACHE_HOME".into(),
            root.path().join("c").display().to_string(),
        );
        let cache = root.path().join("c/opencode/models.json");
        write(
            &cache,
            r#"{"acme": {"id": "acme", "api": "https://acme.dev/v1", "npm": "@ai-sdk/openai-compatible",
                "env": ["ACME_KEY"], "models": {"m": {"id": "m", "cost": {"input": 1}}}},
               "bare": {"id": "bare"}}"#,
        );
        let catalog = Catalog::load(&env, &OPENCODE);
        assert_eq!(catalog.providers.len(), 2);
        assert_eq!(catalog.get("acme").unwrap().env(), ["ACME_KEY"]);
        assert!(catalog.get("bare").unwrap().env().is_empty());

        write(&cache, "{not json");
        assert_eq!(Catalog::load(&env, &OPENCODE), Catalog::built_in());
    }
}
