//! Aider: it talks to its providers through litellm, which takes each
//! family's base URL from a variable. headroom sets, for the run, the
//! variable litellm reads first for OpenAI, Anthropic and Gemini to the
//! proxy. One header for every model (aider's `extra_headers`) could not
//! name three upstreams, so aider sends none: the proxy sends each
//! request to its family's upstream, read here from the user's own setup.
//! A `.env` file of the user's that sets one of those variables would win
//! over the environment; then headroom adds an env file of its own, which
//! aider loads after theirs.

mod expansion;
mod settings;

use std::path::Path;

use crate::proxy::routes::{classify, Family};
use crate::proxy::upstream::Upstream;

use super::agent::{
    proxied_base_url, AgentSpec, Context, Launch, LeftAlone, OverlayFile, Routed, Setup, Shown,
};
use settings::AiderSettings;

pub const AGENT: AgentSpec = AgentSpec {
    name: "aider",
    title: "Aider",
    binary: "aider",
    bin_var: "HEADROOM_AIDER_BIN",
    install: "pipx install aider-chat",
    read_setup,
};

/// The env file headroom adds when a `.env` file of the user's sets a
/// base URL.
const ENV_FILE: &str = "aider.env";

/// A family litellm routes by a base-URL variable.
struct FamilySpec {
    family: Family,
    /// The variables litellm reads, first wins; headroom sets the first.
    vars: &'static [&'static str],
    public: &'static str,
    /// A path litellm sends under the base URL, to check that the proxy
    /// reads the family back from it.
    sample: &'static str,
}

const FAMILIES: [FamilySpec; 3] = [
    FamilySpec {
        family: Family::OpenAi,
        vars: &["OPENAI_BASE_URL", "OPENAI_API_BASE"],
        public: "https://api.openai.com/v1",
        sample: "/chat/completions",
    },
    FamilySpec {
        family: Family::Anthropic,
        vars: &["ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL"],
        public: "https://api.anthropic.com",
        sample: "/v1/messages",
    },
    FamilySpec {
        family: Family::Gemini,
        vars: &["GEMINI_API_BASE"],
        public: "https://generativelanguage.googleapis.com/v1beta",
        sample: "/models/gemini:streamGenerateContent",
    },
];

/// One family as the user's setup has it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    family: Family,
    /// The variable headroom sets.
    var: &'static str,
    upstream: String,
    /// Why this family's requests cannot go through the proxy.
    blocked: Option<String>,
    /// A `.env` file of the user's sets `var`: headroom's env file must
    /// come after it.
    needs_env_file: bool,
}

#[derive(Debug)]
struct AiderSetup {
    plans: Vec<Plan>,
    /// The lines of the user's named env file, which headroom's replaces.
    carried_env_file: Option<(String, String)>,
}

fn read_setup(context: &Context) -> anyhow::Result<Box<dyn Setup>> {
    let settings = AiderSettings::read(context.env, context.args)?;
    Ok(Box::new(setup(&settings)))
}

fn setup(settings: &AiderSettings) -> AiderSetup {
    let plans: Vec<Plan> = FAMILIES.iter().map(|spec| plan(spec, settings)).collect();
    let carried_env_file = settings.named_env_file.as_ref().and_then(|path| {
        let text = std::fs::read_to_string(path).ok()?;
        Some((path.display().to_string(), text))
    });
    AiderSetup {
        plans,
        carried_env_file,
    }
}

fn plan(spec: &FamilySpec, settings: &AiderSettings) -> Plan {
    let var = spec.vars[0];
    let found = settings.first(spec.vars);
    let upstream = found.map_or(spec.public.to_string(), |(_, f)| {
        f.value.trim().trim_end_matches('/').to_string()
    });
    let dotenv = settings.dotenv_setting(var);
    let blocked = match Upstream::parse(&upstream) {
        Err(e) => {
            let (name, f) = found.map_or((var, ""), |(name, f)| (name, f.from.as_str()));
            Some(format!("{name} from {f} is not a valid URL: {e}"))
        }
        Ok(parsed) => {
            let path = format!("{}{}", parsed.version_segment(), spec.sample);
            if classify(&path) != spec.family {
                Some(format!(
                    "its base URL {upstream} ends in a segment that would make the proxy take its requests for another family's"
                ))
            } else if let Some((_, from)) = settings.set_env.iter().find(|(name, _)| name == var) {
                Some(format!(
                    "set-env in {from} sets {var}, which aider applies after headroom's; set it in the environment or a .env file instead"
                ))
            } else if settings.env_file_in_args && !dotenv.is_empty() {
                Some(format!(
                    "{} sets {var}, and the --env-file among your arguments would replace the env file headroom adds after it",
                    dotenv[0].display()
                ))
            } else {
                None
            }
        }
    };
    Plan {
        family: spec.family,
        var,
        upstream,
        needs_env_file: blocked.is_none() && !dotenv.is_empty(),
        blocked,
    }
}

impl AiderSetup {
    fn routed(&self) -> impl Iterator<Item = &Plan> {
        self.plans.iter().filter(|p| p.blocked.is_none())
    }
}

impl Setup for AiderSetup {
    fn warnings(&self) -> Vec<String> {
        self.plans
            .iter()
            .filter_map(|p| {
                let why = p.blocked.as_ref()?;
                Some(format!(
                    "aider's {} requests go to their API directly: {why}",
                    p.family.as_str()
                ))
            })
            .collect()
    }

    fn family_upstreams(&self) -> [Option<String>; 3] {
        let mut upstreams = [None, None, None];
        for plan in self.routed() {
            upstreams[plan.family.index()] = Some(plan.upstream.clone());
        }
        upstreams
    }

    fn launch(&self, proxy_origin: &str, dir: &Path) -> anyhow::Result<Launch> {
        let origin = proxy_origin.trim_end_matches('/');
        let mut launch = Launch::default();
        let mut lines = Vec::new();
        for plan in &self.plans {
            if let Some(why) = &plan.blocked {
                launch
                    .left_alone
                    .push(LeftAlone::new(plan.family.as_str(), why.clone()));
                continue;
            }
            let base_url = proxied_base_url(origin, &plan.upstream);
            launch.routed.push(Routed {
                id: plan.family.as_str().into(),
                upstream: plan.upstream.clone(),
                base_url: base_url.clone(),
                names_itself: false,
            });
            launch
                .env
                .push((plan.var.to_string(), Shown::plain(base_url.clone())));
            if plan.needs_env_file {
                lines.push(format!("{}={base_url}\n", plan.var));
            }
        }
        launch.left_alone.push(LeftAlone::new(
            "other",
            "litellm providers with base URLs of their own (openrouter/, deepseek/, azure/, ollama/, ...) are not routed",
        ));
        if !lines.is_empty() {
            let ours = lines.concat();
            let contents = match &self.carried_env_file {
                Some((path, text)) => Shown::masked(
                    format!("{text}\n{ours}"),
                    format!("# the lines of {path}\n{ours}"),
                ),
                None => Shown::plain(ours),
            };
            launch.files.push(OverlayFile {
                name: ENV_FILE.into(),
                contents,
            });
            launch.args = vec![
                Shown::plain("--env-file"),
                Shown::plain(dir.join(ENV_FILE).display().to_string()),
            ];
        }
        Ok(launch)
    }
}

#[cfg(test)]
mod tests;
