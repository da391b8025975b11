//! The real base URL a provider's SDK sends requests to.

use super::environment::Environment;
use super::provider::Provider;

/// `options.baseURL`, else the provider's `api`, else the SDK's default,
/// with `${VAR}` filled from the environment as opencode does. Trailing `/`
/// is dropped because the SDKs drop it before appending their paths.
pub(crate) fn real_base(provider: &Provider, env: &Environment) -> Result<String, String> {
    let raw = match provider.base_url.or(provider.api) {
        Some(url) => url.to_string(),
        None => sdk_default(provider.npm, env)?,
    };
    let expanded = expand_vars(&raw, env);
    Ok(expanded
        .trim_matches([' ', '\t'])
        .trim_end_matches('/')
        .to_string())
}

fn sdk_default(npm: Option<&str>, env: &Environment) -> Result<String, String> {
    let Some(npm) = npm else {
        return Err("no baseURL, api or SDK package configured".into());
    };
    let from_env = |var: &str, default: &str| env.non_empty(var).unwrap_or(default).to_string();
    let url = match npm {
        "@ai-sdk/openai" => return Ok(from_env("OPENAI_BASE_URL", "https://api.openai.com/v1")),
        "@ai-sdk/anthropic" => {
            return Ok(from_env(
                "ANTHROPIC_BASE_URL",
                "https://api.anthropic.com/v1",
            ))
        }
        "@ai-sdk/google" => "https://generativelanguage.googleapis.com/v1beta",
        "@ai-sdk/groq" => "https://api.groq.com/openai/v1",
        "@ai-sdk/mistral" => "https://api.mistral.ai/v1",
        "@ai-sdk/xai" => "https://api.x.ai/v1",
        "@ai-sdk/togetherai" => "https://api.together.xyz/v1",
        "@ai-sdk/cerebras" => "https://api.cerebras.ai/v1",
        "@ai-sdk/perplexity" => "https://api.perplexity.ai",
        "@ai-sdk/deepinfra" => "https://api.deepinfra.com/v1/openai",
        "@ai-sdk/cohere" => "https://api.cohere.com/v2",
        _ => return Err(format!("no known base URL for SDK {npm}")),
    };
    Ok(url.to_string())
}

/// Replaces each `${NAME}` with the variable's value (unset is empty).
fn expand_vars(url: &str, env: &Environment) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(len) = after.find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        if len == 0 {
            out.push_str("${");
        } else {
            out.push_str(env.var(&after[..len]).unwrap_or_default());
        }
        rest = &after[if len == 0 { 0 } else { len + 1 }..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::wrap::opencode::environment::testing::env_in;

    fn provider<'a>(
        npm: Option<&'a str>,
        api: Option<&'a str>,
        base: Option<&'a str>,
    ) -> Provider<'a> {
        Provider {
            id: "p",
            npm,
            api,
            base_url: base,
            names_upstream: false,
            names_provider: false,
        }
    }

    #[test]
    fn base_url_then_api_then_sdk_default() {
        let root = tempfile::tempdir().unwrap();
        let env = env_in(root.path());
        let npm = Some("@ai-sdk/groq");
        let all = provider(npm, Some("https://api.dev/v1"), Some("https://base.dev/x/"));
        assert_eq!(real_base(&all, &env).unwrap(), "https://base.dev/x");
        let api = provider(npm, Some("https://api.dev/v1"), None);
        assert_eq!(real_base(&api, &env).unwrap(), "https://api.dev/v1");
        let sdk = provider(npm, None, None);
        assert_eq!(
            real_base(&sdk, &env).unwrap(),
            "https://api.groq.com/openai/v1"
        );
    }

    #[test]
    fn sdk_defaults_honour_their_env_vars() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        env.vars
            .insert("OPENAI_BASE_URL".into(), "https://oai.corp/v1".into());
        env.vars.insert("ANTHROPIC_BASE_URL".into(), String::new());
        let openai = provider(Some("@ai-sdk/openai"), None, None);
        assert_eq!(real_base(&openai, &env).unwrap(), "https://oai.corp/v1");
        let anthropic = provider(Some("@ai-sdk/anthropic"), None, None);
        assert_eq!(
            real_base(&anthropic, &env).unwrap(),
            "https://api.anthropic.com/v1"
        );
    }

    #[test]
    fn unknown_sdk_or_nothing_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let env = env_in(root.path());
        let odd = provider(Some("venice-ai-sdk-provider"), None, None);
        assert_eq!(
            real_base(&odd, &env).unwrap_err(),
            "no known base URL for SDK venice-ai-sdk-provider"
        );
        assert!(real_base(&provider(None, None, None), &env).is_err());
    }

    #[test]
    fn dollar_brace_vars_are_expanded() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        env.vars.insert("HOST".into(), "db.example.com".into());
        let url = "https://${HOST}/p/${UNSET}/v1${}${HOST}";
        assert_eq!(
            expand_vars(url, &env),
            "https://db.example.com/p//v1${}db.example.com"
        );
        assert_eq!(expand_vars("${HOST", &env), "${HOST");
    }
}
