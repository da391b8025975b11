//! Field names parsed from heads, without parsing the same name again and
//! again.
//!
//! A client sends the same fields in the same order head after head, and
//! so does an upstream. Each kind of head keeps the names its last heads
//! had, by position, with the bytes each was parsed from: a field whose
//! bytes are the same as those at its position last time gets that name,
//! cloned; any other is parsed.

use std::cell::RefCell;
use std::thread::LocalKey;

use http::header::{HeaderName, InvalidHeaderName};

use crate::proxy::headers::UPSTREAM_HEADER;

/// Whose heads: the names are kept apart for each.
#[derive(Clone, Copy)]
pub(crate) enum HeadKind {
    Request,
    Response,
}

/// Names longer than this are parsed every time.
const LONGEST_KEPT: usize = 32;
/// Positions past this are parsed every time.
const POSITIONS_KEPT: usize = 32;

struct Kept {
    raw: [u8; LONGEST_KEPT],
    len: usize,
    name: HeaderName,
}

#[derive(Default)]
pub(crate) struct RecentNames(Vec<Kept>);

thread_local! {
    static REQUEST_NAMES: RefCell<RecentNames> = RefCell::default();
    static RESPONSE_NAMES: RefCell<RecentNames> = RefCell::default();
}

impl HeadKind {
    /// The names the last heads of this kind had on this thread.
    pub(crate) fn recent_names(self) -> &'static LocalKey<RefCell<RecentNames>> {
        match self {
            HeadKind::Request => &REQUEST_NAMES,
            HeadKind::Response => &RESPONSE_NAMES,
        }
    }
}

impl RecentNames {
    /// The name of the field at `position`, spelled `raw`.
    pub(crate) fn name_at(
        &mut self,
        position: usize,
        raw: &str,
    ) -> Result<HeaderName, InvalidHeaderName> {
        if let Some(kept) = self.0.get(position) {
            if kept.raw[..kept.len] == *raw.as_bytes() {
                return Ok(kept.name.clone());
            }
        }
        let name = name_of(raw)?;
        self.keep(position, raw, &name);
        Ok(name)
    }

    fn keep(&mut self, position: usize, raw: &str, name: &HeaderName) {
        if raw.len() > LONGEST_KEPT || position >= POSITIONS_KEPT || position > self.0.len() {
            return;
        }
        let mut kept = Kept {
            raw: [0; LONGEST_KEPT],
            len: raw.len(),
            name: name.clone(),
        };
        kept.raw[..raw.len()].copy_from_slice(raw.as_bytes());
        match self.0.get_mut(position) {
            Some(slot) => *slot = kept,
            None => self.0.push(kept),
        }
    }
}

/// Names outside the standard set that requests through the proxy carry
/// all the time: its own, and providers' keys and versions. One of these is
/// taken from here; any other such name is allocated when parsed.
static KNOWN_NAMES: [HeaderName; 5] = [
    HeaderName::from_static(UPSTREAM_HEADER),
    HeaderName::from_static("x-api-key"),
    HeaderName::from_static("anthropic-version"),
    HeaderName::from_static("anthropic-beta"),
    HeaderName::from_static("x-goog-api-key"),
];

fn name_of(raw: &str) -> Result<HeaderName, InvalidHeaderName> {
    let known = KNOWN_NAMES.iter().find(|known| {
        let known = known.as_str();
        known.len() == raw.len() && known.eq_ignore_ascii_case(raw)
    });
    match known {
        Some(name) => Ok(name.clone()),
        None => HeaderName::from_bytes(raw.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn known_names_are_taken_whatever_their_case_and_others_parsed() {
        for (raw, want) in [
            ("X-Headroom-Upstream", "x-headroom-upstream"),
            ("X-API-KEY", "x-api-key"),
            ("anthropic-version", "anthropic-version"),
            ("x-api-keys", "x-api-keys"),
            ("Content-Type", "content-type"),
        ] {
            let name = name_of(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(name.as_str(), want);
            assert_eq!(name, HeaderName::from_bytes(raw.as_bytes()).unwrap());
        }
        assert!(name_of("x api key").is_err());
        assert!(name_of("").is_err());
    }

    #[test]
    fn a_name_is_what_its_bytes_parse_to_whatever_came_before() {
        let mut recent = RecentNames::default();
        let heads: [&[&str]; 5] = [
            &["Content-Type", "x-custom", "Host"],
            &["Content-Type", "x-custom", "Host"],
            &["content-type", "X-Custom", "date", "x-more"],
            &["x-more", "x-custom"],
            &["Content-Type", &"x".repeat(40), "x-custom"],
        ];
        for head in heads {
            for (position, raw) in head.iter().enumerate() {
                let name = recent.name_at(position, raw).unwrap();
                assert_eq!(
                    name,
                    HeaderName::from_bytes(raw.as_bytes()).unwrap(),
                    "{raw}"
                );
            }
        }
    }

    #[test]
    fn a_bad_name_is_refused_where_a_good_one_was_before() {
        let mut recent = RecentNames::default();
        assert!(recent.name_at(0, "x-good").is_ok());
        assert!(recent.name_at(0, "x good").is_err());
        assert!(recent.name_at(0, "x-good").is_ok());
        assert!(recent.name_at(1, "").is_err());
    }

    #[test]
    fn names_are_kept_for_the_first_positions_only() {
        let mut recent = RecentNames::default();
        for position in 0..POSITIONS_KEPT + 4 {
            recent.name_at(position, "x-a").unwrap();
        }
        assert_eq!(recent.0.len(), POSITIONS_KEPT);
        recent.name_at(0, &"y".repeat(LONGEST_KEPT + 1)).unwrap();
        assert_eq!(recent.0[0].name, "x-a", "a long name is not kept");
    }
}
