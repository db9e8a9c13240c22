//! One instance's tick, inside its Durable Object: plan, watch the runs, launch.
//!
//! Each step is either synchronous (SQLite reads and writes with no `.await` between them:
//! atomic in the object, whatever else it is serving) or a ClearML call (others may run
//! meanwhile). The order is what makes concurrent ticks, alarms and API saves safe:
//! 1. sync: load, apply a new configuration revision, release stale claims, plan, take run-now
//!    requests, store. Planned launches are in the state as in flight and unclaimed.
//! 2. calls: aborts and status polls; then sync: apply what ClearML said to the latest state.
//! 3. launches, up to [`MAX_PARALLEL_LAUNCHES`] at once: sync, claim the next unclaimed launch
//!    for this incarnation and store the claim (ClearML hears nothing before the claim is
//!    durable: the object's output gate); then its calls ([`LaunchAttempt`]); then sync, settle
//!    its outcome into the latest state. A second tick finds the launch claimed and leaves it.
//!    Launches the invocation's call budget cannot pay for stay unclaimed for the object's
//!    alarm, an invocation of its own with a budget of its own.
//! 4. sync: the news the log noted routed into the outbox (the alarm sends it: `deliver.rs`),
//!    then the ticker entry, from the latest state (deliveries waiting make it due).

use std::cell::RefCell;

use futures_util::stream::{FuturesUnordered, StreamExt};
use scheduler_core::launch::{settle, Call, Learned, Next};
use scheduler_core::notify::{About, EventKind, News};
use scheduler_core::{
    clean_up_launch, given_up_line, launch_of, next_slot_due, plan_paused, plan_rerun,
    plan_run_now, plan_tick, run_ended, runs_deciding_slots, stuck_line, Action, Claim, Found,
    InstanceConfig, Instant, LaunchAttempt, Level, LogLine, Outcome, SkipReason, SlotKey, StuckRun,
    TaskStatus,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::{Env, Result};

use super::calls;
use crate::clearml::{ClearMl, Credentials, DEFAULT_CALL_TIMEOUT_SECONDS};
use crate::store::{
    ClearMlCache, ConfigHead, ConfigRecord, Docs, ExecutedRun, LastRun, Runtime, TickerEntry,
    CLEARML_CACHE, CONFIG, RUNTIME,
};

/// Cloudflare Free allows 50 subrequests per invocation (a tick request to the object, or its
/// alarm, is one).
const DEFAULT_SUBREQUEST_BUDGET: u32 = 50;
/// Clean-ups of a given-up slot that could not ask ClearML before it is told as unchecked.
const MAX_CLEAN_UP_TRIES: u32 = 10;
/// Cloudflare allows 6 connections open at once per invocation.
pub const MAX_PARALLEL_LAUNCHES: usize = 6;
/// A dead incarnation's claim is released after this long (`LAUNCH_LEASE_SECONDS`). An attempt
/// starts no call that could outlast its claim's lease (the call's timeout plus a second), so
/// no call of a dead owner lands after its claim is released.
const DEFAULT_LEASE_SECONDS: i64 = 200;

/// What the cron learns from one tick of one instance.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TickReport {
    /// `None`: this object holds no instance (it was deleted).
    pub entry: Option<TickerEntry>,
    pub launched: u32,
    /// ClearML calls made.
    pub calls: u32,
    /// Launches left for the alarm (this invocation's call budget was spent); none while the
    /// instance is paused.
    pub left: u32,
    /// Storage rows written.
    pub rows_written: u32,
}

/// The object's state a tick works with.
pub struct Ctx<'a> {
    pub docs: &'a Docs,
    pub env: &'a Env,
    /// This incarnation of the object (random at its start): the owner of its claims.
    pub incarnation: &'a str,
    /// The runtime as this incarnation last stored it or changed only its clocks (those
    /// changes are not worth a write: see [`without_clock`]).
    pub runtime: &'a RefCell<Option<Runtime>>,
    /// The launches this incarnation is making right now: a claim of its own not among them was
    /// abandoned (an error cut its invocation short) and is released like a dead owner's.
    pub live: &'a RefCell<std::collections::BTreeSet<LiveKey>>,
}

/// The object's runtime: kept in memory between invocations, stored in its `runtime` row.
/// Whoever changes it (a tick, a save) goes through this, so no one stores a copy that misses
/// another's write.
pub struct RuntimeCell<'a> {
    pub docs: &'a Docs,
    pub kept: &'a RefCell<Option<Runtime>>,
}

impl RuntimeCell<'_> {
    /// The current runtime, to change and [`RuntimeCell::store`].
    pub fn get(&self) -> Result<Runtime> {
        if let Some(r) = self.kept.borrow().as_ref() {
            return Ok(r.clone());
        }
        Ok(self.docs.get(RUNTIME)?.unwrap_or_default())
    }

    /// Reads the current runtime without copying it (it can be 1.5 MB).
    pub fn read<R>(&self, read: impl FnOnce(&Runtime) -> R) -> Result<R> {
        if let Some(r) = self.kept.borrow().as_ref() {
            return Ok(read(r));
        }
        let stored: Runtime = self.docs.get(RUNTIME)?.unwrap_or_default();
        Ok(read(&stored))
    }

    /// Keeps `runtime` as the current one; writes it unless only its clocks changed. Nothing
    /// is written once the instance is deleted (a tick still running must not bring it back).
    pub fn store(&self, mut runtime: Runtime) -> Result<()> {
        if self.docs.get::<ConfigHead>(CONFIG)?.is_none() {
            *self.kept.borrow_mut() = None;
            return Ok(());
        }
        fit_in_a_row(&mut runtime);
        let stored = match self.kept.borrow().as_ref() {
            Some(r) => without_clock(r),
            None => self
                .docs
                .get::<Runtime>(RUNTIME)?
                .map(|r| without_clock(&r))
                .unwrap_or_default(),
        };
        if without_clock(&runtime) != stored {
            self.docs.put(RUNTIME, &runtime)?;
        }
        *self.kept.borrow_mut() = Some(runtime);
        Ok(())
    }
}

impl Ctx<'_> {
    fn cell(&self) -> RuntimeCell<'_> {
        RuntimeCell {
            docs: self.docs,
            kept: self.runtime,
        }
    }

    /// The current runtime, to change and [`Ctx::store`].
    pub(super) fn runtime(&self) -> Result<Runtime> {
        self.cell().get()
    }

    /// Reads the current runtime without copying it.
    pub(super) fn with_runtime<R>(&self, read: impl FnOnce(&Runtime) -> R) -> Result<R> {
        self.cell().read(read)
    }

    /// [`RuntimeCell::store`].
    pub(super) fn store(&self, runtime: Runtime) -> Result<()> {
        self.cell().store(runtime)
    }

    fn var<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        env_var(self.env, name, default)
    }
}

/// A setting of the deployment, or `default` when it is unset or not a `T`.
fn env_var<T: std::str::FromStr>(env: &Env, name: &str, default: T) -> T {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .unwrap_or(default)
}

/// Slots at most cleaned up before an instance is deleted (the rest are left: a deletion must
/// not wait on ClearML for long).
const MAX_CLEAN_UPS_ON_DELETE: usize = 10;

/// Before its instance is deleted: what its started launches and unfinished clean-ups left in
/// ClearML (clones kept for a retry, never enqueued) is deleted, best effort, for at most
/// [`MAX_CLEAN_UPS_ON_DELETE`] slots (a clone found enqueued is left to run: deleting the
/// instance stops the watching, not the run). Returns the tags of the slots whose clean-up did
/// not finish (ClearML unreachable, or too many), for the deletion's answer to name.
pub async fn clean_up_before_delete(
    env: &Env,
    docs: &Docs,
    config: &InstanceConfig,
    id: &str,
) -> Result<Vec<String>> {
    // A runtime row that cannot be read must not stop the deletion: nothing to clean up then.
    let runtime: Runtime = docs.get(RUNTIME).ok().flatten().unwrap_or_default();
    let mut slots: Vec<SlotKey> = runtime.unverified.iter().map(|u| u.slot.clone()).collect();
    for (item, ts) in &runtime.state.tasks {
        for p in ts
            .pending
            .iter()
            .filter(|p| p.attempts > 0 || p.claim.is_some())
        {
            let slot = SlotKey::new(id, item, p.fire).rerun(p.rerun);
            if !slots.contains(&slot) {
                slots.push(slot);
            }
        }
    }
    if slots.is_empty() {
        return Ok(Vec::new());
    }
    let Ok(creds) = Credentials::from_env(env) else {
        return Ok(slots.iter().map(SlotKey::tag).collect());
    };
    let mut c = ClearMl::new(
        creds,
        env_var(env, "SUBREQUEST_BUDGET", DEFAULT_SUBREQUEST_BUDGET),
    );
    c.timeout = std::time::Duration::from_secs(env_var(
        env,
        "CLEARML_TIMEOUT_SECONDS",
        DEFAULT_CALL_TIMEOUT_SECONDS,
    ));
    let mut left = Vec::new();
    // After the first clean-up ClearML could not finish, the rest are not tried: a deletion
    // waits on one failing slot's calls at most.
    let mut failing = false;
    for (i, slot) in slots.iter().enumerate() {
        if failing || i >= MAX_CLEAN_UPS_ON_DELETE {
            left.push(slot.tag());
            continue;
        }
        let mut attempt =
            LaunchAttempt::clean_up(&clean_up_launch(id, config, slot), config.name());
        while let Next::Call(call) = attempt.next() {
            let call = call.clone();
            attempt.answer(calls::perform(&c, &call, &|| true).await);
        }
        if matches!(
            attempt.outcome(),
            Some(Outcome::Failed {
                permanent: false,
                ..
            })
        ) {
            failing = true;
            left.push(slot.tag());
        }
    }
    Ok(left)
}

/// An SQLite row of a Durable Object holds at most 2 MB: the runtime stays under this.
const MAX_RUNTIME_BYTES: usize = 1_500_000;

/// Drops the oldest log lines, then the oldest runs (counted as dropped, as the caps do), until
/// the runtime fits in a row. Long names and ids can make 2,000 log lines and 1,000 runs larger
/// than a row; a runtime that cannot be stored would stop the instance for good.
fn fit_in_a_row(runtime: &mut Runtime) {
    if runtime.log.len() + runtime.runs.len() < 500 {
        return;
    }
    while serde_json::to_string(runtime).map_or(0, |t| t.len()) > MAX_RUNTIME_BYTES {
        if runtime.log.len() > 100 {
            let n = runtime.log.len() / 4;
            runtime.log.drain(..n);
            runtime.log_dropped += n as u64;
        } else if runtime.runs.len() > 100 {
            let n = runtime.runs.len() / 4;
            runtime.runs.drain(..n);
            runtime.runs_dropped += n as u64;
        } else {
            break;
        }
    }
}

fn wall_ms() -> i64 {
    js_sys::Date::now() as i64
}

fn line(at: Instant, level: Level, message: String) -> LogLine {
    LogLine::new(at, level, message)
}

/// Runs a tick at `now` (the cron event's time); `None` continues the launches an earlier
/// tick left (the alarm).
pub async fn run(ctx: &Ctx<'_>, now: Option<Instant>) -> Result<TickReport> {
    let rows_before = ctx.docs.rows_written.get();
    let mut report = match tick(ctx, now, None).await? {
        Ticked::Done(report) => report,
        // A single-instance slot is due while its previous run was last seen running: its
        // status now is read first (the same poll as every tick's), then the tick runs on it.
        Ticked::ReadFirst {
            id,
            config,
            runs,
            now,
        } => {
            let clearml = session(ctx);
            if let Ok(c) = &clearml {
                watch(ctx, c, &config, &id, now, &[], Some(&runs)).await?;
            }
            // The tick's own poll leaves out the runs just read (or that ClearML just failed to
            // tell: once a tick is enough to ask, and to say it could not).
            let read_first = ReadFirst {
                session: clearml,
                runs,
            };
            match tick(ctx, Some(now), Some(read_first)).await? {
                Ticked::Done(report) => report,
                Ticked::ReadFirst { .. } => unreachable!("statuses are read once a tick"),
            }
        }
    };
    report.rows_written = ctx.docs.rows_written.get() - rows_before;
    Ok(report)
}

/// What a tick read before planning: its ClearML session and the runs whose status it asked.
struct ReadFirst {
    session: std::result::Result<ClearMl, String>,
    runs: Vec<String>,
}

/// The invocation's ClearML session: its calls count against one budget.
fn session(ctx: &Ctx<'_>) -> std::result::Result<ClearMl, String> {
    let budget = ctx.var("SUBREQUEST_BUDGET", DEFAULT_SUBREQUEST_BUDGET);
    let timeout_s = ctx.var("CLEARML_TIMEOUT_SECONDS", DEFAULT_CALL_TIMEOUT_SECONDS);
    Credentials::from_env(ctx.env).map(|c| {
        let mut c = ClearMl::new(c, budget);
        c.timeout = std::time::Duration::from_secs(timeout_s);
        c
    })
}

enum Ticked {
    Done(TickReport),
    /// The runs whose status decides a slot due now, to read before planning
    /// ([`runs_deciding_slots`]).
    ReadFirst {
        id: String,
        config: InstanceConfig,
        runs: Vec<String>,
        now: Instant,
    },
}

/// A tick; `read_first`: the statuses read before it, if any were.
async fn tick(
    ctx: &Ctx<'_>,
    now: Option<Instant>,
    read_first: Option<ReadFirst>,
) -> Result<Ticked> {
    let lease_ms = ctx.var("LAUNCH_LEASE_SECONDS", DEFAULT_LEASE_SECONDS) * 1000;
    let mut report = TickReport::default();

    // 1. Plan (sync).
    let Some(record) = ctx.docs.get::<ConfigRecord>(CONFIG)? else {
        return Ok(Ticked::Done(report));
    };
    let mut runtime = ctx.runtime()?;
    // An alarm (no `now`) carries on what a tick left, at that tick's time: before the first
    // tick there is nothing to carry on (an alarm set by a save, say).
    let Some(tick_now) = now.or(runtime.state.last_tick) else {
        return Ok(Ticked::Done(report));
    };
    let config = match record.parse() {
        Ok(c) => c,
        Err(e) => {
            runtime.push_log(line(
                tick_now,
                Level::Error,
                format!("The stored configuration is invalid: {e}"),
            ));
            ctx.store(runtime)?;
            report.entry = Some(TickerEntry {
                revision: record.revision,
                next_due: None,
                polling: false,
                next_run: None,
                last_run: None,
            });
            return Ok(Ticked::Done(report));
        }
    };
    let id = record.id.as_str();
    if let (Some(now), None, false) = (now, &read_first, record.paused) {
        let runs = runs_deciding_slots(id, &config, &runtime.state, now);
        if !runs.is_empty() {
            return Ok(Ticked::ReadFirst {
                id: id.to_string(),
                config,
                runs,
                now,
            });
        }
    }
    let mut released = runtime
        .state
        .release_stale_claims(ctx.incarnation, wall_ms(), lease_ms);
    {
        let live = ctx.live.borrow();
        released.extend(runtime.state.release_abandoned_claims(
            ctx.incarnation,
            |item, fire, rerun, claim| {
                live.contains(&(item.to_string(), fire.unix_seconds(), rerun, claim.at_ms))
            },
            wall_ms(),
            lease_ms,
        ));
    }
    for (item, fire) in released {
        runtime.push_log(line(
            tick_now,
            Level::Warn,
            format!(
                "The launch of {item} for {fire} was interrupted (the worker stopped mid-launch); \
                 retrying it from where it stopped"
            ),
        ));
    }
    let mut aborts: Vec<(String, TaskStatus)> = Vec::new();
    let mut poll: Option<Vec<String>> = None;
    let mut stuck: Vec<StuckRun> = Vec::new();
    if let Some(now) = now {
        let paused = record.paused;
        if runtime.revision != record.revision && !paused {
            // Launches of removed tasks that had started: what they left is cleaned up, once
            // the lease of a claim still out has run (its attempt can make no call after it).
            let changed_at = |item: &str| {
                record
                    .task_changed_at
                    .get(item)
                    .copied()
                    .unwrap_or(record.saved_at)
            };
            for (item, p) in runtime.state.on_config_changed(&config, changed_at) {
                let slot = SlotKey::new(id, &item, p.fire).rerun(p.rerun);
                let not_before = p.claim.map(|c| c.at_ms + lease_ms);
                runtime.keep_to_clean_up_after(slot, SkipReason::TaskRemoved, not_before);
            }
            if let Some(resumed_at) = record.resumed_at {
                runtime.state.on_resumed(resumed_at);
            }
            runtime.revision = record.revision;
            runtime.push_log(line(
                now,
                Level::Info,
                format!(
                    "Syncing scheduler: configuration revision {} with {} task(s)",
                    record.revision,
                    config.scheduled_tasks().len()
                ),
            ));
        }
        let plan = if paused {
            plan_paused(&runtime.state, now)
        } else {
            plan_tick(id, &config, &runtime.state, now)
        };
        runtime.state = plan.state;
        let mut actions = plan.actions;
        for request in record.run_now.iter().filter(|_| !paused) {
            if runtime.run_now_done.contains(request) {
                continue;
            }
            match plan_run_now(
                id,
                &config,
                &runtime.state,
                &request.item,
                request.requested_at,
            ) {
                Some(run_now) => {
                    runtime.state = run_now.state;
                    actions.extend(run_now.actions);
                }
                // The request was answered 202: say why it starts nothing new.
                None => {
                    if let Some(task) = config.task(&request.item) {
                        runtime.push_log(line(
                            now,
                            Level::Info,
                            format!(
                                "Run now of {}: its run for {} is already being launched or \
                                 running; not launched again",
                                task.display_name(),
                                request.requested_at
                            ),
                        ));
                    }
                }
            }
            runtime.run_now_done.push(request.clone());
        }
        // The API drops requests it sees here; remember a day's worth.
        let day_ago = now.add_seconds(-86_400);
        runtime
            .run_now_done
            .retain(|r| record.run_now.contains(r) || r.requested_at > day_ago);
        for action in actions {
            match action {
                Action::Log(l) => runtime.push_log(l),
                Action::Skip {
                    slot,
                    reason:
                        reason @ (SkipReason::LaunchFailed { .. }
                        | SkipReason::OutcomeUnknown
                        | SkipReason::TaskRemoved),
                } => runtime.keep_to_clean_up(slot, reason),
                // Launches are taken from the state's unclaimed list below.
                Action::Launch(_) | Action::Skip { .. } => {}
                Action::Abort {
                    task_id, status, ..
                } => aborts.push((task_id, status)),
                Action::Poll { mut task_ids } => {
                    if let Some(read) = &read_first {
                        task_ids.retain(|t| !read.runs.contains(t));
                    }
                    poll = (!task_ids.is_empty()).then_some(task_ids);
                }
                Action::Stuck(s) => stuck.push(s),
            }
        }
    }
    // Slots given up (retries out of their window, or no outcome ever) are stored above as still
    // to clean up, with the state that gave them up: a worker killed before their clean-up ends
    // leaves them to the next tick. This tick cleans up every one of them: given up now, or by
    // an earlier tick whose clean-up could not ask ClearML (or did not end).
    let given_up: Vec<(SlotKey, SkipReason)> = runtime
        .unverified
        .iter()
        .filter(|u| u.tried_at.is_none_or(|t| t.add_seconds(60) <= tick_now))
        .filter(|u| u.not_before_ms.is_none_or(|t| t <= wall_ms()))
        .map(|u| (u.slot.clone(), u.reason.clone()))
        .collect();
    ctx.store(runtime)?;

    let clearml = read_first.map_or_else(|| session(ctx), |read| read.session);

    // 2. Aborts and polls, and stuck runs.
    if let Ok(c) = &clearml {
        watch(ctx, c, &config, id, tick_now, &aborts, poll.as_deref()).await?;
    }
    report_stuck(
        ctx,
        clearml.as_ref().map_err(|e| e.as_str()),
        &stuck,
        tick_now,
    )
    .await?;
    if clearml.is_err() && !given_up.is_empty() {
        // Nothing to clean up with: told as not run.
        let mut runtime = ctx.runtime()?;
        for (slot, reason) in &given_up {
            if runtime.clean_up_of(slot).is_none() {
                continue;
            }
            let name = config
                .task(&slot.item)
                .map_or(slot.item.as_str(), |t| t.display_name());
            let told = given_up_line(slot, name, reason, Found::Unchecked, tick_now);
            runtime.tell_given_up(told, slot);
        }
        ctx.store(runtime)?;
    }

    // 3. Launches, then the clean-ups of slots given up: a due slot is not kept waiting on
    // what earlier slots left, and the clean-ups get what the launches left of the budget.
    match &clearml {
        Ok(c) => {
            let planned = (&config, record.revision);
            launch_all(ctx, c, planned, id, tick_now, lease_ms, &mut report).await?;
            clean_up(ctx, c, &config, id, tick_now, &given_up).await?;
        }
        Err(why) => refuse_all(ctx, &config, id, tick_now, why)?,
    }
    if let Ok(c) = &clearml {
        report.calls = c.subrequests.get();
    }

    // 4. Notifications routed (what the log noted, groups whose window ended), then the
    // ticker entry (sync). The object's alarm sends them.
    let mut runtime = ctx.runtime()?;
    if !runtime.outbox.is_quiet() {
        // Only then: an idle tick neither clones nor compares the runtime.
        runtime.outbox.route(&config, tick_now);
        ctx.store(runtime.clone())?;
    }
    report.entry = Some(TickerEntry {
        revision: record.revision,
        // Deliveries waiting count too: the cron wakes the instance for them (its alarm
        // sends them; this only makes sure a retry is not left to the alarm alone).
        next_due: [
            next_slot_due(&config, &runtime.state),
            runtime.outbox.next_due(),
            (!runtime.unverified.is_empty()).then(|| tick_now.add_seconds(60)),
        ]
        .into_iter()
        .flatten()
        .min(),
        polling: runtime.state.runs.iter().any(|r| r.status.is_open()),
        next_run: (!record.paused)
            .then(|| config.next_fire_after(tick_now))
            .flatten(),
        last_run: runtime.runs.last().map(|r| LastRun {
            item: r.item.clone(),
            task_id: r.task_id.clone(),
            status: r.status.clone(),
            started: r.started,
        }),
    });
    Ok(Ticked::Done(report))
}

/// Launches every unclaimed launch the budget pays for, [`MAX_PARALLEL_LAUNCHES`] at a time.
async fn launch_all(
    ctx: &Ctx<'_>,
    c: &ClearMl,
    planned: (&InstanceConfig, u64),
    id: &str,
    now: Instant,
    lease_ms: i64,
    report: &mut TickReport,
) -> Result<()> {
    let mut cache: ClearMlCache = ctx.docs.get(CLEARML_CACHE)?.unwrap_or_default();
    // Calls made or reserved: those made so far, one for a sign-in, and what each running
    // attempt is expected to make.
    let mut reserved: u32 = c.subrequests.get() + 1;
    let mut running = FuturesUnordered::new();
    let mut exhausted = false;
    // A launch with lookups to make runs alone: what it learns spares the others the lookups.
    let mut cold = false;
    let mut claimed = 0u32;
    let mut making = Making {
        live: ctx.live,
        keys: Vec::new(),
    };
    // Nothing is claimed while the instance is paused or deleted (`claim_next`): no sign-in.
    let claimable = ctx
        .docs
        .get::<ConfigHead>(CONFIG)?
        .is_some_and(|head| !head.paused);
    if claimable && ctx.with_runtime(|r| !r.state.unclaimed().is_empty())? {
        // One sign-in for all the launches about to run side by side.
        c.sign_in().await;
        reserved = c.subrequests.get() + 1;
    }
    loop {
        while running.len() < MAX_PARALLEL_LAUNCHES && !exhausted && !cold {
            // Never reserve less than was spent (sign-ins again cost calls nobody planned).
            reserved = reserved.max(c.subrequests.get());
            let first = claimed == 0;
            match claim_next(ctx, planned, id, &cache, c.budget, &mut reserved, first)? {
                Some((attempt, slot, claim, expected)) => {
                    claimed += 1;
                    making.keys.push(live_key(&slot, &claim));
                    cold = expected > expected_calls(&complete(), attempt.launch());
                    running.push(drive(ctx, c, attempt, slot, claim, lease_ms, expected))
                }
                None => exhausted = true,
            }
        }
        let Some((attempt, slot, claim, expected)) = running.next().await else {
            break;
        };
        // What it did not use goes back (what it used beyond is counted by the client).
        reserved = (reserved + attempt.calls()).saturating_sub(expected);
        if attempt.outcome().is_none() {
            // Stopped for the budget: handed on to the object's alarm, not a failed attempt.
            hand_on(ctx, &attempt, &slot, &claim)?;
            exhausted = true;
            continue;
        }
        if settle_attempt(ctx, &attempt, &slot, &claim, now)? {
            report.launched += 1;
        }
        // Learnt into the cache as stored now (another invocation may have changed it).
        cache = ctx.docs.get(CLEARML_CACHE)?.unwrap_or_default();
        if cache.learn(attempt.learned(), wall_ms()) | forget_stale_project(&attempt, &mut cache) {
            ctx.docs.put(CLEARML_CACHE, &cache)?;
        }
        exhausted = false;
        cold = false;
    }
    // Launches left for the alarm, unless the instance is paused or deleted meanwhile: its
    // launches then wait for the next tick after the resume, which plans them again (within
    // their window). An alarm would claim nothing, find them still there and wake itself again
    // ten milliseconds later, for as long as the pause lasts.
    let claimable = ctx
        .docs
        .get::<ConfigHead>(CONFIG)?
        .is_some_and(|head| !head.paused);
    report.left = if claimable {
        ctx.with_runtime(|r| r.state.unclaimed().len() as u32)?
    } else {
        0
    };
    Ok(())
}

/// A launch this incarnation is making, in `Ctx::live`: its slot (item, fire in seconds,
/// rerun) and when it was claimed (one attempt: a retry of the slot is another key).
pub type LiveKey = (String, i64, u32, i64);

fn live_key(slot: &SlotKey, claim: &Claim) -> LiveKey {
    (
        slot.item.clone(),
        slot.fire.unix_seconds(),
        slot.rerun,
        claim.at_ms,
    )
}

/// The launches one `launch_all` claimed, forgotten from `Ctx::live` however it ends: an error
/// that cuts it short drops the attempts under way, and their claims must then look abandoned
/// (released after the lease), not made for ever.
struct Making<'a> {
    live: &'a RefCell<std::collections::BTreeSet<LiveKey>>,
    keys: Vec<LiveKey>,
}

impl Drop for Making<'_> {
    fn drop(&mut self) {
        let mut live = self.live.borrow_mut();
        for key in &self.keys {
            live.remove(key);
        }
    }
}

/// Everything cached.
fn complete() -> scheduler_core::launch::Known {
    scheduler_core::launch::Known {
        queue_id: Some(String::new()),
        project_id: Some(String::new()),
        base: Some(scheduler_core::launch::BaseTask::default()),
    }
}

/// The calls a launch is expected to make (lookups still to do, a recovery's first look).
fn expected_calls(
    attempt_known: &scheduler_core::launch::Known,
    l: &scheduler_core::Launch,
) -> u32 {
    let mut n = 3 + u32::from(!l.task_parameters.is_empty());
    n += 2 * u32::from(attempt_known.queue_id.is_none());
    n += 2 * u32::from(l.destination_project.is_some() && attempt_known.project_id.is_none());
    n += u32::from(attempt_known.base.is_none());
    n += 2 * u32::from(l.retry > 0);
    n
}

/// Sync: claims the next unclaimed launch if the budget can pay for it, as the configuration
/// stands now: the tick awaited ClearML since it planned, and the instance may have been
/// deleted, paused (nothing is claimed; its launches wait for the resume, within their
/// window) or saved again (a task launches as it is now; a removed one not at all).
fn claim_next(
    ctx: &Ctx<'_>,
    (planned, planned_revision): (&InstanceConfig, u64),
    id: &str,
    cache: &ClearMlCache,
    budget: u32,
    reserved: &mut u32,
    first: bool,
) -> Result<Option<(LaunchAttempt, SlotKey, Claim, u32)>> {
    let Some(head) = ctx.docs.get::<ConfigHead>(CONFIG)? else {
        return Ok(None); // deleted meanwhile
    };
    if head.paused {
        return Ok(None);
    }
    let saved_since;
    let config = if head.revision == planned_revision {
        planned
    } else {
        match ctx.docs.get::<ConfigRecord>(CONFIG)?.map(|r| r.parse()) {
            Some(Ok(c)) => {
                saved_since = c;
                &saved_since
            }
            _ => return Ok(None),
        }
    };
    let mut runtime = ctx.runtime()?;
    let wall = wall_ms();
    for (item, fire, rerun, attempts) in runtime.state.unclaimed() {
        let slot = SlotKey::new(id, item.as_str(), fire).rerun(rerun);
        let Some(launch) = launch_of(id, config, &item, fire, rerun, attempts) else {
            // The task was removed from the configuration meanwhile: what an earlier attempt
            // left is cleaned up.
            runtime.state.record_launch_rejected(&slot);
            if attempts > 0 {
                runtime.keep_to_clean_up(slot, SkipReason::TaskRemoved);
            }
            continue;
        };
        let known = cache.known(&launch, wall);
        let cost = expected_calls(&known, &launch);
        // Room for what a call keeps in hand (see `drive`): the last call planned still fits.
        // The first launch of an invocation is tried whatever it is expected to cost: one
        // costing more than a whole budget is handed on, from call to call, until it ends.
        if *reserved + cost + CALLS_KEPT_IN_HAND - 1 > budget && !first {
            break;
        }
        let Some(claim) = runtime.state.claim(&slot, ctx.incarnation, wall) else {
            continue;
        };
        ctx.live.borrow_mut().insert(live_key(&slot, &claim));
        *reserved += cost;
        ctx.store(runtime)?;
        return Ok(Some((
            LaunchAttempt::start(&launch, config.name(), known),
            slot,
            claim,
            cost,
        )));
    }
    ctx.store(runtime)?;
    Ok(None)
}

/// Makes an attempt's calls until it ends; stops early if its claim's lease could run out
/// before the next call's answer.
async fn drive(
    ctx: &Ctx<'_>,
    c: &ClearMl,
    mut attempt: LaunchAttempt,
    slot: SlotKey,
    claim: Claim,
    lease_ms: i64,
    expected: u32,
) -> (LaunchAttempt, SlotKey, Claim, u32) {
    loop {
        let call = match attempt.next() {
            Next::Finished(_) => return (attempt, slot, claim, expected),
            Next::Call(call) => call.clone(),
        };
        // A call may sign in again and retry: up to three timeouts, and a second.
        let call_ms = 3 * c.timeout.as_millis() as i64 + 1000;
        let in_time = || claim.calls_allowed_at(wall_ms(), lease_ms, call_ms);
        if !in_time() {
            attempt.stop("the launch has taken too long; it is retried");
            continue;
        }
        // Out of calls (a re-login or a retry cost more than planned): the attempt stops here,
        // without an outcome, and the next invocation carries on (see `hand_on`).
        if c.subrequests.get() + CALLS_KEPT_IN_HAND > c.budget {
            return (attempt, slot, claim, expected);
        }
        // The clone and the enqueue are what make a run: neither once the instance is deleted
        // or paused (the user was told it was, while this launch awaited ClearML). A deletion
        // pauses the instance first, so a launch that meets it makes nothing more.
        if matches!(call, Call::Clone(_) | Call::Enqueue { .. }) {
            match ctx.docs.get::<ConfigHead>(CONFIG) {
                Ok(None) => {
                    attempt.abandon("the instance was deleted");
                    continue;
                }
                Ok(Some(r)) if r.deleting => {
                    attempt.abandon("the instance is being deleted");
                    continue;
                }
                Ok(Some(r)) if r.paused => {
                    attempt.stop(
                        "the instance was paused; it is retried once resumed, within the \
                         catch-up window",
                    );
                    continue;
                }
                _ => {}
            }
        }
        let answer = calls::perform(c, &call, &in_time).await;
        attempt.answer(answer);
    }
}

/// The calls an attempt needs in hand to make its next call: the call, and a sign-in and the
/// call again if ClearML answers that the session expired.
const CALLS_KEPT_IN_HAND: u32 = 3;

/// Sync: a launch stopped before its next call for want of calls left in this invocation goes
/// back to the unclaimed launches, for the object's alarm (an invocation with a budget of its
/// own, seconds later): as a first attempt if it made no call, else as a retry that looks for
/// its clone first. Never a failed attempt: nothing failed, and no backoff delays it.
fn hand_on(ctx: &Ctx<'_>, attempt: &LaunchAttempt, slot: &SlotKey, claim: &Claim) -> Result<()> {
    ctx.live.borrow_mut().remove(&live_key(slot, claim));
    let mut runtime = ctx.runtime()?;
    if attempt.calls() == 0 {
        runtime.state.unclaim(slot, claim);
    } else {
        runtime.state.record_launch_interrupted(slot, claim);
    }
    ctx.store(runtime)
}

/// Sync: records an attempt's outcome in the latest state. Returns whether it launched.
fn settle_attempt(
    ctx: &Ctx<'_>,
    attempt: &LaunchAttempt,
    slot: &SlotKey,
    claim: &Claim,
    now: Instant,
) -> Result<bool> {
    ctx.live.borrow_mut().remove(&live_key(slot, claim));
    let Some(outcome) = attempt.outcome() else {
        return Ok(false);
    };
    if ctx.docs.get::<ConfigHead>(CONFIG)?.is_none() {
        return Ok(false); // deleted meanwhile
    }
    let mut runtime = ctx.runtime()?;
    // Started = enqueued: the real clock, but never before the event that launched it (a test
    // or a catch-up may deliver an event "from the future").
    let started = now.max(Instant::from_unix_millis(wall_ms()));
    let l = attempt.launch();
    let removed = !runtime.state.tasks.contains_key(&slot.item);
    let given_up = !removed
        && runtime
            .state
            .tasks
            .get(&slot.item)
            .is_some_and(|ts| !ts.pending.iter().any(|p| p.is(slot)));
    // A launch whose claim is gone, of a run already on the dashboard (another attempt found
    // this clone and recorded it, and it may have ended since, leaving the state's open runs),
    // is not recorded twice.
    if let Outcome::Launched { task_id, .. } = outcome {
        if runtime.runs.iter().any(|r| &r.task_id == task_id) && !runtime.state.holds(slot, claim) {
            return Ok(false);
        }
    }
    if !settle(&mut runtime.state, slot, claim, outcome, started) {
        // Its task removed while it was out, and it failed with a clone kept for a retry that
        // will never come: the clone is cleaned up.
        if removed
            && matches!(
                outcome,
                Outcome::Failed {
                    permanent: false,
                    ..
                }
            )
        {
            runtime.keep_to_clean_up(slot.clone(), SkipReason::TaskRemoved);
            ctx.store(runtime)?;
        }
        return Ok(false);
    }
    let launched = match outcome {
        Outcome::Launched { reused, .. } => {
            let how = match (*reused, slot.rerun) {
                _ if removed => {
                    " (its task was removed from the configuration while it launched)".to_string()
                }
                _ if given_up => " (its slot had been given up while this launch was still \
                                   out; it launched after all)"
                    .to_string(),
                (true, _) => " (found the clone an earlier attempt made)".to_string(),
                (false, 0) => String::new(),
                (false, n) => format!(" (rerun {n} of the slot {})", slot.fire),
            };
            record_run(&mut runtime, slot, l, outcome, started, now, &how);
            true
        }
        Outcome::Failed {
            message,
            permanent: true,
        } => {
            runtime.push_log(
                line(
                    now,
                    Level::Error,
                    format!(
                        "Launch of {} for {} failed for good: {message}. The slot is skipped; \
                         later slots launch once this is fixed",
                        l.name, slot.fire
                    ),
                )
                .about(About::failed(
                    EventKind::LaunchFailed,
                    &slot.item,
                    Some(slot.fire),
                    None,
                )),
            );
            false
        }
        Outcome::Failed { message, .. } => {
            let retry = runtime
                .state
                .tasks
                .get(&slot.item)
                .and_then(|t| t.pending.iter().find(|p| p.fire == slot.fire))
                .and_then(|p| p.retry_at);
            let when = retry.map_or(String::new(), |t| format!(" at {t}"));
            runtime.push_log(line(
                now,
                Level::Error,
                format!(
                    "Launch of {} for {} failed: {message}; will retry{when} while within the \
                     catch-up window",
                    l.name, slot.fire
                ),
            ));
            false
        }
    };
    ctx.store(runtime)?;
    Ok(launched)
}

/// A launched slot's run: on the dashboard, and the log line that tells it (`how` says more).
fn record_run(
    runtime: &mut Runtime,
    slot: &SlotKey,
    l: &scheduler_core::Launch,
    outcome: &Outcome,
    started: Instant,
    now: Instant,
    how: &str,
) {
    let Outcome::Launched {
        task_id,
        name,
        project_id,
        status,
        ..
    } = outcome
    else {
        return;
    };
    runtime.push_run(ExecutedRun {
        item: slot.item.clone(),
        task_id: task_id.clone(),
        slot: slot.fire,
        rerun: slot.rerun,
        started,
        finished: None,
        status: status_text(*status).into(),
        project_id: project_id.clone(),
        name: Some(name.clone()),
    });
    runtime.push_log(
        line(
            now,
            Level::Info,
            format!(
                "Launched {} as ClearML task {task_id} on queue {}{how}",
                l.name, l.queue
            ),
        )
        .about(About {
            news: News::Launched,
            item: slot.item.clone(),
            slot: Some(slot.fire),
            task_id: Some(task_id.clone()),
        }),
    );
}

/// Runs a clean-up for each slot given up: clones it left not enqueued are deleted; one that
/// was enqueued after all (its answer lost) becomes the slot's run.
///
/// Within the invocation's call budget: the clean-ups it cannot pay for are left to the next
/// tick, untried. And once one could not reach an end because ClearML as a whole failed (no
/// answer, a 5xx, a rate limit, a sign-in refused), the rest are not asked this tick, each
/// counted as tried with that reason: an outage costs one call a tick, not one timeout per slot
/// given up. One slot's own trouble (a clone ClearML will not delete) holds up no other.
async fn clean_up(
    ctx: &Ctx<'_>,
    c: &ClearMl,
    config: &InstanceConfig,
    id: &str,
    now: Instant,
    slots: &[(SlotKey, SkipReason)],
) -> Result<()> {
    let mut unreachable: Option<Outcome> = None;
    for (slot, reason) in slots {
        let launch = clean_up_launch(id, config, slot);
        let outcome = match &unreachable {
            Some(failed) => failed.clone(),
            None if c.subrequests.get() + CALLS_KEPT_IN_HAND > c.budget => break,
            None => {
                let outages = c.outages.get();
                let mut attempt = LaunchAttempt::clean_up(&launch, config.name());
                while let Next::Call(call) = attempt.next() {
                    let call = call.clone();
                    attempt.answer(calls::perform(c, &call, &|| true).await);
                }
                let outcome = attempt.outcome().expect("a finished attempt").clone();
                if let Outcome::Failed {
                    message,
                    permanent: false,
                } = &outcome
                {
                    if c.subrequests.get() >= c.budget {
                        // Cut short by the budget, not by ClearML: not a try.
                        break;
                    }
                    if c.outages.get() > outages {
                        unreachable = Some(Outcome::Failed {
                            message: format!(
                                "not asked, as ClearML failed the clean-up before it ({message})"
                            ),
                            permanent: false,
                        });
                    }
                }
                outcome
            }
        };
        let mut runtime = ctx.runtime()?;
        let Some(tries) = runtime.clean_up_of(slot).map(|u| {
            u.tries += 1;
            u.tried_at = Some(now);
            u.tries
        }) else {
            // A tick running beside this one finished this clean-up and told it.
            continue;
        };
        match &outcome {
            Outcome::Launched {
                task_id,
                name,
                project_id,
                status,
                ..
            } if !runtime.runs.iter().any(|r| &r.task_id == task_id) => {
                runtime.state.record_launch(slot, task_id.clone(), now);
                runtime.push_run(ExecutedRun {
                    item: slot.item.clone(),
                    task_id: task_id.clone(),
                    slot: slot.fire,
                    rerun: slot.rerun,
                    started: now,
                    finished: None,
                    status: status_text(*status).into(),
                    project_id: project_id.clone(),
                    name: Some(name.clone()),
                });
                let told = given_up_line(slot, &launch.name, reason, Found::Enqueued(task_id), now);
                runtime.tell_given_up(told, slot);
            }
            // Already known as a run: nothing to tell.
            Outcome::Launched { .. } => runtime.unverified.retain(|u| u.slot != *slot),
            // Not done: asked again next tick, told once known (or after MAX_CLEAN_UP_TRIES,
            // as unchecked).
            Outcome::Failed {
                permanent: false,
                message,
            } => {
                if tries >= MAX_CLEAN_UP_TRIES {
                    runtime.push_log(line(
                        now,
                        Level::Warn,
                        format!(
                            "Could not clean up after {} for {}: {message}; a clone of it may be \
                             left in ClearML, not enqueued (tag {})",
                            launch.name, slot.fire, launch.tag
                        ),
                    ));
                    let told = given_up_line(slot, &launch.name, reason, Found::Unchecked, now);
                    runtime.tell_given_up(told, slot);
                }
            }
            _ => {
                let told = given_up_line(slot, &launch.name, reason, Found::Nothing, now);
                runtime.tell_given_up(told, slot);
            }
        }
        ctx.store(runtime)?;
    }
    Ok(())
}

/// Asks ClearML once which workers listen to the stuck runs' queues (`workers.get_all`, those
/// seen in the last 10 minutes), and logs each run with what it said.
async fn report_stuck(
    ctx: &Ctx<'_>,
    clearml: std::result::Result<&ClearMl, &str>,
    stuck: &[StuckRun],
    now: Instant,
) -> Result<()> {
    if stuck.is_empty() {
        return Ok(());
    }
    let workers: std::result::Result<Vec<Value>, String> = match clearml {
        Ok(c) => c
            .call("workers.get_all", json!({"last_seen": 600}))
            .await
            .map(|d| d["workers"].as_array().cloned().unwrap_or_default())
            .map_err(|e| e.to_string()),
        Err(why) => Err(why.to_string()),
    };
    let cache: ClearMlCache = ctx.docs.get(CLEARML_CACHE)?.unwrap_or_default();
    let mut runtime = ctx.runtime()?;
    for s in stuck {
        let listening = workers.as_ref().map_err(Clone::clone).map(|ws| {
            ws.iter()
                .filter(|w| {
                    s.queue
                        .as_deref()
                        .is_some_and(|q| listens_to(w, q, cache.queues.get(q)))
                })
                .count()
        });
        runtime.push_log(stuck_line(s, listening, now));
    }
    ctx.store(runtime)
}

/// Whether a worker of `workers.get_all` lists queue `queue` (by name, or by id: as written in
/// the configuration or as this instance looked it up) among the queues it listens to.
fn listens_to(worker: &Value, queue: &str, known_id: Option<&(String, i64)>) -> bool {
    worker["queues"].as_array().is_some_and(|qs| {
        qs.iter().any(|q| {
            q["name"].as_str() == Some(queue)
                || q["id"].as_str() == Some(queue)
                || known_id.is_some_and(|(id, _)| q["id"].as_str() == Some(id))
        })
    })
}

/// A clone refused for a stale project id: forget the id (the retry looks it up again).
fn forget_stale_project(attempt: &LaunchAttempt, cache: &mut ClearMlCache) -> bool {
    let stale = matches!(attempt.outcome(), Some(Outcome::Failed { message, .. }) if message.contains("destination project's id is stale"));
    match (&attempt.launch().destination_project, stale) {
        (Some(name), true) => cache.learn(&[Learned::ForgetProject { name: name.clone() }], 0),
        _ => false,
    }
}

/// Without ClearML credentials nothing can launch: each planned launch fails (retried while
/// within its window), with the reason in the log.
fn refuse_all(
    ctx: &Ctx<'_>,
    config: &InstanceConfig,
    id: &str,
    now: Instant,
    why: &str,
) -> Result<()> {
    let mut runtime = ctx.runtime()?;
    for (item, fire, rerun, _) in runtime.state.unclaimed() {
        let slot = SlotKey::new(id, item.as_str(), fire).rerun(rerun);
        let name = config
            .task(&item)
            .map_or(item.clone(), |t| t.display_name().to_string());
        runtime.push_log(line(
            now,
            Level::Error,
            format!("Cannot launch {name}: {why}"),
        ));
        if runtime
            .state
            .claim(&slot, ctx.incarnation, wall_ms())
            .is_some()
        {
            runtime.state.record_launch_failed(&slot, why);
        }
    }
    ctx.store(runtime)
}

fn status_text(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Created => "created",
        TaskStatus::Queued => "queued",
        TaskStatus::InProgress => "in_progress",
        TaskStatus::Stopped => "stopped",
        TaskStatus::Published => "published",
        TaskStatus::Publishing => "publishing",
        TaskStatus::Closed => "closed",
        TaskStatus::Failed => "failed",
        TaskStatus::Completed => "completed",
        TaskStatus::Unknown => "unknown",
    }
}

/// The runtime as JSON with the planner's clock fields blanked: equal before and after a
/// tick when the tick decided nothing and learnt nothing (every slot decision leaves a log
/// line, a pending launch or a run, so blanking `evaluated_until` hides none).
fn without_clock(runtime: &Runtime) -> String {
    let mut r = runtime.clone();
    r.state.last_tick = None;
    r.state.next_due = None;
    for task in r.state.tasks.values_mut() {
        task.evaluated_until = Instant::UNIX_EPOCH;
    }
    serde_json::to_string(&r).unwrap_or_default()
}

// ---- watching the runs out ------------------------------------------------------------------

/// Aborts runs past their execution limit and reads the statuses of the open runs (and of
/// any clone of this instance the state lost track of), then applies both to the latest state.
async fn watch(
    ctx: &Ctx<'_>,
    c: &ClearMl,
    config: &InstanceConfig,
    id: &str,
    now: Instant,
    aborts: &[(String, TaskStatus)],
    poll: Option<&[String]>,
) -> Result<()> {
    let failed_aborts = abort(c, aborts).await;
    let (tasks, warning) = match poll {
        Some(open) => read_statuses(c, id, open, now).await,
        None => (vec![], None),
    };
    if failed_aborts.is_empty() && tasks.is_empty() && warning.is_none() {
        return Ok(());
    }
    let mut runtime = ctx.runtime()?;
    if let Some(w) = warning {
        runtime.push_log(line(now, Level::Warn, w));
    }
    let polled = poll.unwrap_or_default();
    for task in &tasks {
        reconcile(task, id, config, now, polled, &mut runtime);
    }
    // After the poll, which is read after the aborts: an abort whose answer was lost after
    // ClearML stopped the run finds it ended, told as aborted by its limit, not as a failed
    // abort and a run "stopped before it finished".
    for (task_id, e) in failed_aborts {
        if runtime.state.runs.iter().any(|r| r.task_id == task_id) {
            runtime.push_log(line(
                now,
                Level::Error,
                format!("Aborting {task_id} failed: {e}; will try again"),
            ));
            runtime.state.record_abort_failed(&task_id);
        }
    }
    ctx.store(runtime)
}

/// Aborts runs past their execution limit, by their status now (the one `aborts` has is up to a
/// tick old): a queued run is stopped with `tasks.stop`, a running one marked stopped (as the
/// SDK's scheduler does), and one that has ended since is left as it ended (never forced to
/// "stopped": its poll reads how it ended). Returns the runs that could not be aborted, with
/// why, to try again next tick.
///
/// Not `tasks.dequeue` for a queued run: an agent may start it between this read and the call,
/// and clearml-server's dequeue then forces the running task back to `created` (or its status
/// before the enqueue) while the agent runs it. `tasks.stop` re-reads the status: a queued task
/// is dequeued and stopped only if it is still queued (the change is conditional on it); one an
/// agent has started is stopped, or, once its worker has reported it, gets the message
/// "stopping", which makes the agent stop it. Either way it is never reset to a draft.
async fn abort(c: &ClearMl, aborts: &[(String, TaskStatus)]) -> Vec<(String, String)> {
    if aborts.is_empty() {
        return Vec::new();
    }
    let ids: Vec<&String> = aborts.iter().map(|(id, _)| id).collect();
    let now = match tasks_by_id(c, &ids, &["id", "status"]).await {
        Ok(tasks) => tasks,
        Err(e) => {
            let why = e.to_string();
            return aborts
                .iter()
                .map(|(id, _)| (id.clone(), why.clone()))
                .collect();
        }
    };
    let status_of = |id: &str| {
        now.iter()
            .find(|t| t["id"].as_str() == Some(id))
            .map(|t| TaskStatus::from_clearml(t["status"].as_str().unwrap_or("")))
    };
    let mut failed = Vec::new();
    // What the ClearML UI shows as the run's status reason.
    const REASON: &str = "aborted by the scheduler: it ran past its execution limit";
    for (task_id, _) in aborts {
        let body = json!({"task": task_id, "status_reason": REASON});
        let result = match status_of(task_id) {
            Some(TaskStatus::Queued) => c.call("tasks.stop", body).await,
            Some(TaskStatus::InProgress) => c.call("tasks.stopped", body).await,
            // Ended meanwhile, or gone: nothing to abort.
            _ => continue,
        };
        // A failure (400/110 too: its status changed between the read and the call) is tried
        // again next tick, from the status it has then.
        if let Err(e) = result {
            failed.push((task_id.clone(), e.to_string()));
        }
    }
    failed
}

/// Tasks by id, every one ClearML has. clearml-server answers at most `max_page_size` tasks a
/// call (500 unless its operator set it lower), however long the `id` list: an instance with
/// more runs open than that (queued runs pile up while no agent serves the queue) would see the
/// rest as deleted. So each call asks for the ids not found yet, until all are found or a call
/// finds none of them (the rest are gone). Asking anew rather than paging keeps a task deleted
/// meanwhile from shifting the pages over one that still exists.
async fn tasks_by_id(
    c: &ClearMl,
    ids: &[&String],
    fields: &[&str],
) -> Result<Vec<Value>, crate::clearml::ClearMlError> {
    const PAGE_SIZE: usize = 500;
    let mut found: Vec<Value> = Vec::new();
    let mut missing: Vec<&String> = ids.to_vec();
    missing.sort();
    missing.dedup();
    while !missing.is_empty() {
        let body = json!({"id": missing, "only_fields": fields, "page": 0, "page_size": PAGE_SIZE});
        let data = c.call("tasks.get_all", body).await?;
        let tasks = data["tasks"].as_array().cloned().unwrap_or_default();
        let seen: std::collections::HashSet<&str> =
            tasks.iter().filter_map(|t| t["id"].as_str()).collect();
        let before = missing.len();
        missing.retain(|id| !seen.contains(id.as_str()));
        found.extend(tasks);
        if missing.len() == before {
            break;
        }
    }
    Ok(found)
}

const POLL_FIELDS: [&str; 9] = [
    "id",
    "name",
    "status",
    "status_reason",
    "status_changed",
    "completed",
    "started",
    "project",
    "system_tags",
];

/// The instance's newest clones by its tag, plus any open run not among them.
async fn read_statuses(
    c: &ClearMl,
    id: &str,
    open: &[String],
    now: Instant,
) -> (Vec<Value>, Option<String>) {
    let recent = c
        .call(
            "tasks.get_all",
            json!({"system_tags": [scheduler_core::launch::instance_tag(id)], "only_fields": POLL_FIELDS, "order_by": ["-created"], "page": 0, "page_size": 100, "search_hidden": true}),
        )
        .await;
    let mut tasks: Vec<Value> = match recent {
        Ok(data) => data["tasks"].as_array().cloned().unwrap_or_default(),
        Err(e) => {
            return (
                vec![],
                Some(format!("Could not read run statuses: {e}; will try again")),
            )
        }
    };
    let missing: Vec<&String> = open
        .iter()
        .filter(|id| !tasks.iter().any(|t| t["id"].as_str() == Some(id.as_str())))
        .collect();
    if missing.is_empty() {
        return (tasks, None);
    }
    match tasks_by_id(c, &missing, &POLL_FIELDS).await {
        Ok(found) => {
            // A run ClearML no longer has was deleted there: it has ended, as stopped (else it
            // would be polled for ever, and hold back a single-instance task's next slots).
            for gone in missing
                .iter()
                .filter(|id| !found.iter().any(|t| t["id"].as_str() == Some(id.as_str())))
            {
                tasks.push(json!({"id": gone, "status": "stopped",
                    "status_reason": "deleted in ClearML", "status_changed": scheduler_core::api::iso(now)}));
            }
            tasks.extend(found);
            (tasks, None)
        }
        Err(e) => (
            tasks,
            Some(format!("Could not read run statuses: {e}; will try again")),
        ),
    }
}

/// Applies one task's status, as the poll read it, to the runtime as it is now. `polled` are
/// the runs that were open when the poll was planned: the calls took time, and a launch of an
/// overlapping tick may have settled meanwhile.
fn reconcile(
    task: &Value,
    instance_id: &str,
    config: &InstanceConfig,
    now: Instant,
    polled: &[String],
    runtime: &mut Runtime,
) {
    let Some(id) = task["id"].as_str() else {
        return;
    };
    let status_text = task["status"].as_str().unwrap_or("unknown");
    let mut status = TaskStatus::from_clearml(status_text);
    // A run of ours back in `created` was dequeued (by its execution limit, or by hand in
    // ClearML): it will not run, so it is finished, not polled for ever. But only a run that
    // was open when the poll was planned: one that became a run since was read before its
    // enqueue (an overlapping tick launched it while this poll's answer was on its way), and
    // ending it would lose a run that is queued, unwatched from then on.
    if status == TaskStatus::Created && runtime.state.runs.iter().any(|r| r.task_id == id) {
        if !polled.iter().any(|open| open == id) {
            return;
        }
        status = TaskStatus::Stopped;
    }
    let finished = if status.is_open() || status == TaskStatus::Created {
        None
    } else {
        parse_time(&task["completed"]).or_else(|| parse_time(&task["status_changed"]))
    };
    if !runtime.runs.iter().any(|r| r.task_id == id) {
        // A clone the state lost track of (never a clone not enqueued yet: that one belongs to
        // a launch in flight): put it back on the dashboard.
        if status == TaskStatus::Created {
            return;
        }
        let Some(slot) = slot_of(task, instance_id, config) else {
            return;
        };
        runtime.push_run(ExecutedRun {
            item: slot.item.clone(),
            task_id: id.to_string(),
            slot: slot.fire,
            rerun: slot.rerun,
            started: parse_time(&task["started"]).unwrap_or(slot.fire),
            finished: None,
            status: status_text.to_string(),
            project_id: task["project"].as_str().map(str::to_string),
            name: task["name"].as_str().map(str::to_string),
        });
    }
    if status != TaskStatus::Created {
        if let Some(ended) = runtime.state.record_status(id, status) {
            let name = config
                .task(&ended.item)
                .map_or(ended.item.as_str(), |t| t.display_name());
            if let Some(l) = run_ended(&ended, status, name, now) {
                runtime.push_log(l);
            }
            // ClearML stops a task whose agent stopped answering with this reason.
            let forced = task["status_reason"]
                .as_str()
                .is_some_and(|r| r.to_ascii_lowercase().contains("non-responsive"));
            if let Some(l) = plan_rerun(config, &mut runtime.state, &ended, status, forced, now) {
                runtime.push_log(l);
            }
        }
    }
    if let Some(run) = runtime.runs.iter_mut().find(|r| r.task_id == id) {
        if run.status != status_text || run.finished != finished {
            run.status = status_text.to_string();
            run.finished = finished;
        }
        // A run a retry found already ended was recorded as started when the retry found it,
        // after it finished: its start is ClearML's then (no negative duration).
        if let Some(end) = run.finished.filter(|end| *end < run.started) {
            run.started = parse_time(&task["started"]).unwrap_or(end).min(end);
        }
    }
}

/// Which slot a clone was made for, from its `sched-v1:` system tag.
fn slot_of(task: &Value, instance_id: &str, config: &InstanceConfig) -> Option<SlotKey> {
    let tags = task["system_tags"].as_array()?;
    for tag in tags.iter().filter_map(Value::as_str) {
        for item in config.scheduled_tasks() {
            let prefix = SlotKey::item_tag_prefix(instance_id, item.id());
            if let Some((fire, rerun)) = tag.strip_prefix(&prefix).and_then(SlotKey::parse_tag_rest)
            {
                return Some(SlotKey::new(instance_id, item.id(), fire).rerun(rerun));
            }
        }
    }
    None
}

/// ClearML's times ("2026-11-25T14:07:00.123+00:00", sometimes without zone: UTC).
fn parse_time(v: &Value) -> Option<Instant> {
    let s = v.as_str()?;
    Instant::parse_rfc3339(s).or_else(|| Instant::parse_rfc3339(&format!("{s}Z")))
}
