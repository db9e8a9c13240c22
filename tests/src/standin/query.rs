//! The `get_all` query language of clearml-server, on JSON documents.
//!
//! - pattern fields (`name`, ...): a Python/Mongo regex, case-sensitive, searched anywhere;
//! - list fields (`id`, `tags`, `status`, `project`, ...): a value or list of values, OR-ed by
//!   default; `-x` (legacy) or `"__$not", "x"` excludes, `"__$all"` switches to AND, `null`
//!   also matches documents where the field is empty;
//! - `only_fields` (dotted paths, `-x` to exclude), `order_by` (`-x` descending, `id` always last),
//!   `page`/`page_size` (page size at most 500, the server's `max_page_size`).

use std::cmp::Ordering;

use regex::Regex;
use serde_json::{Map, Value};

use super::api::{ApiError, Kw};

/// Which request fields are filters, per entity.
pub struct QuerySpec {
    pub pattern_fields: &'static [&'static str],
    pub list_fields: &'static [&'static str],
}

pub const TASKS: QuerySpec = QuerySpec {
    pattern_fields: &["name", "comment", "report"],
    list_fields: &[
        "id",
        "user",
        "tags",
        "system_tags",
        "type",
        "status",
        "project",
        "parent",
        "execution.queue",
    ],
};

pub const PROJECTS: QuerySpec = QuerySpec {
    pattern_fields: &["name", "basename", "description"],
    list_fields: &["id", "user", "tags", "system_tags", "parent"],
};

pub const QUEUES: QuerySpec = QuerySpec {
    pattern_fields: &["name"],
    list_fields: &["id", "user", "tags", "system_tags"],
};

const MAX_PAGE_SIZE: usize = 500;

/// The value at a dotted path, if every step exists.
pub fn get_path<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = doc.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// A compiled filter for one `get_all` request.
pub struct Filter {
    patterns: Vec<(String, Regex)>,
    lists: Vec<(String, ListFilter)>,
    exclude_hidden: bool,
}

impl Filter {
    /// Parse the filters of `data` per `spec`. `hidden_default` hides `system_tags: hidden`
    /// unless `search_hidden` or `id` is given (tasks and projects do this).
    pub fn parse(
        data: &Map<String, Value>,
        spec: &QuerySpec,
        hidden_default: bool,
    ) -> Result<Self, ApiError> {
        let mut patterns = vec![];
        for field in spec.pattern_fields {
            match data.get(*field) {
                None | Some(Value::Null) => {}
                Some(Value::String(p)) if p.is_empty() => {}
                Some(Value::String(p)) => {
                    let re = Regex::new(p).map_err(|_| ApiError::invalid_regex(p))?;
                    patterns.push((field.to_string(), re));
                }
                Some(_) => return Err(ApiError::field_type(field, "string")),
            }
        }
        let mut lists = vec![];
        for field in spec.list_fields {
            if let Some(v) = data.get(*field) {
                if v.is_null() {
                    continue;
                }
                lists.push((field.to_string(), ListFilter::parse(field, v)?));
            }
        }
        let search_hidden = data
            .get("search_hidden")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        // Python truthiness, as in the server's `_hidden_query`: an empty id list does not count.
        let has_id = match data.get("id") {
            None | Some(Value::Null) => false,
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => true,
        };
        Ok(Filter {
            patterns,
            lists,
            exclude_hidden: hidden_default && !search_hidden && !has_id,
        })
    }

    pub fn matches(&self, doc: &Map<String, Value>) -> bool {
        if self.exclude_hidden && values_of(get_path(doc, "system_tags")).contains(&"hidden") {
            return false;
        }
        self.patterns.iter().all(|(f, re)| {
            get_path(doc, f)
                .and_then(Value::as_str)
                .is_some_and(|s| re.is_match(s))
        }) && self
            .lists
            .iter()
            .all(|(f, lf)| lf.matches(&values_of(get_path(doc, f))))
    }
}

fn values_of(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// clearml-server's `NewListFieldBucketHelper`, legacy mode.
#[derive(Debug, Default)]
struct ListFilter {
    any: Vec<String>,
    all: Vec<String>,
    none: Vec<String>,
    allow_empty: bool,
    global_and: bool,
}

impl ListFilter {
    fn parse(field: &str, v: &Value) -> Result<Self, ApiError> {
        let items: Vec<Value> = match v {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        let mut f = ListFilter {
            global_and: true,
            ..Default::default()
        };
        let mut global: Option<bool> = None;
        let mut context_and = false;
        let mut legacy = true;
        let mut negate_next = false;
        for item in items {
            let s = match item {
                Value::Null => {
                    f.allow_empty = true;
                    negate_next = false;
                    continue;
                }
                Value::String(s) => s,
                other => {
                    return Err(ApiError::fields_value(
                        "invalid value type, string expected",
                        &[Kw::S("field", field), Kw::S("value", &other.to_string())],
                    ))
                }
            };
            match s.as_str() {
                "__$not" => {
                    negate_next = true;
                    continue;
                }
                "__$nop" => {
                    context_and = false;
                    legacy = true;
                    continue;
                }
                "__$all" | "__$and" | "__$any" | "__$or" => {
                    context_and = matches!(s.as_str(), "__$all" | "__$and");
                    legacy = false;
                    global.get_or_insert(context_and);
                    continue;
                }
                _ => {}
            }
            global.get_or_insert(true);
            let (include, value) = if negate_next {
                (false, s)
            } else if legacy && s.starts_with('-') {
                (false, s[1..].to_string())
            } else {
                (true, s)
            };
            negate_next = false;
            match (include, context_and) {
                (false, _) => f.none.push(value),
                (true, true) => f.all.push(value),
                (true, false) => f.any.push(value),
            }
        }
        f.global_and = global.unwrap_or(true);
        Ok(f)
    }

    fn matches(&self, have: &[&str]) -> bool {
        let mut terms = vec![];
        if !self.any.is_empty() {
            terms.push(self.any.iter().any(|v| have.contains(&v.as_str())));
        }
        if !self.all.is_empty() {
            terms.push(self.all.iter().all(|v| have.contains(&v.as_str())));
        }
        if !self.none.is_empty() {
            terms.push(!self.none.iter().any(|v| have.contains(&v.as_str())));
        }
        let q = if terms.is_empty() {
            true
        } else if self.global_and {
            terms.iter().all(|t| *t)
        } else {
            terms.iter().any(|t| *t)
        };
        if self.allow_empty {
            (q && !terms.is_empty()) || have.is_empty()
        } else {
            q
        }
    }
}

fn string_list(data: &Map<String, Value>, key: &str) -> Result<Vec<String>, ApiError> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::field_type(key, "list of strings"))
            })
            .collect(),
        Some(_) => Err(ApiError::field_type(key, "list")),
    }
}

/// Apply `order_by`, paging and `only_fields` of `data` to the matching documents.
pub fn finish(
    mut docs: Vec<Map<String, Value>>,
    data: &Map<String, Value>,
) -> Result<Vec<Value>, ApiError> {
    let mut order = string_list(data, "order_by")?;
    if !order.is_empty() {
        if !order.iter().any(|o| o == "id" || o == "-id") {
            order.push("id".into());
        }
        docs.sort_by(|a, b| {
            for key in &order {
                let (desc, path) = match key.strip_prefix('-') {
                    Some(p) => (true, p),
                    None => (false, key.as_str()),
                };
                let ord = cmp_values(get_path(a, path), get_path(b, path));
                let ord = if desc { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
    }

    let page = match data.get("page") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_i64() {
            Some(p) if p >= 0 => p as usize,
            _ => return Err(ApiError::validation("page must be >=0: field=page")),
        },
    };
    let page_size = match data.get("page_size") {
        None | Some(Value::Null) => MAX_PAGE_SIZE,
        Some(v) => match v.as_i64() {
            Some(p) if p >= 1 => (p as usize).min(MAX_PAGE_SIZE),
            _ => {
                return Err(ApiError::validation(
                    "page_size must be >0: field=page_size",
                ))
            }
        },
    };
    let docs: Vec<Map<String, Value>> = docs
        .into_iter()
        .skip(page.saturating_mul(page_size))
        .take(page_size)
        .collect();

    let mut fields = string_list(data, "only_fields")?;
    if fields.is_empty() {
        fields = string_list(data, "projection")?;
    }
    Ok(docs
        .into_iter()
        .map(|d| Value::Object(project(d, &fields)))
        .collect())
}

/// Keep only `fields` (dotted paths; `id` is always kept, as Mongo keeps `_id`), or drop `-fields`.
pub fn project(doc: Map<String, Value>, fields: &[String]) -> Map<String, Value> {
    let (exclude, include): (Vec<&String>, Vec<&String>) =
        fields.iter().partition(|f| f.starts_with('-'));
    let mut out = if include.is_empty() {
        doc.clone()
    } else {
        let mut out = Map::new();
        if let Some(id) = doc.get("id") {
            out.insert("id".into(), id.clone());
        }
        for path in include {
            if let Some(v) = get_path(&doc, path) {
                set_path(&mut out, path, v.clone());
            }
        }
        out
    };
    for path in exclude {
        remove_path(&mut out, &path[1..]);
    }
    out
}

fn set_path(doc: &mut Map<String, Value>, path: &str, v: Value) {
    match path.split_once('.') {
        None => {
            doc.insert(path.into(), v);
        }
        Some((head, rest)) => {
            let entry = doc
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = entry {
                set_path(m, rest, v);
            }
        }
    }
}

fn remove_path(doc: &mut Map<String, Value>, path: &str) {
    match path.split_once('.') {
        None => {
            doc.remove(path);
        }
        Some((head, rest)) => {
            if let Some(Value::Object(m)) = doc.get_mut(head) {
                remove_path(m, rest);
            }
        }
    }
}

/// Mongo-like ordering: missing/null < numbers < strings < others.
fn cmp_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None | Some(Value::Null) => 0,
            Some(Value::Number(_)) => 1,
            Some(Value::String(_)) => 2,
            Some(Value::Bool(_)) => 4,
            _ => 3,
        }
    }
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lf(v: Value) -> ListFilter {
        ListFilter::parse("tags", &v).unwrap()
    }

    #[test]
    fn list_filter_semantics() {
        assert!(lf(json!(["a", "b"])).matches(&["b", "c"]));
        assert!(!lf(json!(["a"])).matches(&["c"]));
        assert!(!lf(json!(["-a"])).matches(&["a"]));
        assert!(lf(json!(["-a"])).matches(&[]));
        assert!(lf(json!(["__$all", "a", "b"])).matches(&["a", "b", "c"]));
        assert!(!lf(json!(["__$all", "a", "b"])).matches(&["a"]));
        assert!(!lf(json!(["__$not", "a"])).matches(&["a"]));
        assert!(lf(json!([null])).matches(&[]));
        assert!(lf(json!(["a", null])).matches(&[]));
        assert!(!lf(json!(["a", null])).matches(&["b"]));
        assert!(lf(json!("a")).matches(&["a"]));
    }

    #[test]
    fn projection_keeps_id_and_dotted_paths() {
        let doc = json!({"id": "1", "name": "n", "execution": {"queue": "q", "x": 1}});
        let Value::Object(doc) = doc else { panic!() };
        let p = project(doc.clone(), &["execution.queue".into()]);
        assert_eq!(
            Value::Object(p),
            json!({"id": "1", "execution": {"queue": "q"}})
        );
        let p = project(doc, &["-execution".into()]);
        assert_eq!(Value::Object(p), json!({"id": "1", "name": "n"}));
    }
}
