//! From the words on the command line to a [`Cli`]: which values came from
//! environment variables, and usage errors that keep clap's whole message
//! and point at the help of the subcommand that failed.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command, FromEnv, WrapArgs};

/// Parses `words` (program name first), recording in each subcommand's
/// arguments the flags that an environment variable supplied.
pub fn parse(words: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
    let mut command = agents_without_empty_vars(Cli::command());
    let matches = command.try_get_matches_from_mut(words)?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
    let from_env = FromEnv::new(flags_from_env(&command, &matches));
    match &mut cli.command {
        Command::Proxy(args) => args.from_env = from_env,
        Command::Wrap(WrapArgs {
            agent: Some(agent), ..
        }) => agent.options_mut().from_env = from_env,
        Command::Wrap(_) | Command::Usage(_) | Command::Completions(_) | Command::Man(_) => {}
    }
    Ok(cli)
}

/// `command` with each agent's variables that are set but empty taken as
/// unset (`HEADROOM_CLAUDE_BIN=`), as `headroom wrap`'s listing takes them:
/// clap would refuse the empty value, naming the flag and not the variable.
fn agents_without_empty_vars(command: clap::Command) -> clap::Command {
    command.mut_subcommand("wrap", |wrap| {
        let agents: Vec<String> = wrap
            .get_subcommands()
            .map(|agent| agent.get_name().to_string())
            .collect();
        agents.iter().fold(wrap, |wrap, agent| {
            wrap.mut_subcommand(agent, without_empty_vars)
        })
    })
}

/// `command` with no variable behind the arguments whose variable is empty.
fn without_empty_vars(command: clap::Command) -> clap::Command {
    let empty: Vec<String> = command
        .get_arguments()
        .filter(|arg| {
            arg.get_env()
                .and_then(std::env::var_os)
                .is_some_and(|value| value.is_empty())
        })
        .map(|arg| arg.get_id().to_string())
        .collect();
    empty.iter().fold(command, |command, id| {
        command.mut_arg(id, |arg| arg.env(None))
    })
}

/// `(--flag, VARIABLE)` for every flag, down the chosen subcommands, whose
/// value clap took from the variable.
fn flags_from_env(command: &clap::Command, matches: &ArgMatches) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = command
        .get_arguments()
        .filter(|arg| matches.value_source(arg.get_id().as_str()) == Some(ValueSource::EnvVariable))
        .filter_map(|arg| {
            let var = arg.get_env()?.to_string_lossy().into_owned();
            Some((format!("--{}", arg.get_long()?), var))
        })
        .collect();
    if let Some((name, sub_matches)) = matches.subcommand() {
        if let Some(sub) = command.find_subcommand(name) {
            found.extend(flags_from_env(sub, sub_matches));
        }
    }
    found
}

/// The whole of clap's message (what went wrong, its tip, the usage line)
/// after `headroom: error: `, ending with a pointer to the `--help` of the
/// subcommand the words name, not the top-level one.
pub fn usage_error_message(mut error: clap::Error, words: &[OsString]) -> String {
    let (path, command) = failing_subcommand(words);
    add_pass_through_tip(&mut error, &command);
    let rendered = error.render().to_string();
    let rendered = rendered.trim_end();
    let body = rendered.strip_prefix("error: ").unwrap_or(rendered);
    // clap ends with "For more information, try '--help'.", which names no
    // subcommand; ours replaces it.
    let body = match body.rfind("\n\nFor more information, try") {
        Some(end) => &body[..end],
        None => body,
    };
    format!("headroom: error: {body}\n\nFor more information, try '{path} --help'.\n")
}

/// clap suggests `--` for a stray `-x` but not for a stray word such as
/// `run` in `headroom wrap opencode run hi`, the likeliest slip of all.
fn add_pass_through_tip(error: &mut clap::Error, command: &clap::Command) {
    if error.kind() != ErrorKind::UnknownArgument || error.get(ContextKind::Suggested).is_some() {
        return;
    }
    let Some(ContextValue::String(word)) = error.get(ContextKind::InvalidArg) else {
        return;
    };
    if command.get_positionals().any(|arg| arg.is_last_set()) {
        let tip = format!(
            "to pass '{word}' to {}, use '-- {word}'",
            command.get_name()
        );
        error.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![tip.into()]),
        );
    }
}

/// `headroom wrap opencode` for `headroom wrap opencode --prot 1`: the
/// subcommands the words name, as deep as they are valid, and the last one.
fn failing_subcommand(words: &[OsString]) -> (String, clap::Command) {
    let mut command = Cli::command();
    let mut path = vec![command.get_name().to_string()];
    for word in words.iter().skip(1) {
        let Some(word) = word.to_str() else { break };
        if word == "--" {
            break;
        }
        match command.find_subcommand(word) {
            Some(sub) => {
                path.push(sub.get_name().to_string());
                command = sub.clone();
            }
            // Options come before the subcommand's name only on commands
            // that take no option values, so an option is skipped safely.
            None if word.starts_with('-') => {}
            None => break,
        }
    }
    (path.join(" "), command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn the_path_stops_at_the_first_word_that_is_no_subcommand() {
        for (line, path) in [
            ("headroom", "headroom"),
            ("headroom frobnicate", "headroom"),
            ("headroom wrap vim", "headroom wrap"),
            ("headroom proxy --prot 1", "headroom proxy"),
            ("headroom wrap opencode run hi", "headroom wrap opencode"),
            ("headroom wrap opencode -- wrap", "headroom wrap opencode"),
            ("headroom completions", "headroom completions"),
        ] {
            assert_eq!(failing_subcommand(&words(line)).0, path, "{line}");
        }
    }
}
