//! A `usage` member's counts, taken as serde parses it: only the members
//! some API reports usage in are kept, and the object is never built.
//!
//! Each answer is the one `serde_json::Value` gave, malformed input
//! included: every value is parsed (never skipped) so that what fails a
//! `Value` fails here, a repeated member replaces the earlier one, and an
//! object whose first member is serde_json's raw-value token stands for the
//! JSON text in that member's string, as it does for a `Value`.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The key by which serde_json's `Value` recognises a raw value.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// A count as a usage object holds it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) enum Count {
    /// No such member.
    #[default]
    Absent,
    /// A member that is not an unsigned integer.
    Other,
    Number(u64),
}

/// The largest count taken for one: no prompt or answer comes near a
/// trillion tokens, so a larger figure is garbage, not usage. Under it,
/// the ledger's sums stay within SQLite's 64-bit integers for millions of
/// rows, and a row's sum of three counts within a `u64`.
pub(super) const MAX_COUNT: u64 = 1 << 40;

impl Count {
    pub fn number(self) -> Option<u64> {
        match self {
            Count::Number(n) if n <= MAX_COUNT => Some(n),
            Count::Number(_) | Count::Absent | Count::Other => None,
        }
    }

    /// A Gemini count: its JSON is proto3's, which leaves out a count that
    /// is zero, so a missing member means 0.
    pub fn proto(self) -> Option<u64> {
        match self {
            Count::Absent => Some(0),
            Count::Other => None,
            Count::Number(_) => self.number(),
        }
    }

    fn of(value: &Value) -> Count {
        value.as_u64().map_or(Count::Other, Count::Number)
    }
}

/// The counts some API reports, by where they lie in the usage object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Member {
    PromptTokens,
    CompletionTokens,
    InputTokens,
    OutputTokens,
    CacheReadInputTokens,
    CacheCreationInputTokens,
    PromptTokenCount,
    CachedContentTokenCount,
    CandidatesTokenCount,
    ThoughtsTokenCount,
    /// `prompt_tokens_details.cached_tokens`
    PromptCachedTokens,
    /// `completion_tokens_details.reasoning_tokens`
    CompletionReasoningTokens,
    /// `input_tokens_details.cached_tokens`
    InputCachedTokens,
    /// `output_tokens_details.reasoning_tokens`
    OutputReasoningTokens,
}

/// The members' names, in `Member` order; a second name is a member of the
/// object the first names.
const PATHS: [(&str, Option<&[&str]>); 14] = [
    ("prompt_tokens", None),
    ("completion_tokens", None),
    ("input_tokens", None),
    ("output_tokens", None),
    ("cache_read_input_tokens", None),
    ("cache_creation_input_tokens", None),
    ("promptTokenCount", None),
    ("cachedContentTokenCount", None),
    ("candidatesTokenCount", None),
    ("thoughtsTokenCount", None),
    ("prompt_tokens_details", Some(&["cached_tokens"])),
    ("completion_tokens_details", Some(&["reasoning_tokens"])),
    ("input_tokens_details", Some(&["cached_tokens"])),
    ("output_tokens_details", Some(&["reasoning_tokens"])),
];

const NAMES: [&str; 14] = {
    let mut names = [""; 14];
    let mut at = 0;
    while at < PATHS.len() {
        names[at] = PATHS[at].0;
        at += 1;
    }
    names
};

/// The counts of one usage object.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Figures {
    counts: [Count; 14],
}

impl Figures {
    pub fn get(&self, member: Member) -> Count {
        self.counts[member as usize]
    }

    /// Where the count of a usage object's member `name` goes, and the name
    /// of the count inside it when it is an object of counts.
    pub fn slot(&mut self, name: &[u8]) -> Option<(&mut Count, Option<&'static str>)> {
        let index = NAMES.iter().position(|known| known.as_bytes() == name)?;
        let inner = PATHS[index].1.map(|inner| inner[0]);
        Some((&mut self.counts[index], inner))
    }

    fn of(object: &Value) -> Figures {
        let mut figures = Figures::default();
        for (count, (name, inner)) in figures.counts.iter_mut().zip(PATHS) {
            let mut value = object.get(name);
            if let Some(inner) = inner {
                value = value.and_then(|outer| outer.get(inner[0]));
            }
            *count = value.map_or(Count::Absent, Count::of);
        }
        figures
    }
}

/// A document's `usage` member: an object's counts, or another value
/// (`null`, a number) that reports none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// One per parsed document, for as long as it is read: never boxed.
#[allow(clippy::large_enum_variant)]
pub(super) enum UsageMember {
    Object(Figures),
    Other,
}

impl UsageMember {
    pub fn figures(&self) -> Option<&Figures> {
        match self {
            UsageMember::Object(figures) => Some(figures),
            UsageMember::Other => None,
        }
    }

    pub(super) fn of(value: &Value) -> UsageMember {
        if value.is_object() {
            UsageMember::Object(Figures::of(value))
        } else {
            UsageMember::Other
        }
    }
}

/// Reads a usage member's value.
pub(super) struct UsageSeed;

impl<'de> DeserializeSeed<'de> for UsageSeed {
    type Value = UsageMember;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<UsageMember, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UsageSeed {
    type Value = UsageMember;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a usage object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UsageMember, A::Error> {
        let mut figures = Figures::default();
        let walked = walk(&mut map, &NAMES, |index, map| {
            figures.counts[index] = match PATHS[index].1 {
                None => map.next_value_seed(CountSeed)?,
                Some(inner) => map.next_value_seed(InnerSeed(inner))?,
            };
            Ok(())
        })?;
        Ok(match walked {
            Walked::Members => UsageMember::Object(figures),
            Walked::Raw(value) => UsageMember::of(&value),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<UsageMember, A::Error> {
        Valid.visit_seq(seq).map(|()| UsageMember::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<UsageMember, E> {
        Ok(UsageMember::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<UsageMember, E> {
        Ok(UsageMember::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<UsageMember, E> {
        Ok(UsageMember::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<UsageMember, E> {
        Ok(UsageMember::Other)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<UsageMember, E> {
        Ok(UsageMember::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<UsageMember, E> {
        Ok(UsageMember::Other)
    }
}

/// Reads a count's value.
struct CountSeed;

impl<'de> DeserializeSeed<'de> for CountSeed {
    type Value = Count;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Count, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CountSeed {
    type Value = Count;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a count")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Count, E> {
        Ok(Count::Number(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Count, E> {
        Ok(u64::try_from(n).map_or(Count::Other, Count::Number))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Count, E> {
        Ok(Count::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Count, E> {
        Ok(Count::Other)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Count, E> {
        Ok(Count::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Count, E> {
        Ok(Count::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Count, A::Error> {
        Valid.visit_seq(seq).map(|()| Count::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Count, A::Error> {
        Ok(match walk(&mut map, &[], |_, _| Ok(()))? {
            Walked::Members => Count::Other,
            Walked::Raw(value) => Count::of(&value),
        })
    }
}

/// Reads an object's one named member as a count: `Absent` when the value
/// is not an object or has no such member.
struct InnerSeed(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for InnerSeed {
    type Value = Count;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Count, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for InnerSeed {
    type Value = Count;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of counts")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Count, A::Error> {
        let mut count = Count::Absent;
        let walked = walk(&mut map, self.0, |_, map| {
            count = map.next_value_seed(CountSeed)?;
            Ok(())
        })?;
        Ok(match walked {
            Walked::Members => count,
            Walked::Raw(value) => value.get(self.0[0]).map_or(Count::Absent, Count::of),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Count, A::Error> {
        Valid.visit_seq(seq).map(|()| Count::Absent)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Count, E> {
        Ok(Count::Absent)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Count, E> {
        Ok(Count::Absent)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Count, E> {
        Ok(Count::Absent)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Count, E> {
        Ok(Count::Absent)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Count, E> {
        Ok(Count::Absent)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Count, E> {
        Ok(Count::Absent)
    }
}

/// How an object was read.
enum Walked {
    /// Member by member.
    Members,
    /// As the raw JSON its first member's string holds.
    Raw(Value),
}

/// Reads an object's members, calling `member` with the index in `names`
/// of each it names (it must read the value) and parsing every other
/// value without keeping it.
fn walk<'de, A: MapAccess<'de>>(
    map: &mut A,
    names: &'static [&'static str],
    mut member: impl FnMut(usize, &mut A) -> Result<(), A::Error>,
) -> Result<Walked, A::Error> {
    let mut first = true;
    while let Some(key) = map.next_key_seed(KeySeed(names))? {
        match key {
            Key::RawToken if first => {
                // serde_json's `Value` stops reading the object here: any
                // member after this one fails the document.
                let text: String = map.next_value()?;
                let value = serde_json::from_str(&text).map_err(de::Error::custom)?;
                return Ok(Walked::Raw(value));
            }
            Key::Named(index) => member(index, map)?,
            Key::RawToken | Key::Other => map.next_value_seed(Valid)?,
        }
        first = false;
    }
    Ok(Walked::Members)
}

enum Key {
    RawToken,
    Named(usize),
    Other,
}

struct KeySeed(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        if key == RAW_VALUE_TOKEN {
            return Ok(Key::RawToken);
        }
        Ok(self
            .0
            .iter()
            .position(|name| *name == key)
            .map_or(Key::Other, Key::Named))
    }
}

/// Parses any value as a `Value` would, keeping nothing.
struct Valid;

impl<'de> DeserializeSeed<'de> for Valid {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Valid {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Valid)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        walk(&mut map, &[], |_, _| Ok(())).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The usage member of `doc` as read here, and as a `Value` reads it.
    fn both(doc: &[u8]) -> (Option<UsageMember>, Option<UsageMember>) {
        struct Doc(Option<UsageMember>);
        impl<'de> serde::Deserialize<'de> for Doc {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Doc;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a document")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
                        let mut usage = None;
                        while let Some(key) = map.next_key::<String>()? {
                            if key == "usage" {
                                usage = Some(map.next_value_seed(UsageSeed)?);
                            } else {
                                map.next_value::<Value>()?;
                            }
                        }
                        Ok(Doc(usage))
                    }
                }
                d.deserialize_map(V)
            }
        }
        let here = serde_json::from_slice::<Doc>(doc).ok().and_then(|d| d.0);
        let value = serde_json::from_slice::<Value>(doc).ok();
        let there = value.and_then(|v| v.get("usage").map(UsageMember::of));
        (here, there)
    }

    #[test]
    fn the_token_is_serde_jsons() {
        let value: Value =
            serde_json::from_str(r#"{"$serde_json::private::RawValue":"[7]"}"#).unwrap_or_default();
        assert_eq!(value, serde_json::json!([7]));
    }

    #[test]
    fn reads_what_a_value_reads() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let mut docs: Vec<Vec<u8>> = [
            r#"{"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#,
            r#"{"usage":{"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2,"x":[1,{"a":null}]}}}"#,
            r#"{"usage":{"input_tokens":3,"input_tokens_details":{"cached_tokens":1},"output_tokens":2,"output_tokens_details":{"reasoning_tokens":1}}}"#,
            r#"{"usage":{"input_tokens":3,"cache_read_input_tokens":1,"cache_creation_input_tokens":0,"output_tokens":5}}"#,
            r#"{"usageMetadata":{"promptTokenCount":3},"usage":{"promptTokenCount":3,"candidatesTokenCount":2,"thoughtsTokenCount":1,"cachedContentTokenCount":0}}"#,
            r#"{"usage":null}"#,
            r#"{"usage":7}"#,
            r#"{"usage":[1,2]}"#,
            r#"{"usage":"text"}"#,
            r#"{"usage":true}"#,
            r#"{"usage":{}}"#,
            r#"{"usage":{"prompt_tokens":-1,"completion_tokens":1.0,"input_tokens":-0,"output_tokens":1e2}}"#,
            r#"{"usage":{"prompt_tokens":18446744073709551615,"completion_tokens":18446744073709551616}}"#,
            r#"{"usage":{"prompt_tokens":"9","completion_tokens":null,"input_tokens":[3],"output_tokens":{"n":3}}}"#,
            r#"{"usage":{"prompt_tokens":1,"prompt_tokens":2}}"#,
            r#"{"usage":{"prompt_tokens":1},"usage":{"completion_tokens":2}}"#,
            r#"{"usage":{"prompt_tokens_details":{"cached_tokens":4},"prompt_tokens_details":7}}"#,
            r#"{"usage":{"prompt_tokens_details":{"cached_tokens":4,"cached_tokens":"x"}}}"#,
            r#"{"usage":{"prompt_tokens_details":[{"cached_tokens":4}]}}"#,
            r#"{"usage":{"pr\u006fmpt_tokens":5}}"#,
            r#"{"usage":{"$serde_json::private::RawValue":"{\"prompt_tokens\":5}"}}"#,
            r#"{"usage":{"$serde_json::private::RawValue":"{\"prompt_tokens\":5}","x":1}}"#,
            r#"{"usage":{"$serde_json::private::RawValue":"[1]"}}"#,
            r#"{"usage":{"$serde_json::private::RawValue":"not json"}}"#,
            r#"{"usage":{"$serde_json::private::RawValue":5}}"#,
            r#"{"usage":{"x":1,"$serde_json::private::RawValue":"{\"prompt_tokens\":5}"}}"#,
            r#"{"usage":{"prompt_tokens":{"$serde_json::private::RawValue":"6"}}}"#,
            r#"{"usage":{"prompt_tokens_details":{"$serde_json::private::RawValue":"{\"cached_tokens\":6}"}}}"#,
            r#"{"usage":{"other":{"$serde_json::private::RawValue":"{bad"}}}"#,
            r#"{"usage":{"other":{"$serde_json::private::RawValue":"{}"},"prompt_tokens":2}}"#,
            r#"{"usage":{"other":"\ud800"},"prompt_tokens":2}"#,
            r#"{"usage":{"prompt_tokens":2,}}"#,
            r#"{"usage":{"prompt_tokens":2}"#,
        ]
        .iter()
        .map(|doc| doc.as_bytes().to_vec())
        .collect();
        docs.push(format!(r#"{{"usage":{{"prompt_tokens":1,"deep":{deep}}}}}"#).into_bytes());
        let shallow = format!("{}{}", "[".repeat(100), "]".repeat(100));
        docs.push(format!(r#"{{"usage":{{"prompt_tokens":1,"deep":{shallow}}}}}"#).into_bytes());
        let mut invalid = br#"{"usage":{"prompt_tokens":1,"note":"#.to_vec();
        invalid.extend_from_slice(b"\"\xff\"}}");
        docs.push(invalid);
        for doc in &docs {
            let (here, there) = both(doc);
            assert_eq!(here, there, "{}", String::from_utf8_lossy(doc));
        }
        let counted = both(docs[0].as_slice()).0;
        let figures = counted.as_ref().and_then(UsageMember::figures);
        assert_eq!(
            figures.map(|f| f.get(Member::PromptTokens)),
            Some(Count::Number(9))
        );
    }
}
