//! How token counts and costs are written for people, the same in
//! `headroom usage` and in `wrap`'s exit summary.

use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

/// The units past a million tokens, a thousand times apart: u64's largest
/// is 18.4E.
const TOKEN_UNITS: [&str; 5] = ["M", "G", "T", "P", "E"];

/// Exact below a million, then one decimal of the smallest unit that keeps
/// the figure below 1000.0: never more than six characters.
pub fn tokens(n: u64) -> String {
    if n < 1_000_000 {
        return n.to_string();
    }
    // In integers: a u64 near its top has no exact f64.
    let tenths_of = |scale: u128| (u128::from(n) * 10 + scale / 2) / scale;
    let (mut unit, mut scale) = (0, 1_000_000);
    while tenths_of(scale) >= 10_000 && unit + 1 < TOKEN_UNITS.len() {
        unit += 1;
        scale *= 1000;
    }
    let tenths = tenths_of(scale);
    format!("{}.{}{}", tenths / 10, tenths % 10, TOKEN_UNITS[unit])
}

/// The widest a cost is written, its `+` included: the tables give it ten
/// columns, one of them the space before it.
const COST_WIDTH: usize = 9;

/// A cost in dollars, `-` when unknown, with a `+` when it leaves out
/// `unpriced` requests of unknown cost.
pub fn dollars(cost: Option<f64>, unpriced: u64) -> String {
    let mark = if unpriced > 0 { "+" } else { "" };
    match cost {
        None => format!("-{mark}"),
        Some(c) if c > 0.0 && c < 0.01 => format!("<$0.01{mark}"),
        Some(c) => format!("{}{mark}", amount(c, COST_WIDTH - mark.len())),
    }
}

/// `cost` to the cent below $10k, else in k to T with one decimal, else
/// in scientific form: the first of these no wider than `room`.
fn amount(cost: f64, room: usize) -> String {
    let sign = if cost < 0.0 { "-" } else { "" };
    let size = cost.abs();
    let forms = [
        (size < 10_000.0).then(|| format!("{sign}${size:.2}")),
        thousands(size).map(|figure| format!("{sign}${figure}")),
        Some(format!("{sign}${size:.1e}")),
    ];
    forms
        .into_iter()
        .flatten()
        .find(|form| form.len() <= room)
        .unwrap_or_else(|| format!("{sign}${size:.0e}"))
}

/// `size` with one decimal of k, M, G or T, the smallest that keeps it
/// below 1000.0; `None` past that.
fn thousands(size: f64) -> Option<String> {
    let units = [("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)];
    units.into_iter().find_map(|(unit, scale)| {
        let tenths = (size / scale * 10.0).round();
        (tenths < 10_000.0).then(|| format!("{:.1}{unit}", tenths / 10.0))
    })
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

/// What compression saved: the tokens it kept out of the tool outputs it
/// read, their share, and what they were worth at least, when that bound
/// is above zero. `None` when it read no tool output.
pub fn compression_saved(before: u64, after: u64, saved_usd: Option<f64>) -> Option<String> {
    if before == 0 {
        return None;
    }
    let saved = before.saturating_sub(after);
    let share = saved as f64 / before as f64 * 100.0;
    let mut text = format!(
        "compression saved {} tokens of tool output, {share:.0}%",
        tokens(saved)
    );
    if let Some(usd) = saved_usd.filter(|usd| *usd > 0.0) {
        // Rounded down, as a lower bound must be; a cent is too coarse
        // for a few requests' savings.
        let worth = match usd < 0.01 {
            true => format!("${:.4}", (usd * 1e4).floor() / 1e4),
            false => amount((usd * 100.0).floor() / 100.0, 12),
        };
        text.push_str(&format!(", worth at least {worth}"));
    }
    Some(text)
}

/// `1 request`, `2 requests`: a count with its noun.
pub fn count(n: u64, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_compression_saved_is_priced_only_above_zero() {
        assert_eq!(compression_saved(0, 0, Some(1.0)), None);
        let said = |usd| compression_saved(40_000, 30_000, usd);
        let tokens_only = "compression saved 10000 tokens of tool output, 25%";
        assert_eq!(said(None).as_deref(), Some(tokens_only));
        assert_eq!(said(Some(0.0)).as_deref(), Some(tokens_only));
        assert_eq!(said(Some(-0.5)).as_deref(), Some(tokens_only));
        let priced = said(Some(0.00421)).unwrap_or_default();
        assert_eq!(priced, format!("{tokens_only}, worth at least $0.0042"));
        let priced = said(Some(12.349)).unwrap_or_default();
        assert_eq!(priced, format!("{tokens_only}, worth at least $12.34"));
        let priced = said(Some(0.00999)).unwrap_or_default();
        assert_eq!(priced, format!("{tokens_only}, worth at least $0.0099"));
    }

    #[test]
    fn counts_costs_and_cut_text() {
        assert_eq!(count(1, "request"), "1 request");
        assert_eq!(count(4, "request"), "4 requests");
        assert_eq!(tokens(999_999), "999999");
        assert_eq!(tokens(1_249_999), "1.2M");
        assert_eq!(tokens(1_250_000), "1.3M");
        assert_eq!(tokens(3_000_000_000), "3.0G");
        assert_eq!(dollars(None, 0), "-");
        assert_eq!(dollars(None, 2), "-+");
        assert_eq!(dollars(Some(0.004), 0), "<$0.01");
        assert_eq!(dollars(Some(0.0), 0), "$0.00");
        assert_eq!(dollars(Some(1.234), 1), "$1.23+");
        assert_eq!(dollars(Some(9_999.99), 1), "$9999.99+");
        assert_eq!(cell("short", 10), "short     ");
        assert_eq!(cell("exactly-10", 10), "exactly-… ");
    }

    #[test]
    fn a_count_rolls_over_to_the_next_unit_before_1000() {
        let cases = [
            (1_000_000, "1.0M"),
            (999_949_999, "999.9M"),
            (999_950_000, "1.0G"),
            (999_949_999_999, "999.9G"),
            (999_950_000_000, "1.0T"),
            (999_950_000_000_000, "1.0P"),
            (1_000_000_000_000_000, "1.0P"),
            (999_949_999_999_999_999, "999.9P"),
            (999_950_000_000_000_000, "1.0E"),
            (u64::MAX, "18.4E"),
        ];
        for (n, shown) in cases {
            assert_eq!(tokens(n), shown, "{n}");
        }
        for shift in 0..64 {
            for n in [1 << shift, (1 << shift) - 1, u64::MAX >> shift] {
                assert!(tokens(n).len() <= 6, "{n}: {}", tokens(n));
            }
        }
    }

    #[test]
    fn a_cost_of_any_size_stays_in_its_column() {
        let cases = [
            (9_999.99, "$9999.99"),
            (10_000.0, "$10.0k"),
            (123_456.78, "$123.5k"),
            (999_949.0, "$999.9k"),
            (999_950.0, "$1.0M"),
            (2.5e12, "$2.5T"),
            (999.96e12, "$1.0e15"),
            (f64::MAX, "$1.8e308"),
        ];
        for (cost, shown) in cases {
            assert_eq!(dollars(Some(cost), 0), shown, "{cost}");
        }
        assert_eq!(dollars(Some(99_999.0), 1), "$100.0k+");
        let mut cost = 1e-3;
        while cost < 1e306 {
            for c in [cost, -cost, cost * 9.99996] {
                for unpriced in [0, 1] {
                    let shown = dollars(Some(c), unpriced);
                    assert!(shown.len() <= COST_WIDTH, "{c}: {shown}");
                }
            }
            cost *= 10.0;
        }
        assert!(dollars(Some(-f64::MAX), 1).len() <= COST_WIDTH);
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
