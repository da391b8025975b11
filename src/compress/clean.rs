//! Lossless clean-up of a tool output: what a terminal would not have shown
//! (escape sequences, text a carriage return drew over, trailing blanks,
//! runs of blank lines), and the whitespace of pretty-printed JSON.

mod json;

pub use json::{json_table, minify_json};

/// `text` as a terminal would have shown it: escape sequences removed,
/// carriage-return redraws applied, trailing spaces and tabs trimmed, and
/// each run of blank lines made one blank line. A final newline stays.
pub fn clean(text: &str) -> String {
    let plain = strip_escapes(text);
    let mut out = String::with_capacity(plain.len());
    let mut blank_run = 0;
    let mut lines = plain.split('\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        let line = redraw(line);
        let line = line.trim_end_matches([' ', '\t']);
        if line.is_empty() && !last {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        if !last {
            out.push('\n');
        }
    }
    out
}

/// `text` without terminal escape sequences: CSI (`ESC [ ... final`), OSC
/// (`ESC ] ... BEL` or `ESC ] ... ESC \`) and two-byte `ESC x` sequences.
fn strip_escapes(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\u{1b}') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                // Parameters and intermediates, then one final byte.
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out.into()
}

/// A line as a terminal shows it after its carriage returns: each segment
/// writes over the start of what the previous ones left. A carriage return
/// that ends the line (CRLF) is dropped.
fn redraw(line: &str) -> std::borrow::Cow<'_, str> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if !line.contains('\r') {
        return line.into();
    }
    let mut screen: Vec<char> = Vec::new();
    for segment in line.split('\r') {
        for (column, c) in segment.chars().enumerate() {
            match screen.get_mut(column) {
                Some(cell) => *cell = c,
                None => screen.push(c),
            }
        }
    }
    screen.into_iter().collect::<String>().into()
}

#[cfg(test)]
mod tests;
