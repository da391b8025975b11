//! opencode's `{env:VAR}` and `{file:path}` substitution in raw config text.
//!
//! As opencode does: `{env:}` first, inserting the value verbatim (unset is
//! empty); then `{file:}` on the result, inserting the trimmed file content
//! JSON-string-escaped (so it is meant to sit inside a string literal).
//! Tokens inside comments are left as they are.

use std::path::{Path, PathBuf};

use super::environment::Environment;
use super::error::ConfigError;
use super::jsonc::comment_ranges;

/// Where a config text came from: its name in errors and the directory that
/// relative `{file:}` paths start from.
pub(crate) struct Source<'a> {
    pub name: &'a str,
    pub dir: &'a Path,
}

pub(crate) fn substitute(
    text: &str,
    source: &Source,
    env: &Environment,
) -> Result<String, ConfigError> {
    let text = replace_tokens(text, "{env:", |name, _| {
        Ok(env.var(name).unwrap_or_default().to_string())
    })?;
    replace_tokens(&text, "{file:", |path, offset| {
        file_content(path, source, env)
            .map(|content| json_escape(&content))
            .map_err(|message| ConfigError::at(source.name, &text, offset, message))
    })
}

/// Replaces each `<prefix>NAME}` outside comments (NAME: one or more
/// characters, none `}`) with `value(NAME, offset)`.
fn replace_tokens<F>(text: &str, prefix: &str, mut value: F) -> Result<String, ConfigError>
where
    F: FnMut(&str, usize) -> Result<String, ConfigError>,
{
    let comments = comment_ranges(text);
    let in_comment = |offset: usize| comments.iter().any(|r| r.contains(&offset));
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find(prefix) {
        let start = search + found;
        let name_start = start + prefix.len();
        let Some(name_len) = text[name_start..].find('}') else {
            break;
        };
        if name_len == 0 {
            search = start + 1;
            continue;
        }
        let end = name_start + name_len + 1;
        if !in_comment(start) {
            out.push_str(&text[cursor..start]);
            out.push_str(&value(&text[name_start..end - 1], start)?);
            cursor = end;
        }
        search = end;
    }
    out.push_str(&text[cursor..]);
    Ok(out)
}

fn file_content(reference: &str, source: &Source, env: &Environment) -> Result<String, String> {
    let path = resolve(reference, source.dir, &env.home);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "bad file reference \"{{file:{reference}}}\": {} does not exist",
            path.display()
        )),
        Err(e) => Err(format!(
            "bad file reference \"{{file:{reference}}}\": cannot read {}: {e}",
            path.display()
        )),
    }
}

fn resolve(reference: &str, dir: &Path, home: &Path) -> PathBuf {
    match reference.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => dir.join(reference),
    }
}

/// The text of a JSON string literal without its quotes.
fn json_escape(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::wrap::opencode::environment::testing::{env_in, write};

    fn run(text: &str, env: &Environment, dir: &Path) -> Result<String, ConfigError> {
        let source = Source {
            name: "/cfg/opencode.json",
            dir,
        };
        substitute(text, &source, env)
    }

    #[test]
    fn env_tokens_are_replaced_verbatim_and_unset_is_empty() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        env.vars.insert("KEY".into(), "a\"b".into());
        let out = run(
            r#"{"k": "{env:KEY}", "u": "{env:UNSET}", "e": "{env:}"}"#,
            &env,
            root.path(),
        );
        assert_eq!(out.unwrap(), r#"{"k": "a"b", "u": "", "e": "{env:}"}"#);
    }

    #[test]
    fn file_tokens_are_trimmed_escaped_and_relative_to_the_config_dir() {
        let root = tempfile::tempdir().unwrap();
        let env = env_in(root.path());
        let dir = root.path().join("cfg");
        write(&dir.join("secrets/key.txt"), "  line1\n\"two\"\\ \n");
        write(&env.home.join("h.txt"), "home");
        let text = r#"{"a": "{file:secrets/key.txt}", "b": "{file:~/h.txt}"}"#;
        let out = run(text, &env, &dir).unwrap();
        assert_eq!(out, r#"{"a": "line1\n\"two\"\\", "b": "home"}"#);
        let abs = format!(
            "{{\"c\": \"{{file:{}}}\"}}",
            env.home.join("h.txt").display()
        );
        assert_eq!(run(&abs, &env, &dir).unwrap(), r#"{"c": "home"}"#);
    }

    #[test]
    fn env_runs_before_file() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        write(&root.path().join("k.txt"), "v");
        env.vars.insert("NAME".into(), "k.txt".into());
        let out = run(r#""{file:{env:NAME}}""#, &env, root.path());
        assert_eq!(out.unwrap(), r#""v""#);
    }

    #[test]
    fn missing_file_is_an_error_at_the_token() {
        let root = tempfile::tempdir().unwrap();
        let env = env_in(root.path());
        let err = run("{\n  \"a\": \"{file:nope.txt}\"\n}", &env, root.path()).unwrap_err();
        assert_eq!((err.line, err.column), (2, 9));
        assert_eq!(err.path, "/cfg/opencode.json");
        assert!(err.message.contains("nope.txt"), "{err}");
        assert!(err.message.contains("does not exist"), "{err}");
    }

    #[test]
    fn tokens_in_comments_are_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        env.vars.insert("X".into(), "1".into());
        let text = "// {file:missing} {env:X}\n/* {env:X} */ {\"a\": \"{env:X}\"}";
        let out = run(text, &env, root.path()).unwrap();
        assert_eq!(
            out,
            "// {file:missing} {env:X}\n/* {env:X} */ {\"a\": \"1\"}"
        );
    }
}
