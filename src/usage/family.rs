//! Which LLM API a request speaks, read from its path: the shape of the
//! usage its response reports depends on it.

/// An API whose responses report token usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// OpenAI chat completions (and the legacy completions, same `usage`).
    OpenAiChat,
    /// OpenAI Responses.
    OpenAiResponses,
    /// Anthropic Messages.
    Anthropic,
    /// Gemini `generateContent` / `streamGenerateContent`.
    Gemini,
}

impl Family {
    /// The family of a request path (a query, if present, is ignored), or
    /// `None` for a path whose response carries no usage to read: model
    /// lists, token counting, retrieving a stored response (counting that
    /// again would count its tokens twice).
    ///
    /// Paths are matched on their last segments, not a fixed prefix, because
    /// the proxy sees whatever base path a provider uses (`/v1`, none,
    /// `/v1beta/openai`, `/api/anthropic/v1`).
    pub fn for_path(path: &str) -> Option<Family> {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let path = path.trim_end_matches('/');
        let last = path.rsplit('/').next().unwrap_or(path);
        if path.ends_with("/chat/completions") || last == "completions" {
            Some(Family::OpenAiChat)
        } else if last == "responses" {
            Some(Family::OpenAiResponses)
        } else if last == "messages" && !path.contains("/threads/") {
            // OpenAI's Assistants API has `/threads/{id}/messages`, which
            // reports no usage.
            Some(Family::Anthropic)
        } else if last.ends_with(":generateContent") || last.ends_with(":streamGenerateContent") {
            Some(Family::Gemini)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Family::OpenAiChat => "openai-chat",
            Family::OpenAiResponses => "openai-responses",
            Family::Anthropic => "anthropic",
            Family::Gemini => "gemini",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Family::{self, *};

    #[test]
    fn paths_name_their_family() {
        let cases: &[(&str, Option<Family>)] = &[
            ("/v1/chat/completions", Some(OpenAiChat)),
            ("/chat/completions", Some(OpenAiChat)),
            ("/v1beta/openai/chat/completions", Some(OpenAiChat)),
            ("/v1/completions", Some(OpenAiChat)),
            ("/v1/responses", Some(OpenAiResponses)),
            ("/v1/responses?stream=true", Some(OpenAiResponses)),
            ("/v1/messages", Some(Anthropic)),
            ("/api/anthropic/v1/messages/", Some(Anthropic)),
            (
                "/v1beta/models/gemini-2.5-pro:generateContent",
                Some(Gemini),
            ),
            (
                "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                Some(Gemini),
            ),
            (
                "/v1/models/gemini-2.5-pro:streamGenerateContent",
                Some(Gemini),
            ),
            ("/v1/messages/count_tokens", None),
            ("/v1beta/models/gemini-2.5-pro:countTokens", None),
            ("/v1/responses/resp_123", None),
            ("/v1/threads/thread_1/messages", None),
            ("/v1/models", None),
            ("/v1/embeddings", None),
            ("/", None),
            ("", None),
        ];
        for (path, family) in cases {
            assert_eq!(Family::for_path(path), *family, "{path}");
        }
    }
}
