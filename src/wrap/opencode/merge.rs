//! opencode's merge of config layers.

use serde_json::{Map, Value};

/// Objects merge key by key; anything else in `top` replaces what `base` had.
pub(crate) fn deep_merge(base: &mut Map<String, Value>, top: &Map<String, Value>) {
    for (key, value) in top {
        match (base.get_mut(key), value) {
            (Some(Value::Object(below)), Value::Object(above)) => deep_merge(below, above),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_merge_scalars_and_arrays_replace() {
        let mut base = json!({"a": {"x": 1, "y": [1, 2]}, "b": 1, "c": {"k": 1}})
            .as_object()
            .cloned()
            .unwrap();
        let top = json!({"a": {"y": [3], "z": 2}, "b": {"n": 1}, "c": 5});
        deep_merge(&mut base, top.as_object().unwrap());
        assert_eq!(
            Value::Object(base),
            json!({"a": {"x": 1, "y": [3], "z": 2}, "b": {"n": 1}, "c": 5})
        );
    }
}
