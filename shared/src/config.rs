//! The configuration format `clearml-task-scheduler/v1`: types and export.
//!
//! This is a public contract (users import and export these files), so:
//! * export is canonical and byte-stable: fields in a fixed order, defaults omitted, lists
//!   normalised (times sorted, duplicates dropped) at parse, so `export(parse(export(x)))`
//!   equals `export(x)` byte for byte;
//! * a value of these types only exists after validation ([`crate::parse_config`]): the fields
//!   are private with read accessors, and every task carries its compiled [`Schedule`], so the
//!   two can never disagree.
//!
//! ```json
//! {
//!   "format": "clearml-task-scheduler/v1",
//!   "name": "Nightly retraining",
//!   "scheduled_tasks": [
//!     { "id": "retrain", "base_task_id": "aabbccddeeff00112233445566778899",
//!       "destination_project": "Scheduled/retrain", "queue": "default",
//!       "recurrence": "daily", "times": ["06:20", "18:00"] }
//!   ]
//! }
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::channels::{Notifications, NotificationsOut};
use crate::Schedule;

/// The value of the `format` field this version reads and writes.
pub const FORMAT_V1: &str = "clearml-task-scheduler/v1";

/// Size limits, checked at validation with errors that name them.
pub mod limits {
    /// Scheduled tasks per instance.
    pub const MAX_TASKS: usize = 500;
    /// Times of day per task.
    pub const MAX_TIMES: usize = crate::schedule::MAX_TIMES;
    /// Characters in the instance name and a task's display name.
    pub const MAX_NAME: usize = 200;
    /// Characters in ids, base task ids, project and queue names, parameter names and values.
    pub const MAX_ID: usize = 255;
    /// Entries in `task_parameters`.
    pub const MAX_PARAMETERS: usize = 100;
    /// Longest `catch_up.window_minutes` (7 days).
    pub const MAX_WINDOW_MINUTES: u32 = 7 * 24 * 60;
    /// Longest `execution_limit_hours` (a year).
    pub const MAX_EXECUTION_LIMIT_HOURS: f64 = 8760.0;
    /// Most slots `catch_up: all` launches in one go.
    pub const MAX_CATCH_UP_SLOTS: usize = 100;
    /// Most reruns of one slot (`retry.max`).
    pub const MAX_RERUNS: u32 = 10;
    /// Longest wait before a rerun (`retry.backoff_minutes`, a day).
    pub const MAX_RERUN_BACKOFF_MINUTES: u32 = 24 * 60;
}

/// A validated scheduler instance configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceConfig {
    pub(crate) name: String,
    pub(crate) tasks: Vec<ScheduledTask>,
    pub(crate) notifications: Notifications,
}

impl InstanceConfig {
    /// The instance name shown in the instance list.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scheduled tasks, in the order of the file.
    pub fn scheduled_tasks(&self) -> &[ScheduledTask] {
        &self.tasks
    }

    /// The next instant any enabled task fires strictly after `t` (the instance list's
    /// "next run").
    pub fn next_fire_after(&self, t: crate::Instant) -> Option<crate::Instant> {
        self.tasks
            .iter()
            .filter(|task| task.enabled)
            .filter_map(|task| task.schedule().next_fire_after(t))
            .min()
    }

    /// The task with item id `id`.
    pub fn task(&self, id: &str) -> Option<&ScheduledTask> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// Where its notifications go ([`crate::channels`]).
    pub fn notifications(&self) -> &Notifications {
        &self.notifications
    }

    /// The configuration with its secrets (channel URLs, signing secrets): for the instance's
    /// own storage only. Every other output ([`Self::to_json`], `Serialize`) has hints instead.
    pub fn to_stored_value(&self) -> serde_json::Value {
        serde_json::to_value(ConfigOut {
            config: self,
            secrets: true,
        })
        .expect("config serializes")
    }

    /// The configuration as a file to send back, secrets written where this value has them
    /// (typed into the app's form) and hints where it kept them: what the app saves.
    pub fn to_json_with_secrets(&self) -> String {
        serde_json::to_string(&ConfigOut {
            config: self,
            secrets: true,
        })
        .expect("config serializes")
    }

    /// Takes the stored values of the secrets this configuration only hints at (a file that
    /// came from an export, an edit in the app) from `previous`, the configuration it replaces.
    /// A hint with nothing to keep is an error naming the field.
    pub fn keep_secrets(
        &mut self,
        previous: Option<&InstanceConfig>,
    ) -> Result<(), crate::ValidationErrors> {
        let mut errs = crate::ValidationErrors::new();
        self.notifications
            .keep_secrets(previous.map(|p| &p.notifications), &mut errs);
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    /// The canonical export: pretty JSON (2-space indent) with a trailing newline, fixed field
    /// order, defaults omitted. Byte-stable across parse/export round trips.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("config serializes");
        s.push('\n');
        s
    }
}

/// The file name of an instance's exported configuration, from its name: `Nightly retraining`
/// → `nightly-retraining.json` (ASCII letters and digits, dashes between words, at most 60
/// characters before `.json`; `scheduler.json` when nothing is left).
pub fn export_file_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if out.len() >= 60 {
            break;
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let stem = out.trim_end_matches('-');
    format!("{}.json", if stem.is_empty() { "scheduler" } else { stem })
}

/// One scheduled task ("item"): what to clone, where to enqueue it, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledTask {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) base_task_id: String,
    pub(crate) destination_project: Option<String>,
    pub(crate) queue: String,
    pub(crate) recurrence: Recurrence,
    pub(crate) timezone: String,
    pub(crate) enabled: bool,
    pub(crate) single_instance: bool,
    pub(crate) execution_limit_hours: Option<f64>,
    pub(crate) task_parameters: BTreeMap<String, String>,
    pub(crate) catch_up: CatchUp,
    /// The channels its events go to (`None`: every channel).
    pub(crate) notify: Option<Vec<String>>,
    /// Reruns of a slot whose run failed.
    pub(crate) retry: Option<Retry>,
    pub(crate) schedule: Schedule,
}

impl ScheduledTask {
    /// Stable item id (given in the file or generated at import, see [`crate::parse_config`]).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Optional display name (the SDK's job `name`).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// The name to show and log: the display name, or the base task id.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.base_task_id)
    }
    /// The ClearML task to clone.
    pub fn base_task_id(&self) -> &str {
        &self.base_task_id
    }
    /// Project (name) the clone goes to; `None` keeps the base task's project.
    pub fn destination_project(&self) -> Option<&str> {
        self.destination_project.as_deref()
    }
    /// Queue (name) the clone is enqueued to.
    pub fn queue(&self) -> &str {
        &self.queue
    }
    pub fn recurrence(&self) -> &Recurrence {
        &self.recurrence
    }
    /// IANA time zone name the times are in ("UTC" by default).
    pub fn timezone(&self) -> &str {
        &self.timezone
    }
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    /// Skip a slot while the previous clone is still queued or running.
    pub fn single_instance(&self) -> bool {
        self.single_instance
    }
    /// Abort a run that has been going for longer than this.
    pub fn execution_limit_hours(&self) -> Option<f64> {
        self.execution_limit_hours
    }
    /// The limit in whole seconds (rounded).
    pub fn execution_limit_seconds(&self) -> Option<i64> {
        self.execution_limit_hours
            .map(|h| (h * 3600.0).round() as i64)
    }
    /// Hyperparameters set on each clone, e.g. `{"Args/batch": "12"}`.
    pub fn task_parameters(&self) -> &BTreeMap<String, String> {
        &self.task_parameters
    }
    pub fn catch_up(&self) -> CatchUp {
        self.catch_up
    }
    /// How a slot whose run failed is run again (`None`: it is not).
    pub fn retry(&self) -> Option<Retry> {
        self.retry
    }
    /// The channel ids its events go to; `None`: every channel.
    pub fn notify(&self) -> Option<&[String]> {
        self.notify.as_deref()
    }
    /// The compiled recurrence.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }
}

/// When a task fires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recurrence {
    /// Once, on `date`, at each of `times`.
    None { date: Date, times: Vec<TimeOfDay> },
    /// Every day at each of `times`.
    Daily { times: Vec<TimeOfDay> },
    /// On each of `weekdays` at each of `times`.
    Weekly {
        weekdays: Vec<Weekday>,
        times: Vec<TimeOfDay>,
    },
    /// On each of `days` of every month at each of `times`; days a month lacks are skipped.
    Monthly {
        days: Vec<MonthDay>,
        times: Vec<TimeOfDay>,
    },
    /// A 5-field cron expression.
    Cron { expr: String },
}

impl Recurrence {
    /// The `recurrence` field's value.
    pub fn kind(&self) -> &'static str {
        match self {
            Recurrence::None { .. } => "none",
            Recurrence::Daily { .. } => "daily",
            Recurrence::Weekly { .. } => "weekly",
            Recurrence::Monthly { .. } => "monthly",
            Recurrence::Cron { .. } => "cron",
        }
    }

    /// The times of day (empty for cron).
    pub fn times(&self) -> &[TimeOfDay] {
        match self {
            Recurrence::None { times, .. }
            | Recurrence::Daily { times }
            | Recurrence::Weekly { times, .. }
            | Recurrence::Monthly { times, .. } => times,
            Recurrence::Cron { .. } => &[],
        }
    }
}

/// A civil date, `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A time of day, `HH:MM` 24-hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    pub hour: u8,
    pub minute: u8,
}

impl TimeOfDay {
    /// Minutes since midnight.
    pub fn minute_of_day(self) -> u16 {
        u16::from(self.hour) * 60 + u16::from(self.minute)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// A day of the week. Ordered Monday first, like the SDK's `weekdays`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// Lowercase name as written in the file ("monday").
    pub fn name(self) -> &'static str {
        [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ][self as usize]
    }

    /// Capitalised English name ("Monday").
    pub fn title(self) -> &'static str {
        [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ][self as usize]
    }

    /// The weekday named `name`, in any case ("monday", "Monday"): the configuration's
    /// parser and the form's import read names alike.
    pub fn from_name(name: &str) -> Option<Weekday> {
        Weekday::ALL
            .into_iter()
            .find(|w| w.name().eq_ignore_ascii_case(name))
    }

    /// Cron numbering: 0 = Sunday .. 6 = Saturday.
    pub fn cron_index(self) -> u32 {
        (self as u32 + 1) % 7
    }

    /// The weekday of cron number `i` (0 = Sunday .. 6 = Saturday; 7 is Sunday too).
    pub fn from_cron_index(i: u32) -> Weekday {
        Weekday::ALL[((i + 6) % 7) as usize]
    }
}

/// A day of the month in a monthly recurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MonthDay {
    /// 1..=31; skipped in months that lack it.
    Day(u8),
    /// The month's last day (`"last"`).
    Last,
}

/// `retry: {"max": 3, "backoff_minutes": 10}`: a run that fails (or that ClearML stops because
/// its agent died) is launched again, as a new clone, `backoff_minutes` after it ended, up to
/// `max` times per slot; each rerun exactly once, under its own tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    pub max: u32,
    pub backoff_minutes: u32,
}

impl Retry {
    pub const DEFAULT_BACKOFF_MINUTES: u32 = 5;
}

/// What the planner does with slots it finds in the past (the worker was down or late).
///
/// In the file either a string (`"latest"`, `"all"`, `"skip"`, window 60 minutes) or an object
/// `{"policy": "all", "window_minutes": 180}`. Absent means `latest` with a 60-minute window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatchUp {
    pub policy: CatchUpPolicy,
    /// How late (in whole minutes) a slot may be launched. Ignored for `skip`.
    pub window_minutes: u32,
}

impl CatchUp {
    pub const DEFAULT_WINDOW_MINUTES: u32 = 60;

    /// The window actually applied: 0 for `skip`.
    pub fn effective_window_minutes(self) -> u32 {
        match self.policy {
            CatchUpPolicy::Skip => 0,
            _ => self.window_minutes,
        }
    }
}

impl Default for CatchUp {
    fn default() -> CatchUp {
        CatchUp {
            policy: CatchUpPolicy::Latest,
            window_minutes: CatchUp::DEFAULT_WINDOW_MINUTES,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatchUpPolicy {
    /// Launch the most recent missed slot once (if within the window); log the rest as missed.
    Latest,
    /// Launch each missed slot within the window (at most 100); log the rest as missed.
    All,
    /// Launch only slots of the current minute; log every late slot as missed.
    Skip,
}

impl CatchUpPolicy {
    pub fn name(self) -> &'static str {
        match self {
            CatchUpPolicy::Latest => "latest",
            CatchUpPolicy::All => "all",
            CatchUpPolicy::Skip => "skip",
        }
    }
}

// ---- Export -------------------------------------------------------------------------------

/// The export, with hints in place of secrets.
impl Serialize for InstanceConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ConfigOut {
            config: self,
            secrets: false,
        }
        .serialize(s)
    }
}

/// The file, with secrets (storage) or hints (everything else).
struct ConfigOut<'a> {
    config: &'a InstanceConfig,
    secrets: bool,
}

impl Serialize for ConfigOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.config;
        let n = &c.notifications;
        let mut st = s.serialize_struct("InstanceConfig", 4)?;
        st.serialize_field("format", FORMAT_V1)?;
        st.serialize_field("name", &c.name)?;
        st.serialize_field("scheduled_tasks", &c.tasks)?;
        if !n.is_default() {
            st.serialize_field(
                "notifications",
                &NotificationsOut {
                    n,
                    secrets: self.secrets,
                },
            )?;
        }
        st.end()
    }
}

impl Serialize for ScheduledTask {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &self.id)?;
        serialize_body(self, &mut map)?;
        map.end()
    }
}

/// Everything but the id, in the fixed export order (also hashed for generated ids).
pub(crate) fn serialize_body<M: SerializeMap>(
    t: &ScheduledTask,
    map: &mut M,
) -> Result<(), M::Error> {
    if let Some(name) = &t.name {
        map.serialize_entry("name", name)?;
    }
    map.serialize_entry("base_task_id", &t.base_task_id)?;
    if let Some(p) = &t.destination_project {
        map.serialize_entry("destination_project", p)?;
    }
    map.serialize_entry("queue", &t.queue)?;
    map.serialize_entry("recurrence", t.recurrence.kind())?;
    match &t.recurrence {
        Recurrence::None { date, .. } => map.serialize_entry("date", &date.to_string())?,
        Recurrence::Weekly { weekdays, .. } => {
            let names: Vec<&str> = weekdays.iter().map(|w| w.name()).collect();
            map.serialize_entry("weekdays", &names)?;
        }
        Recurrence::Monthly { days, .. } => {
            let days: Vec<serde_json::Value> = days
                .iter()
                .map(|d| match d {
                    MonthDay::Day(n) => serde_json::Value::from(*n),
                    MonthDay::Last => serde_json::Value::from("last"),
                })
                .collect();
            map.serialize_entry("days", &days)?;
        }
        Recurrence::Cron { expr } => map.serialize_entry("cron", expr)?,
        Recurrence::Daily { .. } => {}
    }
    if !matches!(t.recurrence, Recurrence::Cron { .. }) {
        let times: Vec<String> = t.recurrence.times().iter().map(|t| t.to_string()).collect();
        map.serialize_entry("times", &times)?;
    }
    if t.timezone != "UTC" {
        map.serialize_entry("timezone", &t.timezone)?;
    }
    if !t.enabled {
        map.serialize_entry("enabled", &false)?;
    }
    if t.single_instance {
        map.serialize_entry("single_instance", &true)?;
    }
    if let Some(h) = t.execution_limit_hours {
        map.serialize_entry("execution_limit_hours", &h)?;
    }
    if !t.task_parameters.is_empty() {
        map.serialize_entry("task_parameters", &t.task_parameters)?;
    }
    if t.catch_up != CatchUp::default() {
        if t.catch_up.policy == CatchUpPolicy::Skip
            || t.catch_up.window_minutes == CatchUp::DEFAULT_WINDOW_MINUTES
        {
            map.serialize_entry("catch_up", t.catch_up.policy.name())?;
        } else {
            let mut obj = serde_json::Map::new();
            obj.insert("policy".into(), t.catch_up.policy.name().into());
            obj.insert("window_minutes".into(), t.catch_up.window_minutes.into());
            map.serialize_entry("catch_up", &obj)?;
        }
    }
    if let Some(r) = t.retry {
        let mut obj = serde_json::Map::new();
        obj.insert("max".into(), r.max.into());
        obj.insert("backoff_minutes".into(), r.backoff_minutes.into());
        map.serialize_entry("retry", &obj)?;
    }
    if let Some(ids) = &t.notify {
        map.serialize_entry("notify", ids)?;
    }
    Ok(())
}

/// The task's content without its id as compact JSON: what generated ids and edit detection
/// hash.
pub(crate) fn body_json(t: &ScheduledTask) -> String {
    struct Body<'a>(&'a ScheduledTask);
    impl Serialize for Body<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(None)?;
            serialize_body(self.0, &mut map)?;
            map.end()
        }
    }
    serde_json::to_string(&Body(t)).expect("task serializes")
}

#[cfg(test)]
mod tests {
    use super::export_file_name;

    #[test]
    fn export_file_names_are_safe_slugs_of_the_name() {
        assert_eq!(
            export_file_name("Nightly retraining!"),
            "nightly-retraining.json"
        );
        assert_eq!(export_file_name("  --Ünïcode  "), "n-code.json");
        assert_eq!(export_file_name("***"), "scheduler.json");
        assert_eq!(export_file_name(&"a".repeat(100)).len(), 60 + ".json".len());
    }
}
