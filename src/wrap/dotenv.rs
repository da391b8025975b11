//! `.env` files as agents read them (python-dotenv, which aider uses, and
//! node's dotenv): `KEY=VALUE` lines, an optional `export `, quoted
//! values, `#` comments, and `${NAME}` expanded from what is already set
//! (python-dotenv only; rare in a base URL).

use std::collections::BTreeMap;

/// The assignments of `text`, in order. `known` answers `${NAME}` for a
/// name the file has not set itself.
pub fn parse(text: &str, known: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    let mut own: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() {
            continue;
        }
        let lookup = |name: &str| own.get(name).cloned().or_else(|| known(name));
        let value = value(raw.trim(), &lookup);
        own.insert(key.to_string(), value.clone());
        out.push((key.to_string(), value));
    }
    out
}

fn value(raw: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    if let Some(rest) = raw.strip_prefix('\'') {
        // Single quotes: literal.
        return rest.split('\'').next().unwrap_or_default().to_string();
    }
    if let Some(rest) = raw.strip_prefix('"') {
        let mut text = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => text.push('\n'),
                    Some('t') => text.push('\t'),
                    Some(other) => text.push(other),
                    None => {}
                },
                c => text.push(c),
            }
        }
        return expand(&text, lookup);
    }
    let unquoted = match raw.find(" #") {
        Some(at) => &raw[..at],
        None => raw,
    };
    expand(unquoted.trim(), lookup)
}

/// `${NAME}` and `${NAME:-default}` replaced by their values.
fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let inner = &rest[start + 2..start + len];
        let (name, default) = inner.split_once(":-").unwrap_or((inner, ""));
        let found = lookup(name).filter(|v| !v.is_empty());
        out.push_str(found.as_deref().unwrap_or(default));
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_quotes_comments_and_expansion() {
        let text = "# a comment\n\
            export A=1\n\
            B = 'lit ${A}' \n\
            C=\"q ${A}\\n\"\n\
            D=plain # trailing\n\
            E=${HOME_DIR:-none}/x\n\
            F=${UNSET:-dflt}\n\
            not a line\n";
        let known = |name: &str| (name == "HOME_DIR").then(|| "/h".to_string());
        let got = parse(text, &known);
        let pairs: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("A", "1"),
                ("B", "lit ${A}"),
                ("C", "q 1\n"),
                ("D", "plain"),
                ("E", "/h/x"),
                ("F", "dflt"),
            ]
        );
    }
}
