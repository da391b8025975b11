//! Spill files: the full text of every output headroom cuts or elides, named
//! by its content's SHA-256, so the same output always names the same file
//! and an agent can read it back with its own tools.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

/// Where spill files go, and how long they are kept.
#[derive(Debug, Clone)]
pub struct SpillDir {
    dir: PathBuf,
}

impl SpillDir {
    pub fn new(dir: PathBuf) -> SpillDir {
        SpillDir { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds `text`, written or not.
    pub fn path_for(&self, text: &str) -> PathBuf {
        let digest = Sha256::digest(text.as_bytes());
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.txt"))
    }

    /// Writes `text` to its file unless it is there already, and gives the
    /// path. Written to a temporary name and renamed, so a reader never sees
    /// half a file; the directory is private to the user.
    pub fn keep(&self, text: &str) -> io::Result<PathBuf> {
        let path = self.path_for(text);
        if path.exists() {
            return Ok(path);
        }
        create_private_dir(&self.dir)?;
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        file.write_all(text.as_bytes())?;
        file.persist(&path).map_err(|error| error.error)?;
        Ok(path)
    }

    /// Creates the directory when it is missing and writes a file into it,
    /// removed at once: a directory no cut could be kept in is found at
    /// start, not by cuts that then go uncut. Says why not, when not.
    pub fn check(&self) -> Result<(), String> {
        // Creating it would fail with a bare "File exists".
        if let Some(file) = crate::xdg::file_in_the_way(&self.dir) {
            return Err(format!("{} is not a directory", file.display()));
        }
        create_private_dir(&self.dir)
            .and_then(|()| tempfile::NamedTempFile::new_in(&self.dir))
            .map(drop)
            .map_err(|error| error.to_string())
    }

    /// Removes spill files last written more than `age` ago. Errors are
    /// ignored: a file left behind costs disk, not correctness.
    pub fn prune(&self, age: Duration) -> usize {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return 0;
        };
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|modified| now.duration_since(modified).ok())
                .is_some_and(|elapsed| elapsed >= age);
            let ours = entry.file_name().to_string_lossy().ends_with(".txt");
            if old && ours && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_each_text_once_under_its_hash() {
        let temp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let spill = SpillDir::new(temp.path().join("spill"));
        let first = spill
            .keep("full output\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let again = spill
            .keep("full output\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first, again);
        assert_eq!(
            fs::read_to_string(&first).ok().as_deref(),
            Some("full output\n")
        );
        let other = spill.keep("other").unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(first, other);
        assert_eq!(fs::read_dir(spill.dir()).map(|d| d.count()).ok(), Some(2));
        assert_eq!(spill.prune(Duration::from_secs(3600)), 0);
        assert_eq!(spill.prune(Duration::ZERO), 2);
    }

    #[test]
    fn a_dir_a_file_is_in_the_way_of_fails_the_check_naming_the_file() {
        let temp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let missing = SpillDir::new(temp.path().join("a/spill"));
        assert_eq!(missing.check(), Ok(()));
        assert!(missing.dir().is_dir());
        assert_eq!(fs::read_dir(missing.dir()).map(|d| d.count()).ok(), Some(0));
        let file = temp.path().join("file");
        fs::write(&file, "").unwrap_or_else(|e| panic!("{e}"));
        for dir in [file.clone(), file.join("spill")] {
            assert_eq!(
                SpillDir::new(dir).check(),
                Err(format!("{} is not a directory", file.display()))
            );
        }
    }
}
