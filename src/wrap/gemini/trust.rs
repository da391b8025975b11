//! Whether Gemini CLI trusts the workspace: an untrusted one's settings and
//! `.env` variables (but a few keys) are ignored, and so is
//! `~/.gemini/.env`. Read as Gemini CLI 0.61.0 reads it.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{gemini_home, read_settings};
use crate::wrap::environment::Environment;

/// `folder_trust` is the merged `security.folderTrust.enabled` of the
/// settings other than the workspace's (Gemini CLI's default: on).
pub(super) fn workspace_trusted(env: &Environment, folder_trust: Option<bool>) -> bool {
    let var = |name: &str| env.var(name);
    if var("GEMINI_RESTRICTED_MODE") == Some("true")
        || var("GEMINI_CLI_TRUST_WORKSPACE") == Some("false")
    {
        return false;
    }
    if var("GEMINI_CLI_TRUST_WORKSPACE") == Some("true") || folder_trust == Some(false) {
        return true;
    }
    let file = match env.non_empty("GEMINI_CLI_TRUSTED_FOLDERS_PATH") {
        Some(path) => env.resolve(path),
        None => gemini_home(env).join(".gemini/trustedFolders.json"),
    };
    trusted_by(&read_settings(&file), &env.cwd)
}

/// The rule with the longest path that covers `dir` decides; no rule: not
/// trusted.
fn trusted_by(rules: &Map<String, Value>, dir: &Path) -> bool {
    let real = |path: &Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = real(dir);
    let decision = rules
        .iter()
        .filter_map(|(rule, level)| {
            let level = level.as_str()?;
            let rule_path = PathBuf::from(rule);
            let covered = if level == "TRUST_PARENT" {
                rule_path.parent().map(Path::to_path_buf)?
            } else {
                rule_path
            };
            dir.starts_with(real(&covered))
                .then_some((rule.len(), level))
        })
        .max_by_key(|(len, _)| *len);
    matches!(decision, Some((_, "TRUST_FOLDER" | "TRUST_PARENT")))
}

/// The `.env` file Gemini CLI loads: the nearest `.gemini/.env` (trusted
/// only) or `.env` from the working directory up, else the home's.
pub(super) fn env_file(env: &Environment, trusted: bool) -> Option<PathBuf> {
    let candidates = |dir: &Path| {
        let mut files = Vec::new();
        if trusted {
            files.push(dir.join(".gemini/.env"));
        }
        files.push(dir.join(".env"));
        files
    };
    let home = gemini_home(env);
    let dirs: Vec<&Path> = env.cwd.ancestors().chain([home.as_path()]).collect();
    dirs.into_iter()
        .find_map(|dir| candidates(dir).into_iter().find(|path| path.is_file()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::wrap::environment::testing::{env_in, write};
    use serde_json::json;

    #[test]
    fn the_longest_rule_decides() {
        let root = tempfile::tempdir().unwrap();
        let repo = root.path().join("code/repo");
        std::fs::create_dir_all(&repo).unwrap();
        let code = root.path().join("code");
        let rules = |value: Value| value.as_object().cloned().unwrap();
        let code_s = code.display().to_string();
        let repo_s = repo.display().to_string();
        assert!(trusted_by(
            &rules(json!({code_s.clone(): "TRUST_FOLDER"})),
            &repo
        ));
        assert!(!trusted_by(
            &rules(json!({code_s.clone(): "TRUST_FOLDER", repo_s.clone(): "DO_NOT_TRUST"})),
            &repo
        ));
        // TRUST_PARENT trusts the rule's parent.
        assert!(trusted_by(
            &rules(json!({repo_s.clone(): "TRUST_PARENT"})),
            &code
        ));
        assert!(!trusted_by(&rules(json!({})), &repo));
    }

    #[test]
    fn variables_and_settings_decide_before_the_file() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        assert!(!workspace_trusted(&env, None));
        assert!(workspace_trusted(&env, Some(false)));
        write(
            &env.home.join(".gemini/trustedFolders.json"),
            &json!({env.cwd.display().to_string(): "TRUST_FOLDER"}).to_string(),
        );
        assert!(workspace_trusted(&env, None));
        env.vars
            .insert("GEMINI_CLI_TRUST_WORKSPACE".into(), "false".into());
        assert!(!workspace_trusted(&env, Some(false)));
    }

    #[test]
    fn an_untrusted_workspace_skips_gemini_dirs() {
        let root = tempfile::tempdir().unwrap();
        let env = env_in(root.path());
        write(&env.home.join(".gemini/.env"), "A=1");
        assert_eq!(env_file(&env, true), Some(env.home.join(".gemini/.env")));
        assert_eq!(env_file(&env, false), None);
        write(&env.cwd.join(".env"), "A=2");
        assert_eq!(env_file(&env, false), Some(env.cwd.join(".env")));
    }
}
