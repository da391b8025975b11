//! Prices from the built-in snapshot and the user's file. The figures
//! quoted are data/prices.json's (models.dev, data as of 2026-05-21).

use std::path::Path;

use crate::usage::prices::Catalog;
use crate::usage::Usage;

fn builtin() -> Catalog {
    Catalog::builtin().unwrap_or_else(|error| panic!("built-in catalog: {error}"))
}

fn usage(input: u64, cache_read: u64, cache_write: u64, output: u64) -> Usage {
    Usage {
        input_tokens: Some(input),
        cache_read_tokens: Some(cache_read),
        cache_write_tokens: Some(cache_write),
        output_tokens: Some(output),
        complete: true,
        ..Usage::default()
    }
}

fn assert_dollars(cost: Option<f64>, expected: f64) {
    match cost {
        Some(cost) => assert!(
            (cost - expected).abs() < 1e-9,
            "cost {cost}, expected {expected}"
        ),
        None => panic!("no cost, expected {expected}"),
    }
}

fn user_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("temp file: {e}"));
    std::fs::write(file.path(), text).unwrap_or_else(|e| panic!("write: {e}"));
    file
}

#[test]
fn the_embedded_snapshot_parses_and_prices_thousands_of_models() {
    let catalog = builtin();
    assert!(catalog.len() > 1000, "only {} models", catalog.len());
    assert_eq!(catalog.data_as_of.as_deref(), Some("2026-05-21"));
}

#[test]
fn an_exact_name_is_found_with_and_without_its_provider() {
    let catalog = builtin();
    let sonnet = catalog.price("claude-sonnet-4-5", Some("anthropic"));
    assert_eq!(sonnet.map(|p| p.rates.input), Some(3.0));
    // Without a provider, the maker's list price.
    let gpt5 = catalog.price("gpt-5", None);
    assert_eq!(gpt5.map(|p| p.rates.output), Some(10.0));
}

#[test]
fn a_provider_prefixed_name_is_found_under_its_bare_name() {
    let catalog = builtin();
    let prefixed = catalog.price("anthropic/claude-sonnet-4-5", None);
    assert_eq!(
        prefixed,
        catalog.price("claude-sonnet-4-5", Some("anthropic"))
    );
    assert!(prefixed.is_some());
    let under_provider = catalog.price("openai/gpt-5", Some("openai"));
    assert_eq!(under_provider.map(|p| p.rates.input), Some(1.25));
}

#[test]
fn a_reseller_is_asked_for_its_own_price_only() {
    let catalog = builtin();
    // openrouter lists its own ids; a bare maker id is not one of them.
    let own = catalog.price("anthropic/claude-sonnet-4.5", Some("openrouter"));
    assert_eq!(own.map(|p| p.rates.input), Some(3.0));
    assert_eq!(catalog.price("claude-sonnet-4-5", Some("openrouter")), None);
}

#[test]
fn a_dated_name_is_its_alias_only_when_the_alias_is_that_snapshot() {
    let catalog = builtin();
    // openai's gpt-5 was released and last updated on 2025-08-07.
    let dated = catalog.price("gpt-5-2025-08-07", Some("openai"));
    assert_eq!(dated, catalog.price("gpt-5", Some("openai")));
    assert!(dated.is_some());
    assert_eq!(catalog.price("gpt-5-2025-09-01", Some("openai")), None);
    assert_eq!(catalog.price("gpt-5-20250807", Some("openai")), dated);
}

#[test]
fn an_unknown_model_has_no_price_and_no_cost() {
    let catalog = builtin();
    assert_eq!(catalog.price("no-such-model-7", None), None);
    assert_eq!(catalog.price("no-such-model-7", Some("anthropic")), None);
    assert_eq!(
        catalog.cost("no-such-model-7", None, &usage(10, 0, 0, 10)),
        None
    );
}

#[test]
fn anthropic_cost_prices_each_kind_of_prompt_token() {
    // claude-sonnet-4-5: input 3, output 15, cache_read 0.3, cache_write 3.75.
    let cost = builtin().cost(
        "claude-sonnet-4-5",
        Some("anthropic"),
        &usage(1_000_000, 400_000, 100_000, 200_000),
    );
    let expected = 0.5 * 3.0 + 0.4 * 0.3 + 0.1 * 3.75 + 0.2 * 15.0;
    assert_dollars(cost, expected);
}

#[test]
fn openai_cost_prices_cached_input_at_the_cache_read_price() {
    // gpt-5: input 1.25, output 10, cache_read 0.125; no cache writes.
    let mut used = usage(12_000, 8_000, 0, 3_000);
    used.cache_write_tokens = None;
    used.reasoning_tokens = Some(2_000);
    let cost = builtin().cost("gpt-5-2025-08-07", Some("openai"), &used);
    let expected = (4_000.0 * 1.25 + 8_000.0 * 0.125 + 3_000.0 * 10.0) / 1e6;
    assert_dollars(cost, expected);
}

#[test]
fn a_long_prompt_is_priced_at_the_long_prompt_rates() {
    // gemini-2.5-pro: 1.25 / 10, and 2.5 / 15 over 200,000 prompt tokens.
    let catalog = builtin();
    let short = catalog.cost("gemini-2.5-pro", Some("google"), &usage(200_000, 0, 0, 0));
    assert_dollars(short, 0.2 * 1.25);
    let long = catalog.cost("gemini-2.5-pro", Some("google"), &usage(300_000, 0, 0, 0));
    assert_dollars(long, 0.3 * 2.5);
}

#[test]
fn reasoning_priced_apart_is_charged_at_its_own_price() {
    // alibaba qwen-plus: input 0.4, output 1.2, reasoning 4.
    let mut used = usage(1_000_000, 0, 0, 1_000_000);
    used.reasoning_tokens = Some(250_000);
    let cost = builtin().cost("qwen-plus", Some("alibaba"), &used);
    assert_dollars(cost, 0.4 + 0.75 * 1.2 + 0.25 * 4.0);
}

#[test]
fn cache_reads_without_a_cache_read_price_have_no_cost() {
    // openai's gpt-5 has no cache_write price.
    let catalog = builtin();
    let written = usage(10_000, 0, 5_000, 100);
    assert_eq!(catalog.cost("gpt-5", Some("openai"), &written), None);
    // alibaba's qwen-plus has no cache_read price.
    let read = usage(10_000, 5_000, 0, 100);
    assert_eq!(catalog.cost("qwen-plus", Some("alibaba"), &read), None);
    // No cache reads: the missing price does not matter.
    assert!(catalog
        .cost("qwen-plus", Some("alibaba"), &usage(10_000, 0, 0, 100))
        .is_some());
}

#[test]
fn unknown_token_counts_have_no_cost() {
    let mut cut = usage(10_000, 0, 0, 0);
    cut.output_tokens = None;
    assert_eq!(builtin().cost("gpt-5", Some("openai"), &cut), None);
    // More cached tokens than prompt tokens: figures that do not add up.
    let inconsistent = usage(10, 20, 0, 5);
    assert_eq!(builtin().cost("gpt-5", Some("openai"), &inconsistent), None);
}

fn sonnet() -> crate::usage::prices::Price {
    builtin()
        .price("claude-sonnet-4-5", Some("anthropic"))
        .cloned()
        .unwrap_or_else(|| panic!("claude-sonnet-4-5 has a price"))
}

#[test]
fn removed_tokens_are_worth_the_cheapest_prompt_token_the_request_paid_for() {
    // claude-sonnet-4-5: input 3, cache_read 0.3, cache_write 3.75.
    let sonnet = sonnet();
    let warm = usage(100_000, 90_000, 10_000, 500);
    assert_dollars(sonnet.removed_worth(&warm, 1_000_000), 0.3);
    let cold = usage(100_000, 0, 100_000, 500);
    assert_dollars(sonnet.removed_worth(&cold, 1_000_000), 3.75);
    let uncached = usage(100_000, 0, 0, 500);
    assert_dollars(sonnet.removed_worth(&uncached, 1_000_000), 3.0);
    let written_and_sent = usage(100_000, 0, 60_000, 500);
    assert_dollars(sonnet.removed_worth(&written_and_sent, 1_000_000), 3.0);
    assert_dollars(sonnet.removed_worth(&warm, 0), 0.0);
}

#[test]
fn removed_tokens_have_no_worth_without_the_figures_that_price_them() {
    let sonnet = sonnet();
    let mut unknown = usage(100_000, 0, 0, 500);
    unknown.input_tokens = None;
    assert_eq!(sonnet.removed_worth(&unknown, 1_000), None);
    let inconsistent = usage(10, 20, 0, 5);
    assert_eq!(sonnet.removed_worth(&inconsistent, 1_000), None);
    // alibaba's qwen-plus has no cache_read price.
    let qwen = builtin().price("qwen-plus", Some("alibaba")).cloned();
    let read = usage(10_000, 5_000, 0, 100);
    assert_eq!(
        qwen.and_then(|price| price.removed_worth(&read, 1_000)),
        None
    );
}

#[test]
fn removed_tokens_of_a_long_prompt_are_worth_the_long_prompt_rate() {
    // gemini-2.5-pro: input 1.25, and 2.5 over 200,000 prompt tokens.
    let catalog = builtin();
    let pro = catalog.price("gemini-2.5-pro", Some("google"));
    let worth =
        |input| pro.and_then(|price| price.removed_worth(&usage(input, 0, 0, 0), 1_000_000));
    assert_dollars(worth(100_000), 1.25);
    assert_dollars(worth(300_000), 2.5);
}

#[test]
fn the_user_file_overrides_and_extends_the_catalog() {
    let file = user_file(
        r#"{"providers": {
            "openai": {"gpt-5": {"input": 2, "output": 20}},
            "my-gateway": {"house-model": {"input": 1, "output": 2, "cache_read": 0.5}}
        }}"#,
    );
    let catalog = Catalog::load(Some(file.path()));
    let gpt5 = catalog.price("gpt-5", Some("openai"));
    assert_eq!(
        gpt5.map(|p| (p.rates.input, p.rates.cache_read)),
        Some((2.0, None))
    );
    assert_dollars(
        catalog.cost(
            "house-model",
            Some("my-gateway"),
            &usage(1_000_000, 500_000, 0, 0),
        ),
        0.5 + 0.25,
    );
    // The rest of the built-in catalog stays.
    assert_eq!(
        catalog.price("claude-sonnet-4-5", Some("anthropic")),
        builtin().price("claude-sonnet-4-5", Some("anthropic"))
    );
}

#[test]
fn a_broken_or_missing_user_file_leaves_the_builtin_catalog() {
    let broken = user_file(r#"{"providers": {"openai": {"gpt-5": {"input": "two"}}}}"#);
    let missing = Path::new("/nonexistent/headroom/prices.json");
    for path in [broken.path(), missing] {
        let catalog = Catalog::load(Some(path));
        assert_eq!(catalog.len(), builtin().len());
        assert_eq!(
            catalog
                .price("gpt-5", Some("openai"))
                .map(|p| p.rates.input),
            Some(1.25)
        );
    }
}

#[test]
fn a_user_file_with_what_is_not_a_price_is_ignored_whole() {
    for rate in ["-5", "1e308", "1000001", "\"two\""] {
        let text = format!(
            r#"{{"providers": {{"gw": {{"ok": {{"input": 1, "output": 2}}, "bad": {{"input": 1, "output": 2, "cache_read": {rate}}}}}}}}}"#
        );
        let file = user_file(&text);
        let catalog = Catalog::load(Some(file.path()));
        assert_eq!(catalog.len(), builtin().len(), "{rate}");
        assert_eq!(catalog.price("ok", Some("gw")), None, "{rate}");
    }
    // Zero, and a price left out or null, are prices a file may give.
    let file = user_file(
        r#"{"providers": {"gw": {"free": {"input": 0, "output": 0, "cache_read": null}}}}"#,
    );
    let catalog = Catalog::load(Some(file.path()));
    let free = catalog.price("free", Some("gw")).map(|p| p.rates.clone());
    assert_eq!(free.map(|r| (r.input, r.cache_read)), Some((0.0, None)));
}

#[test]
fn a_provider_the_catalog_does_not_know_gets_the_makers_price() {
    let catalog = builtin();
    let custom = catalog.price("gpt-5", Some("my-gateway"));
    assert_eq!(custom, catalog.price("gpt-5", Some("openai")));
    assert!(custom.is_some());
}

#[test]
fn makers_that_disagree_on_a_model_leave_it_unpriced_without_a_provider() {
    let file = user_file(r#"{"providers": {"mistral": {"gpt-5": {"input": 9, "output": 9}}}}"#);
    let catalog = Catalog::load(Some(file.path()));
    assert_eq!(catalog.price("gpt-5", None), None);
    assert_eq!(
        catalog
            .price("gpt-5", Some("openai"))
            .map(|p| p.rates.input),
        Some(1.25)
    );
}
