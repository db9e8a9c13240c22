//! The scheduling core. Pure: no I/O, no clock (time is always passed in).
//!
//! Every scheduling decision of the product lives here, so it can be tested natively and runs
//! unchanged in the worker and the browser app (wasm32).
//!
//! | module | its one job |
//! | --- | --- |
//! | [`api`] | the HTTP API's contract: every answer body, one serde type each |
//! | [`draft`] | a task as the app's form edits it, and which input a message is about |
//! | [`preview`] | one task's next runs, ClearML form and sentence (API and app) |
//! | [`health`] | the dead-man's switch: is the tick late, is a heartbeat ping due |
//! | [`time`] | [`Instant`], the public time type (Unix seconds) |
//! | [`zone`] | [`Zone`]: IANA zones (feature `tz`), the gap/fold rules |
//! | `civil` | calendar arithmetic on day numbers (days_from_civil) |
//! | [`cron`] | 5-field cron syntax to bitmasks |
//! | [`schedule`] | [`Schedule`]: compiled recurrence, `next_fire_after` |
//! | [`config`] | the `clearml-task-scheduler/v1` types and canonical export |
//! | [`parse`] | JSON to [`InstanceConfig`], collecting every problem ([`ValidationErrors`]) |
//! | `duplicate_key` | a key said twice in one JSON object, which serde_json would let pass |
//! | [`describe`] | dashboard rows (`minute=20, hour=6, day=1`) and English sentences |
//! | [`slot`] | [`SlotKey`]: a slot's identity and its ClearML tag |
//! | [`state`] | [`InstanceState`]: planner memory, claims, outcome reporting (`record_*`), next due |
//! | [`planner`] | [`plan_tick`]: config + state + now to actions ([`Action`]); [`plan_paused`] |
//! | [`launch`] | [`LaunchAttempt`]: one slot's ClearML calls, answers in, [`Outcome`] out |
//! | [`markup`] | markup that only escaping or literals can build (the SVG timeline, the app's long tables) |
//! | [`channels`] | where notifications go: channels, write-only secrets and their hints, routing |
//! | [`messages`] | a notification on the wire: the webhook's JSON schema and signature, the Slack message |
//! | [`notify`] | an instance's outbox: events to grouped, rate-limited notifications, delivered at least once |
//! | [`sdk`] | import of the ClearML SDK's `schedule` list; format auto-detection |
//! | [`errors`] | [`ValidationErrors`]: path + message, Display and Serialize |
//!
//! Invariants: nothing here reads a clock, touches the network or storage, or panics on user
//! input; every function that needs "now" takes an [`Instant`].

pub mod api;
pub mod channels;
mod civil;
pub mod config;
pub mod cron;
pub mod describe;
pub mod draft;
mod duplicate_key;
pub mod errors;
mod hash;
pub mod health;
pub mod launch;
pub mod markup;
pub mod messages;
pub mod notify;
pub mod parse;
pub mod planner;
pub mod preview;
pub mod schedule;
pub mod sdk;
pub mod slot;
pub mod state;
mod text;
pub mod time;
pub mod zone;

pub use config::{
    export_file_name, CatchUp, CatchUpPolicy, Date, InstanceConfig, MonthDay, Recurrence, Retry,
    ScheduledTask, TimeOfDay, Weekday, FORMAT_V1,
};
pub use describe::DashboardRow;
pub use errors::{ValidationError, ValidationErrors};
pub use launch::{LaunchAttempt, Outcome};
pub use parse::{parse_config, parse_config_value, parse_stored_config};
pub use planner::{
    clean_up_launch, given_up_line, launch_of, plan_paused, plan_rerun, plan_run_now, plan_tick,
    run_ended, runs_deciding_slots, slots_dropped_by_edit, stuck_line, Action, Found, Launch,
    Level, LogLine, Plan, SkipReason, StuckRun, MIN_RETRY_WINDOW_MINUTES,
};
pub use schedule::Schedule;
pub use sdk::{parse_any_config, parse_sdk_schedule};
pub use slot::SlotKey;
pub use state::{
    next_due, next_slot_due, tasks_changed_at, Claim, InstanceState, OpenRun, PendingLaunch,
    PendingState, TaskState, TaskStatus,
};
pub use time::Instant;
pub use zone::Zone;

/// The version of the product, reported by `/api/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
