//! The HTTP API's contract: every answer body of `/api`, one serde type each.
//!
//! The worker builds its answers from these types and the app reads them with serde_json, so the
//! two cannot drift apart: a field renamed here is renamed on both sides, and an answer missing
//! any field fails to read with an error that names it (`missing field `name``): a field that
//! may be `null` must still be there ([`required`]).
//!
//! Times are RFC 3339 strings in UTC (`2026-11-26T06:20:00Z`, what [`Instant`]'s `Display`
//! writes): the API's users read them as text, and the app shows them as they are.

use serde::{Deserialize, Serialize};

use crate::errors::ValidationError;
use crate::planner::Level;
use crate::Instant;

/// A field that may be `null` but not missing: serde reads a missing `Option` field as `None`
/// unless its reader is named, and an answer without the field is then one the app
/// misreads in silence (a `next_run` dropped from the worker's answer would show "—").
fn required<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

/// An instant as the API writes it.
pub fn iso(t: Instant) -> String {
    t.to_string()
}

/// `GET /api/health`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub version: String,
    /// The worker's clock.
    pub time: String,
    /// The last minute tick, `null` before the first.
    #[serde(deserialize_with = "required")]
    pub heartbeat: Option<Heartbeat>,
    /// Whether the minute tick is late (with `?strict=1` a late tick answers 503, for uptime
    /// monitors that read only the status).
    pub tick: crate::health::TickHealth,
}

/// What the last cron event was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The event's scheduled time.
    pub scheduled_time: String,
    /// The cron pattern that fired.
    pub cron: String,
    /// When the handler actually ran.
    pub ran_at: String,
}

/// `GET /api/instances`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceList {
    pub instances: Vec<InstanceSummary>,
}

/// One instance of the list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceSummary {
    pub id: String,
    pub name: String,
    pub revision: u64,
    pub paused: bool,
    pub task_count: usize,
    #[serde(deserialize_with = "required")]
    pub next_run: Option<String>,
    #[serde(deserialize_with = "required")]
    pub last_run: Option<LastRun>,
}

/// The newest run of an instance, in the list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastRun {
    pub item: String,
    pub task_id: String,
    pub status: String,
    pub started: String,
}

/// `GET /api/instances/{id}` and the answer of a create, replace, pause or resume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceDetail {
    pub id: String,
    pub name: String,
    pub revision: u64,
    pub paused: bool,
    pub created_at: String,
    pub saved_at: String,
    pub task_count: usize,
    /// The configuration, in the `clearml-task-scheduler/v1` format.
    pub config: serde_json::Value,
    /// Run-now requests waiting for the next tick.
    pub run_now: Vec<RunNowRequest>,
}

/// A "Run now" waiting for its tick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunNowRequest {
    pub item: String,
    /// The minute it was asked in: its slot.
    pub requested_at: String,
}

/// The answer of `POST /api/instances/{id}/tasks/{item}/run` (202).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunNowAccepted {
    pub item: String,
    pub requested_at: String,
    /// Always `"requested"`.
    pub status: String,
}

/// `POST /api/preview`: what one task would do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    /// The next fire instants.
    pub next: Vec<String>,
    /// ClearML's dashboard form, one line per time of day.
    pub clearml: Vec<String>,
    /// The English sentence.
    pub description: String,
}

/// `GET /api/instances/{id}/dashboard` and `GET /api/share/{token}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub instance: DashboardInstance,
    /// Through a share link: no controls.
    pub read_only: bool,
    pub now: String,
    pub scheduled: Vec<ScheduledRow>,
    pub run_now_pending: Vec<RunNowRequest>,
    /// Executed runs, newest first.
    pub runs: Page<Run>,
    /// The scheduler log, newest first.
    pub log: Page<LogEntry>,
    /// Notifications, newest first: pending, delivered and given up (the newest kept).
    pub notifications: Vec<DeliveryInfo>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardInstance {
    pub id: String,
    pub name: String,
    pub paused: bool,
    pub revision: u64,
    pub saved_at: String,
    pub task_count: usize,
}

/// One scheduled task of the dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduledRow {
    /// The task's id in the configuration.
    pub item: String,
    pub name: String,
    pub base_task_id: String,
    #[serde(deserialize_with = "required")]
    pub project: Option<String>,
    pub queue: String,
    /// `none`, `daily`, `weekly`, `monthly` or `cron`.
    pub recurrence: String,
    pub timezone: String,
    /// ClearML's form of every time, joined with `; `.
    pub clearml: String,
    /// ClearML's form, one line per time of day (ClearML's dashboard has a row per time).
    pub clearml_rows: Vec<String>,
    pub description: String,
    /// `null` while paused (the instance or the task) or when it never fires again.
    #[serde(deserialize_with = "required")]
    pub next_run: Option<String>,
    pub enabled: bool,
}

/// One executed run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub item: String,
    /// The clone's name, when known.
    #[serde(deserialize_with = "required")]
    pub name: Option<String>,
    /// The clone's ClearML id.
    pub task_id: String,
    /// The slot's fire instant.
    pub slot: String,
    /// 0: the slot's first run; n: its n-th rerun after a failed run (task `retry`).
    pub rerun: u32,
    /// When it was enqueued.
    pub started: String,
    #[serde(deserialize_with = "required")]
    pub finished: Option<String>,
    /// ClearML's status (`queued`, `in_progress`, `completed`, `failed`, `stopped`, …).
    pub status: String,
    #[serde(deserialize_with = "required")]
    pub duration_seconds: Option<i64>,
    /// How long after its slot it was enqueued.
    pub late_seconds: i64,
    /// The run in ClearML's web app (when the deployment sets `CLEARML_WEB_HOST`).
    #[serde(deserialize_with = "required")]
    pub link: Option<String>,
}

/// One notification to one channel, as the dashboard shows it: what could not be delivered
/// stays visible.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryInfo {
    /// Stable across retries: what the receiver deduplicates by.
    pub id: String,
    pub channel: String,
    /// `launch_failed`, `slot_missed`, `run_failed`, `run_stuck` or `recovered`.
    pub event: String,
    pub item: String,
    /// When the event happened.
    pub at: String,
    pub message: String,
    /// Events it tells (a summary of repeats: more than 1).
    pub count: u32,
    /// `pending`, `delivered` or `gave_up`.
    pub state: String,
    pub attempts: u32,
    /// The receiver's last refusal (a status, a timeout).
    #[serde(deserialize_with = "required")]
    pub last_error: Option<String>,
    /// When it is tried next (pending only).
    #[serde(deserialize_with = "required")]
    pub next_attempt: Option<String>,
    /// When it was delivered or given up.
    #[serde(deserialize_with = "required")]
    pub settled_at: Option<String>,
}

/// `POST /api/instances/{id}/channels/{channel}/test`: a test message sent now, and what the
/// receiver answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelTest {
    pub channel: String,
    /// The receiver answered 2xx.
    pub delivered: bool,
    /// Its HTTP status, when it answered.
    #[serde(deserialize_with = "required")]
    pub status: Option<u16>,
    /// The start of its answer's body.
    pub answer: String,
    /// Why nothing was delivered (no answer in time, no connection, a refusal).
    #[serde(deserialize_with = "required")]
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

/// One line of the scheduler log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub at: String,
    pub level: Level,
    pub message: String,
}

/// A share link's read-only dashboard (the app's hash route), from the app's origin.
pub fn share_page_path(token: &str) -> String {
    format!("/#/share/{token}")
}

/// A share link's dashboard data, from the app's origin.
pub fn share_api_path(token: &str) -> String {
    format!("/api/share/{token}")
}

/// A share link's timeline, to embed as an image, from the app's origin.
pub fn share_embed_path(token: &str) -> String {
    format!("/embed/{token}/timeline.svg")
}

/// Runs or log lines a dashboard answer holds unless asked for another number.
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// The most runs or log lines one dashboard answer holds (`runs_page_size`, `log_page_size`).
pub const MAX_PAGE_SIZE: usize = 500;

/// One page of a list, newest first; pages count from 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: usize,
    pub page_size: usize,
    /// How many the list holds (the page may hold only some).
    pub total: usize,
    pub pages: usize,
    /// How many older ones were dropped from storage for good (the list keeps the newest).
    pub dropped: u64,
}

impl<T> Page<T> {
    /// Page `page` (from 1) of `page_size` of `items`.
    pub fn of(items: Vec<T>, page: usize, page_size: usize) -> Page<T> {
        let page_size = page_size.max(1);
        let total = items.len();
        let pages = total.div_ceil(page_size).max(1);
        let items = items
            .into_iter()
            .skip(page.saturating_sub(1).saturating_mul(page_size))
            .take(page_size)
            .collect();
        Page {
            items,
            page,
            page_size,
            total,
            pages,
            dropped: 0,
        }
    }
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            items: Vec::new(),
            page: 1,
            page_size: 1,
            total: 0,
            pages: 1,
            dropped: 0,
        }
    }
}

/// `POST /api/instances/{id}/shares` (201): the token is in this answer only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewShare {
    /// The link's id (the SHA-256 of its token), for revoking it.
    pub id: String,
    pub token: String,
    pub hint: String,
    pub created_at: String,
    /// The read-only dashboard in the app.
    pub url: String,
    /// The same data as JSON.
    pub api_url: String,
    /// The timeline as an SVG image, for embedding.
    pub embed_url: String,
}

/// `GET /api/instances/{id}/shares`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShareList {
    pub shares: Vec<ShareInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShareInfo {
    pub id: String,
    /// The token's first characters, to tell links apart.
    pub hint: String,
    pub created_at: String,
}

/// Every error answer (4xx, 5xx): `{"error": {...}, "errors": [...]}`. `errors` is there for a
/// configuration that does not validate, at the top level too for clients that look there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ValidationError>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Machine-readable: `invalid_config`, `not_found`, `unauthorized`, …
    pub code: String,
    /// A sentence for the user: what is wrong and what to do.
    pub message: String,
    /// The field the error is about, when there is one (the first problem's path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ValidationError>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_missing_a_field_names_it() {
        let err = serde_json::from_str::<InstanceSummary>(
            r#"{"id": "a", "revision": 1, "paused": false, "task_count": 1, "next_run": null, "last_run": null}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing field `name`"), "{err}");
        // A field that may be null must still be there.
        let err = serde_json::from_str::<InstanceSummary>(
            r#"{"id": "a", "name": "n", "revision": 1, "paused": false, "task_count": 1, "last_run": null}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("missing field `next_run`"),
            "{err}"
        );
        let read = serde_json::from_str::<InstanceSummary>(
            r#"{"id": "a", "name": "n", "revision": 1, "paused": false, "task_count": 1, "next_run": null, "last_run": null}"#,
        )
        .unwrap();
        assert_eq!(read.next_run, None);
    }

    #[test]
    fn pages_count_from_one_and_say_how_many_there_are() {
        let p = Page::of((0..7).collect::<Vec<_>>(), 2, 3);
        assert_eq!((p.items, p.total, p.pages), (vec![3, 4, 5], 7, 3));
        let empty = Page::of(Vec::<u8>::new(), 1, 50);
        assert_eq!((empty.total, empty.pages), (0, 1));
        assert!(Page::of(vec![1], 9, 50).items.is_empty());
    }

    #[test]
    fn errors_round_trip_with_and_without_their_problems() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: "not_found".into(),
                message: "no scheduler instance with this id".into(),
                field: None,
                errors: None,
            },
            errors: None,
        };
        let text = serde_json::to_string(&body).unwrap();
        assert_eq!(
            text,
            r#"{"error":{"code":"not_found","message":"no scheduler instance with this id"}}"#
        );
        assert_eq!(serde_json::from_str::<ErrorBody>(&text).unwrap(), body);
    }
}
