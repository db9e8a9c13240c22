//! `POST /api/preview`: what a task would do, before it is saved. No credentials, no storage.
//!
//! The body is one scheduled task of the configuration format (`base_task_id` and `queue` may
//! be absent or empty, `id` absent) plus `after` (RFC 3339, default now) and `count` (default 5, at most
//! 100). The core's [`preview_task`] does the rest (the app calls it too, as the user types):
//! the error paths are relative to the task (`times[1]`).

use scheduler_core::preview::{preview_task, MAX_COUNT};
use scheduler_core::Instant;
use serde_json::Value;
use worker::Request;

use super::http::{self, Answer, ApiError};

const DEFAULT_COUNT: u64 = 5;

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
            Some(n) if (1..=MAX_COUNT as u64).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "count: expected a whole number from 1 to {MAX_COUNT}"
                ))
                .field("count"))
            }
        },
    };
    let preview = preview_task(task, after, count as usize).map_err(ApiError::invalid)?;
    http::ok_json(&preview)
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
