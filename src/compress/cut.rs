//! A long command output cut to its head, its tail and every line that
//! names a problem; the whole of it stays in a spill file the cut names, so
//! nothing is lost to an agent that wants it.

use std::path::Path;

use super::lines::is_problem;

/// Lines kept from the start and from the end of a cut output.
pub const HEAD_LINES: usize = 20;
pub const TAIL_LINES: usize = 30;

/// `text` cut to its first and last lines and, between them, each line that
/// names a problem, numbered; `None` when it is too short to cut.
pub fn cut(text: &str, spill: &Path) -> Option<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.len() <= HEAD_LINES + TAIL_LINES + 1 {
        return None;
    }
    let middle = HEAD_LINES..lines.len() - TAIL_LINES;
    let problems: Vec<(usize, &str)> = middle
        .clone()
        .map(|index| (index, lines[index]))
        .filter(|(_, line)| is_problem(line))
        .collect();
    let mut out = String::with_capacity(text.len() / 4);
    for line in &lines[..HEAD_LINES] {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!(
        "[headroom: lines {}-{} of {} cut; full output in {}",
        middle.start + 1,
        middle.end,
        lines.len(),
        spill.display()
    ));
    if problems.is_empty() {
        out.push_str("]\n");
    } else {
        out.push_str(&format!(
            "; the {} cut lines that name an error, warning or failure follow, numbered]\n",
            problems.len()
        ));
        for (index, line) in problems {
            out.push_str(&format!("{}: {line}\n", index + 1));
        }
        out.push_str("[headroom: end of cut]\n");
    }
    out.push_str(&lines[middle.end..].join("\n"));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(count: usize) -> Vec<String> {
        (1..=count).map(|n| format!("line {n}")).collect()
    }

    #[test]
    fn keeps_head_tail_and_every_problem_line() {
        let mut lines = numbered(500);
        lines[199] = "error: it broke".into();
        lines[299] = "test x ... FAILED".into();
        let text = lines.join("\n");
        let spill = Path::new("/state/spill/ab.txt");
        let cut = cut(&text, spill).unwrap_or_default();
        assert!(cut.starts_with("line 1\nline 2\n"));
        assert!(cut.ends_with("line 499\nline 500"));
        assert!(cut.contains("lines 21-470 of 500 cut; full output in /state/spill/ab.txt"));
        assert!(cut.contains("\n200: error: it broke\n300: test x ... FAILED\n"));
        assert!(!cut.contains("line 100\n"));
        assert_eq!(cut.lines().count(), HEAD_LINES + 1 + 2 + 1 + TAIL_LINES);
    }

    #[test]
    fn short_outputs_are_not_cut() {
        let shortest = HEAD_LINES + TAIL_LINES + 2;
        let text = numbered(shortest - 1).join("\n");
        assert_eq!(cut(&text, Path::new("/s")), None);
        assert!(cut(&numbered(shortest).join("\n"), Path::new("/s")).is_some());
    }
}
