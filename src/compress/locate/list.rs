//! A member that holds a list when it holds one: Anthropic's message
//! `content` and the Responses API's `input` may each be a plain string
//! instead. Read in the one pass serde makes over the body, so a body is
//! not scanned once to find the member and again to read it.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};

/// The member's items, or none when it is not a list.
pub struct ListOrOther<T>(pub Vec<T>);

impl<T> Default for ListOrOther<T> {
    fn default() -> ListOrOther<T> {
        ListOrOther(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ListOrOther<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = ListOrOther<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list, or any other value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(ListOrOther(items))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(ListOrOther::default())
    }

    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Self::Value, E> {
        Ok(ListOrOther::default())
    }

    fn visit_string<E>(self, _: String) -> Result<Self::Value, E> {
        Ok(ListOrOther::default())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ListOrOther::default())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(ListOrOther::default())
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(ListOrOther::default())
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(ListOrOther::default())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(ListOrOther::default())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(ListOrOther::default())
    }
}
