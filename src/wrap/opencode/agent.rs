//! opencode as one of `wrap`'s agents: its config read before the start,
//! and an `OPENCODE_CONFIG_CONTENT` overlay as all the child gets.

use std::path::{Path, PathBuf};

use crate::error::UsageError;
use crate::wrap::agent::{AgentSpec, Context, Detail, Launch, Setup, Shown};
use crate::wrap::mask;

use super::environment::Environment;
use super::layers::{self, UserConfig, CONTENT_VAR};
use super::overlay::config_content;
use super::plan::plan;
use super::selection::Selection;

pub const AGENT: AgentSpec = AgentSpec {
    name: "opencode",
    title: "opencode",
    binary: "opencode",
    bin_var: "HEADROOM_OPENCODE_BIN",
    install: "npm install -g opencode-ai",
    read_setup,
};

struct OpencodeSetup {
    env: Environment,
    config: UserConfig,
    selection: Selection,
    managed: Vec<PathBuf>,
}

fn read_setup(context: &Context) -> anyhow::Result<Box<dyn Setup>> {
    let env = context.env.clone();
    let config = layers::load(&env).map_err(|e| UsageError::new(e.to_string()))?;
    let selection = Selection {
        only: context.only.to_vec(),
        skip: context.skip.to_vec(),
    };
    selection
        .check(&config, &env)
        .map_err(|e| UsageError::new(e.to_string()))?;
    let managed = layers::managed_configs(&env);
    Ok(Box::new(OpencodeSetup {
        env,
        config,
        selection,
        managed,
    }))
}

impl Setup for OpencodeSetup {
    fn warnings(&self) -> Vec<String> {
        self.managed
            .iter()
            .map(|managed| {
                format!(
                    "{} is a managed opencode config and may override headroom's routing",
                    managed.display()
                )
            })
            .collect()
    }

    fn launch(&self, proxy_origin: &str, _dir: &Path) -> anyhow::Result<Launch> {
        let plan = plan(&self.config, &self.env, proxy_origin, &self.selection);
        let existing = self.env.var(CONTENT_VAR);
        let content =
            config_content(existing, &plan.overlay).map_err(|e| UsageError::new(e.to_string()))?;
        let shown = serde_json::from_str(&content)
            .map(|value| mask::json(&value).to_string())
            .unwrap_or_else(|_| mask::MASK.to_string());
        Ok(Launch {
            routed: plan.routed,
            left_alone: plan.left_alone,
            env: vec![(CONTENT_VAR.to_string(), Shown::masked(content, shown))],
            details: vec![Detail {
                key: "overlay",
                title: format!("{CONTENT_VAR} overlay"),
                value: plan.overlay,
            }],
            ..Launch::default()
        })
    }
}
