//! Where headroom keeps its own files, by the XDG base directories of the
//! process's environment. (`wrap` reads the same variables from the
//! environment it hands opencode, see `wrap::Environment`.)

use std::ffi::OsString;
use std::path::PathBuf;

/// `$VAR/headroom`, else `$HOME/<fallback>/headroom` as XDG's default;
/// `None` when neither variable is set (an empty value counts as unset).
pub fn headroom_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    let base = match non_empty(var) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(non_empty("HOME")?).join(fallback),
    };
    Some(base.join("headroom"))
}

fn non_empty(var: &str) -> Option<OsString> {
    std::env::var_os(var).filter(|value| !value.is_empty())
}
