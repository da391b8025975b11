//! What kind of tool produced an output, from the name of the call it
//! answers: a shell command's output is mostly log and can be cut; a file
//! the agent asked to read is content it needs and is never cut.

use super::locate::Call;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A shell command's output (`bash`, `shell`, `exec_command`...).
    Shell,
    /// A file the agent read (`read`, `read_file`, `view`...).
    Read,
    /// Any other tool, or an output whose call was not found.
    Other,
}

const SHELL_TOOLS: [&str; 10] = [
    "bash",
    "shell",
    "shell_command",
    "exec_command",
    "local_shell",
    "run_shell_command",
    "execute_bash",
    "run_terminal_cmd",
    "run_command",
    "terminal",
];

const READ_TOOLS: [&str; 6] = [
    "read",
    "read_file",
    "readfile",
    "view",
    "read_many_files",
    "view_file",
];

impl Kind {
    pub fn of(call: Option<&Call<'_>>) -> Kind {
        let Some(call) = call else {
            return Kind::Other;
        };
        let name = call.name.to_ascii_lowercase();
        if SHELL_TOOLS.contains(&name.as_str()) {
            Kind::Shell
        } else if READ_TOOLS.contains(&name.as_str()) {
            Kind::Read
        } else {
            Kind::Other
        }
    }
}

/// The file a read call names, under the argument names agents use.
pub fn read_path(call: &Call<'_>) -> Option<String> {
    ["filePath", "file_path", "path", "absolute_path"]
        .iter()
        .find_map(|name| call.arguments.get(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::locate::Arguments;

    fn call(name: &str) -> Call<'static> {
        Call {
            name: name.into(),
            arguments: Arguments::Text(r#"{"filePath":"/src/a.rs"}"#.into()),
        }
    }

    #[test]
    fn kinds_follow_the_tool_name() {
        assert_eq!(Kind::of(Some(&call("bash"))), Kind::Shell);
        assert_eq!(Kind::of(Some(&call("Bash"))), Kind::Shell);
        assert_eq!(Kind::of(Some(&call("read"))), Kind::Read);
        assert_eq!(Kind::of(Some(&call("grep"))), Kind::Other);
        assert_eq!(Kind::of(None), Kind::Other);
        assert_eq!(read_path(&call("read")).as_deref(), Some("/src/a.rs"));
    }
}
