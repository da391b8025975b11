//! Runs of routine lines (progress, passing tests) folded into their first
//! and last line and a count: a passing test's name costs tokens and tells
//! the agent nothing a count does not. A line that names a problem is never
//! folded (see `lines::is_routine`).

use super::lines::is_routine;

/// Shortest run worth folding: first, count and last make three lines.
const MIN_RUN: usize = 5;

/// `text` with each run of at least five routine lines folded, or `None`
/// when it has no such run.
pub fn fold_routine(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut folded = false;
    let mut start = 0;
    while start < lines.len() {
        let run = lines[start..]
            .iter()
            .take_while(|line| is_routine(line))
            .count();
        if run >= MIN_RUN {
            let last = start + run - 1;
            push_line(&mut out, lines[start]);
            push_line(
                &mut out,
                &format!("[headroom: {} more lines like these]", run - 2),
            );
            push_line(&mut out, lines[last]);
            folded = true;
            start = last + 1;
        } else {
            let end = start + run.max(1);
            for line in &lines[start..end] {
                push_line(&mut out, line);
            }
            start = end;
        }
    }
    // Every line was pushed with a newline; the text's own last line had none.
    out.pop();
    folded.then_some(out)
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_a_run_of_passing_tests_and_keeps_failures() {
        let mut text = String::from("running 8 tests\n");
        for n in 0..6 {
            text.push_str(&format!("test t{n} ... ok\n"));
        }
        text.push_str("test t6 ... FAILED\ntest t7 ... ok\n\nfailures:");
        let folded = fold_routine(&text).unwrap_or_default();
        assert_eq!(
            folded,
            "running 8 tests\ntest t0 ... ok\n[headroom: 4 more lines like these]\n\
             test t5 ... ok\ntest t6 ... FAILED\ntest t7 ... ok\n\nfailures:"
        );
    }

    #[test]
    fn short_runs_are_left_alone() {
        let text = "test a ... ok\ntest b ... ok\ntest c ... ok\ntest d ... ok\n";
        assert_eq!(fold_routine(text), None);
    }

    #[test]
    fn folding_is_deterministic() {
        let text = "   Compiling a v1\n".repeat(9);
        assert_eq!(fold_routine(&text), fold_routine(&text));
        assert!(fold_routine(&text).is_some());
    }
}
