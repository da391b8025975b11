//! An agent of the opencode family as one of `wrap`'s agents: its config
//! read before the start, and an overlay in its inline config variable
//! (`OPENCODE_CONFIG_CONTENT`) as all the child gets.

use std::path::{Path, PathBuf};

use crate::error::UsageError;
use crate::wrap::agent::{AgentSpec, Context, Detail, Launch, Setup, Shown};
use crate::wrap::mask;

use super::environment::Environment;
use super::layers::{self, UserConfig};
use super::names::{ConfigNames, OPENCODE};
use super::overlay::{allow_reading, config_content};
use super::plan::plan;
use super::selection::Selection;

pub const AGENT: AgentSpec = AgentSpec {
    name: "opencode",
    title: "opencode",
    binary: "opencode",
    bin_var: "HEADROOM_OPENCODE_BIN",
    install: "npm install -g opencode-ai",
    read_setup: |context| read_setup(context, &OPENCODE),
};

struct OpencodeSetup {
    env: Environment,
    config: UserConfig,
    selection: Selection,
    managed: Vec<PathBuf>,
    spill_dir: Option<PathBuf>,
}

/// The user's setup of the agent that keeps its config under `names`.
pub fn read_setup(
    context: &Context,
    names: &'static ConfigNames,
) -> anyhow::Result<Box<dyn Setup>> {
    let env = context.env.clone();
    let config = layers::load(&env, names).map_err(|e| UsageError::new(e.to_string()))?;
    let selection = Selection {
        only: context.only.to_vec(),
        skip: context.skip.to_vec(),
    };
    selection
        .check(&config, &env)
        .map_err(|e| UsageError::new(e.to_string()))?;
    let managed = layers::managed_configs(&env, names);
    Ok(Box::new(OpencodeSetup {
        env,
        config,
        selection,
        managed,
        spill_dir: context.spill_dir.map(Path::to_path_buf),
    }))
}

impl Setup for OpencodeSetup {
    fn warnings(&self) -> Vec<String> {
        self.managed
            .iter()
            .map(|managed| {
                format!(
                    "{} is a managed {} config and may override headroom's routing",
                    managed.display(),
                    self.config.names.product
                )
            })
            .collect()
    }

    /// An agent that builds its own provider lists that provider's models
    /// without the provider's headers: those requests go where the provider
    /// goes, when it is routed.
    fn default_upstream(&self) -> Option<String> {
        let names = self.config.names;
        names.own_sdk.as_ref()?;
        // The proxy's address is not known yet, and not needed for the
        // upstream.
        let plan = plan(
            &self.config,
            &self.env,
            "http://127.0.0.1:PORT",
            &self.selection,
        );
        plan.routed
            .into_iter()
            .find(|routed| routed.id == names.own_provider)
            .map(|routed| routed.upstream)
    }

    fn launch(&self, proxy_origin: &str, _dir: &Path) -> anyhow::Result<Launch> {
        let mut plan = plan(&self.config, &self.env, proxy_origin, &self.selection);
        if let Some(spill_dir) = &self.spill_dir {
            allow_reading(&mut plan.overlay, &self.config.merged, spill_dir);
        }
        let var = self.config.names.content_var;
        let existing = self.env.var(var);
        let content = config_content(var, existing, &plan.overlay)
            .map_err(|e| UsageError::new(e.to_string()))?;
        let shown = serde_json::from_str(&content)
            .map(|value| mask::json(&value).to_string())
            .unwrap_or_else(|_| mask::MASK.to_string());
        Ok(Launch {
            routed: plan.routed,
            left_alone: plan.left_alone,
            env: vec![(var.to_string(), Shown::masked(content, shown))],
            details: vec![Detail {
                key: "overlay",
                title: format!("{var} overlay"),
                value: plan.overlay,
            }],
            ..Launch::default()
        })
    }
}
