//! `headroom wrap` without an agent: the agents, whether each is
//! installed, and the version it reports.

use std::io::Write as _;

use serde::Serialize;

use super::binary;
use super::environment::Environment;
use super::registry::AGENTS;

#[derive(Debug, Serialize)]
struct Row {
    agent: &'static str,
    title: &'static str,
    installed: bool,
    path: Option<String>,
    version: Option<String>,
}

pub fn list(json: bool) -> anyhow::Result<()> {
    let env = Environment::from_process()?;
    // The version probes start node and native binaries: run them at once.
    let rows: Vec<Row> = std::thread::scope(|scope| {
        let probes: Vec<_> = AGENTS
            .iter()
            .map(|spec| {
                let env = &env;
                scope.spawn(move || {
                    let path = binary::installed(spec, env);
                    Row {
                        agent: spec.name,
                        title: spec.title,
                        installed: path.is_some(),
                        version: path.as_deref().and_then(binary::version),
                        path: path.map(|p| p.display().to_string()),
                    }
                })
            })
            .collect();
        probes.into_iter().filter_map(|p| p.join().ok()).collect()
    });
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
    for line in table(&rows) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn table(rows: &[Row]) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<10} {:<13} {:<10} {}",
        "AGENT", "NAME", "INSTALLED", "VERSION"
    )];
    for row in rows {
        let installed = if row.installed { "yes" } else { "no" };
        let version = row.version.as_deref().unwrap_or("-");
        lines.push(
            format!(
                "{:<10} {:<13} {:<10} {}",
                row.agent, row.title, installed, version
            )
            .trim_end()
            .to_string(),
        );
    }
    lines.push(String::new());
    lines.push("Run one with: headroom wrap AGENT [-- AGENT_ARGS]".to_string());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_says_installed_and_version() {
        let rows = [
            Row {
                agent: "opencode",
                title: "opencode",
                installed: true,
                path: Some("/bin/opencode".into()),
                version: Some("1.18.33".into()),
            },
            Row {
                agent: "claude",
                title: "Claude Code",
                installed: false,
                path: None,
                version: None,
            },
        ];
        let lines = table(&rows);
        assert_eq!(lines[1], "opencode   opencode      yes        1.18.33");
        assert_eq!(lines[2], "claude     Claude Code   no         -");
    }
}
