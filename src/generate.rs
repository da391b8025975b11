//! Shell completions and man pages, generated from the one CLI definition.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The checked-in completion file for each shell, under `completions/`.
pub const COMPLETION_FILES: [(Shell, &str); 5] = [
    (Shell::Bash, "headroom.bash"),
    (Shell::Zsh, "_headroom"),
    (Shell::Fish, "headroom.fish"),
    (Shell::PowerShell, "_headroom.ps1"),
    (Shell::Elvish, "headroom.elv"),
];

pub fn completion(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "headroom", &mut script);
    script
}

/// Every man page as (file name, contents): `headroom.1` and one page per
/// subcommand, named by its path (`headroom-wrap-opencode.1`).
pub fn man_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut command = Cli::command();
    command.build();
    let mut pages = Vec::new();
    collect_pages(&command, "headroom", &mut pages)?;
    Ok(pages)
}

fn collect_pages(
    command: &clap::Command,
    name: &str,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> anyhow::Result<()> {
    let command = command.clone().name(name.to_string());
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    pages.push((format!("{name}.1"), page));
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        collect_pages(sub, &format!("{name}-{}", sub.get_name()), pages)?;
    }
    Ok(())
}

pub fn write_man_pages(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    for (name, page) in man_pages()? {
        let path = dir.join(&name);
        std::fs::write(&path, page)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    Ok(())
}
