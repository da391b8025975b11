//! Parse the command line, set up logging, dispatch, and turn the outcome
//! into an exit code.

use std::process::ExitCode;
use std::sync::OnceLock;

use headroom::cli::{Cli, Command, LogFormat};
use headroom::error::UsageError;
use headroom::wrap::AgentNotFound;
use headroom::{generate, logging, parse, report, standalone};

fn main() -> ExitCode {
    install_panic_hook();
    let words: Vec<_> = std::env::args_os().collect();
    let cli = match parse::parse(words.clone()) {
        Ok(cli) => cli,
        Err(error) => return clap_exit(error, &words),
    };
    let log_format = log_format(&cli);
    let _ = PANIC_FORMAT.set(log_format);
    match run(cli) {
        Ok(code) => code,
        Err(error) if stdout_closed(&error) => ExitCode::SUCCESS,
        Err(error) => {
            let message = format!("{error:#}").replace('\n', " ");
            eprintln!("{}", logging::fatal_line(log_format, &message));
            ExitCode::from(exit_code(&error))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Proxy(args) => {
            logging::init_stderr(
                logging::filter(args.log.log_level.as_deref())?,
                args.log.log_format,
            );
            headroom::runtime()?.block_on(standalone::run(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Wrap(args) => match args.agent {
            None => {
                headroom::wrap::list(args.json)?;
                Ok(ExitCode::SUCCESS)
            }
            Some(agent) => Ok(ExitCode::from(headroom::wrap::run(agent.into_run())?)),
        },
        Command::Usage(args) => {
            report::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions(args) => {
            use std::io::Write as _;
            std::io::stdout().write_all(&generate::completion(args.shell))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man(args) => {
            generate::write_man_pages(&args.dir)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The format of the command's log lines, which its last error takes too.
fn log_format(cli: &Cli) -> LogFormat {
    match &cli.command {
        Command::Proxy(args) => args.log.log_format,
        _ => LogFormat::Text,
    }
}

/// A reader that closed stdout early (`| head`) has had all it wanted:
/// the program ends quietly, as Unix tools do. Rust ignores SIGPIPE, so
/// the write that finds the pipe closed fails with EPIPE instead; JSON
/// written through serde carries it inside a serde_json::Error.
fn stdout_closed(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let kind = match cause.downcast_ref::<serde_json::Error>() {
            Some(json) => json.io_error_kind(),
            None => cause.downcast_ref::<std::io::Error>().map(|io| io.kind()),
        };
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Usage and config mistakes exit 2, a missing agent 127, the rest 1.
fn exit_code(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<UsageError>().is_some() {
        2
    } else if error.downcast_ref::<AgentNotFound>().is_some() {
        127
    } else {
        1
    }
}

/// Help and version go to stdout with exit 0; a usage error exits 2.
fn clap_exit(error: clap::Error, words: &[std::ffi::OsString]) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            eprint!("{}", parse::usage_error_message(error, words));
            ExitCode::from(2)
        }
    }
}

/// The format a panic's line takes: the log's, once the command line has
/// been read.
static PANIC_FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// A panic is a bug: say so in one line, in the log's format, with the
/// backtrace only when `RUST_BACKTRACE` asks for it.
fn install_panic_hook() {
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let message =
            format!("internal error: {payload} (please report it; RUST_BACKTRACE=1 shows details)");
        let format = PANIC_FORMAT.get().copied().unwrap_or(LogFormat::Text);
        eprintln!(
            "{}",
            logging::fatal_line(format, &message.replace('\n', " "))
        );
    }));
}
