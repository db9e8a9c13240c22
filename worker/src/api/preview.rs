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
        Some(Value::String(s)) => Instant::parse_rfc3339(&s).ok_or_else(|| {
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
