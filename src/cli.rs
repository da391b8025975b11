//! The command line, and nothing else: every flag, its help and its
//! environment variable. Completions and man pages are generated from here.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};

#[derive(Debug, Parser)]
#[command(
    name = "headroom",
    version,
    about = "Run coding agents through one local LLM proxy",
    long_about = "Run coding agents through one local LLM proxy.\n\n\
headroom starts a single HTTP proxy on loopback that forwards each request to the \
provider named in its X-Headroom-Upstream header. `headroom wrap opencode` runs \
opencode with every provider routed through that proxy, without touching any \
config file; `headroom proxy` runs the proxy on its own for any client.",
    after_help = "Examples:\n  headroom wrap opencode\n  headroom wrap opencode -- run \"fix the tests\"\n  headroom proxy --port 8787\n\n\
Exit codes: 0 success, 1 runtime failure, 2 usage or config error, 127 agent not found; \
under `wrap`, the agent's own exit code (128+N when it dies of signal N)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Proxy(ProxyArgs),
    Wrap(WrapArgs),
    Usage(UsageArgs),
    Completions(CompletionsArgs),
    Man(ManArgs),
}

/// Run the forwarding proxy in the foreground.
#[derive(Debug, Args)]
#[command(
    long_about = "Run the forwarding proxy in the foreground.\n\n\
Every request is forwarded, whatever its method and path. The upstream is the \
X-Headroom-Upstream header when present, for example\n\
  X-Headroom-Upstream: https://api.deepseek.com/v1\n\
else the default for the request's API family: /v1/messages* goes to Anthropic, \
/v1beta/* to Gemini, everything else to OpenAI.\n\n\
Normalization: surrounding spaces and trailing slashes are dropped, then one \
trailing /v1 or /v1beta segment; the request's path and query are appended. So \
https://openrouter.ai/api/v1 + /v1/chat/completions goes to \
https://openrouter.ai/api/v1/chat/completions.\n\n\
X-Headroom-* headers never reach the provider; authentication headers pass \
through untouched, so the proxy holds no keys. GET /health, GET /stats (JSON) and \
GET /metrics (Prometheus text) are answered by the proxy itself.",
    after_help = "Example:\n  headroom proxy --port 8787 &\n  curl http://127.0.0.1:8787/v1/chat/completions \\\n    -H 'X-Headroom-Upstream: https://api.deepseek.com' \\\n    -H \"Authorization: Bearer $DEEPSEEK_API_KEY\" \\\n    -H 'Content-Type: application/json' \\\n    -d '{\"model\":\"deepseek-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'\n\n\
Environment: OPENAI_TARGET_API_URL, ANTHROPIC_TARGET_API_URL, GEMINI_TARGET_API_URL \
(defaults), HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY (upstream hop), SSL_CERT_FILE, \
SSL_CERT_DIR (trusted roots), RUST_LOG (log level), NO_COLOR."
)]
pub struct ProxyArgs {
    /// Address to listen on. Anything but loopback needs --allow-upstream or --allow-any-upstream
    #[arg(long, default_value = "127.0.0.1", value_parser = parse_host, value_hint = ValueHint::Other)]
    pub host: IpAddr,

    /// Port to listen on; 0 picks a free one (the real port is printed)
    #[arg(long, default_value_t = 8787, value_hint = ValueHint::Other)]
    pub port: u16,

    /// Default upstream for OpenAI-style and unknown paths
    #[arg(long, env = "OPENAI_TARGET_API_URL", hide_env_values = true, default_value = crate::proxy::OPENAI_DEFAULT, value_name = "URL", value_hint = ValueHint::Url)]
    pub openai_upstream: String,

    /// Default upstream for /v1/messages*
    #[arg(long, env = "ANTHROPIC_TARGET_API_URL", hide_env_values = true, default_value = crate::proxy::ANTHROPIC_DEFAULT, value_name = "URL", value_hint = ValueHint::Url)]
    pub anthropic_upstream: String,

    /// Default upstream for /v1beta/*
    #[arg(long, env = "GEMINI_TARGET_API_URL", hide_env_values = true, default_value = crate::proxy::GEMINI_DEFAULT, value_name = "URL", value_hint = ValueHint::Url)]
    pub gemini_upstream: String,

    /// Only forward to this origin (scheme://host[:port]); repeatable. Other upstreams get 403
    #[arg(long = "allow-upstream", value_name = "ORIGIN", value_hint = ValueHint::Url)]
    pub allow_upstream: Vec<String>,

    /// Forward to any upstream, even when listening beyond loopback
    #[arg(long, conflicts_with = "allow_upstream")]
    pub allow_any_upstream: bool,

    /// Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)
    #[arg(long)]
    pub no_ledger: bool,

    #[command(flatten)]
    pub compress: CompressArgs,

    #[command(flatten)]
    pub timeouts: TimeoutArgs,

    #[command(flatten)]
    pub log: LogArgs,

    #[arg(skip)]
    pub from_env: FromEnv,
}

#[derive(Debug, Args)]
pub struct TimeoutArgs {
    /// Give up connecting to an upstream after this long (e.g. 10s, 500ms)
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION", value_hint = ValueHint::Other)]
    pub connect_timeout: Duration,

    /// End an exchange with an upstream that moves no bytes either way for this long
    #[arg(long, default_value = "300s", value_parser = parse_duration, value_name = "DURATION", value_hint = ValueHint::Other)]
    pub idle_timeout: Duration,
}

#[derive(Debug, Args)]
pub struct CompressArgs {
    /// How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request's X-Headroom-Compress overrides it
    #[arg(long, value_enum, default_value_t = CompressLevel::Safe, value_name = "LEVEL")]
    pub compress: CompressLevel,

    /// Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub spill_dir: Option<PathBuf>,

    /// Spill files older than this are removed at start (e.g. 7d, 12h)
    #[arg(long, default_value = "7d", value_parser = parse_duration, value_name = "DURATION", value_hint = ValueHint::Other)]
    pub spill_retention: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressLevel {
    Off,
    Safe,
    Aggressive,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log level [default: info, or RUST_LOG]
    #[arg(long, value_name = "LEVEL", value_parser = LOG_LEVELS, ignore_case = true)]
    pub log_level: Option<String>,

    /// Log line format
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// What `--log-level` accepts (in any case); `RUST_LOG` may also hold a
/// full filter.
pub const LOG_LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Run a coding agent through an in-process proxy.
#[derive(Debug, Args)]
#[command(
    long_about = "Run a coding agent through an in-process proxy.\n\n\
headroom starts its proxy on a free loopback port, points the agent at it for this run \
only, runs the agent on your terminal, and exits with the agent's exit code. No file of \
yours is changed. Without an agent, lists the agents headroom can run, whether each is \
installed, and its version.",
    after_help = "Examples:\n  headroom wrap\n  headroom wrap opencode -- run \"summarize the last commit\"\n  headroom wrap claude -- -p \"explain this repo\"\n  headroom wrap codex --dry-run",
    args_conflicts_with_subcommands = true
)]
pub struct WrapArgs {
    #[command(subcommand)]
    pub agent: Option<Agent>,

    /// Without an agent: print the list of agents as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Agent {
    Opencode(OpencodeArgs),
    Claude(ClaudeArgs),
    Codex(CodexArgs),
    Aider(AiderArgs),
    Qwen(QwenArgs),
    Kilo(KiloArgs),
    Gemini(GeminiArgs),
}

/// One `wrap` run, whichever the agent: what the lifecycle needs.
#[derive(Debug)]
pub struct AgentRun {
    /// The subcommand: `opencode`, `claude`, ...
    pub agent: &'static str,
    /// `--<agent>-bin` (or its variable).
    pub bin: Option<PathBuf>,
    pub only: Vec<String>,
    pub skip: Vec<String>,
    pub options: WrapOptions,
    /// The arguments after `--`, passed to the agent unchanged.
    pub args: PassThrough,
}

type PassThrough = Vec<std::ffi::OsString>;

impl AgentRun {
    /// A run without --only or --skip.
    fn of(
        agent: &'static str,
        bin: Option<PathBuf>,
        options: WrapOptions,
        args: PassThrough,
    ) -> AgentRun {
        AgentRun {
            agent,
            bin,
            only: Vec::new(),
            skip: Vec::new(),
            options,
            args,
        }
    }
}

impl Agent {
    pub fn into_run(self) -> AgentRun {
        match self {
            Agent::Opencode(a) => AgentRun {
                only: a.providers.only,
                skip: a.providers.skip,
                ..AgentRun::of("opencode", a.opencode_bin, a.options, a.args)
            },
            Agent::Claude(a) => AgentRun::of("claude", a.claude_bin, a.options, a.args),
            Agent::Codex(a) => AgentRun::of("codex", a.codex_bin, a.options, a.args),
            Agent::Aider(a) => AgentRun::of("aider", a.aider_bin, a.options, a.args),
            Agent::Qwen(a) => AgentRun::of("qwen", a.qwen_bin, a.options, a.args),
            Agent::Kilo(a) => AgentRun {
                only: a.providers.only,
                skip: a.providers.skip,
                ..AgentRun::of("kilo", a.kilo_bin, a.options, a.args)
            },
            Agent::Gemini(a) => AgentRun::of("gemini", a.gemini_bin, a.options, a.args),
        }
    }

    pub fn options_mut(&mut self) -> &mut WrapOptions {
        match self {
            Agent::Opencode(a) => &mut a.options,
            Agent::Claude(a) => &mut a.options,
            Agent::Codex(a) => &mut a.options,
            Agent::Aider(a) => &mut a.options,
            Agent::Qwen(a) => &mut a.options,
            Agent::Kilo(a) => &mut a.options,
            Agent::Gemini(a) => &mut a.options,
        }
    }
}

/// Which providers `wrap` routes, for the agents that route several.
#[derive(Debug, Args)]
pub struct ProviderSelection {
    /// Route only this provider id; repeatable
    #[arg(long, value_name = "ID", value_hint = ValueHint::Other)]
    pub only: Vec<String>,

    /// Do not route this provider id; repeatable
    #[arg(long, value_name = "ID", value_hint = ValueHint::Other)]
    pub skip: Vec<String>,
}

/// The options every agent's `wrap` takes.
#[derive(Debug, Args)]
pub struct WrapOptions {
    /// Port for the proxy on 127.0.0.1 [default: a free one]
    #[arg(long, default_value_t = 0, hide_default_value = true, value_hint = ValueHint::Other)]
    pub port: u16,

    /// Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub log_file: Option<PathBuf>,

    /// Log level for the log file
    #[arg(long, value_name = "LEVEL", default_value = "info", value_parser = LOG_LEVELS, ignore_case = true)]
    pub log_level: String,

    /// Log line format for the log file
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)
    #[arg(long)]
    pub dry_run: bool,

    /// With --dry-run, print JSON
    #[arg(long, requires = "dry_run")]
    pub json: bool,

    /// No summary at exit
    #[arg(long, short)]
    pub quiet: bool,

    /// Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)
    #[arg(long)]
    pub no_ledger: bool,

    /// When the agent's setup cannot be routed through headroom, launch it unrouted instead of stopping
    #[arg(long)]
    pub allow_unrouted: bool,

    #[command(flatten)]
    pub compress: CompressArgs,

    #[command(flatten)]
    pub timeouts: TimeoutArgs,

    #[arg(skip)]
    pub from_env: FromEnv,
}

/// Run opencode with every provider routed through one in-process proxy.
#[derive(Debug, Args)]
#[command(
    long_about = "Run opencode with every provider routed through one in-process proxy.\n\n\
headroom starts the proxy on 127.0.0.1 with a free port, reads opencode's config the \
way opencode does, and hands opencode an OPENCODE_CONFIG_CONTENT overlay in which each \
active provider's baseURL is the proxy and each request carries X-Headroom-Upstream \
with the provider's real base URL; with compression on, the overlay also lets \
opencode's tools read headroom's spill directory without asking. No file of yours is \
written. When opencode exits, \
the proxy stops and headroom exits with opencode's exit code.\n\n\
Providers a base-URL swap cannot carry (ChatGPT login for openai, github-copilot, \
amazon-bedrock, google-vertex, azure, cloudflare, gitlab) are left alone; --dry-run \
lists them with the reason.",
    after_help = "Examples:\n  headroom wrap opencode\n  headroom wrap opencode -- run --model anthropic/claude-sonnet-4-5 \"explain this repo\"\n  headroom wrap opencode --dry-run --json\n\n\
Environment: HEADROOM_OPENCODE_BIN (opencode binary), OPENCODE_CONFIG, OPENCODE_CONFIG_DIR, \
OPENCODE_CONFIG_CONTENT, OPENCODE_AUTH_CONTENT, XDG_CONFIG_HOME, XDG_DATA_HOME, \
XDG_CACHE_HOME, XDG_STATE_HOME (opencode's config, auth and catalog; headroom's log), \
provider key variables such as OPENAI_API_KEY (which providers are active)."
)]
pub struct OpencodeArgs {
    /// The opencode binary [default: opencode on PATH]
    #[arg(
        long,
        env = "HEADROOM_OPENCODE_BIN",
        hide_env_values = true,
        value_name = "PATH",
        value_hint = ValueHint::ExecutablePath
    )]
    pub opencode_bin: Option<PathBuf>,

    #[command(flatten)]
    pub providers: ProviderSelection,

    #[command(flatten)]
    pub options: WrapOptions,

    /// Arguments passed to opencode unchanged
    #[arg(last = true, value_name = "OPENCODE_ARGS")]
    pub args: Vec<std::ffi::OsString>,
}

/// Run Claude Code with its requests routed through one in-process proxy.
#[derive(Debug, Args)]
#[command(
    long_about = "Run Claude Code with its requests routed through one in-process proxy.\n\n\
headroom gives claude, for this run only, --settings with an env block that sets \
ANTHROPIC_BASE_URL to the proxy and adds X-Headroom-Upstream to \
ANTHROPIC_CUSTOM_HEADERS (inline --settings wins over the env block of your settings \
files). The upstream is your own ANTHROPIC_BASE_URL (from the environment or the env \
block of your Claude Code settings), else https://api.anthropic.com. API keys, \
ANTHROPIC_AUTH_TOKEN and a subscription login pass through untouched. Bedrock, Vertex \
and Foundry cannot be routed this way.",
    after_help = "Examples:\n  headroom wrap claude\n  headroom wrap claude -- -p \"explain this repo\"\n  headroom wrap claude --dry-run\n\n\
Environment: HEADROOM_CLAUDE_BIN (claude binary), ANTHROPIC_BASE_URL, \
ANTHROPIC_CUSTOM_HEADERS, CLAUDE_CONFIG_DIR (claude's settings), XDG_STATE_HOME \
(headroom's log)."
)]
pub struct ClaudeArgs {
    /// The claude binary [default: claude on PATH]
    #[arg(long, env = "HEADROOM_CLAUDE_BIN", hide_env_values = true, value_name = "PATH", value_hint = ValueHint::ExecutablePath)]
    pub claude_bin: Option<PathBuf>,

    #[command(flatten)]
    pub options: WrapOptions,

    /// Arguments passed to claude unchanged
    #[arg(last = true, value_name = "CLAUDE_ARGS")]
    pub args: Vec<std::ffi::OsString>,
}

/// Run Codex with its requests routed through one in-process proxy.
#[derive(Debug, Args)]
#[command(
    long_about = "Run Codex with its requests routed through one in-process proxy.\n\n\
headroom reads the model provider your Codex config selects ($CODEX_HOME/config.toml, \
default ~/.codex) and, for this run only, defines with -c overrides a provider that \
copies it with the proxy as its base_url, X-Headroom-Upstream in its http_headers and \
the HTTP (not WebSocket) transport. An API key and a ChatGPT login both pass through \
untouched. Your config is not written.",
    after_help = "Examples:\n  headroom wrap codex\n  headroom wrap codex -- exec \"explain this repo\"\n  headroom wrap codex --dry-run\n\n\
Environment: HEADROOM_CODEX_BIN (codex binary), CODEX_HOME (codex's config and login), \
XDG_STATE_HOME (headroom's log)."
)]
pub struct CodexArgs {
    /// The codex binary [default: codex on PATH]
    #[arg(long, env = "HEADROOM_CODEX_BIN", hide_env_values = true, value_name = "PATH", value_hint = ValueHint::ExecutablePath)]
    pub codex_bin: Option<PathBuf>,

    #[command(flatten)]
    pub options: WrapOptions,

    /// Arguments passed to codex unchanged
    #[arg(last = true, value_name = "CODEX_ARGS")]
    pub args: Vec<std::ffi::OsString>,
}

/// Run Aider with its requests routed through one in-process proxy.
#[derive(Debug, Args)]
#[command(
    long_about = "Run Aider with its requests routed through one in-process proxy.\n\n\
headroom sets, for this run only, the base-URL variables litellm reads first for OpenAI, \
Anthropic and Gemini (OPENAI_BASE_URL, ANTHROPIC_API_BASE, GEMINI_API_BASE) to the proxy, \
which sends each family's requests to the base URL your own setup gives it (the \
environment, your .env files, set-env and openai-api-base in .aider.conf.yml), else to \
the provider's public API. When a .env file of yours sets one of those variables, \
headroom adds an env file of its own, loaded after yours. API keys pass through \
untouched; no file of yours is written. Other litellm providers (openrouter/, azure/, \
...) are not routed.",
    after_help = "Examples:\n  headroom wrap aider\n  headroom wrap aider -- --model sonnet --message \"explain this repo\"\n  headroom wrap aider --dry-run\n\n\
Environment: HEADROOM_AIDER_BIN (aider binary), OPENAI_BASE_URL, OPENAI_API_BASE, \
ANTHROPIC_API_BASE, ANTHROPIC_BASE_URL, GEMINI_API_BASE, AIDER_CONFIG, AIDER_ENV_FILE, \
AIDER_SET_ENV, AIDER_OPENAI_API_BASE (aider's base URLs), XDG_STATE_HOME (headroom's log)."
)]
pub struct AiderArgs {
    /// The aider binary [default: aider on PATH]
    #[arg(long, env = "HEADROOM_AIDER_BIN", hide_env_values = true, value_name = "PATH", value_hint = ValueHint::ExecutablePath)]
    pub aider_bin: Option<PathBuf>,

    #[command(flatten)]
    pub options: WrapOptions,

    /// Arguments passed to aider unchanged
    #[arg(last = true, value_name = "AIDER_ARGS")]
    pub args: Vec<std::ffi::OsString>,
}

/// Run Qwen Code with its requests routed through one in-process proxy.
#[derive(Debug, Args)]
#[command(
    long_about = "Run Qwen Code with its requests routed through one in-process proxy.\n\n\
headroom sets, for this run only, the base-URL variable of Qwen Code's auth type \
(OPENAI_BASE_URL for openai and openai-responses, ANTHROPIC_BASE_URL for anthropic) to \
the proxy, and names in QWEN_CODE_SYSTEM_SETTINGS_PATH a system settings file of its own \
(your system settings, if any, plus X-Headroom-Upstream in \
model.generationConfig.customHeaders, or, when the model comes from a modelProviders \
entry with its own baseUrl, your model providers with that entry pointed at the proxy), \
in a private directory removed at exit. The upstream is the base URL your setup gives \
Qwen Code (that entry's baseUrl, the variable, a .env file, security.auth.baseUrl), else \
the provider's public API. API keys pass through untouched; no file of yours is written. \
Qwen OAuth cannot be routed this way. Qwen Code needs Node 22 or later.",
    after_help = "Examples:\n  headroom wrap qwen -- --auth-type openai\n  headroom wrap qwen -- \"explain this repo\"\n  headroom wrap qwen --dry-run\n\n\
Environment: HEADROOM_QWEN_BIN (qwen binary), OPENAI_BASE_URL, ANTHROPIC_BASE_URL, \
QWEN_HOME, QWEN_CODE_SYSTEM_SETTINGS_PATH, QWEN_CODE_SYSTEM_DEFAULTS_PATH (Qwen Code's \
settings), XDG_STATE_HOME (headroom's log)."
)]
pub struct QwenArgs {
    /// The qwen binary [default: qwen on PATH]
    #[arg(long, env = "HEADROOM_QWEN_BIN", hide_env_values = true, value_name = "PATH", value_hint = ValueHint::ExecutablePath)]
    pub qwen_bin: Option<PathBuf>,

    #[command(flatten)]
    pub options: WrapOptions,

    /// Arguments passed to qwen unchanged
    #[arg(last = true, value_name = "QWEN_ARGS")]
    pub args: Vec<std::ffi::OsString>,
}

/// Run Kilo with every provider routed through one in-process proxy.
#[derive(Debug, Args)]
#[command(
    long_about = "Run Kilo with every provider routed through one in-process proxy.\n\n\
Kilo is a fork of opencode and is wrapped the same way: headroom reads Kilo's config the \
way Kilo does (~/.config/kilo, kilo.json and opencode.json files, .kilo and .kilocode \
dirs) and hands Kilo a KILO_CONFIG_CONTENT overlay in which each active provider's \
baseURL is the proxy and each request carries X-Headroom-Upstream with the provider's \
real base URL, the Kilo Gateway's included; with compression on, the overlay also lets \
Kilo's tools read headroom's spill directory without asking. No file of yours is \
written. When Kilo \
exits, the proxy stops and headroom exits with Kilo's exit code.\n\n\
Providers a base-URL swap cannot carry (ChatGPT login for openai, github-copilot, \
amazon-bedrock, google-vertex, azure, cloudflare, gitlab) are left alone; --dry-run \
lists them with the reason.",
    after_help = "Examples:\n  headroom wrap kilo\n  headroom wrap kilo -- run --model kilo/anthropic/claude-sonnet-4.5 \"explain this repo\"\n  headroom wrap kilo --dry-run --json\n\n\
Environment: HEADROOM_KILO_BIN (kilo binary), KILO_CONFIG, KILO_CONFIG_DIR, \
KILO_CONFIG_CONTENT, KILO_AUTH_CONTENT, KILO_API_URL, XDG_CONFIG_HOME, XDG_DATA_HOME, \
XDG_CACHE_HOME, XDG_STATE_HOME (Kilo's config, auth and catalog; headroom's log), \
provider key variables such as KILO_API_KEY (which providers are active)."
)]
pub struct KiloArgs {
    /// The kilo binary [default: kilo on PATH]
    #[arg(long, env = "HEADROOM_KILO_BIN", hide_env_values = true, value_name = "PATH", value_hint = ValueHint::ExecutablePath)]
    pub kilo_bin: Option<PathBuf>,

    #[command(flatten)]
    pub providers: ProviderSelection,

    #[command(flatten)]
    pub options: WrapOptions,

    /// Arguments passed to kilo unchanged
    #[arg(last = true, value_name = "KILO_ARGS")]
    pub args: Vec<std::ffi::OsString>,
}

/// Run Gemini CLI with its requests routed through one in-process proxy.
#[derive(Debug, Args)]
#[command(
    long_about = "Run Gemini CLI with its requests routed through one in-process proxy.\n\n\
headroom gives gemini, for this run only, GOOGLE_GEMINI_BASE_URL pointing at the proxy \
and X-Headroom-Upstream added to GEMINI_CLI_CUSTOM_HEADERS. The upstream is your own \
GOOGLE_GEMINI_BASE_URL (from the environment or the .env file Gemini CLI loads), else \
https://generativelanguage.googleapis.com. Gemini CLI takes a base URL only with an API \
key (GEMINI_API_KEY): unless your settings already select it, headroom hands gemini a \
system settings file (your own system settings, merged) that does, in a private \
directory removed at exit. Login with Google and Vertex AI cannot be routed this way: \
headroom says so and stops, or with --allow-unrouted launches gemini without the proxy.",
    after_help = "Examples:\n  headroom wrap gemini\n  headroom wrap gemini -- -m gemini-2.5-flash -p \"explain this repo\"\n  headroom wrap gemini --dry-run\n\n\
Environment: HEADROOM_GEMINI_BIN (gemini binary), GEMINI_API_KEY, GOOGLE_GEMINI_BASE_URL, \
GEMINI_CLI_CUSTOM_HEADERS, GEMINI_CLI_SYSTEM_SETTINGS_PATH, GEMINI_CLI_HOME (Gemini CLI's \
settings and login), XDG_STATE_HOME (headroom's log)."
)]
pub struct GeminiArgs {
    /// The gemini binary [default: gemini on PATH]
    #[arg(long, env = "HEADROOM_GEMINI_BIN", hide_env_values = true, value_name = "PATH", value_hint = ValueHint::ExecutablePath)]
    pub gemini_bin: Option<PathBuf>,

    #[command(flatten)]
    pub options: WrapOptions,

    /// Arguments passed to gemini unchanged
    #[arg(last = true, value_name = "GEMINI_ARGS")]
    pub args: Vec<std::ffi::OsString>,
}

/// Show the tokens and cost of the requests headroom forwarded.
#[derive(Debug, Args)]
#[command(
    long_about = "Show the tokens and cost of the requests headroom forwarded.\n\n\
Every request `wrap` and `proxy` forward is recorded in a local SQLite ledger, \
$XDG_STATE_HOME/headroom/usage.db: time, agent, run, provider, upstream, model, \
status and the token counts the provider reported; never a body, header value, path \
or query. Without --since or --run, today's requests (local time) are totalled.\n\n\
Input tokens count every prompt token, cached or not; CACHE-R and CACHE-W are the \
prompt tokens read from and written to the provider's cache; output tokens include \
reasoning. A cost is shown only for models with a known price: cost_usd sums the \
priced requests, is null when none was priced, and unpriced_requests counts the \
requests it leaves out (the table marks such a cost with a +).\n\n\
When compression read tool outputs, their tokens before and after it \
(tool_tokens_before, tool_tokens_after) and at least what the removed tokens were \
worth (saved_usd, a lower bound from the usage the answers reported; below zero when \
requests may have re-written the provider's cache) follow, and the table ends with a \
line saying so.",
    after_help = "Examples:\n  headroom usage\n  headroom usage --by model --since 30d\n  headroom usage --by day --since 2025-06-01 --json"
)]
pub struct UsageArgs {
    /// Total per day, model, provider, agent or run instead of one total
    #[arg(long, value_enum, value_name = "KEY")]
    pub by: Option<crate::ledger::GroupBy>,

    /// Start of the window: 7d, 24h, today, or a local date YYYY-MM-DD [default: today]
    #[arg(long, value_parser = crate::ledger::Since::parse, value_name = "WHEN", value_hint = ValueHint::Other)]
    pub since: Option<crate::ledger::Since>,

    /// Only the requests of this run (all time, unless --since)
    #[arg(long, value_name = "ID", value_hint = ValueHint::Other)]
    pub run: Option<String>,

    /// Print a JSON array of rows instead of a table
    #[arg(long)]
    pub json: bool,

    /// The ledger to read [default: $XDG_STATE_HOME/headroom/usage.db]
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub db: Option<PathBuf>,
}

/// Print a shell completion script to stdout.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  headroom completions bash > ~/.local/share/bash-completion/completions/headroom"
)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Write the man pages into a directory.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  headroom man ~/.local/share/man/man1")]
pub struct ManArgs {
    /// Directory to write headroom.1 and one page per subcommand into
    #[arg(default_value = "man", value_hint = ValueHint::DirPath)]
    pub dir: PathBuf,
}

/// The flags whose value came from an environment variable in this run, so
/// that an error about the value names what the user actually set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FromEnv(Vec<(String, String)>);

impl FromEnv {
    pub fn new(flags_and_vars: Vec<(String, String)>) -> FromEnv {
        FromEnv(flags_and_vars)
    }

    /// The variable that supplied `flag` (`--opencode-bin`), if one did.
    pub fn var_for(&self, flag: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == flag)
            .map(|(_, var)| var.as_str())
    }

    /// How to name where `flag`'s value came from: the variable, else the flag.
    pub fn name<'a>(&'a self, flag: &'a str) -> &'a str {
        self.var_for(flag).unwrap_or(flag)
    }
}

fn parse_host(raw: &str) -> Result<IpAddr, String> {
    if raw.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::from([127, 0, 0, 1]));
    }
    raw.parse()
        .map_err(|_| format!("'{raw}' is not an IP address (e.g. 127.0.0.1, ::1, 0.0.0.0)"))
}

/// `10`, `10s`, `500ms`, `5m`: a number of seconds or a number with a unit.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{raw}' is not a duration (e.g. 10s, 500ms, 5m)"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86400.0,
        _ => {
            return Err(format!(
                "'{raw}' has an unknown unit (use ms, s, m, h or d)"
            ))
        }
    };
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("'{raw}' must be a positive duration"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("ten").is_err());
        assert_eq!(parse_duration("5h"), Ok(Duration::from_secs(5 * 3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert!(parse_duration("5w").is_err());
    }
}
