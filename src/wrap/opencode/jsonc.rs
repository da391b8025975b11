//! JSONC text to a JSON object, with errors that say where.

use std::ops::Range;

use jsonc_parser::ParseOptions;
use serde_json::{Map, Value};

use super::error::ConfigError;

/// What opencode's parser accepts: JSON plus comments and trailing commas.
fn options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Parses `text` (named `path` in errors). Text holding no value at all
/// (empty, or only comments) is an empty object.
pub(crate) fn parse_object(text: &str, path: &str) -> Result<Map<String, Value>, ConfigError> {
    let value: Value = jsonc_parser::parse_to_serde_value(text, &options())
        .map_err(|error| syntax_error(&error, text, path))?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null if is_blank(text) => Ok(Map::new()),
        _ => {
            let offset = text.len() - text.trim_start().len();
            let message = "the top level must be a JSON object".to_string();
            Err(ConfigError::at(path, text, offset, message))
        }
    }
}

/// The parser's error, where it says it lies; but text that ends where a
/// value should be is placed at its end, where the parser names the start
/// of the value around it (often 1:1, the opening brace).
fn syntax_error(error: &jsonc_parser::errors::ParseError, text: &str, path: &str) -> ConfigError {
    let message = error.kind().to_string();
    if message == UNEXPECTED_END {
        return ConfigError::at(path, text, text.len(), message);
    }
    ConfigError {
        path: path.to_string(),
        line: error.line_display(),
        column: error.column_display(),
        message,
    }
}

/// What the parser says of text that ends too soon.
const UNEXPECTED_END: &str = "unexpected end of input";

/// True when `text` holds nothing but whitespace and comments.
fn is_blank(text: &str) -> bool {
    let mut rest = 0;
    for range in comment_ranges(text) {
        if !text[rest..range.start].trim().is_empty() {
            return false;
        }
        rest = range.end;
    }
    text[rest..].trim().is_empty()
}

/// Byte ranges of the `//` and `/* */` comments in JSONC `text`, skipping
/// string literals. An unterminated comment runs to the end.
pub(crate) fn comment_ranges(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'"', _) => i = string_end(bytes, i),
            (b'/', Some(b'/')) => {
                let end = find_from(text, i, "\n").unwrap_or(text.len());
                ranges.push(i..end);
                i = end;
            }
            (b'/', Some(b'*')) => {
                let end = find_from(text, i + 2, "*/").map_or(text.len(), |e| e + 2);
                ranges.push(i..end);
                i = end;
            }
            _ => i += 1,
        }
    }
    ranges
}

/// Index just past the string literal opening at `start` (or the line end,
/// where an unterminated literal stops).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn find_from(text: &str, from: usize, needle: &str) -> Option<usize> {
    text[from..].find(needle).map(|i| i + from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_comments_and_trailing_commas() {
        let text = "// c\n{ /* b */ \"a\": [1, 2,], \"b\": {\"c\": true,}, }\n";
        let map = parse_object(text, "x").unwrap();
        assert_eq!(Value::Object(map), json!({"a": [1, 2], "b": {"c": true}}));
    }

    #[test]
    fn empty_or_comment_only_text_is_an_empty_object() {
        assert!(parse_object("", "x").unwrap().is_empty());
        assert!(parse_object("  // null\n/* x */", "x").unwrap().is_empty());
    }

    #[test]
    fn comment_ranges_skip_strings() {
        let text = r#"{"a": "http://x/*y", /* b */ "c": 1} // d"#;
        let found: Vec<&str> = comment_ranges(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(found, ["/* b */", "// d"]);
        assert_eq!(comment_ranges(r#""\"" // e"#).len(), 1);
    }

    #[test]
    fn syntax_error_names_path_line_and_column() {
        let err = parse_object("{\n  \"a\": 1,\n  \"b\": ]\n}", "/p/opencode.json").unwrap_err();
        assert_eq!(
            (err.path.as_str(), err.line, err.column),
            ("/p/opencode.json", 3, 8)
        );
        assert!(
            err.to_string().starts_with("/p/opencode.json:3:8: "),
            "{err}"
        );
    }

    #[test]
    fn text_that_ends_where_a_value_should_be_is_placed_at_its_end() {
        let err = parse_object("{\n  \"a\":\n", "/p/opencode.json").unwrap_err();
        assert_eq!((err.line, err.column), (3, 1), "{err}");
        let err = parse_object("{\"a\": {\"b\":", "x").unwrap_err();
        assert_eq!((err.line, err.column), (1, 12), "{err}");
    }

    #[test]
    fn rejects_what_opencode_rejects() {
        for text in ["{'a': 1}", "{a: 1}", "{\"a\": 0x1}"] {
            assert!(parse_object(text, "x").is_err(), "{text}");
        }
    }

    #[test]
    fn top_level_must_be_an_object() {
        for text in ["[1]", "\"s\"", "null", "  3"] {
            let err = parse_object(text, "f").unwrap_err();
            assert!(err.message.contains("JSON object"), "{text}: {err}");
        }
        assert_eq!(parse_object("\n  3", "f").unwrap_err().line, 2);
    }
}
