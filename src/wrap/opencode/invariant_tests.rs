//! The property the whole wrapper rests on, checked for the whole catalog:
//! a request the SDK sends to `baseURL + p` reaches `B + p` through the proxy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use super::catalog::Catalog;
use super::environment::testing::env_in;
use super::{plan, Selection, UserConfig};
use crate::proxy::upstream::Upstream;

const PROXY: &str = "http://127.0.0.1:41234";

const SDK_PATHS: [&str; 5] = [
    "/chat/completions",
    "/responses",
    "/messages",
    "/models/g:streamGenerateContent?alt=sse",
    "/models",
];

/// Values for the variables that catalog URLs interpolate.
const URL_VARS: [(&str, &str); 5] = [
    ("CLOUDFLARE_ACCOUNT_ID", "acc123"),
    ("DATABRICKS_HOST", "adb-1.azuredatabricks.net"),
    ("INFOMANIAK_PRODUCT_ID", "42"),
    ("NEON_AI_GATEWAY_BASE_URL", "https://gw.neon.example/ai"),
    ("SNOWFLAKE_ACCOUNT", "acme"),
];

/// What the proxy does with a request: strip its own origin, check that
/// the header is not taken for a full endpoint, then forward the received
/// path to the upstream named in the header.
fn forwarded(base_url: &str, header: &str, sdk_path: &str) -> String {
    let requested = format!("{base_url}{sdk_path}");
    let received = requested.strip_prefix(PROXY).unwrap();
    let received = http::uri::PathAndQuery::try_from(received).unwrap();
    let upstream = Upstream::parse(header).unwrap();
    assert!(
        !upstream.ends_with_endpoint(received.path()),
        "{header} refused as a full endpoint for {received}"
    );
    upstream.target(Some(&received)).unwrap().to_string()
}

#[test]
fn every_routed_catalog_provider_reaches_its_real_base() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    let catalog = Catalog::built_in();
    for entry in catalog.providers.values() {
        for var in entry.env() {
            env.vars.insert(var.clone(), "set".into());
        }
    }
    for (var, value) in URL_VARS {
        env.vars.insert(var.into(), value.into());
    }
    let config = UserConfig::from_parts(json!({}), &[]);
    let plan = plan(&config, &env, PROXY, &Selection::default());

    for routed in &plan.routed {
        let header =
            &plan.overlay["provider"][&routed.id]["options"]["headers"]["X-Headroom-Upstream"];
        assert_eq!(header, &json!(routed.upstream), "{}", routed.id);
        assert!(!routed.upstream.ends_with('/') && !routed.upstream.contains("${"));
        for sdk_path in SDK_PATHS {
            let got = forwarded(&routed.base_url, &routed.upstream, sdk_path);
            assert_eq!(
                got,
                format!("{}{sdk_path}", routed.upstream),
                "{}",
                routed.id
            );
        }
    }

    let accounted = plan.routed.len() + plan.left_alone.len();
    assert_eq!(
        accounted,
        catalog.providers.len(),
        "every provider routed or explained"
    );
    assert!(plan.routed.len() > 190, "{} routed", plan.routed.len());
    let routed = |id: &str| plan.routed.iter().any(|r| r.id == id);
    for id in [
        "openai",
        "anthropic",
        "google",
        "openrouter",
        "zai",
        "perplexity",
        "cohere",
    ] {
        assert!(routed(id), "{id}");
    }
    for id in [
        "databricks",
        "snowflake-cortex",
        "neon",
        "infomaniak",
        "fireworks-ai",
        "opencode",
    ] {
        assert!(routed(id), "{id}");
    }
    for id in [
        "azure",
        "amazon-bedrock",
        "google-vertex",
        "cloudflare-workers-ai",
        "gitlab",
        // Its catalog baseURL is a full `/chat/completions` endpoint.
        "bailing",
    ] {
        assert!(!routed(id), "{id}");
    }
}

#[test]
fn sdk_defaults_and_odd_bases_keep_the_invariant() {
    let bases = [
        "https://generativelanguage.googleapis.com/v1beta",
        "https://api.deepinfra.com/v1/openai",
        "https://api.cohere.com/v2",
        "https://api.perplexity.ai",
        "https://api.fireworks.ai/inference/v1",
        "https://x.dev/v1beta2",
        "https://x.dev/api/v1x",
        "http://10.0.0.2:8080/v1",
    ];
    for base in bases {
        let root = tempfile::tempdir().unwrap();
        let env = env_in(root.path());
        let config = UserConfig::from_parts(
            json!({"provider": {"p": {"options": {"baseURL": base}}}}),
            &[],
        );
        let only = Selection {
            only: vec!["p".into()],
            skip: Vec::new(),
        };
        let plan = plan(&config, &env, PROXY, &only);
        let routed = &plan.routed[0];
        for sdk_path in SDK_PATHS {
            let got = forwarded(&routed.base_url, &routed.upstream, sdk_path);
            assert_eq!(got, format!("{base}{sdk_path}"), "{base}");
        }
    }
}
