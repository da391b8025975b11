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
        // Bytes, not `str` patterns: this runs several times on every
        // request.
        let path = path.as_bytes();
        let end = path
            .iter()
            .position(|&b| b == b'?' || b == b'#')
            .unwrap_or(path.len());
        let path = &path[..end];
        let end = path
            .iter()
            .rposition(|&b| b != b'/')
            .map_or(0, |last| last + 1);
        let path = &path[..end];
        let last = path
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(path, |slash| &path[slash + 1..]);
        if path.ends_with(b"/chat/completions") || last == b"completions" {
            Some(Family::OpenAiChat)
        } else if last == b"responses" {
            Some(Family::OpenAiResponses)
        } else if last == b"messages" && !path.windows(9).any(|w| w == b"/threads/") {
            // OpenAI's Assistants API has `/threads/{id}/messages`, which
            // reports no usage.
            Some(Family::Anthropic)
        } else if last.ends_with(b":generateContent") || last.ends_with(b":streamGenerateContent") {
            Some(Family::Gemini)
        } else {
            None
        }
    }

    /// The API a request with `method` and `path` calls: only a POST calls
    /// one; any other method reads or lists, and reports no usage.
    pub fn called_by(method: &http::Method, path: &str) -> Option<Family> {
        (method == http::Method::POST)
            .then(|| Family::for_path(path))
            .flatten()
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
            ("//", None),
            ("completions", Some(OpenAiChat)),
            ("/v1/chat/completions///", Some(OpenAiChat)),
            ("/v1/chat/completions?x=/y#z", Some(OpenAiChat)),
            ("/v1/messages#/responses", Some(Anthropic)),
            ("/v1/models?path=/v1/responses", None),
            ("/threads/messages", None),
            ("/x/threads//messages", None),
            ("/v1/chat/completions/x", None),
        ];
        for (path, family) in cases {
            assert_eq!(Family::for_path(path), *family, "{path}");
        }
    }

    /// The reading by `str` patterns this one replaced.
    fn by_str_patterns(path: &str) -> Option<Family> {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let path = path.trim_end_matches('/');
        let last = path.rsplit('/').next().unwrap_or(path);
        if path.ends_with("/chat/completions") || last == "completions" {
            Some(OpenAiChat)
        } else if last == "responses" {
            Some(OpenAiResponses)
        } else if last == "messages" && !path.contains("/threads/") {
            Some(Anthropic)
        } else if last.ends_with(":generateContent") || last.ends_with(":streamGenerateContent") {
            Some(Gemini)
        } else {
            None
        }
    }

    #[test]
    fn bytes_read_paths_as_str_patterns_did() {
        let pieces = [
            "",
            "/",
            "//",
            "v1",
            "chat",
            "completions",
            "responses",
            "messages",
            "threads",
            "m:generateContent",
            "m:streamGenerateContent",
            "?",
            "#",
            "?a=/b",
            "é",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for sep in ["/", ""] {
                        let path = format!("{a}{sep}{b}/{c}");
                        assert_eq!(Family::for_path(&path), by_str_patterns(&path), "{path}");
                    }
                }
            }
        }
    }
}
