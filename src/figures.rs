//! How token counts and costs are written for people, the same in
//! `headroom usage` and in `wrap`'s exit summary.

use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

/// Exact below a million, then M and G with one decimal.
pub fn tokens(n: u64) -> String {
    match n {
        0..=999_999 => n.to_string(),
        1_000_000..=999_999_999 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}G", n as f64 / 1e9),
    }
}

/// A cost in dollars, `-` when unknown, with a `+` when it leaves out
/// `unpriced` requests of unknown cost.
pub fn dollars(cost: Option<f64>, unpriced: u64) -> String {
    let mark = if unpriced > 0 { "+" } else { "" };
    match cost {
        None => format!("-{mark}"),
        Some(c) if c > 0.0 && c < 0.01 => format!("<$0.01{mark}"),
        Some(c) => format!("${c:.2}{mark}"),
    }
}

/// `text` in a column `width` terminal cells wide, leaving one cell
/// before the next: padded with spaces, or cut and ended with `…`.
pub fn cell(text: &str, width: usize) -> String {
    if text.width() < width {
        return pad(text, width);
    }
    let room = width.saturating_sub(2);
    let mut kept = String::new();
    let mut used = 0;
    for c in text.chars() {
        used += c.width().unwrap_or(0);
        if used > room {
            break;
        }
        kept.push(c);
    }
    pad(&format!("{kept}…"), width)
}

/// `text` followed by spaces up to `width` terminal cells. Cells are
/// display width, not characters: a CJK character takes two.
pub fn pad(text: &str, width: usize) -> String {
    let spaces = width.saturating_sub(text.width());
    format!("{text}{}", " ".repeat(spaces))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_costs_and_cut_text() {
        assert_eq!(tokens(999_999), "999999");
        assert_eq!(tokens(1_250_000), "1.2M");
        assert_eq!(tokens(3_000_000_000), "3.0G");
        assert_eq!(dollars(None, 0), "-");
        assert_eq!(dollars(None, 2), "-+");
        assert_eq!(dollars(Some(0.004), 0), "<$0.01");
        assert_eq!(dollars(Some(0.0), 0), "$0.00");
        assert_eq!(dollars(Some(1.234), 1), "$1.23+");
        assert_eq!(cell("short", 10), "short     ");
        assert_eq!(cell("exactly-10", 10), "exactly-… ");
    }

    #[test]
    fn wide_characters_take_two_cells() {
        assert_eq!(cell("通义千问", 10), "通义千问  ");
        assert_eq!(cell("通义千问-3", 10), "通义千问… ");
        // A wide character that would cross the cut is left out whole.
        assert_eq!(cell("a通义千问-", 10), "a通义千…  ");
        let name = "通义千问-qwen3-coder-480b-a35b-instruct-max";
        for width in 2..30 {
            assert_eq!(cell(name, width).width(), width, "{width}");
        }
    }
}
