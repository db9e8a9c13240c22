//! The tick planner: configuration + state + the cron event's time in, actions + new state out.
//!
//! Sans-IO in the quinn-proto sense: [`plan_tick`] decides, the worker executes
//! ([`Action::Launch`] = clone + enqueue, [`Action::Abort`] = stop/dequeue, [`Action::Poll`] =
//! read statuses) and reports outcomes back through [`InstanceState`]'s `record_*` methods.
//!
//! Per task, the slots to decide at a tick are the fire instants in
//! `(evaluated_until, now]`. How late a slot is is `floor((now - fire) / 60)` minutes; the
//! task's [`CatchUp`] decides:
//! * `latest` (default, window 60): launch the most recent slot if it is at most `window`
//!   minutes late; every other slot is skipped as missed;
//! * `all`: launch every slot at most `window` minutes late (the newest 100 at most); the rest
//!   are missed;
//! * `skip`: launch only a slot of the current minute (window 0).
//!
//! `evaluated_until` then becomes `now` and never goes back, so a slot is decided once however
//! often, or however late, the planner is called.

use serde::{Deserialize, Serialize};

use crate::config::limits::MAX_CATCH_UP_SLOTS;
use crate::notify::{About, EventKind, News};
use crate::state::{
    fingerprint, next_due, PendingLaunch, PendingState, TaskState, IN_FLIGHT_GRACE_SECONDS,
};
use crate::{
    CatchUpPolicy, InstanceConfig, InstanceState, Instant, OpenRun, ScheduledTask, SlotKey,
    TaskStatus,
};

/// At most this many missed slots per task and tick are reported one by one; the rest are
/// summed up in one log line (a worker down for a month with an every-minute task).
pub const MAX_REPORTED_MISSES: usize = 100;

/// What the runtime should do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Clone the base task (tagged with `tag`, into `destination_project`, with
    /// `task_parameters`) and enqueue it on `queue`; then call
    /// [`InstanceState::record_launch`] or [`InstanceState::record_launch_failed`].
    Launch(Launch),
    /// A slot that will not be launched, and why. Informational: the slot is already consumed.
    Skip { slot: SlotKey, reason: SkipReason },
    /// Stop (if in progress) or dequeue (if queued) a run over its execution limit.
    Abort {
        item: String,
        task_id: String,
        status: TaskStatus,
    },
    /// Read the status of these ClearML tasks and report each with
    /// [`InstanceState::record_status`].
    Poll { task_ids: Vec<String> },
    /// A line for the instance's log.
    Log(LogLine),
    /// A run still queued after `stuck_after_minutes`: ask ClearML which workers listen to its
    /// queue (`workers.get_all`), then log [`stuck_line`] with the answer.
    Stuck(StuckRun),
}

/// A run still queued too long: what [`stuck_line`] tells.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StuckRun {
    pub item: String,
    pub task_id: String,
    pub fire: Instant,
    /// The task's queue (`None`: the configuration no longer has the task).
    pub queue: Option<String>,
    pub minutes: i64,
}

/// The log line (and the channels' `run_stuck` news) for a stuck run, with what ClearML said of
/// the workers listening to its queue: how many, or why it could not be asked.
pub fn stuck_line(s: &StuckRun, workers: Result<usize, String>, now: Instant) -> LogLine {
    let head = format!(
        "Run {} of {} is still queued after {} minutes",
        s.task_id, s.item, s.minutes
    );
    let queue = s
        .queue
        .as_ref()
        .map_or_else(|| "its queue".to_string(), |q| format!("queue \"{q}\""));
    let start = s.queue.as_deref().unwrap_or("...");
    let message = match workers {
        Ok(0) => format!(
            "{head}: ClearML lists no worker listening to {queue}, so no agent serves it; start one (clearml-agent daemon --queue {start})"
        ),
        Ok(n) => format!(
            "{head} on {queue}, which ClearML lists {n} worker(s) listening to: they may be busy with other tasks or stuck; check them in ClearML's Workers & Queues page"
        ),
        Err(why) => format!(
            "{head}: no agent seems to serve {queue} (ClearML's worker list could not be read: {why}); start one (clearml-agent daemon --queue {start}) or check the queue in ClearML"
        ),
    };
    LogLine::new(now, Level::Warn, message).about(About::failed(
        EventKind::RunStuck,
        &s.item,
        Some(s.fire),
        Some(&s.task_id),
    ))
}

/// Everything the runtime needs to launch one slot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    pub slot: SlotKey,
    /// [`SlotKey::tag`], to put on the clone as a system tag.
    pub tag: String,
    pub name: String,
    pub base_task_id: String,
    pub queue: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_project: Option<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub task_parameters: std::collections::BTreeMap<String, String>,
    /// 0 for a first attempt, N for the Nth retry after a reported failure.
    pub retry: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipReason {
    /// The slot was late beyond the catch-up policy (or superseded by a later slot under
    /// `latest`).
    Missed { policy: String, late_minutes: i64 },
    /// `single_instance` and the previous clone is still queued or running.
    PreviousRunning { task_id: String },
    /// Every launch attempt failed until the slot left its catch-up window.
    LaunchFailed { attempts: u32, error: String },
    /// The runtime never reported the outcome of the launch.
    OutcomeUnknown,
    /// The task left the configuration while a launch of the slot had started (a retry
    /// pending, or an attempt out): what that launch left in ClearML is cleaned up.
    TaskRemoved,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// One log line, timestamped with the tick's time (UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub at: Instant,
    pub level: Level,
    pub message: String,
    /// What it tells the notification channels, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<About>,
}

impl LogLine {
    pub fn new(at: Instant, level: Level, message: impl Into<String>) -> LogLine {
        LogLine {
            at,
            level,
            message: message.into(),
            about: None,
        }
    }

    /// The line, as news for the channels.
    pub fn about(mut self, about: About) -> LogLine {
        self.about = Some(about);
        self
    }
}

impl std::fmt::Display for LogLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.level {
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        };
        write!(f, "{} {level} {}", self.at, self.message)
    }
}

/// The result of one tick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub actions: Vec<Action>,
    /// The state to store (the runtime then applies outcomes to it with `record_*`).
    pub state: InstanceState,
}

impl Plan {
    pub fn launches(&self) -> impl Iterator<Item = &Launch> {
        self.actions.iter().filter_map(|a| match a {
            Action::Launch(l) => Some(l),
            _ => None,
        })
    }
}

struct Out {
    now: Instant,
    actions: Vec<Action>,
}

impl Out {
    fn log(&mut self, level: Level, message: String) {
        self.actions
            .push(Action::Log(LogLine::new(self.now, level, message)));
    }

    fn tell(&mut self, level: Level, message: String, about: About) {
        self.actions.push(Action::Log(
            LogLine::new(self.now, level, message).about(about),
        ));
    }
}

/// Plans one tick of instance `instance_id` at `now` (the cron event's scheduled time).
///
/// Pure: the same inputs give the same plan. Calling it again with the same or an older `now`
/// on the returned state launches nothing new.
pub fn plan_tick(
    instance_id: &str,
    config: &InstanceConfig,
    state: &InstanceState,
    now: Instant,
) -> Plan {
    let mut st = state.clone();
    let mut out = Out {
        now,
        actions: Vec::new(),
    };
    // Tasks no longer in the config are forgotten (what their failed launches left is cleaned
    // up; one still out is its owner's, whose failure hands it to the clean-up); tasks without
    // state (a config stored without `on_config_saved`) start now.
    for (item, p) in st.forget_removed_tasks(config) {
        if p.claim.is_none() {
            out.actions.push(Action::Skip {
                slot: SlotKey::new(instance_id, &item, p.fire).rerun(p.rerun),
                reason: SkipReason::TaskRemoved,
            });
        }
    }
    for task in config.scheduled_tasks() {
        if !st.tasks.contains_key(task.id()) {
            out.log(
                Level::Warn,
                format!(
                    "Task {} has no saved state; scheduling it from now on",
                    task.display_name()
                ),
            );
            st.tasks.insert(
                task.id().to_string(),
                TaskState {
                    fingerprint: fingerprint(task),
                    evaluated_until: now,
                    pending: vec![],
                },
            );
        }
    }
    for task in config.scheduled_tasks() {
        plan_task(instance_id, task, &mut st, &mut out);
    }
    supervise(&mut st, &mut out, Some(config));
    st.last_tick = Some(st.last_tick.map_or(now, |t| t.max(now)));
    st.next_due = next_due(config, &st);
    Plan {
        actions: out.actions,
        state: st,
    }
}

/// Plans one tick of a paused instance: no slot is decided or launched (its slots stay
/// undecided; on resume, [`InstanceState::on_resumed`] schedules from then on),
/// but the runs already out are still watched: polled until they end, and aborted past their
/// execution limit. Pausing stops new work, not the care of what is running.
pub fn plan_paused(state: &InstanceState, now: Instant) -> Plan {
    let mut st = state.clone();
    let mut out = Out {
        now,
        actions: Vec::new(),
    };
    supervise(&mut st, &mut out, None);
    Plan {
        actions: out.actions,
        state: st,
    }
}

/// Execution limits, runs stuck in their queue, and status polling for the runs out at
/// `out.now`. `config` names the queues (a paused instance's tick has none at hand).
fn supervise(st: &mut InstanceState, out: &mut Out, config: Option<&InstanceConfig>) {
    let now = out.now;
    // A run still queued this long after its launch is told as stuck: no agent seems to serve
    // its queue.
    let stuck_after = i64::from(
        config.map_or(crate::channels::DEFAULT_STUCK_AFTER_MINUTES, |c| {
            c.notifications().stuck_after_minutes()
        }),
    );
    for run in st.runs.iter_mut() {
        let queued_for = (now.unix_seconds() - run.started.unix_seconds()).div_euclid(60);
        if run.status == TaskStatus::Queued && !run.stuck_reported && queued_for >= stuck_after {
            run.stuck_reported = true;
            out.actions.push(Action::Stuck(StuckRun {
                item: run.item.clone(),
                task_id: run.task_id.clone(),
                fire: run.fire,
                queue: config
                    .and_then(|c| c.task(&run.item))
                    .map(|t| t.queue().to_string()),
                minutes: queued_for,
            }));
        }
        if let Some(limit) = run.limit_seconds {
            if run.status.is_open() && !run.abort_requested && run.started.add_seconds(limit) <= now
            {
                run.abort_requested = true;
                out.actions.push(Action::Abort {
                    item: run.item.clone(),
                    task_id: run.task_id.clone(),
                    status: run.status,
                });
                out.log(
                    Level::Warn,
                    format!("Aborting job due to timeout: {}", run.task_id),
                );
            }
        }
    }
    let open: Vec<String> = st
        .runs
        .iter()
        .filter(|r| r.status.is_open())
        .map(|r| r.task_id.clone())
        .collect();
    if !open.is_empty() {
        out.actions.push(Action::Poll { task_ids: open });
    }
}

/// The log line for a run that ended (as [`InstanceState::record_status`] returned it) in
/// `status`; its news for the channels: a failure, a stop or an abort by the execution limit
/// is told; a completion ends the task's failures.
pub fn run_ended(run: &OpenRun, status: TaskStatus, name: &str, now: Instant) -> Option<LogLine> {
    let id = &run.task_id;
    let (level, message, news) = match status {
        TaskStatus::Completed
        | TaskStatus::Published
        | TaskStatus::Publishing
        | TaskStatus::Closed => (
            Level::Info,
            format!("Run {id} of {name} completed"),
            News::Completed,
        ),
        TaskStatus::Failed => (
            Level::Error,
            format!("Run {id} of {name} failed in ClearML; its log in ClearML says why"),
            News::Failed(EventKind::RunFailed),
        ),
        TaskStatus::Stopped if run.abort_requested => (
            Level::Warn,
            format!("Run {id} of {name} was aborted: it ran past its execution limit"),
            News::Failed(EventKind::RunFailed),
        ),
        TaskStatus::Stopped => (
            Level::Warn,
            format!("Run {id} of {name} was stopped before it finished"),
            News::Failed(EventKind::RunFailed),
        ),
        _ => return None,
    };
    let about = About {
        news,
        item: run.item.clone(),
        slot: Some(run.fire),
        task_id: Some(id.clone()),
    };
    Some(LogLine::new(now, level, message).about(about))
}

/// How late a failed launch is still retried, whatever the catch-up window (see `plan_task`).
pub const MIN_RETRY_WINDOW_MINUTES: i64 = 5;

fn late_minutes(now: Instant, fire: Instant) -> i64 {
    (now.unix_seconds() - fire.unix_seconds()).div_euclid(60)
}

fn plan_task(instance_id: &str, task: &ScheduledTask, st: &mut InstanceState, out: &mut Out) {
    let now = out.now;
    let catch_up = task.catch_up();
    let window = i64::from(catch_up.effective_window_minutes());
    // A launch that failed for a reason that may pass is retried within the window, and for a
    // few minutes whatever the policy: `skip` (window 0) means "no catch-up after downtime", not
    // "one 503 loses the slot".
    let retry_window = window.max(MIN_RETRY_WINDOW_MINUTES);
    let slot = |fire| SlotKey::new(instance_id, task.id(), fire);
    let slot_of = |p: &PendingLaunch| slot(p.fire).rerun(p.rerun);

    // 1. Launches awaiting an outcome: retry failures within the window, drop stale ones;
    //    reruns whose time came.
    let pending = std::mem::take(&mut st.tasks.get_mut(task.id()).expect("state exists").pending);
    let mut keep = Vec::new();
    for mut p in pending {
        let late = late_minutes(now, p.due());
        match p.state {
            PendingState::Waiting if late < 0 => keep.push(p),
            PendingState::Waiting if late <= window && task.enabled() => {
                out.log(
                    Level::Info,
                    format!(
                        "Rerunning {} for {} after its run failed (rerun {} of {})",
                        task.display_name(),
                        p.fire,
                        p.rerun,
                        task.retry().map_or(p.rerun, |r| r.max)
                    ),
                );
                out.actions
                    .push(Action::Launch(launch(task, slot_of(&p), p.attempts)));
                p.state = PendingState::InFlight;
                keep.push(p);
            }
            PendingState::Waiting => out.tell(
                Level::Warn,
                format!(
                    "Rerun {} of {} for {} not launched: {}",
                    p.rerun,
                    task.display_name(),
                    p.fire,
                    if task.enabled() {
                        "its time passed beyond the catch-up window (the scheduler was not running)"
                    } else {
                        "the task is paused"
                    }
                ),
                About::failed(EventKind::SlotMissed, task.id(), Some(p.fire), None),
            ),
            PendingState::Failed if late < 0 => keep.push(p), // an older, late-delivered tick
            // Backing off: not yet.
            PendingState::Failed
                if late <= retry_window
                    && task.enabled()
                    && p.retry_at.is_some_and(|t| t > now) =>
            {
                keep.push(p)
            }
            PendingState::Failed if late <= retry_window && task.enabled() => {
                out.log(
                    Level::Info,
                    format!(
                        "Retrying launch of {} for {} (attempt {})",
                        task.display_name(),
                        p.fire,
                        p.attempts + 1
                    ),
                );
                out.actions
                    .push(Action::Launch(launch(task, slot_of(&p), p.attempts)));
                p.state = PendingState::InFlight;
                keep.push(p);
            }
            PendingState::Failed => {
                let error = p.last_error.clone().unwrap_or_default();
                // Told once the runtime's clean-up knows nothing was enqueued after all
                // ([`given_up_line`]).
                out.log(
                    Level::Error,
                    format!(
                        "Giving up on {} for {} after {} failed launch attempt(s): {error}",
                        task.display_name(),
                        p.fire,
                        p.attempts
                    ),
                );
                out.actions.push(Action::Skip {
                    slot: slot_of(&p),
                    reason: SkipReason::LaunchFailed {
                        attempts: p.attempts,
                        error,
                    },
                });
            }
            // A claimed launch is its owner's: it reports the outcome, or its lease runs out
            // and the claim becomes a failed attempt (retried, or given up with a clean-up).
            // Giving it up here, while a call of it may still land, would race that call.
            PendingState::InFlight
                if p.claim.is_none()
                    && now.unix_seconds() - p.due().unix_seconds()
                        > window * 60 + 60 + IN_FLIGHT_GRACE_SECONDS =>
            {
                out.log(
                    Level::Warn,
                    format!(
                        "No launch outcome was reported for {} at {}; giving up on that slot",
                        task.display_name(),
                        p.fire
                    ),
                );
                out.actions.push(Action::Skip {
                    slot: slot_of(&p),
                    reason: SkipReason::OutcomeUnknown,
                });
            }
            PendingState::InFlight => keep.push(p),
        }
    }
    let ts = st.tasks.get_mut(task.id()).expect("state exists");
    ts.pending = keep;

    // 2. New slots in (evaluated_until, now].
    let from = ts.evaluated_until;
    if now <= from {
        return;
    }
    ts.evaluated_until = now;
    if !task.enabled() {
        return;
    }
    let schedule = task.schedule();
    // Slots at or before `cutoff` are more than `window` minutes late: missed whatever the
    // policy. Enumerate (a bounded number of) them for the log, then the launchable ones.
    let cutoff = now.add_seconds(-(window + 1) * 60);
    let mut missed: Vec<Instant> = Vec::new();
    let mut more_missed = false;
    let mut t = from;
    while let Some(fire) = schedule.next_fire_after(t).filter(|f| *f <= cutoff) {
        if missed.len() == MAX_REPORTED_MISSES {
            more_missed = true;
            break;
        }
        missed.push(fire);
        t = fire;
    }
    let mut due: Vec<Instant> = Vec::new();
    let mut t = from.max(cutoff);
    while let Some(fire) = schedule.next_fire_after(t).filter(|f| *f <= now) {
        due.push(fire);
        t = fire;
    }
    let launch_from = match catch_up.policy {
        CatchUpPolicy::Latest | CatchUpPolicy::Skip => due.len().saturating_sub(1),
        CatchUpPolicy::All => due.len().saturating_sub(MAX_CATCH_UP_SLOTS),
    };
    let superseded: Vec<Instant> = due.drain(..launch_from).collect();
    for fire in missed.iter().chain(&superseded) {
        let late = late_minutes(now, *fire);
        out.actions.push(Action::Skip {
            slot: slot(*fire),
            reason: SkipReason::Missed {
                policy: catch_up.policy.name().into(),
                late_minutes: late,
            },
        });
    }
    if !missed.is_empty() || !superseded.is_empty() {
        let n = missed.len() + superseded.len();
        let first = missed.iter().chain(&superseded).min().copied();
        out.tell(
            Level::Warn,
            format!(
                "Missed {}{n} slot(s) of {} (catch_up={}, window {} min): {}",
                if more_missed { "more than " } else { "" },
                task.display_name(),
                catch_up.policy.name(),
                window,
                missed_summary(&missed, &superseded, more_missed),
            ),
            About::failed(EventKind::SlotMissed, task.id(), first, None),
        );
    }
    for fire in due {
        launch_or_skip(task, slot(fire), st, out);
    }
}

fn missed_summary(missed: &[Instant], superseded: &[Instant], more: bool) -> String {
    let all: Vec<&Instant> = missed.iter().chain(superseded).collect();
    let mut s = match all.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] => format!("{first} .. {last}"),
    };
    if more {
        s.push_str(" and older");
    }
    s
}

/// The slots an edit takes from the schedule it replaces, told as missed: slots of each task
/// `after` changed, by its schedule in `before`, that no tick decided (after the task's
/// `evaluated_until`, or after its previous change, whichever is later) and that fall before
/// the save's own minute (which stays the task's to decide: [`InstanceState::on_config_changed`]).
/// Ticks a minute apart leave none; after a time the scheduler was not ticking (an outage, a
/// cron that ran late), these would have been launched or told as missed by the next tick, and
/// the edit, which restarts the task from the save, drops them. `changed_at` is when each task
/// last changed before this save (the record's, not this save's). The save's own minute is
/// decided by the new schedule: an old slot in it that the new one does not launch is dropped
/// too. Nothing from before `resumed_at` (the last resume; [`InstanceState::on_resumed`]): slots
/// in a pause are not launched by intent. The caller tells nothing while the instance is paused.
pub fn slots_dropped_by_edit(
    before: &InstanceConfig,
    after: &InstanceConfig,
    state: &InstanceState,
    changed_at: impl Fn(&str) -> Option<Instant>,
    resumed_at: Option<Instant>,
    saved_at: Instant,
) -> Vec<LogLine> {
    let minute = Instant::from_unix_seconds(saved_at.unix_seconds().div_euclid(60) * 60);
    let until = minute.add_seconds(-1);
    let fires_at = |task: &ScheduledTask, at: Instant| {
        task.enabled() && task.schedule().next_fire_after(at.add_seconds(-1)) == Some(at)
    };
    let mut lines = Vec::new();
    for task in after.scheduled_tasks() {
        let Some(old) = before.task(task.id()) else {
            continue; // new: it had no slots
        };
        if !old.enabled() || fingerprint(old) == fingerprint(task) {
            continue;
        }
        let previous = changed_at(task.id());
        let from = match (state.tasks.get(task.id()), previous) {
            (Some(ts), Some(at)) => ts.evaluated_until.max(Instant::from_unix_seconds(
                at.unix_seconds().div_euclid(60) * 60 - 1,
            )),
            (Some(ts), None) => ts.evaluated_until,
            // Saved, then edited again before any tick replanned it: from its first save.
            (None, Some(at)) => at,
            (None, None) => continue,
        };
        let from = resumed_at.map_or(from, |r| from.max(r));
        let schedule = old.schedule();
        let mut dropped = Vec::new();
        let mut more = false;
        let mut t = from;
        while let Some(fire) = schedule.next_fire_after(t).filter(|f| *f <= until) {
            if dropped.len() == MAX_REPORTED_MISSES {
                more = true;
                break;
            }
            dropped.push(fire);
            t = fire;
        }
        if !more && minute > from && fires_at(old, minute) && !fires_at(task, minute) {
            dropped.push(minute);
        }
        let Some(&first) = dropped.first() else {
            continue;
        };
        lines.push(
            LogLine::new(
                saved_at,
                Level::Warn,
                format!(
                    "Missed {}{} slot(s) of {}: {}; not launched: the task was edited \
                     while the scheduler was behind (no tick had decided them)",
                    if more { "more than " } else { "" },
                    dropped.len(),
                    old.display_name(),
                    missed_summary(&dropped, &[], false),
                ),
            )
            .about(About::failed(
                EventKind::SlotMissed,
                task.id(),
                Some(first),
                None,
            )),
        );
    }
    lines
}

/// The launch of slot `fire` of task `item` (for an in-flight launch the runtime takes on);
/// `None` when the config no longer has the task.
pub fn launch_of(
    instance_id: &str,
    config: &InstanceConfig,
    item: &str,
    fire: Instant,
    rerun: u32,
    retry: u32,
) -> Option<Launch> {
    let task = config.task(item)?;
    Some(launch(
        task,
        SlotKey::new(instance_id, item, fire).rerun(rerun),
        retry,
    ))
}

/// The launch a clean-up of `slot` works from: its task's, or, the task removed from the
/// configuration since, one named by the task's id (a clean-up only lists the slot's clones by
/// their tag and deletes those never enqueued).
pub fn clean_up_launch(instance_id: &str, config: &InstanceConfig, slot: &SlotKey) -> Launch {
    launch_of(instance_id, config, &slot.item, slot.fire, slot.rerun, 1).unwrap_or_else(|| Launch {
        slot: slot.clone(),
        tag: slot.tag(),
        name: slot.item.clone(),
        base_task_id: String::new(),
        queue: String::new(),
        destination_project: None,
        task_parameters: Default::default(),
        retry: 1,
    })
}

/// The line for a slot given up ([`Action::Skip`] with [`SkipReason::LaunchFailed`],
/// [`SkipReason::OutcomeUnknown`] or [`SkipReason::TaskRemoved`]) once the runtime's clean-up
/// asked ClearML about it: a clone found enqueued after all (its answer had been lost: the slot
/// did launch, news of a success); otherwise a failure, told to the channels (but for a task
/// removed on purpose: logged only).
pub fn given_up_line(
    slot: &SlotKey,
    name: &str,
    reason: &SkipReason,
    found: Found<'_>,
    now: Instant,
) -> LogLine {
    let about = |news, task_id: Option<&str>| About {
        news,
        item: slot.item.clone(),
        slot: Some(slot.fire),
        task_id: task_id.map(str::to_string),
    };
    match found {
        Found::Enqueued(task_id) => LogLine::new(
            now,
            Level::Info,
            format!(
                "{name} for {} was enqueued after all, as ClearML task {task_id}",
                slot.fire
            ),
        )
        .about(about(News::Launched, Some(task_id))),
        Found::Nothing | Found::Unchecked if *reason == SkipReason::TaskRemoved => {
            let (level, left) = match found {
                Found::Nothing => (Level::Info, "nothing of it is left in ClearML".to_string()),
                _ => (
                    Level::Warn,
                    format!(
                        "whether it left a clone in ClearML could not be checked (look for tag {})",
                        slot.tag()
                    ),
                ),
            };
            LogLine::new(
                now,
                level,
                format!(
                    "{name} was not launched for {}: its task was removed from the configuration \
                     while its launch was under way; {left}",
                    slot.fire
                ),
            )
        }
        Found::Nothing | Found::Unchecked => {
            let (kind, why) = match reason {
                SkipReason::LaunchFailed { attempts, error } => (
                    EventKind::LaunchFailed,
                    format!("{attempts} launch attempt(s) failed, the last with: {error}"),
                ),
                _ => (
                    EventKind::SlotMissed,
                    "no launch outcome was ever reported".to_string(),
                ),
            };
            let checked = match found {
                Found::Nothing => "nothing of it is enqueued in ClearML".to_string(),
                _ => format!(
                    "whether a clone of it was enqueued could not be checked in ClearML (look for tag {})",
                    slot.tag()
                ),
            };
            LogLine::new(
                now,
                Level::Error,
                format!("{name} did not run for {}: {why}; {checked}", slot.fire),
            )
            .about(about(News::Failed(kind), None))
        }
    }
}

/// What a given-up slot's clean-up found in ClearML ([`given_up_line`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found<'a> {
    /// This clone of the slot was enqueued after all.
    Enqueued(&'a str),
    /// No clone of it is enqueued.
    Nothing,
    /// ClearML could not be asked (given up asking).
    Unchecked,
}

/// A run that ended `status` (as [`InstanceState::record_status`] returned it): when it failed,
/// or ClearML stopped it because its agent stopped answering (`forced`), and its task's `retry`
/// allows another rerun, the next rerun is scheduled `backoff_minutes` from `now`. Returns the
/// log line saying so.
pub fn plan_rerun(
    config: &InstanceConfig,
    state: &mut InstanceState,
    run: &OpenRun,
    status: TaskStatus,
    forced: bool,
    now: Instant,
) -> Option<LogLine> {
    let failed = status == TaskStatus::Failed
        || (status == TaskStatus::Stopped && forced && !run.abort_requested);
    let task = config.task(&run.item)?;
    let retry = task.retry()?;
    if !failed || !task.enabled() || run.rerun >= retry.max {
        return None;
    }
    let ts = state.tasks.get_mut(task.id())?;
    let rerun = run.rerun + 1;
    if ts
        .pending
        .iter()
        .any(|p| p.fire == run.fire && p.rerun >= rerun)
    {
        return None;
    }
    let due = now.add_seconds(i64::from(retry.backoff_minutes) * 60);
    ts.pending.push(PendingLaunch {
        fire: run.fire,
        rerun,
        due: Some(due),
        state: PendingState::Waiting,
        attempts: 0,
        last_error: None,
        limit_seconds: task.execution_limit_seconds(),
        claim: None,
        retry_at: None,
    });
    state.next_due = Some(state.next_due.map_or(due, |d| d.min(due)));
    let why = if status == TaskStatus::Failed {
        "failed"
    } else {
        "was stopped by ClearML (its agent stopped answering)"
    };
    Some(LogLine::new(
        now,
        Level::Warn,
        format!(
            "Run {} of {} for {} {why}; rerun {rerun} of {} at {due}",
            run.task_id,
            task.display_name(),
            run.fire,
            retry.max
        ),
    ))
}

fn launch(task: &ScheduledTask, slot: SlotKey, retry: u32) -> Launch {
    Launch {
        tag: slot.tag(),
        slot,
        name: task.display_name().to_string(),
        base_task_id: task.base_task_id().to_string(),
        queue: task.queue().to_string(),
        destination_project: task.destination_project().map(str::to_string),
        task_parameters: task.task_parameters().clone(),
        retry,
    }
}

/// The runs whose status now decides a slot due at `now`: a single-instance task's previous
/// runs that the planner would skip the slot for, as the last poll saw them (up to a minute
/// ago). The SDK's scheduler reads that status as the slot fires; the worker asks ClearML
/// about these runs before it plans, so a run that ended since the last poll does not cost
/// its task the slot. Empty (and no planning) unless such a task has a run seen running.
pub fn runs_deciding_slots(
    instance_id: &str,
    config: &InstanceConfig,
    state: &InstanceState,
    now: Instant,
) -> Vec<String> {
    let seen_running = |task: &ScheduledTask| {
        state
            .runs
            .iter()
            .any(|r| r.item == task.id() && r.status.is_running())
    };
    if !config
        .scheduled_tasks()
        .iter()
        .any(|t| t.single_instance() && seen_running(t))
    {
        return Vec::new();
    }
    plan_tick(instance_id, config, state, now)
        .actions
        .into_iter()
        .filter_map(|a| match a {
            // A run, not a launch in flight (which has no status to read yet).
            Action::Skip {
                reason: SkipReason::PreviousRunning { task_id },
                ..
            } if state.runs.iter().any(|r| r.task_id == task_id) => Some(task_id),
            _ => None,
        })
        .collect()
}

fn launch_or_skip(task: &ScheduledTask, slot: SlotKey, st: &mut InstanceState, out: &mut Out) {
    // Already pending (a run-now for this minute, planned by an earlier, late-delivered tick):
    // one launch per slot.
    if st.tasks[task.id()]
        .pending
        .iter()
        .any(|p| p.fire == slot.fire)
        || st
            .runs
            .iter()
            .any(|r| r.item == task.id() && r.fire == slot.fire)
    {
        return;
    }
    if task.single_instance() {
        let running = st
            .runs
            .iter()
            .rev()
            .find(|r| r.item == task.id() && r.status.is_running())
            .map(|r| r.task_id.clone())
            .or_else(|| {
                st.tasks[task.id()]
                    .pending
                    .iter()
                    .find(|p| p.state == PendingState::InFlight)
                    .map(|p| format!("(launch for {} in flight)", p.fire))
            });
        if let Some(previous) = running {
            out.log(
                Level::Info,
                format!(
                    "Skipping Task {} scheduling, previous Task instance {previous} still running",
                    task.base_task_id()
                ),
            );
            out.actions.push(Action::Skip {
                slot,
                reason: SkipReason::PreviousRunning { task_id: previous },
            });
            return;
        }
    }
    out.log(
        Level::Info,
        format!(
            "Launching job: {} (item {}, slot {})",
            task.display_name(),
            task.id(),
            slot.fire
        ),
    );
    out.log(
        Level::Info,
        format!(
            "Scheduling Job {}, Task {} on queue {}.",
            task.display_name(),
            task.base_task_id(),
            task.queue()
        ),
    );
    let ts = st.tasks.get_mut(task.id()).expect("state exists");
    ts.pending.push(PendingLaunch {
        fire: slot.fire,
        rerun: 0,
        due: None,
        state: PendingState::InFlight,
        attempts: 0,
        last_error: None,
        limit_seconds: task.execution_limit_seconds(),
        claim: None,
        retry_at: None,
    });
    out.actions.push(Action::Launch(launch(task, slot, 0)));
}

/// Plans a "run now" of task `item`, asked for at `at` (floored to the minute): the same launch
/// path as a scheduled slot, keyed (instance, item, minute), so the slot's ClearML tag keeps it
/// to one clone however often the request is seen. `None` when the config has no such task or
/// that slot is already being launched or running.
pub fn plan_run_now(
    instance_id: &str,
    config: &InstanceConfig,
    state: &InstanceState,
    item: &str,
    at: Instant,
) -> Option<Plan> {
    let task = config.task(item)?;
    let fire = Instant::from_unix_seconds(at.unix_seconds().div_euclid(60) * 60);
    let mut st = state.clone();
    let ts = st
        .tasks
        .entry(task.id().to_string())
        .or_insert_with(|| TaskState {
            fingerprint: fingerprint(task),
            evaluated_until: at,
            pending: vec![],
        });
    if ts.pending.iter().any(|p| p.fire == fire)
        || st.runs.iter().any(|r| r.item == item && r.fire == fire)
    {
        return None;
    }
    ts.pending.push(PendingLaunch {
        fire,
        rerun: 0,
        due: None,
        state: PendingState::InFlight,
        attempts: 0,
        last_error: None,
        limit_seconds: task.execution_limit_seconds(),
        claim: None,
        retry_at: None,
    });
    let slot = SlotKey::new(instance_id, task.id(), fire);
    let mut out = Out {
        now: at,
        actions: Vec::new(),
    };
    out.log(
        Level::Info,
        format!(
            "Run now requested: launching job {} (item {}, slot {fire})",
            task.display_name(),
            task.id()
        ),
    );
    out.actions.push(Action::Launch(launch(task, slot, 0)));
    st.next_due = next_due(config, &st);
    Some(Plan {
        actions: out.actions,
        state: st,
    })
}

#[cfg(test)]
mod run_now_tests {
    use super::*;

    #[test]
    fn run_now_launches_once_and_then_waits_for_the_outcome() {
        let config = crate::parse_config(
            r#"{"format":"clearml-task-scheduler/v1","name":"n","scheduled_tasks":[
                {"id":"a","base_task_id":"b","queue":"q","recurrence":"daily","times":["06:20"]}]}"#,
            Instant::from_utc(2026, 1, 1, 0, 0).unwrap(),
        )
        .unwrap();
        let saved = Instant::from_utc(2026, 1, 1, 0, 0).unwrap();
        let mut state = InstanceState::default();
        state.on_config_saved(&config, saved);
        let at = Instant::from_utc(2026, 1, 1, 10, 0)
            .unwrap()
            .add_seconds(17);
        let plan = plan_run_now("i", &config, &state, "a", at).expect("launches");
        let launches: Vec<&Launch> = plan.launches().collect();
        assert_eq!(launches.len(), 1);
        assert_eq!(
            launches[0].slot.fire,
            Instant::from_utc(2026, 1, 1, 10, 0).unwrap()
        );
        assert!(
            plan_run_now("i", &config, &plan.state, "a", at).is_none(),
            "never twice"
        );
        assert!(plan_run_now("i", &config, &state, "nope", at).is_none());
        let mut after = plan.state.clone();
        after.record_launch(&launches[0].slot, "t1", at);
        assert!(
            plan_run_now("i", &config, &after, "a", at).is_none(),
            "already running"
        );
    }
}

#[cfg(test)]
mod stuck_tests {
    use super::*;

    #[test]
    fn a_run_queued_too_long_is_reported_once_with_its_queue() {
        let t0 = Instant::from_utc(2026, 1, 1, 6, 0).unwrap();
        let config = crate::parse_config(
            r#"{"format":"clearml-task-scheduler/v1","name":"n","scheduled_tasks":[
                {"id":"a","base_task_id":"b","queue":"gpu","recurrence":"daily","times":["06:20"]}]}"#,
            t0,
        )
        .unwrap();
        let mut state = InstanceState::default();
        state.on_config_saved(&config, t0);
        let fire = Instant::from_utc(2026, 1, 1, 6, 20).unwrap();
        let plan = plan_tick("i", &config, &state, fire);
        let slot = plan.launches().next().expect("due").slot.clone();
        let mut state = plan.state;
        state.record_launch(&slot, "t1", fire);
        let warnings = |plan: &Plan| -> Vec<String> {
            plan.actions
                .iter()
                .filter_map(|a| match a {
                    Action::Stuck(s) => Some(stuck_line(s, Ok(0), s.fire).message),
                    _ => None,
                })
                .collect()
        };
        let early = plan_tick("i", &config, &state, fire.add_seconds(29 * 60));
        assert!(warnings(&early).is_empty());
        let late = plan_tick("i", &config, &early.state, fire.add_seconds(30 * 60));
        let said = warnings(&late);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains("queue \"gpu\"") && said[0].contains("t1"),
            "{}",
            said[0]
        );
        let later = plan_tick("i", &config, &late.state, fire.add_seconds(31 * 60));
        assert!(warnings(&later).is_empty(), "said once");
        // A run that started is not stuck.
        let mut running = early.state.clone();
        running.record_status("t1", TaskStatus::InProgress);
        assert!(warnings(&plan_tick(
            "i",
            &config,
            &running,
            fire.add_seconds(40 * 60)
        ))
        .is_empty());
        // A paused instance's tick says it too, without the queue's name at hand.
        let paused = plan_paused(&early.state, fire.add_seconds(30 * 60));
        assert!(warnings(&paused)[0].contains("its queue"));
    }

    #[test]
    fn a_stuck_line_says_what_clearml_said_of_the_queues_workers() {
        let s = StuckRun {
            item: "a".into(),
            task_id: "t1".into(),
            fire: Instant::from_utc(2026, 1, 1, 6, 20).unwrap(),
            queue: Some("gpu".into()),
            minutes: 30,
        };
        let now = s.fire.add_seconds(1800);
        let none = stuck_line(&s, Ok(0), now);
        assert!(none
            .message
            .contains("ClearML lists no worker listening to queue \"gpu\""));
        assert!(none.message.contains("clearml-agent daemon --queue gpu"));
        assert_eq!(none.level, Level::Warn);
        let about = none.about.unwrap();
        assert_eq!(
            (about.news, about.task_id.as_deref()),
            (News::Failed(EventKind::RunStuck), Some("t1"))
        );
        assert!(stuck_line(&s, Ok(2), now)
            .message
            .contains("lists 2 worker(s) listening to"));
        assert!(stuck_line(&s, Err("timed out".into()), now)
            .message
            .contains("could not be read: timed out"));
    }
}

#[cfg(test)]
mod rerun_tests {
    use super::*;
    use crate::Retry;

    fn setup(retry: &str) -> (InstanceConfig, InstanceState, Instant) {
        let t0 = Instant::from_utc(2026, 1, 1, 6, 0).unwrap();
        let config = crate::parse_config(
            &format!(
                r#"{{"format":"clearml-task-scheduler/v1","name":"n","scheduled_tasks":[
                {{"id":"a","base_task_id":"b","queue":"gpu","recurrence":"daily","times":["06:20"]{retry}}}]}}"#
            ),
            t0,
        )
        .unwrap();
        let mut state = InstanceState::default();
        state.on_config_saved(&config, t0);
        (config, state, Instant::from_utc(2026, 1, 1, 6, 20).unwrap())
    }

    /// Task `a`, daily at `times`, as saved at `at`.
    fn daily_at(times: &str, at: Instant) -> InstanceConfig {
        crate::parse_config(
            &format!(
                r#"{{"format":"clearml-task-scheduler/v1","name":"n","scheduled_tasks":[
                {{"id":"a","base_task_id":"b","queue":"gpu","recurrence":"daily","times":[{times}]}}]}}"#
            ),
            at,
        )
        .unwrap()
    }

    /// An edit made while the scheduler was not ticking drops the old schedule's undecided
    /// slots (the task restarts from the save): they are told as missed, exactly those the
    /// next tick no longer decides. Ticks a minute apart leave nothing to tell.
    #[test]
    fn slots_an_edit_drops_from_the_old_schedule_are_told_as_missed() {
        let at = |h, m| Instant::from_utc(2026, 1, 1, h, m).unwrap();
        let old = daily_at(r#""06:20","07:20","08:20""#, at(6, 0));
        let mut state = InstanceState::default();
        state.on_config_saved(&old, at(6, 0));
        state = plan_tick("i", &old, &state, at(6, 10)).state;
        // The cron stops after 06:10; the task is edited at 09:05.
        let new = daily_at(r#""10:00""#, at(9, 5));
        let saved = at(9, 5).add_seconds(7);
        let first = |_: &str| Some(at(6, 0));
        let lines = slots_dropped_by_edit(&old, &new, &state, first, None, saved);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0]
                .message
                .starts_with("Missed 3 slot(s) of b: 2026-01-01T06:20:00Z .. 2026-01-01T08:20:00Z"),
            "{}",
            lines[0].message
        );
        assert_eq!(
            lines[0].about.as_ref().map(|a| (a.news, a.slot)),
            Some((News::Failed(EventKind::SlotMissed), Some(at(6, 20))))
        );
        // Exactly what the replan drops: the tick after the edit decides none of them.
        let mut replanned = state.clone();
        replanned.on_config_saved(&new, saved);
        let after = plan_tick("i", &new, &replanned, at(9, 6));
        assert_eq!(after.launches().count(), 0);
        assert!(
            !after
                .actions
                .iter()
                .any(|a| matches!(a, Action::Skip { .. })),
            "{:?}",
            after.actions
        );

        // Ticking every minute: nothing undecided to drop.
        let ticked = plan_tick("i", &old, &state, at(9, 5)).state;
        assert!(slots_dropped_by_edit(&old, &new, &ticked, first, None, saved).is_empty());
        // The same task saved unchanged: nothing dropped (it keeps its progress).
        assert!(slots_dropped_by_edit(&old, &old, &state, first, None, saved).is_empty());
        // Edited twice in the outage: the second edit drops the first edit's schedule's slots
        // from that edit on, not the original's again.
        let between = daily_at(r#""09:10""#, at(9, 5));
        let edited = |_: &str| Some(saved);
        let again = slots_dropped_by_edit(&between, &new, &state, edited, None, at(9, 30));
        assert_eq!(again.len(), 1);
        assert!(
            again[0]
                .message
                .starts_with("Missed 1 slot(s) of b: 2026-01-01T09:10:00Z;"),
            "{}",
            again[0].message
        );
        // Resumed at 08:00 after a pause: the slots in the pause were not to launch.
        let resumed = slots_dropped_by_edit(&old, &new, &state, first, Some(at(8, 0)), saved);
        assert_eq!(resumed.len(), 1);
        assert!(
            resumed[0]
                .message
                .starts_with("Missed 1 slot(s) of b: 2026-01-01T08:20:00Z;"),
            "{}",
            resumed[0].message
        );
        // The save's own minute, before its tick: the new schedule decides it. An old slot
        // there is dropped unless the new schedule has it too.
        let at_0905 = daily_at(r#""09:05""#, at(6, 0));
        let ticked = plan_tick("i", &at_0905, &state, at(9, 4)).state;
        let own = slots_dropped_by_edit(&at_0905, &new, &ticked, first, None, saved);
        assert_eq!(own.len(), 1, "{own:?}");
        assert!(
            own[0]
                .message
                .starts_with("Missed 1 slot(s) of b: 2026-01-01T09:05:00Z;"),
            "{}",
            own[0].message
        );
        let kept = daily_at(r#""09:05","10:00""#, at(9, 5));
        assert!(slots_dropped_by_edit(&at_0905, &kept, &ticked, first, None, saved).is_empty());
    }

    /// Launches what `plan` says, as ClearML task `id`; returns the launched slot.
    fn launch_one(plan: Plan, id: &str, at: Instant) -> (InstanceState, SlotKey) {
        let slot = plan.launches().next().expect("a launch").slot.clone();
        let mut state = plan.state;
        assert!(state.claim(&slot, "me", 0).is_some());
        state.record_launch(&slot, id, at);
        (state, slot)
    }

    #[test]
    fn a_failed_run_is_rerun_after_the_backoff_under_its_own_key_up_to_max() {
        let (config, state, fire) = setup(r#", "retry": {"max": 2, "backoff_minutes": 10}"#);
        let (mut state, first) = launch_one(plan_tick("i", &config, &state, fire), "t0", fire);
        assert_eq!(first.rerun, 0);
        let mut id = "t0".to_string();
        let mut now = fire.add_seconds(300);
        for rerun in 1..=2 {
            let ended = state.record_status(&id, TaskStatus::Failed).unwrap();
            let line = plan_rerun(&config, &mut state, &ended, TaskStatus::Failed, false, now)
                .expect("a rerun");
            assert!(
                line.message.contains(&format!("rerun {rerun} of 2")),
                "{}",
                line.message
            );
            assert!(
                plan_rerun(&config, &mut state, &ended, TaskStatus::Failed, false, now).is_none(),
                "scheduled once"
            );
            let due = now.add_seconds(600);
            assert!(state.next_due.is_some_and(|d| d <= due));
            let early = plan_tick("i", &config, &state, due.add_seconds(-60));
            assert_eq!(early.launches().count(), 0, "not before its backoff");
            let plan = plan_tick("i", &config, &early.state, due);
            let launch = plan.launches().next().unwrap().clone();
            assert_eq!((launch.slot.fire, launch.slot.rerun), (fire, rerun));
            assert!(launch.tag.ends_with(&format!("r{rerun}")));
            let again = plan_tick("i", &config, &plan.state, due);
            assert_eq!(again.launches().count(), 0, "launched once");
            id = format!("t{rerun}");
            let (next, slot) = launch_one(plan, &id, due);
            assert_eq!(slot, launch.slot);
            assert_eq!(next.runs[0].rerun, rerun);
            state = next;
            now = due.add_seconds(300);
        }
        let ended = state.record_status(&id, TaskStatus::Failed).unwrap();
        assert!(
            plan_rerun(&config, &mut state, &ended, TaskStatus::Failed, false, now).is_none(),
            "max reached"
        );
    }

    #[test]
    fn only_failures_and_agent_deaths_are_rerun() {
        let (config, state, fire) = setup(r#", "retry": {"max": 3}"#);
        let (state, _) = launch_one(plan_tick("i", &config, &state, fire), "t0", fire);
        let now = fire.add_seconds(60);
        let cases = [
            (TaskStatus::Completed, false, false, false),
            (TaskStatus::Stopped, false, false, false),
            (TaskStatus::Stopped, true, false, true),
            // Stopped by its own execution limit: not rerun.
            (TaskStatus::Stopped, true, true, false),
            (TaskStatus::Failed, false, false, true),
        ];
        for (status, forced, aborted, rerun) in cases {
            let mut st = state.clone();
            let mut ended = st.record_status("t0", status).unwrap();
            ended.abort_requested = aborted;
            let planned = plan_rerun(&config, &mut st, &ended, status, forced, now);
            assert_eq!(
                planned.is_some(),
                rerun,
                "{status:?} forced={forced} aborted={aborted}"
            );
            if rerun {
                let due = now.add_seconds(i64::from(Retry::DEFAULT_BACKOFF_MINUTES) * 60);
                assert_eq!(st.tasks["a"].pending[0].due, Some(due));
            }
        }
        // Without `retry`, nothing is rerun.
        let (config, state, fire) = setup("");
        let (mut state, _) = launch_one(plan_tick("i", &config, &state, fire), "t0", fire);
        let ended = state.record_status("t0", TaskStatus::Failed).unwrap();
        assert!(plan_rerun(&config, &mut state, &ended, TaskStatus::Failed, false, now).is_none());
    }

    #[test]
    fn a_rerun_whose_time_passed_while_the_scheduler_was_down_is_told_not_launched() {
        let (config, state, fire) = setup(r#", "retry": {"max": 1, "backoff_minutes": 0}"#);
        let (mut state, _) = launch_one(plan_tick("i", &config, &state, fire), "t0", fire);
        let ended = state.record_status("t0", TaskStatus::Failed).unwrap();
        plan_rerun(&config, &mut state, &ended, TaskStatus::Failed, false, fire).unwrap();
        let late = plan_tick("i", &config, &state, fire.add_seconds(3 * 3600));
        assert_eq!(late.launches().count(), 0);
        let told: Vec<&LogLine> = late
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Log(l) if l.message.contains("not launched") => Some(l),
                _ => None,
            })
            .collect();
        assert_eq!(told.len(), 1);
        assert!(told[0].about.is_some());
        assert!(late.state.tasks["a"].pending.is_empty());
    }

    #[test]
    fn a_claimed_launch_is_never_given_up_for_want_of_an_outcome_only_an_unclaimed_one() {
        let (config, state, fire) = setup("");
        let plan = plan_tick("i", &config, &state, fire);
        let slot = plan.launches().next().expect("a launch").slot.clone();
        let gave_up = |plan: &Plan| {
            plan.actions.iter().any(|a| {
                matches!(a, Action::Skip { slot: s, reason: SkipReason::OutcomeUnknown } if *s == slot)
            })
        };
        // Far past the catch-up window and the grace: a claimed launch stays its owner's (its
        // call may still land; the lease turns it into a failed attempt if the owner died).
        let long_after = fire.add_seconds(6 * 3600);
        let mut claimed = plan.state.clone();
        assert!(claimed.claim(&slot, "owner", 0).is_some());
        let later = plan_tick("i", &config, &claimed, long_after);
        assert!(!gave_up(&later), "{:?}", later.actions);
        assert!(later.state.claim_of(&slot).is_some());
        // Unclaimed (nobody took it on), it is given up.
        let unclaimed = plan_tick("i", &config, &plan.state, long_after);
        assert!(gave_up(&unclaimed), "{:?}", unclaimed.actions);
        assert!(unclaimed.state.tasks["a"].pending.is_empty());
    }

    #[test]
    fn under_skip_a_failed_launch_is_still_retried_for_a_few_minutes_then_given_up() {
        let (config, state, fire) = setup(r#", "catch_up": "skip""#);
        let plan = plan_tick("i", &config, &state, fire);
        let slot = plan.launches().next().expect("a launch").slot.clone();
        let mut state = plan.state;
        assert!(state.claim(&slot, "me", 0).is_some());
        state.record_launch_failed(&slot, "HTTP 503");
        let retry = plan_tick("i", &config, &state, fire.add_seconds(60));
        assert_eq!(retry.launches().count(), 1, "retried a minute late");
        let mut state = retry.state;
        assert!(state.claim(&slot, "me", 0).is_some());
        state.record_launch_failed(&slot, "HTTP 503");
        let late = fire.add_seconds(60 * (MIN_RETRY_WINDOW_MINUTES + 1));
        let given_up = plan_tick("i", &config, &state, late);
        assert_eq!(given_up.launches().count(), 0);
        assert!(given_up.actions.iter().any(|a| matches!(
            a,
            Action::Skip {
                reason: SkipReason::LaunchFailed { attempts: 2, .. },
                ..
            }
        )));
    }

    #[test]
    fn a_removed_task_s_started_launches_are_handed_to_the_clean_up_never_attempted_ones_not() {
        let (config, state, fire) = setup("");
        let plan = plan_tick("i", &config, &state, fire);
        let slot = plan.launches().next().expect("a launch").slot.clone();
        let other = crate::parse_config(
            r#"{"format":"clearml-task-scheduler/v1","name":"n","scheduled_tasks":[
            {"id":"b","base_task_id":"b","queue":"gpu","recurrence":"daily","times":["06:20"]}]}"#,
            fire,
        )
        .unwrap();
        // Planned, never attempted: nothing can be in ClearML.
        let mut untried = plan.state.clone();
        assert!(untried.on_config_saved(&other, fire).is_empty());
        // An attempt out: handed over with its claim (not to be cleaned up under its feet).
        let mut out_now = plan.state.clone();
        assert!(out_now.claim(&slot, "me", 7).is_some());
        let handed = out_now.on_config_saved(&other, fire);
        assert_eq!(handed.len(), 1);
        assert_eq!(handed[0].1.claim.as_ref().map(|c| c.at_ms), Some(7));
        // A failed attempt (its clone kept for the retry), then the task removed.
        let mut failed = plan.state.clone();
        assert!(failed.claim(&slot, "me", 0).is_some());
        failed.record_launch_failed(&slot, "HTTP 503");
        let handed = failed.clone().on_config_saved(&other, fire);
        assert_eq!(handed.len(), 1);
        assert_eq!((handed[0].0.as_str(), handed[0].1.fire), ("a", fire));
        assert!(handed[0].1.claim.is_none());
        // A configuration stored without `on_config_saved`: the planner says so itself.
        let later = plan_tick("i", &other, &failed, fire.add_seconds(60));
        assert!(later.actions.iter().any(|a| matches!(a,
            Action::Skip { slot: s, reason: SkipReason::TaskRemoved } if *s == slot)));
        assert!(!later.state.tasks.contains_key("a"));
    }
}

#[cfg(test)]
mod given_up_tests {
    use super::*;

    #[test]
    fn a_given_up_slot_is_told_as_what_the_clean_up_found() {
        let slot = SlotKey::new("i", "a", Instant::from_utc(2026, 1, 1, 6, 20).unwrap());
        let reason = SkipReason::LaunchFailed {
            attempts: 3,
            error: "HTTP 503".into(),
        };
        let now = slot.fire.add_seconds(3600);
        let ran = given_up_line(&slot, "Retrain", &reason, Found::Enqueued("t9"), now);
        assert_eq!(ran.about.as_ref().unwrap().news, News::Launched);
        assert!(ran
            .message
            .contains("enqueued after all, as ClearML task t9"));
        let nothing = given_up_line(&slot, "Retrain", &reason, Found::Nothing, now);
        assert_eq!(
            nothing.about.as_ref().unwrap().news,
            News::Failed(EventKind::LaunchFailed)
        );
        assert!(nothing
            .message
            .contains("3 launch attempt(s) failed, the last with: HTTP 503"));
        assert!(nothing.message.contains("nothing of it is enqueued"));
        let unknown = given_up_line(
            &slot,
            "Retrain",
            &SkipReason::OutcomeUnknown,
            Found::Unchecked,
            now,
        );
        assert_eq!(
            unknown.about.as_ref().unwrap().news,
            News::Failed(EventKind::SlotMissed)
        );
        assert!(unknown.message.contains(&slot.tag()), "{}", unknown.message);
        // A task removed on purpose: logged, not told to the channels.
        let removed = given_up_line(&slot, "a", &SkipReason::TaskRemoved, Found::Nothing, now);
        assert!(removed.about.is_none());
        assert_eq!(removed.level, Level::Info);
        assert!(removed.message.contains("removed from the configuration"));
        let ran = given_up_line(
            &slot,
            "a",
            &SkipReason::TaskRemoved,
            Found::Enqueued("t9"),
            now,
        );
        assert_eq!(ran.about.as_ref().unwrap().news, News::Launched);
    }
}
