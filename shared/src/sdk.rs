//! Import of the ClearML SDK `TaskScheduler`'s own `schedule` configuration (a JSON list of
//! `ScheduleJob` dicts) into `clearml-task-scheduler/v1`, wherever it is representable.
//!
//! The SDK's rule is "the longest unit set is the period, shorter ones are offsets":
//!
//! | SDK job | becomes |
//! | --- | --- |
//! | `minute=15` | cron `*/15 * * * *` (minute must divide 60) |
//! | `hour=1, minute=30` | cron `30 */1 * * *` (hour must divide 24) |
//! | `day=1, hour=6, minute=20` | daily 06:20 |
//! | `weekdays=[...], hour, minute` (day 0/1/None) | weekly |
//! | `month=1, day=5, hour, minute` | monthly on day 5 |
//! | `year=1, month=3, day=4, ...` | cron `M H 4 3 *` (yearly) |
//! | `year>2000` with month/day | none (once) on that date |
//! | `recurring=false` | none, on the first fire after `starting_time` (or now) |
//!
//! Not representable, each an error naming the job index and the field: `base_function`
//! (Python), `day>1` (every N days), `month>1` (every N months), `year` 2..=2000 (every N
//! years), an hour or minute period that does not divide the day or hour evenly,
//! `task_overrides`, `clone_task=false`. Conversion produces a v1 document which then goes
//! through the same validation as any import, so the result is all-or-nothing too.

use serde_json::{json, Map, Value};

use crate::parse::{kind, parse_config_value, parse_json};
use crate::{InstanceConfig, Instant, Schedule, ValidationErrors, Zone, FORMAT_V1};

const SDK_FIELDS: &[&str] = &[
    "name",
    "base_task_id",
    "base_function",
    "queue",
    "target_project",
    "single_instance",
    "task_parameters",
    "task_overrides",
    "clone_task",
    "execution_limit_hours",
    "recurring",
    "starting_time",
    "minute",
    "hour",
    "day",
    "weekdays",
    "month",
    "year",
];

/// The instance name given to an imported SDK schedule (the list has none); rename it after.
pub const SDK_IMPORT_NAME: &str = "Imported ClearML schedule";

/// Imports an SDK `schedule` list. `now` is the save time (one-shots must be in the future and
/// `recurring=false` jobs without `starting_time` start from it).
pub fn parse_sdk_schedule(json: &str, now: Instant) -> Result<InstanceConfig, ValidationErrors> {
    let value = parse_json(json)?;
    sdk_value(&value, now)
}

/// Reads either format: a JSON list is an SDK schedule, an object a v1 document.
pub fn parse_any_config(json: &str, now: Instant) -> Result<InstanceConfig, ValidationErrors> {
    let value = parse_json(json)?;
    match value {
        Value::Array(_) => sdk_value(&value, now),
        _ => parse_config_value(&value, Some(now)),
    }
}

fn sdk_value(value: &Value, now: Instant) -> Result<InstanceConfig, ValidationErrors> {
    let Some(jobs) = value.as_array() else {
        return Err(ValidationErrors::one(
            "",
            format!(
                "expected the SDK's list of schedule jobs, found {}",
                kind(value)
            ),
        ));
    };
    let mut errs = ValidationErrors::new();
    let mut tasks = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let path = format!("schedule[{i}]");
        match convert(job, &path, now, &mut errs) {
            Some(t) => tasks.push(t),
            None => tasks.push(Value::Null),
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let doc = json!({ "format": FORMAT_V1, "name": SDK_IMPORT_NAME, "scheduled_tasks": tasks });
    parse_config_value(&doc, Some(now)).map_err(|e| {
        let mut out = ValidationErrors::new();
        for err in e {
            out.push(
                err.path.replacen("scheduled_tasks[", "schedule[", 1),
                err.message,
            );
        }
        out
    })
}

/// An integer-valued number (the SDK stores floats like 30.0); null and absent are `None`.
/// A true/false field of the SDK's job: absent or null is `None`; any other type is an error
/// (a `"false"` in quotes would otherwise read as not given, and a job meant to run once would
/// run every day).
fn flag(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    errs: &mut ValidationErrors,
) -> Option<bool> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(v) => {
            errs.push(
                format!("{path}.{key}"),
                format!("expected true or false, found {}", kind(v)),
            );
            None
        }
    }
}

fn int(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    errs: &mut ValidationErrors,
) -> Option<i64> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && (0.0..1e6).contains(&f) => Some(f as i64),
            _ => {
                errs.push(
                    format!("{path}.{key}"),
                    format!("{n} is not a whole, non-negative number"),
                );
                None
            }
        },
        Some(v) => {
            errs.push(
                format!("{path}.{key}"),
                format!("expected a number, found {}", kind(v)),
            );
            None
        }
    }
}

fn convert(job: &Value, path: &str, now: Instant, errs: &mut ValidationErrors) -> Option<Value> {
    let before = errs.len();
    let Some(obj) = job.as_object() else {
        errs.push(
            path,
            format!("expected a ScheduleJob object, found {}", kind(job)),
        );
        return None;
    };
    for key in obj.keys() {
        if !key.starts_with('_') && !SDK_FIELDS.contains(&key.as_str()) {
            errs.push(
                format!("{path}.{key}"),
                format!(
                    "is not a ScheduleJob field; known fields are {}",
                    SDK_FIELDS.join(", ")
                ),
            );
        }
    }
    if obj.get("base_function").is_some_and(|v| !v.is_null()) {
        errs.push(
            format!("{path}.base_function"),
            "a Python function cannot be scheduled here (only ClearML tasks are cloned); schedule a task with base_task_id instead",
        );
    }
    if obj
        .get("task_overrides")
        .is_some_and(|v| v.as_object().is_none_or(|m| !m.is_empty()) && !v.is_null())
    {
        errs.push(
            format!("{path}.task_overrides"),
            "task overrides cannot be carried over; set them on the base task instead, or remove them",
        );
    }
    if flag(obj, "clone_task", path, errs) == Some(false) {
        errs.push(
            format!("{path}.clone_task"),
            "reusing the base task is not supported: every launch clones it; remove clone_task",
        );
    }
    let minute = int(obj, "minute", path, errs);
    let hour = int(obj, "hour", path, errs);
    let day = int(obj, "day", path, errs);
    let month = int(obj, "month", path, errs);
    let year = int(obj, "year", path, errs);
    let weekdays: Option<Vec<String>> = match obj.get("weekdays") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(Value::Array(a)) => {
            let names: Vec<String> = a
                .iter()
                .filter_map(|w| w.as_str().map(str::to_string))
                .collect();
            if names.len() != a.len() {
                errs.push(
                    format!("{path}.weekdays"),
                    "expected a list of weekday names like \"monday\"",
                );
            }
            Some(names)
        }
        Some(v) => {
            errs.push(
                format!("{path}.weekdays"),
                format!("expected a list of weekday names, found {}", kind(v)),
            );
            None
        }
    };
    let recurring = flag(obj, "recurring", path, errs).unwrap_or(true);
    let single_instance = flag(obj, "single_instance", path, errs);
    match obj.get("task_parameters") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(v) => errs.push(
            format!("{path}.task_parameters"),
            format!(
                "expected an object like {{\"Args/batch\": 12}}, found {}",
                kind(v)
            ),
        ),
    }
    if errs.len() > before {
        return None;
    }
    // Zero means "not set" for the period, like the SDK's truthiness tests.
    let nz = |v: Option<i64>| v.filter(|v| *v != 0);
    let (m, h) = (minute.unwrap_or(0), hour.unwrap_or(0));
    let offset = |field: &str, v: i64, max: i64, errs: &mut ValidationErrors| {
        if v > max {
            errs.push(
                format!("{path}.{field}"),
                format!("{v} is out of range here; use 0 to {max}"),
            );
        }
    };
    let time = format!("{:02}:{:02}", h, m);
    let mut task = Map::new();
    let period: Option<Value> = if let Some(y) = nz(year) {
        offset("minute", m, 59, errs);
        offset("hour", h, 23, errs);
        if weekdays.is_some() {
            errs.push(
                format!("{path}.weekdays"),
                "weekdays together with year cannot be represented; pick the date itself",
            );
        }
        if y > 2000 {
            let date = format!(
                "{y:04}-{:02}-{:02}",
                month.unwrap_or(1).max(1),
                day.unwrap_or(1).max(1)
            );
            Some(json!({"recurrence": "none", "date": date, "times": [time]}))
        } else if y == 1 {
            let (mo, d) = (month.unwrap_or(1).max(1), day.unwrap_or(1).max(1));
            Some(json!({"recurrence": "cron", "cron": format!("{m} {h} {d} {mo} *")}))
        } else {
            errs.push(format!("{path}.year"), format!("year={y} means every {y} years, which has no equivalent; use year=1 (yearly) or a date (year > 2000)"));
            None
        }
    } else if let Some(mo) = nz(month) {
        offset("minute", m, 59, errs);
        offset("hour", h, 23, errs);
        if mo != 1 {
            errs.push(format!("{path}.month"), format!("month={mo} means every {mo} months, which has no equivalent; use month=1 (monthly) or a cron recurrence"));
            None
        } else if weekdays.is_some() {
            errs.push(
                format!("{path}.weekdays"),
                "weekdays together with month cannot be represented; use a cron recurrence",
            );
            None
        } else {
            let d = day.unwrap_or(1).max(1);
            Some(json!({"recurrence": "monthly", "days": [d], "times": [time]}))
        }
    } else if let Some(w) = weekdays {
        offset("minute", m, 59, errs);
        offset("hour", h, 23, errs);
        if day.unwrap_or(0) > 1 {
            errs.push(
                format!("{path}.day"),
                "weekdays need day to be absent, 0 or 1 (as in the SDK)",
            );
            None
        } else {
            Some(json!({"recurrence": "weekly", "weekdays": w, "times": [time]}))
        }
    } else if let Some(d) = nz(day) {
        offset("minute", m, 59, errs);
        offset("hour", h, 23, errs);
        if d == 1 {
            Some(json!({"recurrence": "daily", "times": [time]}))
        } else {
            errs.push(format!("{path}.day"), format!("day={d} means every {d} days, which has no equivalent; use day=1 (daily), weekdays, or a cron recurrence"));
            None
        }
    } else if let Some(hp) = nz(hour) {
        offset("minute", m, 59, errs);
        if hp > 24 || 24 % hp != 0 {
            errs.push(format!("{path}.hour"), format!("every {hp} hours does not divide the day evenly, so it has no cron equivalent; use 1, 2, 3, 4, 6, 8, 12 or 24"));
            None
        } else {
            Some(json!({"recurrence": "cron", "cron": format!("{m} */{hp} * * *")}))
        }
    } else if let Some(mp) = nz(minute) {
        if mp > 60 || 60 % mp != 0 {
            errs.push(format!("{path}.minute"), format!("every {mp} minutes does not divide the hour evenly, so it has no cron equivalent; use a divisor of 60 such as 5, 10, 15 or 30"));
            None
        } else {
            Some(json!({"recurrence": "cron", "cron": format!("*/{mp} * * * *")}))
        }
    } else {
        errs.push(
            path,
            "has no schedule: set minute, hour, day, weekdays, month or year",
        );
        None
    };
    if errs.len() > before {
        return None;
    }
    let mut period = period?;
    if !recurring && period["recurrence"] != "none" {
        period = one_shot(&period, obj, path, now, errs)?;
    }
    for (k, v) in period.as_object().expect("object") {
        task.insert(k.clone(), v.clone());
    }
    for (from, to) in [
        ("name", "name"),
        ("base_task_id", "base_task_id"),
        ("queue", "queue"),
        ("target_project", "destination_project"),
    ] {
        if let Some(v) = obj.get(from).filter(|v| !v.is_null()) {
            task.insert(to.into(), v.clone());
        }
    }
    if single_instance == Some(true) {
        task.insert("single_instance".into(), Value::Bool(true));
    }
    if let Some(v) = obj.get("execution_limit_hours").filter(|v| !v.is_null()) {
        task.insert("execution_limit_hours".into(), v.clone());
    }
    if let Some(Value::Object(p)) = obj.get("task_parameters") {
        if !p.is_empty() {
            let strs: Map<String, Value> = p
                .iter()
                .map(|(k, v)| {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), Value::String(s))
                })
                .collect();
            task.insert("task_parameters".into(), Value::Object(strs));
        }
    }
    // The SDK had no catch-up: it ran missed jobs once at restart, which is our "latest".
    Some(Value::Object(task))
}

/// `recurring=false`: the first fire of the recurring form after `starting_time` (or now).
fn one_shot(
    period: &Value,
    obj: &Map<String, Value>,
    path: &str,
    now: Instant,
    errs: &mut ValidationErrors,
) -> Option<Value> {
    let start = match obj.get("starting_time") {
        None | Some(Value::Null) => now,
        Some(Value::String(s)) => match parse_iso_minute(s) {
            Some(t) => t.max(now),
            None => {
                errs.push(
                    format!("{path}.starting_time"),
                    format!("\"{s}\" is not an ISO date-time like 2025-03-15T06:20:00"),
                );
                return None;
            }
        },
        Some(v) => {
            errs.push(
                format!("{path}.starting_time"),
                format!("expected an ISO date-time string, found {}", kind(v)),
            );
            return None;
        }
    };
    let times = period["times"]
        .as_array()
        .and_then(|t| t.first())
        .and_then(Value::as_str)
        .unwrap_or("00:00");
    let (hh, mm) = times.split_once(':').unwrap_or(("0", "0"));
    let expr = match period["recurrence"].as_str() {
        Some("daily") => format!("{mm} {hh} * * *"),
        Some("weekly") => {
            let days: Vec<String> = period["weekdays"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w.as_str())
                .map(|w| w.get(..3).unwrap_or(w).to_ascii_uppercase())
                .collect();
            format!("{mm} {hh} * * {}", days.join(","))
        }
        Some("monthly") => format!("{mm} {hh} {} * *", period["days"][0]),
        _ => period["cron"].as_str().unwrap_or_default().to_string(),
    };
    let schedule = match Schedule::from_cron(&expr, Zone::utc()) {
        Ok(s) => s,
        Err(e) => {
            errs.push(path, e);
            return None;
        }
    };
    let Some(fire) = schedule.next_fire_after(start.add_seconds(-1)) else {
        errs.push(path, "this one-shot job would never fire");
        return None;
    };
    let (y, mo, d, h, mi, _) = fire.to_utc();
    Some(
        json!({"recurrence": "none", "date": format!("{y:04}-{mo:02}-{d:02}"), "times": [format!("{h:02}:{mi:02}")]}),
    )
}

/// "YYYY-MM-DD[T ]HH:MM..." (UTC, as the SDK writes it), to the minute.
fn parse_iso_minute(s: &str) -> Option<Instant> {
    let date = crate::parse::parse_date(s.get(..10)?).ok()?;
    let rest = s.get(11..16)?;
    if !matches!(s.as_bytes().get(10), Some(b'T' | b' ')) {
        return None;
    }
    let t = crate::parse::parse_time(rest)?;
    Instant::from_utc(
        date.year,
        u32::from(date.month),
        u32::from(date.day),
        u32::from(t.hour),
        u32::from(t.minute),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Instant {
        Instant::from_utc(2025, 1, 10, 10, 0).unwrap()
    }

    fn one(job: &str) -> Result<String, String> {
        parse_sdk_schedule(&format!("[{job}]"), now())
            .map(|c| {
                let t = &c.scheduled_tasks()[0];
                format!("{} {}", t.recurrence().kind(), t.describe())
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn representable_jobs() {
        let base = r#""base_task_id": "abc", "queue": "default""#;
        let cases = [
            (r#""minute": 15"#, "cron Every 15 minutes (UTC), every day"),
            (
                r#""hour": 1, "minute": 30"#,
                "cron At minute 30 past every hour (UTC), every day",
            ),
            (
                r#""minute": 20.0, "hour": 6.0, "day": 1"#,
                "daily At 06:20 UTC, every day",
            ),
            (
                r#""weekdays": ["saturday"], "day": 0, "hour": 8, "minute": 30"#,
                "weekly At 08:30 UTC on Saturday",
            ),
            (
                r#""weekdays": ["monday"], "hour": 0, "minute": 0"#,
                "weekly At 00:00 UTC on Monday",
            ),
            (
                r#""month": 1, "day": 5, "hour": 12, "minute": 0"#,
                "monthly At 12:00 UTC on the 5th of every month",
            ),
            (
                r#""year": 2030, "month": 3, "day": 4, "hour": 1"#,
                "none At 01:00 UTC on 2030-03-04, once",
            ),
            (
                r#""year": 1, "month": 3, "day": 4"#,
                "cron At 00:00 UTC on the 4th of the month in March",
            ),
            (
                r#""day": 1, "hour": 6, "recurring": false"#,
                "none At 06:00 UTC on 2025-01-11, once",
            ),
        ];
        for (fields, want) in cases {
            assert_eq!(
                one(&format!("{{{base}, {fields}, \"_next_run\": null}}")).unwrap(),
                want,
                "{fields}"
            );
        }
        let full = r#"[{"name": "nightly", "base_task_id": "abc", "queue": "q", "target_project": "Prj", "single_instance": true,
            "task_parameters": {"Args/batch": 12}, "execution_limit_hours": 2.5, "clone_task": true, "task_overrides": {},
            "base_function": null, "recurring": true, "starting_time": null, "minute": 20, "hour": 6, "day": 1,
            "weekdays": null, "month": null, "year": null}]"#;
        let cfg = parse_any_config(full, now()).unwrap();
        let json = cfg.to_json();
        for want in [
            "\"name\": \"nightly\"",
            "\"destination_project\": \"Prj\"",
            "\"Args/batch\": \"12\"",
            "\"single_instance\": true",
            "\"execution_limit_hours\": 2.5",
        ] {
            assert!(json.contains(want), "{want} in {json}");
        }
    }

    #[test]
    fn unrepresentable_jobs_name_index_and_field() {
        let jobs = r#"[
            {"base_task_id": "a", "queue": "q", "minute": 20, "hour": 6, "day": 1},
            {"base_task_id": "a", "queue": "q", "day": 2},
            {"base_function": "f", "name": "x", "minute": 5},
            {"base_task_id": "a", "queue": "q", "minute": 7},
            {"base_task_id": "a", "queue": "q", "month": 2, "day": 1},
            {"base_task_id": "a", "queue": "q", "hour": 5},
            {"base_task_id": "a", "queue": "q", "minute": 5, "task_overrides": {"script.branch": "main"}},
            {"base_task_id": "a", "queue": "q"}
        ]"#;
        let e = parse_any_config(jobs, now()).unwrap_err().to_string();
        for want in [
            "schedule[1].day: day=2 means every 2 days",
            "schedule[2].base_function: a Python function cannot be scheduled",
            "schedule[3].minute: every 7 minutes does not divide the hour",
            "schedule[4].month: month=2 means every 2 months",
            "schedule[5].hour: every 5 hours does not divide the day",
            "schedule[6].task_overrides: task overrides cannot be carried over",
            "schedule[7]: has no schedule",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
        assert!(!e.contains("schedule[0]"), "{e}");
        // Errors from the shared validation use the SDK path too.
        let e = parse_any_config(r#"[{"queue": "q", "minute": 5}]"#, now())
            .unwrap_err()
            .to_string();
        assert!(e.contains("schedule[0].base_task_id: missing"), "{e}");
    }

    #[test]
    fn a_flag_or_parameters_of_the_wrong_type_are_errors_not_defaults() {
        let base = r#""base_task_id": "a", "queue": "q", "day": 1, "hour": 6"#;
        for (field, value) in [
            ("recurring", r#""false""#),
            ("single_instance", r#""true""#),
            ("clone_task", "0"),
            ("task_parameters", r#""Args/batch=12""#),
        ] {
            let e = one(&format!("{{{base}, \"{field}\": {value}}}")).unwrap_err();
            assert!(e.contains(&format!("schedule[0].{field}: expected")), "{e}");
        }
    }
}
