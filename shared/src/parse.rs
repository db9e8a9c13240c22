//! Validation: JSON text to [`InstanceConfig`], collecting every problem.
//!
//! Parsing walks a `serde_json::Value` by hand rather than deriving `Deserialize`, so that a
//! wrong type gets the same path-naming, fix-suggesting message as a wrong value
//! (`scheduled_tasks[0].times: expected a list of "HH:MM" strings, found a string`), unknown
//! fields are caught (typos), and all problems are reported at once. Import is all-or-nothing:
//! the result is a complete config or the full list of problems, never a partial config.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::civil::days_in_month;
use crate::config::{
    body_json, limits, CatchUp, CatchUpPolicy, Date, InstanceConfig, MonthDay, Recurrence, Retry,
    ScheduledTask, TimeOfDay, Weekday, FORMAT_V1,
};
use crate::schedule::{DayMode, Days, Rule, Times};
use crate::text::did_you_mean;
use crate::{Instant, Schedule, ValidationErrors, Zone};

const TOP_FIELDS: &[&str] = &["format", "name", "scheduled_tasks", "notifications"];
pub(crate) const TASK_FIELDS: &[&str] = &[
    "id",
    "name",
    "base_task_id",
    "destination_project",
    "queue",
    "recurrence",
    "date",
    "weekdays",
    "days",
    "times",
    "cron",
    "timezone",
    "enabled",
    "single_instance",
    "execution_limit_hours",
    "task_parameters",
    "catch_up",
    "retry",
    "notify",
];

/// Parses and validates a `clearml-task-scheduler/v1` document, for import and save.
///
/// `now` is when the user saves: a one-shot (`recurrence: "none"`) whose every time is already
/// before `now` is rejected, because it could never fire. Ids absent from the file are generated
/// deterministically: `task-` and 12 hex digits of a pinned 64-bit hash of the task's canonical
/// content (its export without the id) and its index in the list.
pub fn parse_config(json: &str, now: Instant) -> Result<InstanceConfig, ValidationErrors> {
    let value = parse_json(json)?;
    parse_config_value(&value, Some(now))
}

/// Parses a configuration the product stored itself (KV): the same checks as [`parse_config`]
/// except that one-shots in the past are accepted (they fired, or were missed, legitimately).
pub fn parse_stored_config(json: &str) -> Result<InstanceConfig, ValidationErrors> {
    let value = parse_json(json)?;
    parse_config_value(&value, None)
}

/// A file's text as JSON, as an import reads it: not JSON, or a key said twice in one object,
/// is a problem named where it is.
pub fn parse_json(json: &str) -> Result<Value, ValidationErrors> {
    let value = serde_json::from_str(json).map_err(|e| {
        ValidationErrors::one("", format!("the file is not valid JSON ({e}); check for a missing comma, quote or bracket there"))
    })?;
    if let Some(path) = crate::duplicate_key::first_duplicate_key(json) {
        return Err(ValidationErrors::one(
            path,
            "this key appears twice in the same object (only one of them would count); remove one of the two",
        ));
    }
    Ok(value)
}

/// [`parse_config`] on an already parsed JSON value; `now = None` skips the "one-shot already
/// passed" check.
pub fn parse_config_value(
    value: &Value,
    now: Option<Instant>,
) -> Result<InstanceConfig, ValidationErrors> {
    let mut errs = ValidationErrors::new();
    let Some(obj) = value.as_object() else {
        errs.push(
            "",
            format!(
                "expected a JSON object with \"format\": \"{FORMAT_V1}\", \"name\" and \"scheduled_tasks\", found {}",
                kind(value)
            ),
        );
        return Err(errs);
    };
    unknown_fields(obj, "", TOP_FIELDS, &mut errs);
    match obj.get("format") {
        None => errs.push("format", format!("missing; add \"format\": \"{FORMAT_V1}\" at the top of the file")),
        Some(Value::String(f)) if f == FORMAT_V1 => {}
        Some(Value::String(f)) => errs.push(
            "format",
            format!("\"{f}\" is not a format this version reads; it reads \"{FORMAT_V1}\" (or a ClearML SDK schedule list)"),
        ),
        Some(v) => errs.push("format", format!("expected the string \"{FORMAT_V1}\", found {}", kind(v))),
    }
    let name = string(obj, "name", "", true, limits::MAX_NAME, &mut errs).unwrap_or_default();
    let mut tasks = Vec::new();
    match obj.get("scheduled_tasks") {
        None => errs.push(
            "scheduled_tasks",
            "missing; add \"scheduled_tasks\": [ ... ] with one object per task",
        ),
        Some(Value::Array(items)) => {
            if items.len() > limits::MAX_TASKS {
                errs.push(
                    "scheduled_tasks",
                    format!(
                        "has {} tasks; an instance holds at most {}, so split them over several instances",
                        items.len(),
                        limits::MAX_TASKS
                    ),
                );
            }
            // Past the limit the file is refused anyway: its tasks are not read one by one.
            for (i, item) in items.iter().enumerate().take(limits::MAX_TASKS) {
                if let Some(t) = parse_task(item, &format!("scheduled_tasks[{i}]"), now, &mut errs)
                {
                    tasks.push((i, t));
                }
            }
        }
        Some(v) => errs.push(
            "scheduled_tasks",
            format!("expected a list of task objects, found {}", kind(v)),
        ),
    }
    let notifications = crate::channels::parse(obj.get("notifications"), &mut errs);
    for (i, t) in &tasks {
        for (j, id) in t.notify.iter().flatten().enumerate() {
            if notifications.channel(id).is_none() {
                let ids: Vec<&str> = notifications.channels().iter().map(|c| c.id()).collect();
                let hint = did_you_mean(id, &ids)
                    .map_or(String::new(), |s| format!("did you mean \"{s}\"? "));
                errs.push(
                    format!("scheduled_tasks[{i}].notify[{j}]"),
                    format!(
                        "\"{id}\" is not a channel of this instance; {hint}channels are defined under notifications.channels{}",
                        if ids.is_empty() { String::new() } else { format!(" ({})", ids.join(", ")) }
                    ),
                );
            }
        }
    }
    // Ids: explicit ones must be unique; missing ones are generated.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, t) in &tasks {
        if t.id.is_empty() {
            continue;
        }
        if let Some(first) = seen.get(&t.id) {
            errs.push(
                format!("scheduled_tasks[{i}].id"),
                format!("\"{}\" is already the id of scheduled_tasks[{first}]; ids must be unique within an instance", t.id),
            );
        } else {
            seen.insert(t.id.clone(), *i);
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let mut out = Vec::with_capacity(tasks.len());
    for (i, mut t) in tasks {
        if t.id.is_empty() {
            t.id = generated_id(&t, i, |id| seen.contains_key(id));
            seen.insert(t.id.clone(), i);
        }
        out.push(t);
    }
    Ok(InstanceConfig {
        name,
        tasks: out,
        notifications,
    })
}

/// The id given to a task that has none: `task-` and 12 hex digits of a fixed 64-bit hash of
/// the task's canonical content (its export without the id) and its index in the list.
///
/// Deterministic (no RNG, no clock): importing the same file twice gives the same ids, and the
/// ids are then part of every export. Two identical tasks differ by index; in the unlikely
/// event of a clash with another id, the hash is retried with a counter.
pub(crate) fn generated_id(
    task: &ScheduledTask,
    index: usize,
    taken: impl Fn(&str) -> bool,
) -> String {
    let body = body_json(task);
    let index = index.to_string();
    for attempt in 0u32.. {
        let attempt = attempt.to_string();
        let h = crate::hash::hash64(&[body.as_bytes(), index.as_bytes(), attempt.as_bytes()]);
        let id = format!("task-{:012x}", h >> 16);
        if !taken(&id) {
            return id;
        }
    }
    unreachable!("a free id exists")
}

/// "a string", "a number", ... for "expected X, found Y" messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn unknown_fields(
    obj: &Map<String, Value>,
    path: &str,
    allowed: &[&str],
    errs: &mut ValidationErrors,
) {
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            let hint = match did_you_mean(key, allowed) {
                Some(s) => format!("did you mean \"{s}\"? "),
                None => String::new(),
            };
            errs.push(
                join(path, key),
                format!(
                    "unknown field; {hint}known fields are {}",
                    allowed.join(", ")
                ),
            );
        }
    }
}

/// A string field; `required` decides whether absence is an error. Empty strings are errors.
fn string(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    required: bool,
    max: usize,
    errs: &mut ValidationErrors,
) -> Option<String> {
    let p = join(path, key);
    match obj.get(key) {
        None | Some(Value::Null) => {
            if required {
                errs.push(p, "missing; this field is required");
            }
            None
        }
        Some(Value::String(s)) => {
            // Values are kept without surrounding spaces (ClearML finds " default" nowhere).
            let s = s.trim();
            let chars = s.chars().count();
            // Zero-width characters alone look empty too.
            if s.chars()
                .all(|c| matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'))
            {
                errs.push(
                    p,
                    "is empty; write a value or remove the field if it is optional",
                );
                None
            } else if chars > max {
                errs.push(
                    p,
                    format!("is {chars} characters long; at most {max} are allowed"),
                );
                None
            } else {
                Some(s.to_string())
            }
        }
        Some(v) => {
            errs.push(p, format!("expected a string, found {}", kind(v)));
            None
        }
    }
}

fn boolean(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    default: bool,
    errs: &mut ValidationErrors,
) -> bool {
    match obj.get(key) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            errs.push(
                join(path, key),
                format!("expected true or false, found {}", kind(v)),
            );
            default
        }
    }
}

/// A task: collects its problems into `errs`, returns it only if it has none.
fn parse_task(
    v: &Value,
    path: &str,
    now: Option<Instant>,
    errs: &mut ValidationErrors,
) -> Option<ScheduledTask> {
    let before = errs.len();
    let Some(obj) = v.as_object() else {
        errs.push(
            path,
            format!(
                "expected a task object with base_task_id, queue and recurrence, found {}",
                kind(v)
            ),
        );
        return None;
    };
    unknown_fields(obj, path, TASK_FIELDS, errs);
    let id = string(obj, "id", path, false, limits::MAX_ID, errs);
    if let Some(id) = &id {
        if let Some(c) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            errs.push(
                join(path, "id"),
                format!(
                    "\"{id}\" contains {c:?}; ids may use only letters, digits, '-', '_' and '.'"
                ),
            );
        } else if id.starts_with('.') {
            // `.` and `..` are path steps in the API's URLs (`/tasks/{id}/pause`).
            errs.push(
                join(path, "id"),
                format!("\"{id}\" starts with '.'; start ids with a letter, a digit, '-' or '_'"),
            );
        }
    }
    let name = string(obj, "name", path, false, limits::MAX_NAME, errs);
    let base_task_id = string(obj, "base_task_id", path, true, limits::MAX_ID, errs);
    let destination_project = string(
        obj,
        "destination_project",
        path,
        false,
        limits::MAX_ID,
        errs,
    )
    .and_then(|name| {
        // As clearml-server stores a project's name: each `/` part trimmed, empty parts
        // dropped ("A / B/" is "A/B"), so the name looked up is the name it has.
        let parts: Vec<&str> = name
            .split('/')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            errs.push(
                join(path, "destination_project"),
                "has no name between its '/'; write a project such as \"Scheduled/retrain\"",
            );
            return None;
        }
        Some(parts.join("/"))
    });
    let queue = string(obj, "queue", path, true, limits::MAX_ID, errs);
    let timezone =
        string(obj, "timezone", path, false, limits::MAX_ID, errs).unwrap_or_else(|| "UTC".into());
    let zone = match Zone::get(&timezone) {
        Ok(z) => Some(z),
        Err(e) => {
            errs.push(join(path, "timezone"), e);
            None
        }
    };
    let enabled = boolean(obj, "enabled", path, true, errs);
    let single_instance = boolean(obj, "single_instance", path, false, errs);
    let execution_limit_hours = match obj.get("execution_limit_hours") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_f64() {
            // At least a minute: ticks come a minute apart, and a shorter limit would abort
            // every run at its first poll.
            // Kept to a millionth of an hour (under a tenth of a second): a number with that
            // few digits is printed and read back exactly, so the export stays byte-stable
            // (serde_json's reading of 17-digit numbers is not always the closest double).
            Some(h) if h * 60.0 >= 1.0 - 1e-9 && h <= limits::MAX_EXECUTION_LIMIT_HOURS => {
                Some((h * 1e6).round() / 1e6)
            }
            _ => {
                errs.push(
                    join(path, "execution_limit_hours"),
                    format!(
                        "{n} is out of range; use a number of hours from 0.0167 (one minute) to {}",
                        // Whole hours: a float's Display would cost the browser app its
                        // formatting code.
                        limits::MAX_EXECUTION_LIMIT_HOURS as u32
                    ),
                );
                None
            }
        },
        Some(v) => {
            errs.push(
                join(path, "execution_limit_hours"),
                format!(
                    "expected a number of hours such as 2 or 0.5, found {}",
                    kind(v)
                ),
            );
            None
        }
    };
    let notify = match obj.get("notify") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut ids = Vec::new();
            for (j, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(id) if !ids.iter().any(|i: &String| i == id) => ids.push(id.to_string()),
                    Some(_) => {}
                    None => errs.push(
                        format!("{}[{j}]", join(path, "notify")),
                        format!("expected a channel id (a string), found {}", kind(item)),
                    ),
                }
            }
            Some(ids)
        }
        Some(v) => {
            errs.push(
                join(path, "notify"),
                format!(
                    "expected a list of channel ids such as [\"ops\"] ([] for none), found {}",
                    kind(v)
                ),
            );
            None
        }
    };
    let retry = retry(obj, path, errs);
    let task_parameters = parameters(obj, path, errs);
    let catch_up = catch_up(obj, path, errs);
    let recurrence = recurrence(obj, path, errs);

    if errs.len() > before {
        return None;
    }
    let (recurrence, zone) = (recurrence?, zone?);
    let schedule = compile(&recurrence, zone);
    if !schedule.can_fire() {
        errs.push(
            join(path, "cron"),
            "can never fire: no month has the days it asks for (e.g. February has no 30th, April no 31st); pick days that exist",
        );
        return None;
    }
    if let (Some(now), Recurrence::None { date, .. }) = (now, &recurrence) {
        if schedule.next_fire_after(now.add_seconds(-1)).is_none() {
            errs.push(
                join(path, "date"),
                format!("{date} at every one of its times is already in the past (now is {now}); pick a later date or time"),
            );
            return None;
        }
    }
    Some(ScheduledTask {
        id: id.unwrap_or_default(),
        name,
        base_task_id: base_task_id?,
        destination_project,
        queue: queue?,
        recurrence,
        timezone,
        enabled,
        single_instance,
        execution_limit_hours,
        task_parameters,
        catch_up,
        notify,
        retry,
        schedule,
    })
}

fn parameters(
    obj: &Map<String, Value>,
    path: &str,
    errs: &mut ValidationErrors,
) -> BTreeMap<String, String> {
    let p = join(path, "task_parameters");
    let mut out = BTreeMap::new();
    match obj.get("task_parameters") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            if m.len() > limits::MAX_PARAMETERS {
                errs.push(
                    &p,
                    format!(
                        "has {} entries; at most {} are allowed",
                        m.len(),
                        limits::MAX_PARAMETERS
                    ),
                );
            }
            for (k, v) in m {
                let kp = format!("{p}.{k}");
                // ClearML needs both a section and a name: "Args/" or "/batch" fail every launch.
                if k.split_once('/').is_some_and(|(section, name)| {
                    section.trim().is_empty() || name.trim().is_empty()
                }) {
                    errs.push(
                        &kp,
                        "needs a section and a name around its '/', like \"Args/batch\"",
                    );
                    continue;
                }
                if k.trim().is_empty() || k.chars().count() > limits::MAX_ID {
                    errs.push(
                        &kp,
                        format!(
                            "a parameter name must be 1 to {} characters, like \"Args/batch\"",
                            limits::MAX_ID
                        ),
                    );
                    continue;
                }
                match v {
                    Value::String(s) if s.chars().count() <= limits::MAX_ID => {
                        out.insert(k.clone(), s.clone());
                    }
                    Value::String(_) => errs.push(&kp, format!("the value is longer than {} characters", limits::MAX_ID)),
                    Value::Number(n) => errs.push(&kp, format!("expected a string; write \"{n}\" in quotes (ClearML parameters are strings)")),
                    Value::Bool(b) => errs.push(&kp, format!("expected a string; write \"{b}\" in quotes (ClearML parameters are strings)")),
                    v => errs.push(&kp, format!("expected a string value, found {}", kind(v))),
                }
            }
        }
        Some(v) => errs.push(
            p,
            format!(
                "expected an object like {{\"Args/batch\": \"12\"}}, found {}",
                kind(v)
            ),
        ),
    }
    out
}

fn retry(obj: &Map<String, Value>, path: &str, errs: &mut ValidationErrors) -> Option<Retry> {
    let p = join(path, "retry");
    let example = "{\"max\": 3, \"backoff_minutes\": 10}";
    let r = match obj.get("retry") {
        None | Some(Value::Null) => return None,
        Some(Value::Object(r)) => r,
        Some(v) => {
            errs.push(
                p,
                format!("expected an object like {example}, found {}", kind(v)),
            );
            return None;
        }
    };
    let before = errs.len();
    unknown_fields(r, &p, &["max", "backoff_minutes"], errs);
    let max = match whole_number(r, "max", &p, 1, limits::MAX_RERUNS, errs) {
        Ok(None) => {
            errs.push(
                join(&p, "max"),
                format!("missing; say how many reruns a failed run gets, like {example}"),
            );
            None
        }
        n => n.ok().flatten(),
    };
    let backoff_minutes = whole_number(
        r,
        "backoff_minutes",
        &p,
        0,
        limits::MAX_RERUN_BACKOFF_MINUTES,
        errs,
    )
    .map(|n| n.unwrap_or(Retry::DEFAULT_BACKOFF_MINUTES))
    .ok();
    if errs.len() > before {
        return None;
    }
    Some(Retry {
        max: max?,
        backoff_minutes: backoff_minutes?,
    })
}

/// Why a number is refused where a whole number in a range is asked for: `3.0` is in range but
/// has a decimal point.
fn not_whole_or_out_of_range(n: &serde_json::Number) -> &'static str {
    if n.is_f64() {
        "is not a whole number (no decimal point)"
    } else {
        "is out of range"
    }
}

/// An optional whole-number field `key` in `min..=max`: `Ok(None)` when absent, `Err(())` once
/// its problem is in `errs`.
pub(crate) fn whole_number(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    min: u32,
    max: u32,
    errs: &mut ValidationErrors,
) -> Result<Option<u32>, ()> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(x) if (u64::from(min)..=u64::from(max)).contains(&x) => Ok(Some(x as u32)),
            _ => {
                errs.push(
                    join(path, key),
                    format!(
                        "{n} {}; use a whole number from {min} to {max}",
                        not_whole_or_out_of_range(n)
                    ),
                );
                Err(())
            }
        },
        Some(v) => {
            errs.push(
                join(path, key),
                format!("expected a whole number, found {}", kind(v)),
            );
            Err(())
        }
    }
}

fn catch_up(obj: &Map<String, Value>, path: &str, errs: &mut ValidationErrors) -> CatchUp {
    let p = join(path, "catch_up");
    let policy = |s: &str, p: &str, errs: &mut ValidationErrors| match s {
        "latest" => Some(CatchUpPolicy::Latest),
        "all" => Some(CatchUpPolicy::All),
        "skip" => Some(CatchUpPolicy::Skip),
        other => {
            errs.push(
                p,
                format!(
                    "\"{other}\" is not a catch-up policy; use \"latest\", \"all\" or \"skip\""
                ),
            );
            None
        }
    };
    match obj.get("catch_up") {
        None | Some(Value::Null) => CatchUp::default(),
        Some(Value::String(s)) => policy(s, &p, errs)
            .map(|policy| CatchUp {
                policy,
                ..CatchUp::default()
            })
            .unwrap_or_default(),
        Some(Value::Object(m)) => {
            unknown_fields(m, &p, &["policy", "window_minutes"], errs);
            let pol = match m.get("policy") {
                None => {
                    errs.push(
                        format!("{p}.policy"),
                        "missing; use \"latest\", \"all\" or \"skip\"",
                    );
                    None
                }
                Some(Value::String(s)) => policy(s, &format!("{p}.policy"), errs),
                Some(v) => {
                    errs.push(
                        format!("{p}.policy"),
                        format!(
                            "expected \"latest\", \"all\" or \"skip\", found {}",
                            kind(v)
                        ),
                    );
                    None
                }
            };
            let window = match m.get("window_minutes") {
                None => CatchUp::DEFAULT_WINDOW_MINUTES,
                Some(Value::Number(n)) => match n.as_u64() {
                    Some(w) if w <= u64::from(limits::MAX_WINDOW_MINUTES) => w as u32,
                    _ => {
                        errs.push(
                            format!("{p}.window_minutes"),
                            format!(
                                "{n} {}; use a whole number of minutes from 0 to {}",
                                not_whole_or_out_of_range(n),
                                limits::MAX_WINDOW_MINUTES
                            ),
                        );
                        CatchUp::DEFAULT_WINDOW_MINUTES
                    }
                },
                Some(v) => {
                    errs.push(
                        format!("{p}.window_minutes"),
                        format!("expected a whole number of minutes, found {}", kind(v)),
                    );
                    CatchUp::DEFAULT_WINDOW_MINUTES
                }
            };
            if pol == Some(CatchUpPolicy::Skip) && m.contains_key("window_minutes") {
                errs.push(
                    format!("{p}.window_minutes"),
                    "has no effect with policy \"skip\" (late slots are never launched); remove it",
                );
            }
            pol.map(|policy| CatchUp {
                policy,
                window_minutes: window,
            })
            .unwrap_or_default()
        }
        Some(v) => {
            errs.push(p, format!("expected \"latest\", \"all\", \"skip\" or {{\"policy\": ..., \"window_minutes\": ...}}, found {}", kind(v)));
            CatchUp::default()
        }
    }
}

/// `recurrence` and the fields that belong to it.
fn recurrence(
    obj: &Map<String, Value>,
    path: &str,
    errs: &mut ValidationErrors,
) -> Option<Recurrence> {
    let p = join(path, "recurrence");
    let kind_name = match obj.get("recurrence") {
        None => {
            errs.push(
                p,
                "missing; use \"none\", \"daily\", \"weekly\", \"monthly\" or \"cron\"",
            );
            return None;
        }
        Some(Value::String(s))
            if ["none", "daily", "weekly", "monthly", "cron"].contains(&s.as_str()) =>
        {
            s.as_str()
        }
        Some(Value::String(s)) => {
            errs.push(p, format!("\"{s}\" is not a recurrence; use \"none\", \"daily\", \"weekly\", \"monthly\" or \"cron\""));
            return None;
        }
        Some(v) => {
            errs.push(
                p,
                format!(
                    "expected \"none\", \"daily\", \"weekly\", \"monthly\" or \"cron\", found {}",
                    kind(v)
                ),
            );
            return None;
        }
    };
    // Which of the dependent fields this kind needs; the others must be absent.
    let needs: &[&str] = match kind_name {
        "none" => &["date", "times"],
        "daily" => &["times"],
        "weekly" => &["weekdays", "times"],
        "monthly" => &["days", "times"],
        _ => &["cron"],
    };
    let mut ok = true;
    for field in ["date", "weekdays", "days", "times", "cron"] {
        let present = obj.get(field).is_some_and(|v| !v.is_null());
        if needs.contains(&field) && !present {
            errs.push(
                join(path, field),
                format!(
                    "missing; recurrence \"{kind_name}\" needs {}",
                    needs.join(" and ")
                ),
            );
            ok = false;
        } else if !needs.contains(&field) && present {
            let owner = match field {
                "date" => "\"none\"",
                "weekdays" => "\"weekly\"",
                "days" => "\"monthly\"",
                "times" => "\"none\", \"daily\", \"weekly\" and \"monthly\" (a cron expression has its own times)",
                _ => "\"cron\"",
            };
            errs.push(
                join(path, field),
                format!("does not apply to recurrence \"{kind_name}\", only to {owner}; remove it"),
            );
            ok = false;
        }
    }
    let times = if needs.contains(&"times") {
        times(obj.get("times"), &join(path, "times"), errs)
    } else {
        Some(vec![])
    };
    let rec = match kind_name {
        "none" => Recurrence::None {
            date: date(obj.get("date"), &join(path, "date"), errs)?,
            times: times?,
        },
        "daily" => Recurrence::Daily { times: times? },
        "weekly" => Recurrence::Weekly {
            weekdays: weekdays(obj.get("weekdays"), &join(path, "weekdays"), errs)?,
            times: times?,
        },
        "monthly" => Recurrence::Monthly {
            days: month_days(obj.get("days"), &join(path, "days"), errs)?,
            times: times?,
        },
        _ => {
            let cp = join(path, "cron");
            match obj.get("cron") {
                Some(Value::String(expr)) => match crate::cron::parse(expr) {
                    Ok(_) => Recurrence::Cron {
                        expr: expr.split_whitespace().collect::<Vec<_>>().join(" "),
                    },
                    Err(e) => {
                        errs.push(cp, e);
                        return None;
                    }
                },
                Some(v) => {
                    errs.push(
                        cp,
                        format!(
                            "expected a cron expression string like \"30 6 * * 1-5\", found {}",
                            kind(v)
                        ),
                    );
                    return None;
                }
                None => return None,
            }
        }
    };
    ok.then_some(rec)
}

fn list<'a>(
    v: Option<&'a Value>,
    path: &str,
    what: &str,
    max: usize,
    errs: &mut ValidationErrors,
) -> Option<&'a [Value]> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => {
            errs.push(path, format!("is empty; give at least one {what}"));
            None
        }
        Some(Value::Array(a)) if a.len() > max => {
            errs.push(
                path,
                format!("has {} entries; at most {max} are allowed", a.len()),
            );
            None
        }
        Some(Value::Array(a)) => Some(a),
        Some(v) => {
            errs.push(
                path,
                format!("expected a list of {what}s, found {}", kind(v)),
            );
            None
        }
    }
}

fn times(v: Option<&Value>, path: &str, errs: &mut ValidationErrors) -> Option<Vec<TimeOfDay>> {
    let items = list(v, path, "\"HH:MM\" time", limits::MAX_TIMES, errs)?;
    let before = errs.len();
    let mut out = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match item {
            Value::String(s) => match parse_time(s) {
                Some(t) => {
                    out.insert(t);
                }
                None => errs.push(
                    p,
                    format!("\"{s}\" is not a time of day; use HH:MM, 00:00 to 23:59"),
                ),
            },
            v => errs.push(
                p,
                format!("expected a time of day like \"06:20\", found {}", kind(v)),
            ),
        }
    }
    (errs.len() == before).then(|| out.into_iter().collect())
}

/// "HH:MM" (a one-digit hour is accepted too).
pub(crate) fn parse_time(s: &str) -> Option<TimeOfDay> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty()
        || h.len() > 2
        || m.len() != 2
        || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let (hour, minute): (u8, u8) = (h.parse().ok()?, m.parse().ok()?);
    (hour < 24 && minute < 60).then_some(TimeOfDay { hour, minute })
}

fn date(v: Option<&Value>, path: &str, errs: &mut ValidationErrors) -> Option<Date> {
    match v? {
        Value::String(s) => match parse_date(s) {
            Ok(d) => Some(d),
            Err(e) => {
                errs.push(path, e);
                None
            }
        },
        v => {
            errs.push(
                path,
                format!("expected a date like \"2025-03-15\", found {}", kind(v)),
            );
            None
        }
    }
}

pub(crate) fn parse_date(s: &str) -> Result<Date, String> {
    let bad = || format!("\"{s}\" is not a date; use YYYY-MM-DD, e.g. \"2025-03-15\"");
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return Err(bad());
    }
    if !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(bad());
    }
    let (y, m, d): (i32, u32, u32) = (
        parts[0].parse().map_err(|_| bad())?,
        parts[1].parse().map_err(|_| bad())?,
        parts[2].parse().map_err(|_| bad())?,
    );
    if !(1970..=9999).contains(&y) {
        return Err(format!("\"{s}\": the year must be between 1970 and 9999"));
    }
    if !(1..=12).contains(&m) {
        return Err(format!("\"{s}\": {m} is not a month; use 01 to 12"));
    }
    let dim = days_in_month(y, m);
    if d == 0 || d > dim {
        return Err(format!("\"{s}\": that month has days 01 to {dim}"));
    }
    Ok(Date {
        year: y,
        month: m as u8,
        day: d as u8,
    })
}

fn weekdays(v: Option<&Value>, path: &str, errs: &mut ValidationErrors) -> Option<Vec<Weekday>> {
    let items = list(v, path, "weekday", 7 * 4, errs)?;
    let before = errs.len();
    let mut out = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match item {
            Value::String(s) => match Weekday::from_name(s) {
                Some(w) => {
                    out.insert(w);
                }
                None => errs.push(p, format!("\"{s}\" is not a weekday; use monday, tuesday, wednesday, thursday, friday, saturday or sunday")),
            },
            v => errs.push(p, format!("expected a weekday name like \"monday\", found {}", kind(v))),
        }
    }
    (errs.len() == before).then(|| out.into_iter().collect())
}

fn month_days(v: Option<&Value>, path: &str, errs: &mut ValidationErrors) -> Option<Vec<MonthDay>> {
    let items = list(v, path, "day of the month", 32, errs)?;
    let before = errs.len();
    let mut out = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match item {
            Value::Number(n) => match n.as_u64() {
                Some(d @ 1..=31) => {
                    out.insert(MonthDay::Day(d as u8));
                }
                _ => errs.push(p, format!("{n} is not a day of the month; use 1 to 31, or \"last\" for the last day")),
            },
            Value::String(s) if s.eq_ignore_ascii_case("last") => {
                out.insert(MonthDay::Last);
            }
            Value::String(s) => errs.push(p, format!("\"{s}\" is not a day of the month; use a number 1 to 31 (no quotes) or \"last\"")),
            v => errs.push(p, format!("expected a day number 1 to 31 or \"last\", found {}", kind(v))),
        }
    }
    (errs.len() == before).then(|| out.into_iter().collect())
}

/// Compiles a validated recurrence into a [`Schedule`].
pub(crate) fn compile(rec: &Recurrence, zone: Zone) -> Schedule {
    let times_of = |times: &[TimeOfDay]| {
        let mins: Vec<u16> = times.iter().map(|t| t.minute_of_day()).collect();
        Times::list(&mins)
    };
    let rule = match rec {
        Recurrence::None { date, times } => Rule::Once {
            day: crate::civil::days_from_civil(
                date.year,
                u32::from(date.month),
                u32::from(date.day),
            ),
            times: times_of(times),
        },
        Recurrence::Daily { times } => Rule::Recurring {
            days: Days::ALL,
            times: times_of(times),
        },
        Recurrence::Weekly { weekdays, times } => Rule::Recurring {
            days: Days {
                dow: weekdays.iter().fold(0, |m, w| m | 1 << w.cron_index()),
                mode: DayMode::Dow,
                ..Days::ALL
            },
            times: times_of(times),
        },
        Recurrence::Monthly { days, times } => Rule::Recurring {
            days: Days {
                dom: days.iter().fold(0, |m, d| match d {
                    MonthDay::Day(n) => m | 1 << n,
                    MonthDay::Last => m,
                }),
                dom_last: days.contains(&MonthDay::Last),
                mode: DayMode::Dom,
                ..Days::ALL
            },
            times: times_of(times),
        },
        Recurrence::Cron { expr } => {
            let spec = crate::cron::parse(expr).expect("validated cron");
            return Schedule::from_cron_spec(&spec, zone);
        }
    };
    Schedule { rule, zone }
}
