//! From the words on the command line to a [`Cli`], knowing which values
//! came from environment variables.

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::cli::{Agent, Cli, Command, FromEnv, WrapArgs};

/// Parses `words` (program name first), recording in each subcommand's
/// arguments the flags that an environment variable supplied.
pub fn parse(words: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(words)?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
    let from_env = FromEnv::new(flags_from_env(&command, &matches));
    match &mut cli.command {
        Command::Proxy(args) => args.from_env = from_env,
        Command::Wrap(WrapArgs {
            agent: Agent::Opencode(args),
        }) => args.from_env = from_env,
        Command::Completions(_) | Command::Man(_) => {}
    }
    Ok(cli)
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
