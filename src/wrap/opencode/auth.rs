//! Which providers opencode holds credentials for. Only the kind of each
//! entry is kept, never a key or token.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::environment::Environment;
use super::names::ConfigNames;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthKind {
    /// An API key.
    Api,
    /// A subscription login (ChatGPT, Copilot, ...).
    OAuth,
    /// A remote `.well-known/opencode` config, keyed by URL, not a provider.
    WellKnown,
    Other,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

/// `OPENCODE_AUTH_CONTENT` if set, else `$XDG_DATA_HOME/opencode/auth.json`
/// (under the agent's names). Unreadable or malformed auth counts as none,
/// as it does for opencode.
pub(crate) fn load(env: &Environment, names: &ConfigNames) -> BTreeMap<String, AuthKind> {
    let text = match env.non_empty(names.auth_var) {
        Some(inline) => inline.to_string(),
        None => {
            let path = env
                .agent_xdg_dir("XDG_DATA_HOME", ".local/share")
                .join(names.app_dir)
                .join("auth.json");
            std::fs::read_to_string(path).unwrap_or_default()
        }
    };
    let entries: BTreeMap<String, Entry> = serde_json::from_str(&text).unwrap_or_default();
    entries
        .into_iter()
        .map(|(id, entry)| (id, kind(entry.kind.as_deref())))
        .collect()
}

fn kind(tag: Option<&str>) -> AuthKind {
    match tag {
        Some("api") => AuthKind::Api,
        Some("oauth") => AuthKind::OAuth,
        Some("wellknown") => AuthKind::WellKnown,
        _ => AuthKind::Other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::wrap::opencode::environment::testing::{env_in, write};
    use crate::wrap::opencode::names::OPENCODE;

    const AUTH: &str = r#"{"openai": {"type": "oauth", "refresh": "r", "access": "a", "expires": 1},
        "groq": {"type": "api", "key": "gsk"}, "https://corp.dev": {"type": "wellknown", "key": "k", "token": "t"}}"#;

    #[test]
    fn reads_the_data_dir_file() {
        let root = tempfile::tempdir().unwrap();
        let env = env_in(root.path());
        write(&env.home.join(".local/share/opencode/auth.json"), AUTH);
        let auth = load(&env, &OPENCODE);
        assert_eq!(auth.get("openai"), Some(&AuthKind::OAuth));
        assert_eq!(auth.get("groq"), Some(&AuthKind::Api));
        assert_eq!(auth.get("https://corp.dev"), Some(&AuthKind::WellKnown));
    }

    #[test]
    fn inline_content_wins_and_garbage_is_none() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        write(&env.home.join(".local/share/opencode/auth.json"), AUTH);
        env.vars.insert(
            "OPENCODE_AUTH_CONTENT".into(),
            r#"{"x": {"type": "api"}}"#.into(),
        );
        assert_eq!(load(&env, &OPENCODE).keys().collect::<Vec<_>>(), ["x"]);
        env.vars.insert("OPENCODE_AUTH_CONTENT".into(), "[1".into());
        assert!(load(&env, &OPENCODE).is_empty());
    }
}
