//! What is picked from one JSON document of a response: the members that
//! can carry usage. Both readers (`plain`'s by hand, `document`'s through
//! serde) fill the same picture.

use super::figures::UsageMember;

/// The members read from a document: `model` or `modelVersion`, `usage` or
/// `usageMetadata`, and the same two inside `message` (Anthropic's
/// `message_start`) or `response` (the Responses API's events).
#[derive(Debug, Default, PartialEq)]
pub(super) struct Picked {
    pub model: Option<String>,
    pub usage: Option<UsageMember>,
    pub nested: Option<Box<Picked>>,
}

/// Which member a key names.
pub(super) enum Key {
    Model,
    Usage,
    Nested,
    Other,
}

impl Key {
    /// What a member's name picks, for serde and the plain reader alike.
    pub(super) fn of(name: &[u8]) -> Key {
        match name {
            b"model" | b"modelVersion" => Key::Model,
            b"usage" | b"usageMetadata" => Key::Usage,
            b"message" | b"response" => Key::Nested,
            _ => Key::Other,
        }
    }
}
