//! Where headroom keeps its own files, by the XDG base directories of the
//! process's environment. (`wrap` reads the same variables from the
//! environment it hands opencode, see `wrap::Environment`.)

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// `$VAR/headroom`, else `$HOME/<fallback>/headroom` as XDG's default;
/// `None` when neither variable is set (an empty or relative `$VAR`
/// counts as unset).
pub fn headroom_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    let base = base_dir(non_empty(var), non_empty("HOME"), fallback)?;
    Some(base.join("headroom"))
}

/// `value` when it is an absolute path, else `home/fallback`: the base
/// directory spec makes a relative value invalid, to be ignored, since it
/// would name a different directory from each working directory.
fn base_dir(value: Option<OsString>, home: Option<OsString>, fallback: &str) -> Option<PathBuf> {
    match value.map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => Some(dir),
        _ => Some(PathBuf::from(home?).join(fallback)),
    }
}

fn non_empty(var: &str) -> Option<OsString> {
    std::env::var_os(var).filter(|value| !value.is_empty())
}

/// The nearest of `dir` and its parents that is there but is no directory
/// (a dangling link counts): what keeps `dir` from being created, which
/// the error of creating it, a bare "File exists", does not name.
pub fn file_in_the_way(dir: &Path) -> Option<&Path> {
    dir.ancestors()
        .find(|ancestor| std::fs::symlink_metadata(ancestor).is_ok() && !ancestor.is_dir())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn base(value: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
        base_dir(
            value.map(OsString::from),
            home.map(OsString::from),
            ".local/state",
        )
    }

    #[test]
    fn the_file_in_the_way_of_a_directory_is_the_nearest_one() {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = root.path().join("file");
        std::fs::write(&file, "").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file_in_the_way(&file), Some(file.as_path()));
        assert_eq!(file_in_the_way(&file.join("a/b")), Some(file.as_path()));
        assert_eq!(file_in_the_way(&root.path().join("missing/a")), None);
        assert_eq!(file_in_the_way(root.path()), None);
    }

    #[test]
    fn a_relative_value_is_ignored_for_the_default() {
        let home = Some("/home/u");
        let default = Some(Path::new("/home/u/.local/state").to_path_buf());
        assert_eq!(base(Some("/var/state"), home), Some("/var/state".into()));
        assert_eq!(base(Some("state"), home), default);
        assert_eq!(base(Some("./state"), home), default);
        assert_eq!(base(Some("../state"), home), default);
        assert_eq!(base(None, home), default);
        assert_eq!(base(Some("state"), None), None);
        assert_eq!(base(Some("/var/state"), None), Some("/var/state".into()));
    }
}
