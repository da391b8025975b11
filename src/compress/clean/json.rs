//! Pretty-printed JSON made compact without changing a value: whitespace
//! outside strings is dropped, every string, number and escape stays as
//! written. An array of objects that share their keys becomes a table.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// `text` without the whitespace between JSON tokens, when it is one JSON
/// object or array spread over several lines; else `None`.
pub fn minify_json(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) || !trimmed.contains('\n') {
        return None;
    }
    serde_json::from_str::<serde::de::IgnoredAny>(trimmed).ok()?;
    let mut out = String::with_capacity(trimmed.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in trimmed.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    Some(out)
}

/// Fewest rows worth a table: below it, the header costs what it saves.
const TABLE_MIN_ROWS: usize = 3;

/// A JSON array of at least three objects with the same keys in the same
/// order, all values strings, numbers, booleans or null, written as a table:
/// a header line, the keys as a JSON array, then each object's values as a
/// JSON array, every value exactly as written. `None` for anything else.
pub fn json_table(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if !trimmed.starts_with('[') {
        return None;
    }
    let rows: Vec<Row<'_>> = serde_json::from_str(trimmed).ok()?;
    let keys: Vec<&str> = rows
        .first()?
        .0
        .iter()
        .map(|(key, _)| key.as_str())
        .collect();
    let uniform = rows.len() >= TABLE_MIN_ROWS
        && !keys.is_empty()
        && rows.iter().all(|row| {
            row.0.len() == keys.len()
                && row.0.iter().zip(&keys).all(|((key, value), wanted)| {
                    key == wanted && !value.get().starts_with(['{', '['])
                })
        });
    if !uniform {
        return None;
    }
    let mut out = format!(
        "[headroom: {} JSON objects as a table: keys, then each one's values]\n",
        rows.len()
    );
    out.push_str(&serde_json::to_string(&keys).ok()?);
    for row in &rows {
        out.push('\n');
        out.push('[');
        for (index, (_, value)) in row.0.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            out.push_str(value.get());
        }
        out.push(']');
    }
    Some(out)
}

/// One object's members in the order written, values kept as their text.
struct Row<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Row<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RowVisitor(std::marker::PhantomData))
    }
}

struct RowVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for RowVisitor<'a> {
    type Value = Row<'a>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Row<'a>, M::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
            members.push((key, value));
        }
        Ok(Row(members))
    }
}
