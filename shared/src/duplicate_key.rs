//! Finds a key that appears twice in one JSON object.
//!
//! serde_json (like most JSON readers) keeps the last of two equal keys without a word. In a
//! configuration edited by hand, `"queue": "gpu"` and, further down the same task, `"queue":
//! "cpu"` say two things, and letting one of them quietly win schedules something the author
//! may not have meant: an import names the key instead. The check walks the text once more
//! with serde's visitor (nothing is built), after it has parsed as JSON.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::parse::join;

/// The path of the first key found twice in the same object (`scheduled_tasks[0].queue`), or
/// `None`. Text that is not JSON gives `None`: the parse proper reports that.
pub fn first_duplicate_key(json: &str) -> Option<String> {
    let mut de = serde_json::Deserializer::from_str(json);
    Walk {
        path: String::new(),
    }
    .deserialize(&mut de)
    .ok()
    .flatten()
}

/// A value at `path`; yields the first duplicate key's path within it.
struct Walk {
    path: String,
}

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = std::collections::BTreeSet::new();
        let mut first = None;
        while let Some(key) = map.next_key::<String>()? {
            let path = join(&self.path, &key);
            if !seen.insert(key) && first.is_none() {
                first = Some(path.clone());
            }
            let inner = map.next_value_seed(Walk { path })?;
            first = first.or(inner);
        }
        Ok(first)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut first = None;
        let mut i = 0;
        while let Some(inner) = seq.next_element_seed(Walk {
            path: format!("{}[{i}]", self.path),
        })? {
            first = first.or(inner);
            i += 1;
        }
        Ok(first)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::first_duplicate_key;

    #[test]
    fn names_the_first_key_said_twice_in_one_object() {
        let json = r#"{"name": "a", "scheduled_tasks": [{"id": "x"}, {"id": "y", "queue": "gpu", "times": ["06:20"], "queue": "cpu"}]}"#;
        assert_eq!(
            first_duplicate_key(json).as_deref(),
            Some("scheduled_tasks[1].queue")
        );
        assert_eq!(
            first_duplicate_key(r#"{"name": 1, "name": 2}"#).as_deref(),
            Some("name")
        );
    }

    #[test]
    fn equal_keys_in_different_objects_are_no_duplicate() {
        let json = r#"{"a": {"id": 1}, "b": {"id": 2}, "c": [{"id": 3}, {"id": 4}], "d": null}"#;
        assert_eq!(first_duplicate_key(json), None);
        assert_eq!(first_duplicate_key("not json"), None);
        assert_eq!(first_duplicate_key("[1, 2.5, true, \"s\"]"), None);
    }
}

#[cfg(test)]
mod through_the_import {
    use crate::{parse_config, Instant};

    /// An import with a key said twice fails, naming it, rather than keeping the last one.
    #[test]
    fn a_configuration_with_a_key_said_twice_is_refused_naming_it() {
        let json = r#"{"format": "clearml-task-scheduler/v1", "name": "n", "scheduled_tasks": [
            {"id": "t", "base_task_id": "b", "queue": "gpu", "recurrence": "daily", "times": ["06:20"], "queue": "cpu"}]}"#;
        let errors = parse_config(json, Instant::from_unix_seconds(0)).unwrap_err();
        let all: Vec<_> = errors.into_iter().collect();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].path, "scheduled_tasks[0].queue");
        assert!(
            all[0].message.contains("appears twice"),
            "{}",
            all[0].message
        );
        // The same without the second "queue" is fine.
        let once = json.replace(r#", "queue": "cpu""#, "");
        assert!(parse_config(&once, Instant::from_unix_seconds(0)).is_ok());
    }
}
