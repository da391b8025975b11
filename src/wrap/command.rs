//! The child's command line and environment, from the agent's launch.

use std::ffi::OsString;
use std::path::Path;

use super::agent::Launch;
use super::environment::Environment;

/// The hosts the child must reach directly, whatever proxy it is told to use.
const LOOPBACK_HOSTS: &str = "127.0.0.1,localhost";

/// `binary`, the launch's arguments then the user's, in the user's
/// directory, with the launch's environment changes and then
/// [`every_childs_env`].
pub fn build(
    binary: &Path,
    user_args: &[OsString],
    env: &Environment,
    launch: &Launch,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary);
    command
        .args(launch.args.iter().map(|arg| &arg.real))
        .args(user_args)
        .current_dir(&env.cwd);
    for name in &launch.env_removed {
        command.env_remove(name);
    }
    for (name, value) in &launch.env {
        command.env(name, &value.real);
    }
    command.envs(every_childs_env(env));
    command
}

/// The variables every child gets, whatever its agent; a dry run shows
/// them from here too.
pub fn every_childs_env(env: &Environment) -> Vec<(&'static str, OsString)> {
    // Agents such as opencode find their project from $PWD, not from
    // their working directory.
    let mut vars = vec![("PWD", env.cwd.clone().into_os_string())];
    // A client reads one spelling and ignores the other once it is set
    // (Bun, opencode's runtime, reads no_proxy first; Go and reqwest read
    // NO_PROXY first), so each starts from the user's hosts in whichever
    // spelling they were given: setting the other with loopback alone would
    // send those hosts through the user's proxy.
    for (name, other) in [("NO_PROXY", "no_proxy"), ("no_proxy", "NO_PROXY")] {
        let hosts = user_hosts(env, name).or_else(|| user_hosts(env, other));
        vars.push((name, with_loopback(hosts).into()));
    }
    vars
}

/// The hosts the user's `name` lists, when it lists any.
fn user_hosts<'a>(env: &'a Environment, name: &str) -> Option<&'a str> {
    env.var(name).map(str::trim).filter(|v| !v.is_empty())
}

pub fn with_loopback(no_proxy: Option<&str>) -> String {
    match no_proxy.map(str::trim).filter(|v| !v.is_empty()) {
        Some(existing) => format!("{existing},{LOOPBACK_HOSTS}"),
        None => LOOPBACK_HOSTS.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::wrap::environment::testing::env_in;

    #[test]
    fn every_child_gets_its_directory_and_loopback_without_a_proxy() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        env.vars.insert("no_proxy".into(), "corp.internal".into());
        assert_eq!(
            every_childs_env(&env),
            [
                ("PWD", env.cwd.clone().into_os_string()),
                ("NO_PROXY", "corp.internal,127.0.0.1,localhost".into()),
                ("no_proxy", "corp.internal,127.0.0.1,localhost".into()),
            ]
        );
    }

    #[test]
    fn each_spelling_keeps_the_hosts_the_user_gave_either() {
        let root = tempfile::tempdir().unwrap();
        let no_proxy = |upper: Option<&str>, lower: Option<&str>| {
            let mut env = env_in(root.path());
            for (name, value) in [("NO_PROXY", upper), ("no_proxy", lower)] {
                if let Some(value) = value {
                    env.vars.insert(name.into(), value.into());
                }
            }
            let vars = every_childs_env(&env);
            let value = |name: &str| {
                let found = vars.iter().find(|(n, _)| *n == name).unwrap();
                found.1.to_string_lossy().into_owned()
            };
            [value("NO_PROXY"), value("no_proxy")]
        };
        let corp = "corp.internal,127.0.0.1,localhost";
        assert_eq!(no_proxy(Some("corp.internal"), None), [corp, corp]);
        assert_eq!(no_proxy(Some("corp.internal"), Some(" ")), [corp, corp]);
        assert_eq!(
            no_proxy(Some("a.corp"), Some("b.corp")),
            ["a.corp,127.0.0.1,localhost", "b.corp,127.0.0.1,localhost"]
        );
        let loopback = "127.0.0.1,localhost";
        assert_eq!(no_proxy(None, None), [loopback, loopback]);
    }

    #[test]
    fn loopback_is_added_to_no_proxy() {
        assert_eq!(with_loopback(None), "127.0.0.1,localhost");
        assert_eq!(with_loopback(Some(" ")), "127.0.0.1,localhost");
        assert_eq!(
            with_loopback(Some("corp.internal")),
            "corp.internal,127.0.0.1,localhost"
        );
    }
}
