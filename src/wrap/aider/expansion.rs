//! How many values a YAML text holds once its aliases are expanded, as the
//! loader expands them: it copies the anchored value at each `*alias`, so
//! a few hundred bytes of aliases of aliases make billions of values
//! (aider's own loader shares them instead, and reads such a file at
//! once). Counted from the parser's events, which do not expand anything.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, EventReceiver, Parser};
use yaml_rust2::ScanError;

/// The values, aliases expanded, in the text's documents; saturating.
pub fn expanded_values(text: &str) -> Result<u64, ScanError> {
    let mut counter = Counter::default();
    Parser::new_from_str(text).load(&mut counter, true)?;
    Ok(counter.total)
}

#[derive(Default)]
struct Counter {
    /// The values of each anchored node, by anchor id.
    anchored: HashMap<usize, u64>,
    /// The sequences and mappings open: their anchor id and values so far.
    open: Vec<(usize, u64)>,
    total: u64,
}

impl Counter {
    /// A node of `values` values ends, under whatever is open.
    fn add(&mut self, values: u64) {
        let sum = match self.open.last_mut() {
            Some((_, sum)) => sum,
            None => &mut self.total,
        };
        *sum = sum.saturating_add(values);
    }

    fn anchor(&mut self, id: usize, values: u64) {
        // Id 0 is a node without an anchor.
        if id > 0 {
            self.anchored.insert(id, values);
        }
    }
}

impl EventReceiver for Counter {
    fn on_event(&mut self, event: Event) {
        match event {
            Event::Scalar(_, _, id, _) => {
                self.anchor(id, 1);
                self.add(1);
            }
            Event::Alias(id) => {
                let values = self.anchored.get(&id).copied().unwrap_or(1);
                self.add(values);
            }
            Event::SequenceStart(id, _) | Event::MappingStart(id, _) => self.open.push((id, 1)),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((id, values)) = self.open.pop() {
                    self.anchor(id, values);
                    self.add(values);
                }
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn plain_values_count_once_and_aliases_as_what_they_name() {
        assert_eq!(expanded_values("a: 1\nb: [x, y]\n").unwrap(), 7);
        // The map, its three keys, and the list of three values three times.
        assert_eq!(expanded_values("a: &l [x, y]\nb: *l\nc: *l\n").unwrap(), 13);
        assert_eq!(expanded_values("").unwrap(), 0);
    }

    #[test]
    fn aliases_of_aliases_multiply_without_being_expanded() {
        let mut text = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x]\n");
        for level in 1..40 {
            let refs = vec![format!("*l{}", level - 1); 9].join(", ");
            text.push_str(&format!("l{level}: &l{level} [{refs}]\n"));
        }
        // 9^39 values: past u64, counted in an instant.
        assert_eq!(expanded_values(&text).unwrap(), u64::MAX);
    }
}
