//! How token counts and costs are written for people, the same in
//! `headroom usage` and in `wrap`'s exit summary.

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

/// `text` cut to fit a column of `width` characters, leaving one space
/// before the next: a longer one ends with `…`.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() < width {
        return text.to_string();
    }
    let kept: String = text.chars().take(width.saturating_sub(2)).collect();
    format!("{kept}…")
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
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("exactly-10", 10), "exactly-…");
    }
}
