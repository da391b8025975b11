//! One JSON document of a response (a whole body, one SSE event's data, one
//! element of a streamed JSON array), reduced to the members that can carry
//! usage. Everything else is skipped as the document is parsed, never
//! built: by hand when it is plain JSON (see `plain`), else by serde.

use super::figures::UsageSeed;
use super::picked::{Key, Picked};
use super::plain;
use memchr::memmem::Finder;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::sync::LazyLock;

/// The document's picked members, or nothing when it is not JSON (an SSE
/// `[DONE]`, a truncated event, an HTML page).
pub(super) fn read(document: &[u8]) -> Picked {
    read_whole(document).unwrap_or_default()
}

/// The picked members of `document` when it is one whole JSON value (white
/// space aside), else `None`. Plain JSON is read by hand; serde reads the
/// rest.
pub(super) fn read_whole(document: &[u8]) -> Option<Picked> {
    plain::pick(document).or_else(|| serde_json::from_slice(document).ok())
}

static USAGE_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"usage"));
static MODEL_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"model"));

/// Cheap test, run on every document before any parsing: does it name a
/// usage that is not `null`? OpenAI puts `"usage":null` in every chunk of a
/// stream.
pub(super) fn names_usage(data: &[u8]) -> bool {
    USAGE_KEY
        .find_iter(data)
        .any(|at| names_a_value(&data[at + USAGE_KEY.needle().len()..]))
}

/// Does the document mention a model (`model` or `modelVersion`)?
pub(super) fn names_model(data: &[u8]) -> bool {
    MODEL_KEY.find(data).is_some()
}

/// After `"usage`: is this the key `usage` or `usageMetadata` with a value
/// other than `null`? Text that merely contains the word is not.
fn names_a_value(rest: &[u8]) -> bool {
    let rest = rest.strip_prefix(b"Metadata").unwrap_or(rest);
    let Some(rest) = rest.strip_prefix(b"\"") else {
        return false;
    };
    let Some(rest) = rest.trim_ascii_start().strip_prefix(b":") else {
        return false;
    };
    !rest.trim_ascii_start().starts_with(b"null")
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(Key::of(key.as_bytes()))
    }
}

impl<'de> Deserialize<'de> for Picked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Picked, D::Error> {
        deserializer.deserialize_any(PickedVisitor { outer: true })
    }
}

/// Reads an object's members; any other value reads as nothing picked, so a
/// document of an unexpected shape is not an error. Only the outer object
/// looks inside `message` / `response`.
struct PickedVisitor {
    outer: bool,
}

impl<'de> de::DeserializeSeed<'de> for PickedVisitor {
    type Value = Picked;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Picked, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PickedVisitor {
    type Value = Picked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Picked, A::Error> {
        let mut picked = Picked::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Model => {
                    if let Value::String(model) = map.next_value::<Value>()? {
                        picked.model = Some(model);
                    }
                }
                Key::Usage => picked.usage = Some(map.next_value_seed(UsageSeed)?),
                Key::Nested if self.outer => {
                    let inner = map.next_value_seed(PickedVisitor { outer: false })?;
                    picked.nested = Some(Box::new(inner));
                }
                Key::Nested | Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(picked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Picked, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Picked::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Picked, E> {
        Ok(Picked::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Picked, E> {
        Ok(Picked::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Picked, E> {
        Ok(Picked::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Picked, E> {
        Ok(Picked::default())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Picked, E> {
        Ok(Picked::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Picked, E> {
        Ok(Picked::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::figures::UsageMember;

    #[test]
    fn picks_top_level_and_nested_members_only() {
        let doc = br#"{"type":"message_start","message":{"id":"m","model":"claude-x",
            "content":[{"usage":1}],"usage":{"input_tokens":3},"message":{"model":"deep"}},
            "choices":[{"model":"not-this"}]}"#;
        let picked = read(doc);
        assert_eq!(picked.model, None);
        assert!(picked.usage.is_none());
        let nested = picked.nested.as_deref();
        assert_eq!(nested.and_then(|n| n.model.as_deref()), Some("claude-x"));
        assert_eq!(
            nested.and_then(|n| n.usage),
            Some(UsageMember::of(&serde_json::json!({"input_tokens": 3})))
        );
        assert!(nested.is_some_and(|n| n.nested.is_none()));
    }

    #[test]
    fn odd_shapes_pick_nothing() {
        for doc in [
            &b"[DONE]"[..],
            b"[1,2]",
            b"42",
            b"\"usage\"",
            b"null",
            b"{\"message\":\"usage\",\"model\":7}",
            b"{\"usage\":{\"prompt_tokens\":1}",
            b"",
        ] {
            let picked = read(doc);
            let nested = picked.nested.as_deref();
            assert!(picked.model.is_none(), "{doc:?}");
            assert!(nested.is_none_or(|n| n.model.is_none() && n.usage.is_none()));
        }
    }

    #[test]
    fn precheck_skips_null_usage_and_mere_words() {
        assert!(names_usage(br#"{"usage":{"prompt_tokens":1}}"#));
        assert!(names_usage(br#"{"usageMetadata" : {"a":1}}"#));
        assert!(names_usage(br#"{"usage":null,"x":{"usage": {}}}"#));
        assert!(!names_usage(br#"{"choices":[],"usage":null}"#));
        assert!(!names_usage(br#"{"usage": null}"#));
        assert!(!names_usage(br#"{"text":"the usage of \"usage\" here"}"#));
        assert!(!names_usage(br#"{"model":"gpt"}"#));
        assert!(names_model(br#"{"model":"gpt"}"#));
        assert!(names_model(br#"{"modelVersion":"g"}"#));
        assert!(!names_model(br#"{"text":"a models list"}"#));
    }
}
