//! Outputs that repeat an earlier one in the same request: sent as a
//! reference to it, plus the lines that differ when they differ. The earlier
//! output is in the request, so nothing is lost.

/// Fewest lines an output needs before a partial reference pays.
const MIN_LINES: usize = 20;

/// The reference for an output identical to that of call `earlier_call`.
pub fn identical(earlier_call: &str) -> String {
    format!("[headroom: the same output as call {earlier_call} above]")
}

/// `text` as the output of call `earlier_call` (whose text was `earlier`)
/// with one run of lines replaced, when the two share at least half of
/// `text`'s lines at their start and end; else `None`.
pub fn as_edit_of(text: &str, earlier: &str, earlier_call: &str) -> Option<String> {
    let new: Vec<&str> = text.split('\n').collect();
    let old: Vec<&str> = earlier.split('\n').collect();
    if new.len() < MIN_LINES {
        return None;
    }
    let shortest = new.len().min(old.len());
    let prefix = new.iter().zip(&old).take_while(|(a, b)| a == b).count();
    let suffix = new
        .iter()
        .rev()
        .zip(old.iter().rev())
        .take(shortest - prefix)
        .take_while(|(a, b)| a == b)
        .count();
    if (prefix + suffix) * 2 < new.len() {
        return None;
    }
    let removed = (prefix + 1, old.len() - suffix);
    let added = &new[prefix..new.len() - suffix];
    let head = format!("[headroom: the output of call {earlier_call} above");
    let mut out = if added.is_empty() {
        format!("{head} without its lines {}-{}]", removed.0, removed.1)
    } else if removed.0 > removed.1 {
        format!("{head} with these lines after its line {prefix}:]\n")
    } else {
        format!(
            "{head} with its lines {}-{} replaced by these:]\n",
            removed.0, removed.1
        )
    };
    out.push_str(&added.join("\n"));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|n| format!("{n}: line {n}")).collect()
    }

    #[test]
    fn an_edited_file_is_the_earlier_read_plus_its_changed_lines() {
        let old = lines(1..41);
        let mut new = old.clone();
        new[9] = "10: changed".into();
        new[10] = "11: changed too".into();
        let edit = as_edit_of(&new.join("\n"), &old.join("\n"), "call_1");
        assert_eq!(
            edit.as_deref(),
            Some("[headroom: the output of call call_1 above with its lines 10-11 replaced by these:]\n10: changed\n11: changed too")
        );
    }

    #[test]
    fn insertions_and_removals_say_where() {
        let old = lines(1..41).join("\n");
        let mut grown = lines(1..41);
        grown.insert(20, "inserted".into());
        let edit = as_edit_of(&grown.join("\n"), &old, "c").unwrap_or_default();
        assert!(edit.starts_with("[headroom: the output of call c above with these lines after its line 20:]\ninserted"), "{edit}");
        let mut shrunk = lines(1..41);
        shrunk.remove(5);
        let edit = as_edit_of(&shrunk.join("\n"), &old, "c").unwrap_or_default();
        assert_eq!(
            edit,
            "[headroom: the output of call c above without its lines 6-6]"
        );
    }

    #[test]
    fn mostly_different_or_short_outputs_are_not_references() {
        let old = lines(1..41).join("\n");
        let other = lines(100..140).join("\n");
        assert_eq!(as_edit_of(&other, &old, "c"), None);
        assert_eq!(as_edit_of("a\nb", "a\nc", "c"), None);
    }
}
