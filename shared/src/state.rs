//! [`InstanceState`]: what the planner remembers between ticks, and how the runtime reports
//! outcomes back into it.
//!
//! The state is small and serde-serializable (the worker keeps it in Cloudflare KV as JSON):
//! per task the instant up to which every slot has been decided plus the few launches awaiting
//! an outcome, and the open runs. History (executed runs) is the worker's business, not
//! the planner's.
//!
//! The launch protocol, which is what makes "never launched twice" hold:
//! 1. [`crate::plan_tick`] emits `Action::Launch` for a slot and records it as
//!    [`PendingState::InFlight`] in the returned state. An in-flight slot is never emitted
//!    again.
//! 2. The runtime clones (tagged with [`crate::SlotKey::tag`]) and enqueues, then reports:
//!    [`InstanceState::record_launch`] on success (the slot becomes an open run: consumed), or
//!    [`InstanceState::record_launch_failed`] on failure (the slot becomes
//!    [`PendingState::Failed`] and is launched again on later ticks while it is within the
//!    task's catch-up window, then given up with a log line).
//! 3. An in-flight slot whose outcome is never reported (the runtime died mid-launch) is dropped
//!    with a warning an hour after its catch-up window; the tag lets the worker find a clone
//!    that was made anyway.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::body_json;
use crate::hash::hash64;
use crate::{CatchUp, InstanceConfig, Instant, SlotKey};

/// How long after its catch-up window an in-flight launch with no reported outcome is dropped.
pub(crate) const IN_FLIGHT_GRACE_SECONDS: i64 = 3600;

/// Backoff before retrying a failed launch: 1, 2, 4, 8, then every 15 minutes.
pub fn retry_backoff_seconds(attempts: u32) -> i64 {
    60 * (1i64 << attempts.saturating_sub(1).min(4)).min(15)
}

/// The planner's memory for one scheduler instance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceState {
    /// Per task item id.
    #[serde(default)]
    pub tasks: BTreeMap<String, TaskState>,
    /// Clones launched by this instance that have not finished yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<OpenRun>,
    /// The `now` of the last tick planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tick: Option<Instant>,
    /// Cached [`crate::next_due`]: the earliest instant at which a tick has anything to do.
    /// `None`: nothing, ever (until the config changes). The worker can store this one number
    /// beside the state and skip idle ticks without parsing anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due: Option<Instant>,
}

/// Per-task memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskState {
    /// Fingerprint of the task's content when it was saved (hex). A changed fingerprint at
    /// [`InstanceState::on_config_saved`] means the task was edited.
    pub fingerprint: String,
    /// Every slot at or before this instant has been decided (launched, skipped, missed).
    /// Starts at the save time, so a task never fires for slots before it was saved.
    pub evaluated_until: Instant,
    /// Launches emitted and not yet confirmed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingLaunch>,
}

/// A launch the planner emitted whose success has not been reported yet (or a rerun waiting
/// for its time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLaunch {
    pub fire: Instant,
    /// 0: the slot's first run; n: its n-th rerun ([`SlotKey::rerun`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rerun: u32,
    /// A rerun: when it is due. Its lateness (catch-up window, in-flight grace) counts from
    /// here, not from the slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Instant>,
    pub state: PendingState,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The task's execution limit at the time of the launch, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_seconds: Option<i64>,
    /// In flight: who is launching it. `None`: waiting for a launcher (just planned, or
    /// deferred when an invocation's call budget ran out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    /// Failed: not retried before this instant (backoff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Instant>,
}

/// An in-flight launch's owner: the runtime incarnation (a Durable Object's life, say) making
/// its calls, and when it took the launch on (wall clock, milliseconds).
///
/// Only the owner works on a claimed launch. A claim of another incarnation is released (the
/// launch is retried in recovery mode) once it is older than the lease: long enough for any call
/// the dead owner had in flight to have landed at ClearML.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub owner: String,
    pub at_ms: i64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl PendingLaunch {
    /// Whether this is the launch of `slot` (its fire and rerun).
    pub fn is(&self, slot: &SlotKey) -> bool {
        self.fire == slot.fire && self.rerun == slot.rerun
    }

    /// When it should have launched: the slot's fire, or a rerun's due time.
    pub fn due(&self) -> Instant {
        self.due.unwrap_or(self.fire)
    }
}

impl Claim {
    /// Whether the owner may still start a call that times out after `call_timeout_ms`: only
    /// if its answer (or its timeout) comes before the lease runs out. Past that, the attempt
    /// stops ([`crate::LaunchAttempt::stop`]), so that no call of a dead owner can land after
    /// its claim was released.
    pub fn calls_allowed_at(&self, wall_ms: i64, lease_ms: i64, call_timeout_ms: i64) -> bool {
        wall_ms + call_timeout_ms < self.at_ms + lease_ms
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingState {
    /// Emitted; the runtime is launching it. Never emitted again.
    InFlight,
    /// The runtime reported a failure; retried while within the catch-up window.
    Failed,
    /// A rerun after a failed run, launched once `due` comes.
    Waiting,
}

/// A clone this instance launched that has not finished.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenRun {
    pub item: String,
    pub fire: Instant,
    /// The clone's ClearML task id.
    pub task_id: String,
    /// When it was enqueued.
    pub started: Instant,
    pub status: TaskStatus,
    /// Abort once `started + limit_seconds <= now`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_seconds: Option<i64>,
    /// An abort was emitted and not reported as failed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub abort_requested: bool,
    /// The scheduler log already says this run is stuck in its queue.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stuck_reported: bool,
    /// 0: the slot's first run; n: its n-th rerun.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rerun: u32,
}

/// A ClearML task status (`tasks.get_by_id` → `task.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Created,
    Queued,
    InProgress,
    Stopped,
    Published,
    Publishing,
    Closed,
    Failed,
    Completed,
    Unknown,
}

impl TaskStatus {
    /// Parses ClearML's status string; anything unrecognised is `Unknown`.
    pub fn from_clearml(s: &str) -> TaskStatus {
        match s {
            "created" => TaskStatus::Created,
            "queued" => TaskStatus::Queued,
            "in_progress" => TaskStatus::InProgress,
            "stopped" => TaskStatus::Stopped,
            "published" => TaskStatus::Published,
            "publishing" => TaskStatus::Publishing,
            "closed" => TaskStatus::Closed,
            "failed" => TaskStatus::Failed,
            "completed" => TaskStatus::Completed,
            _ => TaskStatus::Unknown,
        }
    }

    /// Still to be polled: queued, in progress, or not known yet.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TaskStatus::Queued | TaskStatus::InProgress | TaskStatus::Unknown
        )
    }

    /// Counts as "previous instance still running" for `single_instance`.
    pub fn is_running(self) -> bool {
        matches!(self, TaskStatus::Queued | TaskStatus::InProgress)
    }
}

/// The fingerprint of a task's content (id included): what "edited" means.
pub(crate) fn fingerprint(task: &crate::ScheduledTask) -> String {
    format!(
        "{:016x}",
        hash64(&[task.id().as_bytes(), body_json(task).as_bytes()])
    )
}

/// When each task of `new` last changed, as a save at `now` records it: a task `old` did not
/// have, or had with other content, changed `now`; any other keeps the time `changed_at` had
/// for it (or `fallback`, when it has none: the save before it, for records made before these
/// times were kept). A save that leaves a task as it was (another task's edit, Run now, a share
/// link, a pause) must not move where that task's undecided slots start.
pub fn tasks_changed_at(
    old: Option<&InstanceConfig>,
    changed_at: &BTreeMap<String, Instant>,
    new: &InstanceConfig,
    now: Instant,
    fallback: Instant,
) -> BTreeMap<String, Instant> {
    new.scheduled_tasks()
        .iter()
        .map(|task| {
            let same = old
                .and_then(|old| old.task(task.id()))
                .is_some_and(|before| fingerprint(before) == fingerprint(task));
            let at = if same {
                changed_at.get(task.id()).copied().unwrap_or(fallback)
            } else {
                now
            };
            (task.id().to_string(), at)
        })
        .collect()
}

impl InstanceState {
    /// [`Self::on_config_changed`] with every new or edited task changed at `saved_at`.
    pub fn on_config_saved(
        &mut self,
        config: &InstanceConfig,
        saved_at: Instant,
    ) -> Vec<(String, PendingLaunch)> {
        self.on_config_changed(config, |_| saved_at)
    }

    /// Call when a configuration is saved (created, imported or edited); `changed_at` says
    /// when each task last changed ([`tasks_changed_at`]).
    ///
    /// New and edited tasks start from when they changed (`saved_at` here): their first slot is
    /// the first fire strictly after it (a daily 06:20 saved at 10:00 first fires tomorrow). An edited task still
    /// decides the slot of the save's own minute if no tick has (an edit at 06:20:07 before the
    /// 06:20 tick ran), and never decides again what a tick already decided. Unchanged tasks keep their
    /// progress; tasks no longer in the config are forgotten (their open runs are still polled
    /// and aborted). Returns their launches that had started ([`Self::forget_removed_tasks`]):
    /// what those left in ClearML (a clone kept for a retry) is the runtime's to clean up, once
    /// no attempt of them can still be out.
    pub fn on_config_changed(
        &mut self,
        config: &InstanceConfig,
        changed_at: impl Fn(&str) -> Instant,
    ) -> Vec<(String, PendingLaunch)> {
        let removed = self.forget_removed_tasks(config);
        let mut tasks = BTreeMap::new();
        for task in config.scheduled_tasks() {
            let saved_at = changed_at(task.id());
            let fp = fingerprint(task);
            let ts = match self.tasks.remove(task.id()) {
                Some(ts) if ts.fingerprint == fp => ts,
                Some(mut ts) => {
                    ts.fingerprint = fp;
                    // From the save on, but the save's own minute is still this task's to
                    // decide (a tick running late, its minute before the save, must not lose
                    // the slot of that minute), and never back before what a tick decided.
                    let minute = saved_at.unix_seconds().div_euclid(60) * 60;
                    ts.evaluated_until = ts
                        .evaluated_until
                        .max(Instant::from_unix_seconds(minute - 1));
                    ts
                }
                None => TaskState {
                    fingerprint: fp,
                    evaluated_until: saved_at,
                    pending: vec![],
                },
            };
            tasks.insert(task.id().to_string(), ts);
        }
        self.tasks = tasks;
        self.next_due = next_due(config, self);
        removed
    }

    /// Forgets the tasks `config` no longer has. Returns their launches that had started (an
    /// attempt failed and a retry was pending, or one is out: its claim tells whose and since
    /// when), with their task's id: each may have left a clone in ClearML. Launches never
    /// attempted left nothing.
    pub fn forget_removed_tasks(
        &mut self,
        config: &InstanceConfig,
    ) -> Vec<(String, PendingLaunch)> {
        let mut started = Vec::new();
        self.tasks.retain(|item, ts| {
            if config.task(item).is_some() {
                return true;
            }
            for p in ts.pending.drain(..) {
                if p.attempts > 0 || p.claim.is_some() {
                    started.push((item.clone(), p));
                }
            }
            false
        });
        started
    }

    /// Call when the instance was resumed at `at` (idempotent): no task evaluates slots from
    /// before it, so the slots that fell in the pause are neither launched nor told as missed
    /// (pausing stops new work; resuming schedules from then on). Launches already pending
    /// before the pause keep their own window.
    pub fn on_resumed(&mut self, at: Instant) {
        for ts in self.tasks.values_mut() {
            ts.evaluated_until = ts.evaluated_until.max(at);
        }
    }

    /// The runtime launched `slot` as ClearML task `task_id`, enqueued at `started`: the slot is
    /// consumed and the clone becomes an open run (status queued until polled).
    pub fn record_launch(&mut self, slot: &SlotKey, task_id: impl Into<String>, started: Instant) {
        let mut limit_seconds = None;
        if let Some(ts) = self.tasks.get_mut(&slot.item) {
            if let Some(i) = ts.pending.iter().position(|p| p.is(slot)) {
                limit_seconds = ts.pending.remove(i).limit_seconds;
            }
        }
        self.runs.push(OpenRun {
            item: slot.item.clone(),
            fire: slot.fire,
            task_id: task_id.into(),
            started,
            status: TaskStatus::Queued,
            limit_seconds,
            abort_requested: false,
            stuck_reported: false,
            rerun: slot.rerun,
        });
        if let Some(last) = self.last_tick {
            self.next_due = Some(
                self.next_due
                    .map_or(last.add_seconds(60), |d| d.min(last.add_seconds(60))),
            );
        }
    }

    /// The runtime failed to launch `slot` for a reason that may pass (5xx, timeout, a cut
    /// connection): it is launched again after a backoff ([`retry_backoff_seconds`]) while it
    /// is within the task's catch-up window.
    pub fn record_launch_failed(&mut self, slot: &SlotKey, error: impl Into<String>) {
        let from = self.last_tick.unwrap_or(slot.fire);
        let mut retry_at = None;
        if let Some(ts) = self.tasks.get_mut(&slot.item) {
            if let Some(p) = ts.pending.iter_mut().find(|p| p.is(slot)) {
                p.state = PendingState::Failed;
                p.attempts += 1;
                p.last_error = Some(error.into());
                p.claim = None;
                let at = from.add_seconds(retry_backoff_seconds(p.attempts));
                p.retry_at = Some(at);
                retry_at = Some(at);
            }
        }
        if let Some(at) = retry_at {
            self.next_due = Some(self.next_due.map_or(at, |d| d.min(at)));
        }
    }

    /// The runtime failed to launch `slot` for good (no such queue or base task, no permission):
    /// the slot is consumed, never retried. The runtime logs what to fix.
    pub fn record_launch_rejected(&mut self, slot: &SlotKey) {
        if let Some(ts) = self.tasks.get_mut(&slot.item) {
            ts.pending.retain(|p| !p.is(slot));
        }
    }

    /// In-flight launches no runtime has taken on yet, oldest first: `(item, fire, rerun,
    /// attempts)`.
    pub fn unclaimed(&self) -> Vec<(String, Instant, u32, u32)> {
        let mut out: Vec<(String, Instant, u32, u32)> = self
            .tasks
            .iter()
            .flat_map(|(item, ts)| {
                ts.pending
                    .iter()
                    .filter(|p| p.state == PendingState::InFlight && p.claim.is_none())
                    .map(move |p| (item.clone(), p.fire, p.rerun, p.attempts))
            })
            .collect();
        out.sort_by_key(|(item, fire, rerun, _)| (*fire, *rerun, item.clone()));
        out
    }

    /// `owner` takes on the in-flight launch of `slot` at `wall_ms`, and gets the claim that
    /// names this attempt (the owner's later calls about it pass it back). `None` when it is not
    /// waiting for a launcher (someone has it, or it is no longer pending).
    pub fn claim(&mut self, slot: &SlotKey, owner: &str, wall_ms: i64) -> Option<Claim> {
        let p = self
            .tasks
            .get_mut(&slot.item)
            .and_then(|ts| ts.pending.iter_mut().find(|p| p.is(slot)))?;
        if p.state != PendingState::InFlight || p.claim.is_some() {
            return None;
        }
        let claim = Claim {
            owner: owner.to_string(),
            at_ms: wall_ms,
        };
        p.claim = Some(claim.clone());
        Some(claim)
    }

    /// The claim on the in-flight launch of `slot`, if any.
    pub fn claim_of(&self, slot: &SlotKey) -> Option<&Claim> {
        self.tasks
            .get(&slot.item)?
            .pending
            .iter()
            .find(|p| p.is(slot))?
            .claim
            .as_ref()
    }

    /// Gives a claimed launch back unattempted (the owner's call budget ran out before it made
    /// any call): it waits for the next launcher, as a first attempt.
    pub fn unclaim(&mut self, slot: &SlotKey, claim: &Claim) {
        if let Some(p) = self.held_by(slot, claim) {
            p.claim = None;
        }
    }

    /// `owner` stopped its launch of `slot` mid-way, not for anything ClearML said (its
    /// invocation's call budget ran out): the launch waits for the next launcher at once, with
    /// no backoff, as a retry (it may have cloned: the next attempt looks first).
    pub fn record_launch_interrupted(&mut self, slot: &SlotKey, claim: &Claim) {
        if let Some(p) = self.held_by(slot, claim) {
            p.claim = None;
            p.attempts += 1;
            p.last_error = Some("the launch was interrupted".into());
        }
    }

    /// Whether `claim` (one attempt's, as [`InstanceState::claim`] gave it) still holds
    /// `slot`'s pending launch. Not the owner alone: once an attempt's claim was released, a
    /// retry by the same owner holds a claim of its own, which the first attempt's outcome must
    /// not settle.
    pub fn holds(&self, slot: &SlotKey, claim: &Claim) -> bool {
        self.tasks.get(&slot.item).is_some_and(|ts| {
            ts.pending
                .iter()
                .any(|p| p.is(slot) && p.claim.as_ref() == Some(claim))
        })
    }

    /// The pending launch of `slot`, if `claim` still holds it.
    fn held_by(&mut self, slot: &SlotKey, claim: &Claim) -> Option<&mut PendingLaunch> {
        self.tasks
            .get_mut(&slot.item)?
            .pending
            .iter_mut()
            .find(|p| p.is(slot) && p.claim.as_ref() == Some(claim))
    }

    /// Releases the claims of `owner` itself on launches it is not making (`live` says which
    /// it is), older than `lease_ms`: an error cut the invocation making them short. And those
    /// it still counts as making, once twice the lease has passed: an invocation the runtime
    /// stopped without ending it (its futures never resumed, never dropped) leaves its
    /// launches "live" for good, though no attempt makes a call after its lease (see
    /// `Claim::calls_allowed_at`), so releasing them is as safe as another owner's. `live`
    /// is asked of each claim (item, fire, rerun, claim): one attempt's, not the owner's. Like
    /// [`InstanceState::release_stale_claims`], each becomes a failed attempt retried at once.
    pub fn release_abandoned_claims(
        &mut self,
        owner: &str,
        live: impl Fn(&str, Instant, u32, &Claim) -> bool,
        wall_ms: i64,
        lease_ms: i64,
    ) -> Vec<(String, Instant)> {
        self.release_claims("the launch was cut short", |item, p| {
            p.claim.as_ref().is_some_and(|c| {
                let age = wall_ms - c.at_ms;
                c.owner == owner
                    && age >= lease_ms
                    && (age >= 2 * lease_ms || !live(item, p.fire, p.rerun, c))
            })
        })
    }

    /// Releases the claims of owners other than `owner` older than `lease_ms` at `wall_ms`:
    /// their launches were interrupted (the owner died mid-launch). Each becomes a failed
    /// attempt, retried at once, in recovery mode. Returns the released slots `(item, fire)`.
    pub fn release_stale_claims(
        &mut self,
        owner: &str,
        wall_ms: i64,
        lease_ms: i64,
    ) -> Vec<(String, Instant)> {
        self.release_claims("the launch was interrupted", |_, p| {
            p.claim
                .as_ref()
                .is_some_and(|c| c.owner != owner && wall_ms - c.at_ms >= lease_ms)
        })
    }

    /// Makes each in-flight launch `released` picks a failed attempt, retried at once (in
    /// recovery mode), its claim dropped. Returns them as `(item, fire)`.
    fn release_claims(
        &mut self,
        why: &str,
        released: impl Fn(&str, &PendingLaunch) -> bool,
    ) -> Vec<(String, Instant)> {
        let mut out = Vec::new();
        for (item, ts) in self.tasks.iter_mut() {
            for p in ts.pending.iter_mut() {
                if p.state == PendingState::InFlight && released(item, p) {
                    p.state = PendingState::Failed;
                    p.attempts += 1;
                    p.claim = None;
                    p.retry_at = None;
                    p.last_error = Some(why.into());
                    out.push((item.clone(), p.fire));
                }
            }
        }
        out
    }

    /// A poll found `task_id` in `status`. Returns the run if it has finished (and is thereby
    /// removed), so the runtime can record it as executed.
    pub fn record_status(&mut self, task_id: &str, status: TaskStatus) -> Option<OpenRun> {
        let i = self.runs.iter().position(|r| r.task_id == task_id)?;
        self.runs[i].status = status;
        if status.is_open() {
            None
        } else {
            Some(self.runs.remove(i))
        }
    }

    /// Aborting `task_id` failed: it will be tried again on the next tick.
    pub fn record_abort_failed(&mut self, task_id: &str) {
        if let Some(r) = self.runs.iter_mut().find(|r| r.task_id == task_id) {
            r.abort_requested = false;
        }
    }

    /// Whether a tick at `now` can be skipped without planning: nothing is due before it.
    pub fn is_idle_at(&self, now: Instant) -> bool {
        self.next_due.is_none_or(|d| d > now)
    }
}

/// The earliest instant at which a tick has work for this instance: the next slot of any
/// enabled task after its `evaluated_until`, a failed launch to retry, a launch in flight to
/// look after, or (while runs are open) the next tick, for polling. `None`: nothing, ever.
///
/// Cheap (one `next_fire_after` per task); [`crate::plan_tick`] and
/// [`InstanceState::on_config_saved`] store it in [`InstanceState::next_due`] so an idle tick
/// compares one number.
pub fn next_due(config: &InstanceConfig, state: &InstanceState) -> Option<Instant> {
    let slot = next_slot_due(config, state);
    if state.runs.iter().any(|r| r.status.is_open()) {
        let poll = state
            .last_tick
            .map_or(Instant::UNIX_EPOCH, |t| t.add_seconds(60));
        return Some(slot.map_or(poll, |s| s.min(poll)));
    }
    slot
}

/// [`next_due`] without the polling of open runs: the next instant a slot needs deciding (a
/// fire, a failed launch to retry, a launch still in flight). The worker keeps this and a "has
/// open runs" flag apart, so a tick that only polls and finds nothing new changes nothing it has
/// to store.
pub fn next_slot_due(config: &InstanceConfig, state: &InstanceState) -> Option<Instant> {
    let mut due: Option<Instant> = None;
    let mut consider = |t: Instant| due = Some(due.map_or(t, |d| d.min(t)));
    for task in config.scheduled_tasks() {
        let Some(ts) = state.tasks.get(task.id()) else {
            continue;
        };
        if task.enabled() {
            if let Some(t) = task.schedule().next_fire_after(ts.evaluated_until) {
                consider(t);
            }
        }
        let window = i64::from(CatchUp::effective_window_minutes(task.catch_up()));
        for p in &ts.pending {
            match p.state {
                PendingState::Failed => consider(
                    p.retry_at
                        .unwrap_or(ts.evaluated_until)
                        .max(ts.evaluated_until),
                ),
                PendingState::Waiting => consider(p.due()),
                // Still in flight after the tick that planned it: an interrupted or deferred
                // launch. Look again next minute (and drop it when its time is long past).
                PendingState::InFlight => consider(
                    ts.evaluated_until.add_seconds(60).min(
                        p.due()
                            .add_seconds(window * 60 + 60 + IN_FLIGHT_GRACE_SECONDS + 1),
                    ),
                ),
            }
        }
    }
    due
}
