//! What a line of command output is: one that names a problem (never cut,
//! never folded), or routine progress and passing checks (folded in runs).

/// Words that mark a line as naming a problem, matched whole and in lower
/// case: `panicking.rs` in a backtrace frame names none.
const PROBLEM_WORDS: [&str; 22] = [
    "error",
    "errors",
    "err",
    "warning",
    "warnings",
    "warn",
    "fail",
    "fails",
    "failed",
    "failure",
    "failures",
    "failing",
    "panic",
    "panicked",
    "exception",
    "traceback",
    "fatal",
    "assert",
    "assertion",
    "abort",
    "aborted",
    "denied",
];

/// True when `line` names an error, a warning or a failure.
pub fn is_problem(line: &str) -> bool {
    // pytest prints the lines of a failure's explanation after `E   `.
    if line.starts_with("E  ") || line.starts_with("not ok ") {
        return true;
    }
    line.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .any(|word| {
            let lower = word.to_ascii_lowercase();
            PROBLEM_WORDS.contains(&lower.as_str())
                // KeyError, RuntimeException, SegmentationFault...
                || ["error", "exception", "fault"].iter().any(|end| lower.len() > end.len() && lower.ends_with(end))
        })
}

/// How build and package tools start a line that reports routine progress.
const PROGRESS_STARTS: [&str; 16] = [
    "Compiling ",
    "Checking ",
    "Downloaded ",
    "Downloading ",
    "Fresh ",
    "Installing ",
    "Installed ",
    "Updating ",
    "Locking ",
    "Adding ",
    "Collecting ",
    "Requirement already satisfied",
    "Building ",
    "Unpacking ",
    "Resolving ",
    "Using cached ",
];

/// True when `line` reports routine progress (`Compiling x v1.2`) or a
/// passing check (`test a::b ... ok`, `ok 3 should be equal`, `PASSED`),
/// and names no problem.
pub fn is_routine(line: &str) -> bool {
    let line = line.trim();
    let routine = PROGRESS_STARTS.iter().any(|start| line.starts_with(start))
        || line.ends_with(" ... ok")
        || line.starts_with("ok ")
        || line.starts_with("PASS ")
        || line.starts_with("✓ ")
        || line.starts_with("✔ ")
        || passed_pytest(line);
    routine && !is_problem(line)
}

/// `tests/test_x.py::test_y PASSED [ 10%]`, as `pytest -v` reports it.
fn passed_pytest(line: &str) -> bool {
    let status = match line.rfind(" [") {
        Some(at) if line.ends_with("%]") => &line[..at],
        _ => line,
    };
    status.ends_with(" PASSED")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_named_in_any_case() {
        for line in [
            "error[E0308]: mismatched types",
            "warning: unused variable",
            "FAILED tests/test_six.py::test_x",
            "thread 'main' panicked at src/lib.rs:3:5",
            "Traceback (most recent call last):",
            "E       AssertionError: 1 != 2",
            "not ok 3 should be equal",
        ] {
            assert!(is_problem(line), "{line}");
        }
        assert!(!is_problem("test parse::ok ... ok"));
        assert!(!is_problem(
            "   at /rustc/library/std/src/panicking.rs:689:5"
        ));
        assert!(!is_problem("terrors of the deep"));
        assert!(is_problem("KeyError: 'a'"));
    }

    #[test]
    fn routine_lines_are_progress_or_passes_without_problems() {
        for line in [
            "   Compiling httparse v1.10.1 (/home/dev/src/httparse)",
            "test tests::test_chunk_size ... ok",
            "ok 12 should be equal",
            "test_six.py::test_add_metaclass PASSED [ 45%]",
        ] {
            assert!(is_routine(line), "{line}");
        }
        for line in [
            "test tests::test_response ... FAILED",
            "test tests::test_fails_on_bad_input ... ok",
            "not ok 3 should be equal",
            "src/lib.rs:12: let ok = true;",
            "",
        ] {
            assert!(!is_routine(line), "{line}");
        }
    }
}
