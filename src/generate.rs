//! Shell completions and man pages, generated from the one CLI definition.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{roman, Roff};

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
    // `headroom help` has no page of its own, so no page may point to one.
    let mut command = without_help_subcommands(Cli::command());
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
    pages.push((format!("{name}.1"), man_page(&command)?));
    for sub in command.get_subcommands() {
        collect_pages(sub, &format!("{name}-{}", sub.get_name()), pages)?;
    }
    Ok(())
}

fn without_help_subcommands(command: clap::Command) -> clap::Command {
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    names
        .iter()
        .fold(command.disable_help_subcommand(true), |command, name| {
            command.mut_subcommand(name, without_help_subcommands)
        })
}

/// clap_mangen's page, with the text after `--help`'s options in sections
/// of their own (EXAMPLES, EXIT STATUS, ENVIRONMENT) rather than in one
/// called EXTRA.
fn man_page(command: &clap::Command) -> anyhow::Result<Vec<u8>> {
    let sections = match command.get_after_help() {
        Some(text) => after_help_sections(&text.to_string())?,
        None => String::new(),
    };
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone().after_help(None::<&str>))
        .source(format!("headroom {}", env!("CARGO_PKG_VERSION")))
        .render(&mut page)?;
    let mut page = String::from_utf8(page)?;
    let at = page.find(".SH VERSION\n").unwrap_or(page.len());
    page.insert_str(at, &sections);
    Ok(page.into_bytes())
}

/// Roff for the paragraphs of an `after_help`, each opening with its
/// heading (`Examples:`, `Exit codes:`, `Environment:`).
fn after_help_sections(text: &str) -> anyhow::Result<String> {
    let mut roff = Roff::new();
    for paragraph in text.split("\n\n") {
        let (heading, body) = paragraph.split_once(':').unwrap_or(("", paragraph));
        let section = match heading {
            "Example" | "Examples" => "EXAMPLES",
            "Exit codes" => "EXIT STATUS",
            "Environment" => "ENVIRONMENT",
            _ => anyhow::bail!("no man page section for the help paragraph {paragraph:?}"),
        };
        roff.control("SH", [section]);
        // Commands keep their lines; filling would join and stretch them.
        let verbatim = section == "EXAMPLES";
        if verbatim {
            roff.control("nf", []);
        }
        for line in body
            .trim_start_matches(' ')
            .trim_start_matches('\n')
            .lines()
        {
            roff.text([roman(line)]);
        }
        if verbatim {
            roff.control("fi", []);
        }
    }
    let rendered = roff.render();
    // Every render starts with the same preamble, which the page has already.
    let preamble = Roff::new().render();
    Ok(rendered
        .strip_prefix(&preamble)
        .unwrap_or(&rendered)
        .to_string())
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
