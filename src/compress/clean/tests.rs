use serde_json::Value;

use super::*;

#[test]
fn terminal_escapes_and_redraws_are_what_a_terminal_shows() {
    let text = "\u{1b}[1m\u{1b}[32mok\u{1b}[0m done\n\u{1b}]0;title\u{7}next\n";
    assert_eq!(clean(text), "ok done\nnext\n");
    assert_eq!(
        clean("progress 10%\rprogress 20%\rdone\n"),
        "doneress 20%\n"
    );
    assert_eq!(clean("  10%\r 100%\n"), " 100%\n");
    assert_eq!(clean("windows line\r\nnext\r\n"), "windows line\nnext\n");
}

#[test]
fn trailing_blanks_go_and_blank_runs_become_one() {
    let text = "a  \t\n\n\n\nb\n   \n\nc";
    assert_eq!(clean(text), "a\n\nb\n\nc");
    // A final newline stays, a missing one stays missing.
    assert_eq!(clean("a\n"), "a\n");
    assert_eq!(clean("a"), "a");
}

#[test]
fn cleaning_twice_changes_nothing_more() {
    for text in [
        "x  \n\n\n\u{1b}[31merror\u{1b}[0m\r\n",
        "a\rbb\rc\n\n\n",
        "",
        "\n\n\n",
    ] {
        let once = clean(text);
        assert_eq!(clean(&once), once, "{text:?}");
    }
}

#[test]
fn pretty_json_is_minified_with_every_value_kept_as_written() {
    let pretty = "{\n  \"name\": \"a b\",\n  \"n\": 1.50,\n  \"esc\": \"\\u00e9\\n\",\n  \"list\": [\n    1,\n    2\n  ]\n}\n";
    let minified = minify_json(pretty).unwrap_or_default();
    assert_eq!(
        minified,
        r#"{"name":"a b","n":1.50,"esc":"\u00e9\n","list":[1,2]}"#
    );
    let parsed = |text: &str| serde_json::from_str::<Value>(text).ok();
    assert_eq!(parsed(&minified), parsed(pretty));
    // One line already, or not JSON: nothing to do.
    assert_eq!(minify_json(r#"{"a": 1}"#), None);
    assert_eq!(minify_json("{\n not json"), None);
    assert_eq!(minify_json("plain\ntext"), None);
}

#[test]
fn a_uniform_array_of_objects_becomes_a_table_that_reads_back_whole() {
    let text = r#"[
  {"name": "six", "version": "1.17.0", "editable": false},
  {"name": "pytest", "version": "8.3.4", "editable": false},
  {"name": "pluggy", "version": "1.5.0", "editable": null},
  {"name": "iniconfig", "version": "2.0.0", "editable": false},
  {"name": "packaging", "version": "24.2", "editable": false},
  {"name": "xmltodict", "version": "0.14.2", "editable": true}
]"#;
    let table = json_table(text).unwrap_or_default();
    let mut lines = table.lines();
    assert!(lines
        .next()
        .is_some_and(|l| l.starts_with("[headroom: 6 JSON objects as a table")));
    let keys: Vec<String> = lines
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    let rebuilt: Vec<Value> = lines
        .map(|line| {
            let values: Vec<Value> = serde_json::from_str(line).unwrap_or_default();
            Value::Object(keys.iter().cloned().zip(values).collect())
        })
        .collect();
    assert_eq!(Some(Value::Array(rebuilt)), serde_json::from_str(text).ok());
    assert!(table.len() < text.len());
}

#[test]
fn arrays_that_are_not_uniform_scalars_stay_json() {
    for text in [
        r#"[{"a":1},{"a":2}]"#,
        r#"[{"a":1},{"b":2},{"a":3}]"#,
        r#"[{"a":1,"b":2},{"b":2,"a":1},{"a":1,"b":2}]"#,
        r#"[{"a":{"x":1}},{"a":2},{"a":3}]"#,
        r#"[1,2,3]"#,
        "not json",
    ] {
        assert_eq!(json_table(text), None, "{text}");
    }
}
