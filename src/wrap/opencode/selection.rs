//! `--only` and `--skip`: which active providers the user wants routed.

use std::collections::BTreeSet;

use super::plan::LeftAlone;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// If non-empty, route only these provider ids.
    pub only: Vec<String>,
    /// Never route these provider ids.
    pub skip: Vec<String>,
}

impl Selection {
    /// Splits `active` into the ids to route and those the user excluded.
    /// `--only` ids that are not active are reported too, so a typo shows.
    pub(crate) fn apply(&self, active: &BTreeSet<String>) -> (Vec<String>, Vec<LeftAlone>) {
        let mut chosen = Vec::new();
        let mut excluded = Vec::new();
        for id in active {
            match self.exclusion(id) {
                Some(reason) => excluded.push(LeftAlone::new(id, reason)),
                None => chosen.push(id.clone()),
            }
        }
        for id in self.only.iter().filter(|id| !active.contains(*id)) {
            excluded.push(LeftAlone::new(
                id,
                "named by --only but not active in opencode",
            ));
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

    fn run(only: &[&str], skip: &[&str]) -> (Vec<String>, Vec<(String, String)>) {
        let active: BTreeSet<String> = strings(&["groq", "opencode", "xai"]).into_iter().collect();
        let selection = Selection {
            only: strings(only),
            skip: strings(skip),
        };
        let (chosen, left) = selection.apply(&active);
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
        let (chosen, left) = run(&["groq", "xai", "nope"], &["xai"]);
        assert_eq!(chosen, ["groq"]);
        let ids: Vec<&str> = left.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["opencode", "xai", "nope"]);
        assert!(left[0].1.contains("--only"));
        assert!(left[1].1.contains("--skip"));
        assert!(left[2].1.contains("not active"));
    }
}
