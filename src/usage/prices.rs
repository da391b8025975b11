//! What an exchange cost, from a price catalog shipped inside headroom: a
//! dated snapshot of models.dev's prices (`data/prices.json`, refreshed by
//! `scripts/refresh-prices`), which a user file may override and extend.
//! No network at run time. A model the catalog does not price has no cost:
//! a price is never invented, so every lookup that is not exact says why it
//! still names the same model.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;

use super::Usage;

/// The built-in catalog, embedded at build time.
const BUILTIN: &str = include_str!("../../data/prices.json");

/// models.dev prices some models higher once the prompt passes this many
/// tokens (its `context_over_200k`).
const LONG_PROMPT_TOKENS: u64 = 200_000;

/// The providers that make the models they sell: without a provider id,
/// a model's price is its maker's list price, not a reseller's.
const MAKERS: &[&str] = &[
    "anthropic",
    "openai",
    "google",
    "mistral",
    "deepseek",
    "xai",
    "moonshotai",
    "zai",
    "alibaba",
    "minimax",
    "cohere",
    "perplexity",
    "xiaomi",
];

/// Prices in USD per million tokens.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Rates {
    #[serde(deserialize_with = "rate")]
    pub input: f64,
    #[serde(deserialize_with = "rate")]
    pub output: f64,
    #[serde(default, deserialize_with = "some_rate")]
    pub cache_read: Option<f64>,
    #[serde(default, deserialize_with = "some_rate")]
    pub cache_write: Option<f64>,
}

/// The highest price taken, in USD per million tokens: a thousand times
/// the dearest model's, so that only a slip (a price per token written per
/// million, an exponent) is refused.
const MAX_RATE: f64 = 1e6;

/// A price, which is a number from 0 to `MAX_RATE`: a negative one would
/// make a bill smaller, and an absurd one its sum infinite.
fn rate<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    checked_rate(f64::deserialize(deserializer)?)
}

/// A price, or none (`null`, or the member left out).
fn some_rate<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Option::<f64>::deserialize(deserializer)?
        .map(checked_rate)
        .transpose()
}

fn checked_rate<E: serde::de::Error>(rate: f64) -> Result<f64, E> {
    if (0.0..=MAX_RATE).contains(&rate) {
        Ok(rate)
    } else {
        Err(E::custom(format_args!(
            "{rate} is not a price: USD per million tokens, from 0 to {MAX_RATE}"
        )))
    }
}

/// One model's entry in the catalog.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Price {
    #[serde(flatten)]
    pub rates: Rates,
    /// The price of reasoning tokens, where it is not the output price.
    #[serde(default, deserialize_with = "some_rate")]
    pub reasoning: Option<f64>,
    /// The prices once the prompt is over 200,000 tokens.
    pub above_200k: Option<Rates>,
    /// The date this undated alias was released and last updated: a name
    /// with this date appended is the same model.
    pub snapshot: Option<String>,
}

/// A catalog file: the built-in one, or the user's, in the same format.
#[derive(Debug, Deserialize)]
struct CatalogFile {
    #[serde(default)]
    data_as_of: Option<String>,
    providers: HashMap<String, HashMap<String, Price>>,
}

/// Prices by provider id (models.dev's, which are opencode's), then by
/// model id.
#[derive(Debug, Default)]
pub struct Catalog {
    providers: HashMap<String, HashMap<String, Price>>,
    /// The date of the newest price in the built-in snapshot.
    pub data_as_of: Option<String>,
}

impl Catalog {
    /// The built-in snapshot alone.
    pub fn builtin() -> Result<Self, serde_json::Error> {
        let file: CatalogFile = serde_json::from_str(BUILTIN)?;
        Ok(Catalog {
            providers: file.providers,
            data_as_of: file.data_as_of,
        })
    }

    /// The built-in snapshot with the user's file laid over it, when there
    /// is one. A user file that cannot be read costs one warning and is
    /// ignored: the built-in prices still apply.
    pub fn load(user_file: Option<&Path>) -> Self {
        let mut catalog = Catalog::builtin().unwrap_or_else(|error| {
            // Only a bad refresh could get here; the tests parse the data.
            tracing::error!(%error, "the built-in price catalog does not parse");
            Catalog::default()
        });
        if let Some(path) = user_file {
            match read_user_file(path) {
                Ok(Some(file)) => catalog.overlay(file),
                Ok(None) => {}
                Err(error) => tracing::warn!(
                    path = %path.display(),
                    %error,
                    "ignoring the user's price file"
                ),
            }
        }
        catalog
    }

    /// The user's entries replace the built-in ones of the same provider
    /// and model, and add the others.
    fn overlay(&mut self, file: CatalogFile) {
        for (provider, models) in file.providers {
            self.providers.entry(provider).or_default().extend(models);
        }
    }

    /// The number of priced models.
    pub fn len(&self) -> usize {
        self.providers.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The price of `model` as sold by `provider`. A provider the catalog
    /// knows is the only one asked: a reseller's price is not its maker's.
    /// Without one, or with one the catalog does not know (a custom
    /// endpoint), the maker's price applies: the provider named by a
    /// `maker/` prefix, else the makers that list the model, when they
    /// agree.
    pub fn price(&self, model: &str, provider: Option<&str>) -> Option<&Price> {
        let (prefix, bare) = match model.split_once('/') {
            Some((prefix, bare)) if !bare.is_empty() => (Some(prefix), Some(bare)),
            _ => (None, None),
        };
        let in_provider = |models| find(models, model).or_else(|| find(models, bare?));
        if let Some(models) = provider.and_then(|p| self.providers.get(p)) {
            return in_provider(models);
        }
        if let Some(models) = prefix.and_then(|p| self.providers.get(p)) {
            return in_provider(models);
        }
        let mut found = MAKERS
            .iter()
            .filter_map(|maker| self.providers.get(*maker))
            .filter_map(in_provider);
        let first = found.next()?;
        found.all(|other| other == first).then_some(first)
    }

    /// What `usage` cost in USD, or `None` when the model has no price or a
    /// figure the price needs is unknown.
    pub fn cost(&self, model: &str, provider: Option<&str>, usage: &Usage) -> Option<f64> {
        self.price(model, provider)?.cost(usage)
    }
}

/// `name` in one provider's models: exactly, else a dated name
/// (`-2025-08-07` or `-20250807`) whose undated alias is that very
/// snapshot.
fn find<'a>(models: &'a HashMap<String, Price>, name: &str) -> Option<&'a Price> {
    if let Some(price) = models.get(name) {
        return Some(price);
    }
    let (alias, date) = split_date(name)?;
    models
        .get(alias)
        .filter(|price| price.snapshot.as_deref() == Some(date.as_str()))
}

/// `gpt-5-2025-08-07` → (`gpt-5`, `2025-08-07`); `claude-x-20250929` →
/// (`claude-x`, `2025-09-29`).
fn split_date(name: &str) -> Option<(&str, String)> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let (alias, tail) = name.rsplit_once('-')?;
    if tail.len() == 8 && digits(tail) {
        let date = format!("{}-{}-{}", &tail[..4], &tail[4..6], &tail[6..]);
        return Some((alias, date));
    }
    // The dashed form splits into three parts: year, month, day.
    let (rest, day) = (alias, tail);
    let (rest, month) = rest.rsplit_once('-')?;
    let (alias, year) = rest.rsplit_once('-')?;
    let shaped = year.len() == 4 && month.len() == 2 && day.len() == 2;
    (shaped && digits(year) && digits(month) && digits(day))
        .then(|| (alias, format!("{year}-{month}-{day}")))
}

impl Price {
    /// What `usage` cost in USD; `None` when a figure the price needs is
    /// unknown.
    pub fn cost(&self, usage: &Usage) -> Option<f64> {
        cost_of(self, usage)
    }

    /// At least what `removed` prompt tokens, kept out of a request whose
    /// answer reported `usage`, saved it in USD, when the request kept
    /// every byte the provider's cache had seen: each is priced as the
    /// cheapest prompt token the request paid for. Sent, a removed token
    /// of an earlier output would have been read from the cache with the
    /// rest of the prefix, and one of a new output written to it or sent
    /// as input, none of it cheaper. `None` when the usage or a rate it
    /// needs is unknown.
    pub fn removed_worth(&self, usage: &Usage, removed: u64) -> Option<f64> {
        let prompt = self.prompt(usage)?;
        let mut cheapest: Option<f64> = None;
        for (tokens, rate) in prompt.kinds() {
            if tokens > 0 {
                let rate = rate?;
                cheapest = Some(cheapest.map_or(rate, |low| low.min(rate)));
            }
        }
        Some(removed as f64 * cheapest.unwrap_or(prompt.rates.input) / 1e6)
    }

    /// At least what `removed` prompt tokens kept out of a request saved
    /// it, when it may have re-written the provider's cache (a stale
    /// output sent as a stub): sent, its whole prompt would have cost no
    /// less than that many of the price's cheapest prompt token, and it
    /// cost what `usage` says. Often below zero: it is a bound, not the
    /// saving.
    pub fn removed_worth_rewritten(&self, usage: &Usage, removed: u64) -> Option<f64> {
        let prompt = self.prompt(usage)?;
        let cheapest = prompt
            .kinds()
            .into_iter()
            .filter_map(|(_, rate)| rate)
            .fold(prompt.rates.input, f64::min);
        let tokens = prompt.tokens().saturating_add(removed);
        Some((tokens as f64 * cheapest - prompt.micro_dollars()?) / 1e6)
    }

    /// The request's prompt tokens as `usage` says they were billed.
    fn prompt(&self, usage: &Usage) -> Option<Prompt<'_>> {
        let input = usage.input_tokens?;
        // A response that reports no cache figure used no cache as far as
        // anyone can know; its provider bills every prompt token as input.
        let read = usage.cache_read_tokens.unwrap_or(0);
        let written = usage.cache_write_tokens.unwrap_or(0);
        Some(Prompt {
            rates: match &self.above_200k {
                Some(long) if input > LONG_PROMPT_TOKENS => long,
                _ => &self.rates,
            },
            plain: input.checked_sub(read)?.checked_sub(written)?,
            read,
            written,
        })
    }
}

/// A request's prompt tokens by how they were billed, and the rates they
/// were billed at.
struct Prompt<'a> {
    rates: &'a Rates,
    plain: u64,
    read: u64,
    written: u64,
}

impl Prompt<'_> {
    /// Each kind of prompt token: how many, at what rate.
    fn kinds(&self) -> [(u64, Option<f64>); 3] {
        [
            (self.plain, Some(self.rates.input)),
            (self.read, self.rates.cache_read),
            (self.written, self.rates.cache_write),
        ]
    }

    fn tokens(&self) -> u64 {
        self.plain + self.read + self.written
    }

    /// What the prompt cost, in millionths of a dollar.
    fn micro_dollars(&self) -> Option<f64> {
        self.kinds()
            .into_iter()
            .try_fold(0.0, |sum, (tokens, rate)| Some(sum + priced(tokens, rate)?))
    }
}

/// Every prompt token is priced as a cache read, a cache write or plain
/// input; every generated token as output (or reasoning, where that is
/// priced apart).
fn cost_of(price: &Price, usage: &Usage) -> Option<f64> {
    let prompt = price.prompt(usage)?;
    let output = usage.output_tokens?;
    let (plain_output, reasoning) = match price.reasoning {
        Some(rate) => {
            let tokens = usage.reasoning_tokens.unwrap_or(0);
            (output.checked_sub(tokens)?, priced(tokens, Some(rate))?)
        }
        None => (output, 0.0),
    };
    let micro_dollars =
        prompt.micro_dollars()? + priced(plain_output, Some(prompt.rates.output))? + reasoning;
    Some(micro_dollars / 1_000_000.0)
}

/// Tokens at a price per million; unknown only when there are tokens to
/// price and no price for them.
fn priced(tokens: u64, rate: Option<f64>) -> Option<f64> {
    match (tokens, rate) {
        (0, _) => Some(0.0),
        (_, Some(rate)) => Some(tokens as f64 * rate),
        (_, None) => None,
    }
}

/// Why the user's price file (if any) will be ignored, in one line; `None`
/// when there is none or it is good. For a warning where the log is not
/// on the user's screen (`wrap`).
pub fn user_file_problem() -> Option<String> {
    let path = user_file_path()?;
    let error = read_user_file(&path).err()?;
    Some(format!(
        "ignoring the price file {}: {error}; the built-in prices apply",
        path.display()
    ))
}

/// The user's file, `None` when there is none.
fn read_user_file(path: &Path) -> Result<Option<CatalogFile>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.to_string()),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|error| error.to_string())
}

/// `$XDG_CONFIG_HOME/headroom/prices.json`, XDG's default otherwise.
pub fn user_file_path() -> Option<PathBuf> {
    Some(crate::xdg::headroom_dir("XDG_CONFIG_HOME", ".config")?.join("prices.json"))
}

/// The catalog this process prices with, read once.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::load(user_file_path().as_deref()))
}

/// What `usage` cost in USD by this process's catalog; `None` when unknown.
pub fn cost(model: &str, provider: Option<&str>, usage: &Usage) -> Option<f64> {
    catalog().cost(model, provider, usage)
}
