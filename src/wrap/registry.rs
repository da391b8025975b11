//! The agents `wrap` can run. Adding one is a module under `src/wrap/`
//! with an [`AgentSpec`] and a [`super::agent::Setup`], a line here, its
//! subcommand in `cli.rs` (an `Agent` variant whose args flatten
//! `WrapOptions`, with `--<agent>-bin`), and, for its end-to-end tests,
//! an entry in build.rs's `AGENTS` and a package in `.ci/run`.

use super::agent::AgentSpec;
use super::{aider, claude, codex, gemini, kilo, opencode, qwen};

/// Every agent, in the order `headroom wrap` lists them.
pub const AGENTS: &[&AgentSpec] = &[
    &opencode::AGENT,
    &claude::AGENT,
    &codex::AGENT,
    &aider::AGENT,
    &qwen::AGENT,
    &kilo::AGENT,
    &gemini::AGENT,
];

pub fn find(name: &str) -> Option<&'static AgentSpec> {
    AGENTS.iter().copied().find(|spec| spec.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn every_agent_has_its_subcommand_and_variable() {
        let cli = crate::cli::Cli::command();
        let wrap = cli.find_subcommand("wrap");
        let mut subcommands: Vec<&str> = wrap
            .map(|w| w.get_subcommands().map(|s| s.get_name()).collect())
            .unwrap_or_default();
        subcommands.retain(|name| *name != "help");
        let names: Vec<&str> = AGENTS.iter().map(|spec| spec.name).collect();
        assert_eq!(subcommands, names);
        for spec in AGENTS {
            let var = format!("HEADROOM_{}_BIN", spec.name.to_ascii_uppercase());
            assert_eq!(spec.bin_var, var);
            assert_eq!(find(spec.name).map(|s| s.name), Some(spec.name));
        }
        assert!(find("vim").is_none());
    }
}
