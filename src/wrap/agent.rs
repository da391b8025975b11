//! What every agent module provides, and what it hands back: the one
//! seam between an agent's own knowledge (its binary, how it learns its
//! upstream, what its child needs) and the lifecycle `wrap` shares.

use std::ffi::OsString;
use std::path::Path;

use serde::Serialize;

use super::environment::Environment;

/// The header that tells the proxy where a request really goes.
pub const UPSTREAM_HEADER: &str = "X-Headroom-Upstream";

/// The header that names the provider a request is counted under.
pub const PROVIDER_HEADER: &str = "X-Headroom-Provider";

/// The base URL an agent gets for the proxy at `proxy_origin` when its
/// real base is `upstream`: the proxy plus the version segment the proxy
/// strips from `upstream` (`/v1`, `/v1beta`, or none), so that the agent's
/// paths reach the proxy as they would have reached `upstream`.
pub fn proxied_base_url(proxy_origin: &str, upstream: &str) -> String {
    let segment = crate::proxy::upstream::Upstream::parse(upstream)
        .map(|parsed| parsed.version_segment().to_string())
        .unwrap_or_default();
    format!("{}{segment}", proxy_origin.trim_end_matches('/'))
}

/// True when `headers`, `Name: value` entries split by `separator`, name
/// the upstream header already.
pub fn names_upstream(headers: &str, separator: char) -> bool {
    headers.split(separator).any(|entry| {
        entry
            .split_once(':')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case(UPSTREAM_HEADER))
    })
}

/// The user's arguments to an agent up to `--`, after which they are no
/// flags of the agent's, each with the word after it, its value when it is a
/// flag that takes one. A word that is not UTF-8 is none headroom looks
/// for, and is left out.
pub fn words_before_dashes(args: &[OsString]) -> impl Iterator<Item = (&str, Option<&str>)> {
    let mut words = args.iter().filter_map(|arg| arg.to_str()).peekable();
    std::iter::from_fn(move || {
        let word = words.next()?;
        Some((word, words.peek().copied()))
    })
    .take_while(|&(word, _)| word != "--")
}

/// One agent `wrap` can run: its names, and how to read the user's setup.
pub struct AgentSpec {
    /// The subcommand, the log file's name and the ledger's agent: `claude`.
    pub name: &'static str,
    /// What people call it: `Claude Code`.
    pub title: &'static str,
    /// The executable looked up on `PATH`.
    pub binary: &'static str,
    /// The variable naming the binary, the flag's twin: `HEADROOM_CLAUDE_BIN`.
    pub bin_var: &'static str,
    /// How to install it, said when it is missing.
    pub install: &'static str,
    /// Reads the user's setup, the way the agent would, before anything
    /// starts. A problem with it is an error the user can fix: say what.
    pub read_setup: fn(&Context) -> anyhow::Result<Box<dyn Setup>>,
}

/// What an agent's setup reader gets.
pub struct Context<'a> {
    pub env: &'a Environment,
    /// `--only` and `--skip`, for agents that route several providers.
    pub only: &'a [String],
    pub skip: &'a [String],
    /// The user's arguments for the agent, which may choose among its
    /// settings (a profile, say).
    pub args: &'a [std::ffi::OsString],
    /// Where compression writes the outputs it cuts, for agents that must
    /// be allowed to read them; `None` when compression is off.
    pub spill_dir: Option<&'a Path>,
}

/// The user's setup as read, ready to be pointed at a proxy.
pub trait Setup {
    /// Why this setup's LLM traffic cannot go through the proxy at all
    /// (a login a base-URL swap cannot carry), and what to do instead.
    fn unroutable(&self) -> Option<String> {
        None
    }

    /// Where the proxy sends the agent's requests that carry no upstream
    /// header, such as a connectivity probe sent without the agent's
    /// custom headers. `None`: the public API of each request's family.
    fn default_upstream(&self) -> Option<String> {
        None
    }

    /// The same per family, as the proxy reads it from a request's path
    /// (indexed by [`crate::proxy::routes::Family::index`]), for an agent
    /// that sends no upstream header at all. By default,
    /// [`Setup::default_upstream`] for every family.
    fn family_upstreams(&self) -> [Option<String>; 3] {
        let one = self.default_upstream();
        [one.clone(), one.clone(), one]
    }

    /// Things the user should know before the agent starts.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }

    /// What the child gets when the proxy listens at `proxy_origin`
    /// (`http://127.0.0.1:PORT`, without a path) and overlay files go into
    /// `dir`, a private directory that `wrap` creates only if the launch
    /// names files, and removes at exit. Pure: nothing is written here.
    fn launch(&self, proxy_origin: &str, dir: &Path) -> anyhow::Result<Launch>;
}

/// Everything the child is started with beyond the user's own arguments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Launch {
    pub routed: Vec<Routed>,
    pub left_alone: Vec<LeftAlone>,
    /// Variables set for the child, in order.
    pub env: Vec<(String, Shown)>,
    /// Variables taken out of the child's environment.
    pub env_removed: Vec<String>,
    /// Arguments put before the user's own.
    pub args: Vec<Shown>,
    /// Files written into the private directory before the start.
    pub files: Vec<OverlayFile>,
    /// Agent-specific parts of the dry run: a JSON key and its value, shown
    /// under their own heading.
    pub details: Vec<Detail>,
}

/// Something the agent routes through the proxy, by its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routed {
    pub id: String,
    /// The real base URL, sent as `X-Headroom-Upstream`.
    pub upstream: String,
    /// The proxy URL the agent is pointed at.
    pub base_url: String,
    /// Its requests carry `X-Headroom-Provider: <id>`: false when the id
    /// is not one the proxy takes, the user's config sends its own, or the
    /// agent has no way to add a second header.
    #[serde(skip)]
    pub names_itself: bool,
}

/// Something of the agent's that keeps talking to its upstream directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftAlone {
    pub id: String,
    pub reason: String,
}

impl LeftAlone {
    pub(crate) fn new(id: &str, reason: impl Into<String>) -> LeftAlone {
        LeftAlone {
            id: id.to_string(),
            reason: reason.into(),
        }
    }
}

/// A value the child gets, and how a dry run shows it: the same, or with
/// the secrets in it masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub real: String,
    pub shown: String,
}

impl Shown {
    /// A value with nothing secret in it.
    pub fn plain(value: impl Into<String>) -> Shown {
        let real = value.into();
        Shown {
            shown: real.clone(),
            real,
        }
    }

    pub fn masked(real: impl Into<String>, shown: impl Into<String>) -> Shown {
        Shown {
            real: real.into(),
            shown: shown.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayFile {
    /// The file's name inside the private directory.
    pub name: String,
    pub contents: Shown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    /// The key in `--dry-run --json`.
    pub key: &'static str,
    /// The heading in the human dry run.
    pub title: String,
    pub value: serde_json::Value,
}
