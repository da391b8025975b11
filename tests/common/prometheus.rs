//! A reader of the Prometheus text exposition format (0.0.4) that checks
//! the format's rules as it reads: a scraper would reject what fails here.

use std::collections::{BTreeMap, BTreeSet};

pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Labels,
    pub value: f64,
}

#[derive(Debug, Default)]
pub struct Exposition {
    /// Metric family name to its TYPE.
    pub types: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// The value of the sample `name` whose labels are exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: Labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map(|s| s.value)
    }

    /// The sum of the samples `name` whose labels include `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }
}

/// Reads `text`, panicking with the line and the rule it breaks.
pub fn parse(text: &str) -> Exposition {
    let mut exposition = Exposition::default();
    let mut helped = BTreeSet::new();
    // Families whose samples have been seen, and the one being read: a
    // family's lines form one group.
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut seen = BTreeSet::new();
    assert!(text.ends_with('\n'), "the text must end with a line feed");
    for line in text.lines() {
        let fail = |rule: &str| -> ! { panic!("{rule}: {line:?}") };
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.trim_start().splitn(3, ' ').collect();
            match words.as_slice() {
                ["HELP", name, _help] => {
                    check_name(name).unwrap_or_else(|e| fail(&e));
                    if !helped.insert(name.to_string()) {
                        fail("a second HELP for one metric");
                    }
                }
                ["TYPE", name, kind] => {
                    check_name(name).unwrap_or_else(|e| fail(&e));
                    let known = ["counter", "gauge", "histogram", "summary", "untyped"];
                    if !known.contains(kind) {
                        fail("an unknown TYPE");
                    }
                    if exposition
                        .types
                        .insert(name.to_string(), kind.to_string())
                        .is_some()
                    {
                        fail("a second TYPE for one metric");
                    }
                    if finished.contains(*name) || current.as_deref() == Some(*name) {
                        fail("a TYPE after the metric's samples");
                    }
                }
                _ => {}
            }
            continue;
        }
        let sample = parse_sample(line).unwrap_or_else(|e| fail(&e));
        let family = family_of(&sample.name, &exposition.types)
            .unwrap_or_else(|| fail("a sample of a metric with no TYPE"));
        if !helped.contains(&family) {
            fail("a sample of a metric with no HELP");
        }
        if current.as_deref() != Some(family.as_str()) {
            if finished.contains(&family) {
                fail("a metric's samples are not one group");
            }
            if let Some(done) = current.replace(family.clone()) {
                finished.insert(done);
            }
        }
        if !seen.insert((sample.name.clone(), sample.labels.clone())) {
            fail("a sample given twice");
        }
        if exposition.types[&family] == "counter" && (sample.value.is_nan() || sample.value < 0.0) {
            fail("a counter below zero");
        }
        exposition.samples.push(sample);
    }
    check_histograms(&exposition);
    exposition
}

/// The family a sample belongs to: itself, or the histogram it is a part of.
fn family_of(name: &str, types: &BTreeMap<String, String>) -> Option<String> {
    if types.contains_key(name) {
        return Some(name.to_string());
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        (types.get(base).map(String::as_str) == Some("histogram")).then(|| base.to_string())
    })
}

/// Each histogram series: buckets ascending in `le` and cumulative, the
/// last `+Inf` and equal to `_count`, and a `_sum`.
fn check_histograms(exposition: &Exposition) {
    for (family, kind) in &exposition.types {
        if kind != "histogram" {
            continue;
        }
        let mut series: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
        for sample in exposition
            .samples
            .iter()
            .filter(|s| s.name == format!("{family}_bucket"))
        {
            let mut labels = sample.labels.clone();
            let le = labels
                .remove("le")
                .unwrap_or_else(|| panic!("a bucket without le: {sample:?}"));
            let le = parse_float(&le).unwrap_or_else(|| panic!("le is not a number: {sample:?}"));
            series.entry(labels).or_default().push((le, sample.value));
        }
        for (labels, buckets) in &series {
            let les: Vec<f64> = buckets.iter().map(|(le, _)| *le).collect();
            assert!(
                les.windows(2).all(|w| w[0] < w[1]),
                "{family} {labels:?}: le not ascending"
            );
            assert_eq!(
                les.last(),
                Some(&f64::INFINITY),
                "{family} {labels:?}: no +Inf bucket"
            );
            let counts: Vec<f64> = buckets.iter().map(|(_, count)| *count).collect();
            assert!(
                counts.windows(2).all(|w| w[0] <= w[1]),
                "{family} {labels:?}: not cumulative"
            );
            let pairs: Vec<(&str, &str)> = labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let count = exposition.value(&format!("{family}_count"), &pairs);
            assert_eq!(
                count,
                counts.last().copied(),
                "{family} {labels:?}: _count is not +Inf's"
            );
            let sum = exposition.value(&format!("{family}_sum"), &pairs);
            assert!(
                sum.is_some_and(|sum| sum >= 0.0),
                "{family} {labels:?}: no _sum"
            );
        }
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        Ok(())
    } else {
        Err(format!("{name:?} is not a metric name"))
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("a sample without a value")?;
    let name = &line[..name_end];
    check_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = Labels::new();
    if let Some(inside) = rest.strip_prefix('{') {
        rest = parse_labels(inside, &mut labels)?;
    }
    let value = rest.strip_prefix(' ').ok_or("no space before the value")?;
    // A timestamp may follow; headroom sends none.
    if value.contains(' ') {
        return Err("a timestamp or trailing text".into());
    }
    let value = parse_float(value).ok_or("the value is not a number")?;
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// Reads `name="value",...}` into `labels`; gives what follows the `}`.
fn parse_labels<'a>(mut text: &'a str, labels: &mut Labels) -> Result<&'a str, String> {
    loop {
        if let Some(rest) = text.strip_prefix('}') {
            return Ok(rest);
        }
        let (name, rest) = text.split_once("=\"").ok_or("a label without =\"")?;
        check_name(name)?;
        if name.starts_with("__") {
            return Err("a reserved label name".into());
        }
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().ok_or("an unterminated label value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().ok_or("a cut escape")?.1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    other => return Err(format!("the escape \\{other}")),
                },
                (_, '\n') => return Err("a raw line feed in a label value".into()),
                (_, c) => value.push(c),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err("a label given twice".into());
        }
        text = &rest[end + 1..];
        text = text.strip_prefix(',').unwrap_or(text);
    }
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}
