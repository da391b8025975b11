//! Decides, for every active provider, whether it goes through the proxy,
//! and builds the overlay that sends it there.

use std::net::SocketAddr;

use serde::Serialize;

use crate::proxy::points_at;
use crate::proxy::upstream::{Origin, Upstream};
use crate::wrap::agent::{LeftAlone, Routed};

use super::active::active_providers;
use super::base_url::real_base;
use super::environment::Environment;
use super::layers::UserConfig;
use super::overlay;
use super::provider::Provider;
use super::selection::Selection;
use super::unroutable::why_unroutable;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Providers sent through the proxy, by id.
    pub routed: Vec<Routed>,
    /// Active providers that keep talking to their upstream directly, by id.
    pub left_alone: Vec<LeftAlone>,
    /// The config to merge into the child's inline config.
    pub overlay: serde_json::Value,
}

/// `proxy_origin` is the proxy's `scheme://host:port`, without a path.
pub fn plan(
    config: &UserConfig,
    env: &Environment,
    proxy_origin: &str,
    selection: &Selection,
) -> Plan {
    let (chosen, mut left_alone) = selection.apply(&active_providers(config, env));
    let proxy_origin = proxy_origin.trim_end_matches('/');
    // None in a dry run without a port: then nothing can be the proxy.
    let listen = Origin::parse(proxy_origin)
        .ok()
        .and_then(|origin| socket_address(&origin));
    let mut routed = Vec::new();
    for id in &chosen {
        let provider = Provider::new(id, config);
        match route(&provider, config, env, proxy_origin, listen) {
            Ok(r) => routed.push(r),
            Err(reason) => left_alone.push(LeftAlone::new(id, reason)),
        }
    }
    left_alone.sort_by(|a, b| a.id.cmp(&b.id));
    let overlay = overlay::build(&routed);
    Plan {
        routed,
        left_alone,
        overlay,
    }
}

/// The proxy forwards a request for path `P` to `normalize(B) + P`, where
/// normalizing strips the version segment `S` that ends `B`. So the SDK gets
/// `proxy + S` and its request for `proxy + S + p` lands on `B + p`.
fn route(
    provider: &Provider,
    config: &UserConfig,
    env: &Environment,
    proxy_origin: &str,
    listen: Option<SocketAddr>,
) -> Result<Routed, String> {
    let auth = config.auth.get(provider.id).copied();
    if let Some(reason) = why_unroutable(provider, auth) {
        return Err(reason);
    }
    let mut base = real_base(provider, env)?;
    if let Some(sdk) = config.names.own_sdk.as_ref() {
        if provider.id == config.names.own_provider {
            base = (sdk.root)(&base);
        }
    }
    let upstream =
        Upstream::parse(&base).map_err(|e| format!("baseURL is not a valid URL: {e}"))?;
    // The proxy would refuse such a header; left alone, the provider
    // behaves as it does without headroom.
    if let Some(endpoint) = upstream.llm_endpoint() {
        return Err(format!(
            "baseURL is a full endpoint (it ends with {endpoint}), not a base URL"
        ));
    }
    // The proxy's own rule, so that what it would refuse as a loop is
    // left alone here.
    if listen.is_some_and(|listen| points_at(upstream.origin(), listen)) {
        return Err("already points at this proxy".into());
    }
    if provider.names_upstream {
        return Err(
            "already routed through a headroom proxy (its config sets X-Headroom-Upstream)".into(),
        );
    }
    Ok(Routed {
        names_itself: !provider.names_provider && overlay::names_a_provider(provider.id),
        id: provider.id.to_string(),
        base_url: format!("{proxy_origin}{}", upstream.version_segment()),
        upstream: base,
    })
}

/// The socket address an origin such as `http://127.0.0.1:41234` names.
fn socket_address(origin: &Origin) -> Option<SocketAddr> {
    let host = origin.host.trim_start_matches('[').trim_end_matches(']');
    Some(SocketAddr::new(host.parse().ok()?, origin.port))
}

#[cfg(test)]
mod tests;
