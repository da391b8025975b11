//! The recorded agent sessions in `../shared/data/sessions` (see its
//! README): each a sequence of the requests an LLM upstream received.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use headroom::usage::Family;

/// One recorded request.
pub struct Recorded {
    pub path: String,
    pub body: String,
}

impl Recorded {
    pub fn family(&self) -> Option<Family> {
        Family::for_path(&self.path)
    }
}

pub struct Session {
    pub name: String,
    /// A public SWE-agent trajectory, not an opencode session.
    pub swe_agent: bool,
    pub requests: Vec<Recorded>,
}

/// Where build.rs found the sessions.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("HEADROOM_SESSIONS_DIR"))
}

/// Every session: the opencode ones, then the SWE-agent ones.
pub fn all() -> Vec<Session> {
    let dir = dir();
    let opencode = gz_files(&dir).into_iter().map(|file| load(&file, false));
    let swe_agent = gz_files(&dir.join("swe-agent"))
        .into_iter()
        .map(|file| load(&file, true));
    let sessions: Vec<Session> = opencode.chain(swe_agent).collect();
    assert!(
        !sessions.is_empty(),
        "no recorded sessions in {}",
        dir.display()
    );
    sessions
}

fn gz_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|path| path.to_string_lossy().ends_with(".jsonl.gz"));
    files.sort();
    files
}

fn load(file: &Path, swe_agent: bool) -> Session {
    let gz = std::fs::File::open(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let reader = BufReader::new(flate2::read::GzDecoder::new(gz));
    let requests = reader
        .lines()
        .map(|line| {
            let line = line.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let record: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            Recorded {
                path: record["path"].as_str().unwrap_or_default().to_owned(),
                body: record["body"].as_str().unwrap_or_default().to_owned(),
            }
        })
        .collect();
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    Session {
        name: name.trim_end_matches(".jsonl.gz").to_owned(),
        swe_agent,
        requests,
    }
}

/// The raw text of each message (or Responses input item, or Gemini
/// content) of `body`, in order, and where the list starts; `None` for a
/// body without one.
pub fn messages(body: &str) -> Option<(usize, Vec<&str>)> {
    #[derive(serde::Deserialize)]
    struct Lists<'a> {
        #[serde(borrow, default)]
        messages: Option<&'a serde_json::value::RawValue>,
        #[serde(borrow, default)]
        input: Option<&'a serde_json::value::RawValue>,
        #[serde(borrow, default)]
        contents: Option<&'a serde_json::value::RawValue>,
    }
    let lists: Lists = serde_json::from_str(body).ok()?;
    let list = lists.messages.or(lists.input).or(lists.contents)?;
    let start = list.get().as_ptr() as usize - body.as_ptr() as usize;
    let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(list.get()).ok()?;
    Some((start, items.iter().map(|item| item.get()).collect()))
}

/// How many leading messages `a` and `b` share byte for byte, and the byte
/// length of that shared prefix in `b`; 0 when what precedes the messages
/// (model, system, tools) differs.
pub fn shared_prefix(a: &str, b: &str) -> (usize, usize) {
    let (Some((start_a, list_a)), Some((start_b, list_b))) = (messages(a), messages(b)) else {
        return (0, 0);
    };
    // Fields before the list (system, tools in some orders) must match too.
    if a[..start_a] != b[..start_b] {
        return (0, 0);
    }
    let shared = list_a
        .iter()
        .zip(&list_b)
        .take_while(|(x, y)| x == y)
        .count();
    let end = match shared {
        0 => start_b + 1,
        n => {
            let last = list_b[n - 1];
            last.as_ptr() as usize - b.as_ptr() as usize + last.len()
        }
    };
    (shared, end)
}
