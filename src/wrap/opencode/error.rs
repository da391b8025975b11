//! The one error config loading reports: where, and what is wrong.

use std::fmt;

/// Displays as `<path>:<line>:<col>: <what is wrong>` on one line. `path` is
/// a file or the inline config's variable; line and column are 1-based (1:1 when
/// the problem is the whole source, such as an unreadable file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ConfigError {
    pub(crate) fn whole(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: path.into(),
            line: 1,
            column: 1,
            message: message.into(),
        }
    }

    /// An error at byte `offset` of `text`, column counted in characters.
    pub(crate) fn at(path: &str, text: &str, offset: usize, message: String) -> ConfigError {
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        ConfigError {
            path: path.to_string(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            message,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = self.message.replace(['\r', '\n'], " ");
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.column, message
        )
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_is_one_based_in_characters() {
        let text = "{\n  \"é\": x\n}";
        let offset = text.find('x').unwrap_or(0);
        let err = ConfigError::at("a.json", text, offset, "bad\nvalue".into());
        assert_eq!(err.to_string(), "a.json:2:8: bad value");
    }
}
