//! Providers whose traffic a base-URL swap cannot carry: their auth or URL
//! is built by code that the proxy cannot reproduce.

use super::auth::AuthKind;
use super::provider::Provider;

/// Why `provider` must be left alone, if it must.
pub(crate) fn why_unroutable(provider: &Provider, auth: Option<AuthKind>) -> Option<String> {
    if provider.id == "openai" && auth == Some(AuthKind::OAuth) {
        return Some(
            "signed in with ChatGPT (OAuth): requests are rewritten to chatgpt.com".into(),
        );
    }
    if let Some(why) = by_id(provider.id) {
        return Some(format!("not carried by a base-URL swap: {why}"));
    }
    let npm = provider.npm?;
    let own_urls = npm == "@ai-sdk/azure"
        || npm == "@ai-sdk/amazon-bedrock"
        || npm.starts_with("@ai-sdk/google-vertex");
    own_urls
        .then(|| format!("not carried by a base-URL swap: SDK {npm} builds its own URLs and auth"))
}

fn by_id(id: &str) -> Option<&'static str> {
    Some(match id {
        "github-copilot" | "github-copilot-enterprise" => "OAuth token injected by a fetch hook",
        "amazon-bedrock" => "SigV4 signatures cover the host",
        "google-vertex" | "google-vertex-anthropic" => "Google Cloud auth and URL templates",
        "azure" | "azure-cognitive-services" => "resource-name hosts and api-version",
        "cloudflare-ai-gateway" | "cloudflare-workers-ai" => "account ids in the URL",
        "gitlab" => "GitLab's own client",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider<'a>(id: &'a str, npm: Option<&'a str>) -> Provider<'a> {
        Provider {
            id,
            npm,
            api: None,
            base_url: None,
            names_upstream: false,
            names_provider: false,
        }
    }

    #[test]
    fn openai_only_when_signed_in_with_chatgpt() {
        let openai = provider("openai", Some("@ai-sdk/openai"));
        assert!(why_unroutable(&openai, Some(AuthKind::OAuth))
            .unwrap_or_default()
            .contains("ChatGPT"));
        assert_eq!(why_unroutable(&openai, Some(AuthKind::Api)), None);
        assert_eq!(why_unroutable(&openai, None), None);
    }

    #[test]
    fn known_ids_and_sdks() {
        for id in [
            "github-copilot",
            "amazon-bedrock",
            "google-vertex",
            "azure",
            "gitlab",
        ] {
            assert!(why_unroutable(&provider(id, None), None).is_some(), "{id}");
        }
        for npm in [
            "@ai-sdk/azure",
            "@ai-sdk/amazon-bedrock",
            "@ai-sdk/google-vertex/anthropic",
        ] {
            let reason = why_unroutable(&provider("custom", Some(npm)), None);
            assert!(reason.unwrap_or_default().contains(npm), "{npm}");
        }
        assert_eq!(
            why_unroutable(&provider("groq", Some("@ai-sdk/groq")), None),
            None
        );
    }
}
