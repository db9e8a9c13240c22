//! `POST /api/preview`: what a task would do, before it is saved. No credentials, no storage.
//!
//! The body is one scheduled task of the configuration format (`base_task_id`, `queue` and
//! `id` may be absent) plus `after` (RFC 3339, default now) and `count` (default 5, at most
//! 100). The task is validated by the core as the only task of a configuration, and the
//! core's error paths (`scheduled_tasks[0].times[1]`) are given back relative to the task
//! (`times[1]`).

use scheduler_core::{parse_config_value, Instant, ValidationError, ValidationErrors, FORMAT_V1};
use serde_json::{json, Map, Value};
use worker::Request;

use super::http::{self, Answer, ApiError};

const DEFAULT_COUNT: u64 = 5;
const MAX_COUNT: u64 = 100;

pub async fn preview(req: &mut Request) -> Answer {
    let body = http::body_json(req).await?;
    let Value::Object(mut task) = body else {
        return Err(ApiError::bad_request(
            "expected a JSON object: one scheduled task, plus optional \"after\" and \"count\"",
        ));
    };
    let after = match task.remove("after") {
        None | Some(Value::Null) => http::now(),
        Some(Value::String(s)) => parse_rfc3339(&s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "after: \"{}\" is not an RFC 3339 time such as 2026-11-26T06:20:00Z",
                super::truncate(&s, 60)
            ))
            .field("after")
        })?,
        Some(_) => {
            return Err(
                ApiError::bad_request("after: expected an RFC 3339 time string").field("after"),
            )
        }
    };
    let count = match task.remove("count") {
        None | Some(Value::Null) => DEFAULT_COUNT,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_COUNT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "count: expected a whole number from 1 to {MAX_COUNT}"
                ))
                .field("count"))
            }
        },
    };
    let config = validate_task(task, after)?;
    let Some(t) = config.scheduled_tasks().first() else {
        return Err(ApiError::bad_request("no task"));
    };
    let next: Vec<String> = t
        .schedule()
        .upcoming(after, count as usize)
        .into_iter()
        .map(http::iso)
        .collect();
    let clearml: Vec<String> = t.dashboard_rows().into_iter().map(|r| r.text).collect();
    http::ok_json(&json!({"next": next, "clearml": clearml, "description": t.describe()}))
}

/// Validates one task as the only task of a configuration, with placeholder identity fields.
fn validate_task(
    mut task: Map<String, Value>,
    after: Instant,
) -> Result<scheduler_core::InstanceConfig, ApiError> {
    for field in ["base_task_id", "queue"] {
        if matches!(task.get(field), None | Some(Value::Null)) {
            task.insert(field.into(), Value::from("preview"));
        }
    }
    let doc =
        json!({"format": FORMAT_V1, "name": "preview", "scheduled_tasks": [Value::Object(task)]});
    parse_config_value(&doc, Some(after)).map_err(|errors| ApiError::invalid(relative(errors)))
}

/// `scheduled_tasks[0].x` → `x`, `scheduled_tasks[0]` → `""`.
fn relative(errors: ValidationErrors) -> Vec<ValidationError> {
    errors
        .into_iter()
        .map(|e| match e.path.strip_prefix("scheduled_tasks[0]") {
            Some(rest) => ValidationError {
                path: rest.trim_start_matches('.').to_string(),
                message: e.message,
            },
            None => e,
        })
        .collect()
}

/// Parses RFC 3339 (`2026-11-26T06:20:00Z`, `2026-11-26T07:20:00.5+01:00`), to the second.
pub fn parse_rfc3339(s: &str) -> Option<Instant> {
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_ascii() {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if second > 60 {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match &s[i..] {
        "Z" | "z" => 0,
        rest if rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && &rest[3..4] == ":" =>
        {
            let h = num(i + 1..i + 3)?;
            let m = num(i + 4..i + 6)?;
            if h > 23 || m > 59 {
                return None;
            }
            let o = i64::from(h * 3600 + m * 60);
            if rest.starts_with('-') {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let base = Instant::from_utc(year as i32, month, day, hour, minute)?;
    Some(base.add_seconds(i64::from(second.min(59)) - offset))
}
