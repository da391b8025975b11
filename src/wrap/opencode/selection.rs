//! `--only` and `--skip`: which active providers the user wants routed.

use std::collections::BTreeSet;
use std::fmt;

use super::active::active_providers;
use super::environment::Environment;
use super::layers::UserConfig;
use crate::wrap::agent::LeftAlone;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// If non-empty, route only these provider ids.
    pub only: Vec<String>,
    /// Never route these provider ids.
    pub skip: Vec<String>,
}

/// `--only` or `--skip` named ids the agent has not turned on: a typo, or a
/// provider without credentials. Routing on regardless would route less
/// than the user asked for without a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InactiveSelection {
    /// `(flag, id)` for each id that is not active, in the order given.
    pub named: Vec<(&'static str, String)>,
    pub active: Vec<String>,
    /// The agent: `opencode`.
    pub product: &'static str,
}

impl fmt::Display for InactiveSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let named: Vec<String> = self
            .named
            .iter()
            .map(|(flag, id)| format!("{flag} {id}"))
            .collect();
        let verb = if self.named.len() == 1 {
            "names"
        } else {
            "name"
        };
        write!(
            f,
            "{} {verb} no provider that is active in {}; active providers: {}",
            named.join(", "),
            self.product,
            self.active.join(", ")
        )
    }
}

impl std::error::Error for InactiveSelection {}

impl Selection {
    /// Refuses ids that the agent, given this config and environment, does
    /// not turn on.
    pub fn check(&self, config: &UserConfig, env: &Environment) -> Result<(), InactiveSelection> {
        self.check_against(&active_providers(config, env), config.names.product)
    }

    fn check_against(
        &self,
        active: &BTreeSet<String>,
        product: &'static str,
    ) -> Result<(), InactiveSelection> {
        let named: Vec<(&'static str, String)> = (self.only.iter().map(|id| ("--only", id)))
            .chain(self.skip.iter().map(|id| ("--skip", id)))
            .filter(|(_, id)| !active.contains(*id))
            .map(|(flag, id)| (flag, id.clone()))
            .collect();
        if named.is_empty() {
            return Ok(());
        }
        Err(InactiveSelection {
            named,
            active: active.iter().cloned().collect(),
            product,
        })
    }

    /// Splits `active` into the ids to route and those the user excluded.
    pub(crate) fn apply(&self, active: &BTreeSet<String>) -> (Vec<String>, Vec<LeftAlone>) {
        let mut chosen = Vec::new();
        let mut excluded = Vec::new();
        for id in active {
            match self.exclusion(id) {
                Some(reason) => excluded.push(LeftAlone::new(id, reason)),
                None => chosen.push(id.clone()),
            }
        }
        (chosen, excluded)
    }

    fn exclusion(&self, id: &String) -> Option<&'static str> {
        if !self.only.is_empty() && !self.only.contains(id) {
            Some("not named by --only")
        } else if self.skip.contains(id) {
            Some("excluded by --skip")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn active() -> BTreeSet<String> {
        strings(&["groq", "opencode", "xai"]).into_iter().collect()
    }

    fn selection(only: &[&str], skip: &[&str]) -> Selection {
        Selection {
            only: strings(only),
            skip: strings(skip),
        }
    }

    fn run(only: &[&str], skip: &[&str]) -> (Vec<String>, Vec<(String, String)>) {
        let (chosen, left) = selection(only, skip).apply(&active());
        (chosen, left.into_iter().map(|l| (l.id, l.reason)).collect())
    }

    #[test]
    fn empty_selection_routes_everything() {
        assert_eq!(
            run(&[], &[]),
            (strings(&["groq", "opencode", "xai"]), vec![])
        );
    }

    #[test]
    fn only_and_skip() {
        let (chosen, left) = run(&["groq", "xai"], &["xai"]);
        assert_eq!(chosen, ["groq"]);
        let ids: Vec<&str> = left.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["opencode", "xai"]);
        assert!(left[0].1.contains("--only"));
        assert!(left[1].1.contains("--skip"));
    }

    #[test]
    fn ids_that_are_not_active_are_refused_naming_the_active_ones() {
        assert_eq!(
            selection(&["groq"], &["xai"]).check_against(&active(), "opencode"),
            Ok(())
        );
        let one = selection(&["groq", "nope"], &[]).check_against(&active(), "opencode");
        assert_eq!(
            one.map_err(|e| e.to_string()),
            Err("--only nope names no provider that is active in opencode; active providers: groq, opencode, xai".to_string())
        );
        let two = selection(&["nope"], &["gone"]).check_against(&active(), "opencode");
        assert_eq!(
            two.map_err(|e| e.named),
            Err(vec![
                ("--only", "nope".to_string()),
                ("--skip", "gone".to_string())
            ])
        );
    }
}
