//! A scheduled task as the app's form edits it: every field as typed ([`TaskDraft`]), to and
//! from the task of the configuration file, and which field a validation message is about.
//!
//! The form keeps what the user typed, even when it is not valid yet (`25:00`, `1, 15, lst`),
//! so the draft is text; [`TaskDraft::to_task`] writes it as the file's task (defaults left
//! out) for the core to validate, and the core's messages name the fields by their path
//! (`times[1]`), which [`field_of`] maps back to the input. The fields the form does not edit
//! (`id`, `name`, `catch_up`, …) travel along untouched in [`TaskDraft::other`].

use serde_json::{Map, Value};

use crate::config::Weekday;
use crate::parse::TASK_FIELDS;

/// The recurrences, as the file names them, with the form's labels.
pub const RECURRENCES: [(&str, &str); 5] = [
    ("none", "None"),
    ("daily", "Daily"),
    ("weekly", "Weekly"),
    ("monthly", "Monthly"),
    ("cron", "Cron"),
];

/// The task fields the form has no input for: kept as they were (see [`TaskDraft::other`]).
/// Every other field of the file format ([`crate::parse::TASK_FIELDS`], the one list) has one.
pub const KEPT_FIELDS: [&str; 5] = ["id", "name", "catch_up", "retry", "notify"];

/// Whether the form has an input for this field of a task.
pub fn edits(field: &str) -> bool {
    TASK_FIELDS.contains(&field) && !KEPT_FIELDS.contains(&field)
}

/// One task of the form, as typed.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskDraft {
    pub base_task_id: String,
    pub destination_project: String,
    pub queue: String,
    pub recurrence: String,
    /// Times of day (`06:20`), at least one input.
    pub times: Vec<String>,
    /// The date of a one-shot (`2026-12-24`).
    pub date: String,
    pub weekdays: Vec<Weekday>,
    /// Days of the month as typed: `1, 15, last`.
    pub days: String,
    pub cron: String,
    pub timezone: String,
    pub enabled: bool,
    pub single_instance: bool,
    /// Execution limit in hours, as typed.
    pub limit: String,
    /// Task parameters, one `name=value` a line.
    pub params: String,
    /// The task's fields the form does not edit, kept for the round trip.
    pub other: Map<String, Value>,
}

impl Default for TaskDraft {
    /// A new row: daily, on the `default` queue, in UTC, one empty time.
    fn default() -> TaskDraft {
        TaskDraft::from_task(&Value::Object(Map::new()))
    }
}

/// A value as a user would type it: a string's content, other values as JSON, null as "".
fn typed(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl TaskDraft {
    /// The draft of a task of the configuration file (any JSON: what is not understood stays
    /// text for the user to fix).
    pub fn from_task(task: &Value) -> TaskDraft {
        let empty = Map::new();
        let o = task.as_object().unwrap_or(&empty);
        let text = |k: &str| o.get(k).map(typed).unwrap_or_default();
        let list = |k: &str| -> Vec<String> {
            match o.get(k) {
                Some(Value::Array(a)) => a.iter().map(typed).collect(),
                Some(v) => vec![typed(v)],
                None => Vec::new(),
            }
        };
        let mut times = list("times");
        if times.is_empty() {
            times.push(String::new());
        }
        let params = match o.get("task_parameters") {
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| format!("{k}={}", typed(v)))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        };
        let flag = |k: &str, default: bool| o.get(k).and_then(Value::as_bool).unwrap_or(default);
        TaskDraft {
            base_task_id: text("base_task_id"),
            destination_project: text("destination_project"),
            queue: o
                .get("queue")
                .map(typed)
                .unwrap_or_else(|| "default".into()),
            recurrence: o
                .get("recurrence")
                .and_then(Value::as_str)
                .unwrap_or("daily")
                .to_string(),
            times,
            date: text("date"),
            weekdays: list("weekdays")
                .iter()
                .filter_map(|w| Weekday::from_name(w))
                .collect(),
            days: list("days").join(", "),
            cron: text("cron"),
            timezone: o
                .get("timezone")
                .and_then(Value::as_str)
                .unwrap_or("UTC")
                .to_string(),
            enabled: flag("enabled", true),
            single_instance: flag("single_instance", false),
            limit: text("execution_limit_hours"),
            params,
            other: o
                .iter()
                .filter(|(k, _)| !edits(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The task as the configuration file writes it, defaults left out, with the fields the
    /// form does not edit as they were. Values that are not valid stay as typed, so the core
    /// names the problem.
    pub fn to_task(&self) -> Value {
        let mut o = self.other.clone();
        let mut set = |k: &str, v: Value| {
            o.insert(k.to_string(), v);
        };
        set("base_task_id", self.base_task_id.trim().into());
        let project = self.destination_project.trim();
        if !project.is_empty() {
            set("destination_project", project.into());
        }
        set("queue", self.queue.trim().into());
        let rec = self.recurrence.as_str();
        set("recurrence", rec.into());
        if rec == "cron" {
            set("cron", self.cron.trim().into());
        } else {
            let times = self.times.iter().map(|t| Value::from(t.trim())).collect();
            set("times", Value::Array(times));
        }
        match rec {
            "none" => set("date", self.date.trim().into()),
            "weekly" => {
                // Week order, whatever the order they were ticked in.
                let days = Weekday::ALL
                    .iter()
                    .filter(|d| self.weekdays.contains(d))
                    .map(|d| Value::from(d.name()))
                    .collect();
                set("weekdays", Value::Array(days));
            }
            "monthly" => {
                let days = self
                    .days
                    .split([',', ' '])
                    .filter(|d| !d.is_empty())
                    .map(|d| d.parse::<u32>().map_or_else(|_| d.into(), Value::from))
                    .collect();
                set("days", Value::Array(days));
            }
            _ => {}
        }
        let tz = self.timezone.trim();
        if !tz.is_empty() && tz != "UTC" {
            set("timezone", tz.into());
        }
        if !self.enabled {
            set("enabled", false.into());
        }
        if self.single_instance {
            set("single_instance", true.into());
        }
        let limit = self.limit.trim();
        if !limit.is_empty() {
            // A number when it is one; otherwise the text, so the core names the problem.
            let v = serde_json::from_str::<serde_json::Number>(limit)
                .map_or_else(|_| limit.into(), Value::Number);
            set("execution_limit_hours", v);
        }
        // One `name=value` a line; a name given twice keeps its last value.
        let mut params = Map::new();
        for line in self.params.lines().filter(|l| !l.trim().is_empty()) {
            let (name, value) = line.split_once('=').unwrap_or((line, ""));
            params.insert(name.trim().to_string(), value.trim().into());
        }
        if !params.is_empty() {
            set("task_parameters", Value::Object(params));
        }
        Value::Object(o)
    }
}

/// Which input a validation message of a task is about, from its path inside the task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldOf {
    /// A field the form edits (`times` itself, when the list is wrong as a whole).
    Field(&'static str),
    /// The n-th time of day (0-based).
    Time(usize),
    /// The task as a whole, or a field the form does not show (`catch_up.policy`).
    Task,
}

/// Where the message with this path (relative to its task) belongs.
pub fn field_of(path: &str) -> FieldOf {
    let time = path
        .strip_prefix("times[")
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|n| n.parse().ok());
    if let Some(i) = time {
        return FieldOf::Time(i);
    }
    TASK_FIELDS
        .iter()
        .filter(|f| edits(f))
        .find(|f| path == **f || is_under(path, f))
        .map_or(FieldOf::Task, |f| FieldOf::Field(f))
}

/// `times[2]` is under `times`, `task_parameters.x` under `task_parameters`; `timezone` is
/// not under `times`.
fn is_under(path: &str, field: &str) -> bool {
    path.strip_prefix(field)
        .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
}

/// Splits a configuration's messages by task: `scheduled_tasks[1].times[0]` goes to task 1 as
/// `times[0]`; the rest (the name, the document) stay with the configuration.
pub fn split_by_task(
    errors: &[crate::ValidationError],
    tasks: usize,
) -> (
    Vec<crate::ValidationError>,
    Vec<Vec<crate::ValidationError>>,
) {
    let mut top = Vec::new();
    let mut per_task = vec![Vec::new(); tasks];
    for e in errors {
        let routed = e.path.strip_prefix("scheduled_tasks[").and_then(|rest| {
            let (n, tail) = rest.split_once(']')?;
            let i: usize = n.parse().ok()?;
            (i < tasks).then(|| (i, tail.trim_start_matches('.').to_string()))
        });
        match routed {
            Some((i, path)) => per_task[i].push(crate::ValidationError {
                path,
                message: e.message.clone(),
            }),
            None => top.push(e.clone()),
        }
    }
    (top, per_task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ValidationError;

    fn task(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn weekdays_are_read_in_any_case_as_the_parser_reads_them() {
        let t = task(r#"{"recurrence":"weekly","times":["09:00"],"weekdays":["Monday","FRIDAY"]}"#);
        assert_eq!(
            TaskDraft::from_task(&t).weekdays,
            [Weekday::Monday, Weekday::Friday]
        );
        assert_eq!(Weekday::from_name("Sunday"), Some(Weekday::Sunday));
        assert_eq!(Weekday::from_name("Sun"), None);
    }

    #[test]
    fn a_task_round_trips_through_the_draft_with_the_fields_the_form_does_not_show() {
        let t = task(
            r#"{"id":"report","base_task_id":"b1","queue":"services","recurrence":"weekly",
            "times":["09:00"],"weekdays":["friday","monday"],"single_instance":true,
            "execution_limit_hours":2.5,"task_parameters":{"Args/batch":"12"},"catch_up":"skip"}"#,
        );
        let d = TaskDraft::from_task(&t);
        assert_eq!(d.weekdays, [Weekday::Friday, Weekday::Monday]);
        assert_eq!(d.params, "Args/batch=12");
        assert_eq!(d.other.keys().collect::<Vec<_>>(), ["catch_up", "id"]);
        let back = d.to_task();
        assert_eq!(
            back["weekdays"],
            task(r#"["monday","friday"]"#),
            "week order"
        );
        let mut expected = t.clone();
        expected["weekdays"] = task(r#"["monday","friday"]"#);
        assert_eq!(back, expected);
    }

    #[test]
    fn typed_values_become_the_files_task_with_defaults_left_out() {
        let mut d = TaskDraft::default();
        assert_eq!(
            (d.queue.as_str(), d.recurrence.as_str(), d.times.len()),
            ("default", "daily", 1)
        );
        d.base_task_id = " b1 ".into();
        d.recurrence = "monthly".into();
        d.times = vec!["12:00".into(), " 18:00".into()];
        d.days = "15, last 1".into();
        d.limit = "x".into();
        d.params = "a=1\n\nb = 2\na=3".into();
        assert_eq!(
            d.to_task(),
            task(
                r#"{"base_task_id":"b1","queue":"default","recurrence":"monthly","times":["12:00","18:00"],
                "days":[15,"last",1],"execution_limit_hours":"x","task_parameters":{"a":"3","b":"2"}}"#
            )
        );
        d.limit = "2.5".into();
        assert_eq!(d.to_task()["execution_limit_hours"], 2.5);
    }

    #[test]
    fn the_drafts_task_is_what_the_core_validates() {
        let d = TaskDraft {
            base_task_id: "b1".into(),
            times: vec!["06:20".into(), "25:00".into()],
            timezone: "Europe/London".into(),
            ..TaskDraft::default()
        };
        let doc = serde_json::json!({"format": crate::FORMAT_V1, "name": "n", "scheduled_tasks": [d.to_task()]});
        let errors = crate::parse_config_value(&doc, None).unwrap_err();
        let (top, per_task) = split_by_task(&errors.into_iter().collect::<Vec<_>>(), 1);
        assert!(top.is_empty());
        assert_eq!(per_task[0].len(), 1);
        assert_eq!(field_of(&per_task[0][0].path), FieldOf::Time(1));
    }

    #[test]
    fn messages_go_to_their_fields_times_or_the_task() {
        assert_eq!(field_of("queue"), FieldOf::Field("queue"));
        assert_eq!(field_of("times[2]"), FieldOf::Time(2));
        assert_eq!(field_of("times"), FieldOf::Field("times"));
        assert_eq!(
            field_of("task_parameters.Args/x"),
            FieldOf::Field("task_parameters")
        );
        assert_eq!(field_of("timezone"), FieldOf::Field("timezone"));
        assert_eq!(field_of("catch_up.policy"), FieldOf::Task);
        assert_eq!(field_of(""), FieldOf::Task);
        assert!(!is_under("days", "date"));
    }

    #[test]
    fn messages_split_by_task() {
        let e = |p: &str| ValidationError {
            path: p.into(),
            message: "m".into(),
        };
        let (top, per) = split_by_task(
            &[
                e("name"),
                e("scheduled_tasks[1].queue"),
                e("scheduled_tasks[5]"),
            ],
            2,
        );
        assert_eq!(top, [e("name"), e("scheduled_tasks[5]")]);
        assert_eq!(per, [vec![], vec![e("queue")]]);
    }

    #[test]
    fn the_form_keeps_only_fields_of_the_format() {
        for f in KEPT_FIELDS {
            assert!(TASK_FIELDS.contains(&f), "{f}");
        }
        assert!(edits("queue") && !edits("catch_up") && !edits("colour"));
    }
}
