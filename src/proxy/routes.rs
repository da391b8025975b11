//! Which API family a request path belongs to. The family picks the default
//! upstream when no override is given and the shape of error bodies.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::OpenAi, Family::Anthropic, Family::Gemini];

    /// Position in `ALL`, for per-family arrays.
    pub fn index(self) -> usize {
        match self {
            Family::OpenAi => 0,
            Family::Anthropic => 1,
            Family::Gemini => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Family::OpenAi => "openai",
            Family::Anthropic => "anthropic",
            Family::Gemini => "gemini",
        }
    }
}

/// `/v1/messages*` is Anthropic, `/v1beta/*` is Gemini, anything else is
/// OpenAI (chat completions, responses, models, and every unknown path).
pub fn classify(path: &str) -> Family {
    if path.starts_with("/v1/messages") {
        Family::Anthropic
    } else if path == "/v1beta" || path.starts_with("/v1beta/") {
        Family::Gemini
    } else {
        Family::OpenAi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert_eq!(classify("/v1/chat/completions"), Family::OpenAi);
        assert_eq!(classify("/v1/responses"), Family::OpenAi);
        assert_eq!(classify("/v1/messages"), Family::Anthropic);
        assert_eq!(classify("/v1/messages/count_tokens"), Family::Anthropic);
        assert_eq!(
            classify("/v1beta/models/gemini-2.5-pro:streamGenerateContent"),
            Family::Gemini
        );
        assert_eq!(classify("/v1beta2/models"), Family::OpenAi);
        assert_eq!(classify("/anything/else"), Family::OpenAi);
    }
}
