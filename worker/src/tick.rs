//! The minute cron handler: load from KV, ask `scheduler_core` what to do,
//! do it against ClearML, store the outcome.
//!
//! Cost: an idle tick reads `index` and nothing else (the ticker lives in the
//! isolate's memory between events; a cold isolate reads it once) and writes
//! nothing, except the heartbeat once an hour. Only instances whose config
//! changed or whose `next_due` has come are loaded.

use std::cell::RefCell;

use scheduler_core::{
    next_slot_due, plan_paused, plan_run_now, plan_tick, Action, InstanceConfig, Instant, Launch,
    Level, LogLine, SlotKey, TaskStatus,
};
use serde_json::{json, Value};
use worker::{Env, Result, ScheduledEvent};

use crate::clearml::{anchored, ClearMl, ClearMlError, Credentials};
use crate::store::{
    config_key, runtime_key, ConfigRecord, ExecutedRun, Heartbeat, Index, Kv, LastRun, Runtime,
    Ticker, TickerEntry, INDEX, TICKER,
};

/// Task rows planned per tick at most (`TICK_ROW_BUDGET`): about 1,000 rows of parsing and
/// planning fit well within Cloudflare Free's 10 ms of CPU (see BENCHMARKS.md).
const DEFAULT_TICK_ROW_BUDGET: usize = 1000;
/// Cloudflare Free allows 50 subrequests per invocation.
const DEFAULT_SUBREQUEST_BUDGET: u32 = 50;
/// ClearML calls one launch may need at most (lookup, queue, project x2, base name, clone, params, enqueue).
const CALLS_PER_LAUNCH: u32 = 8;
/// The heartbeat is refreshed at most this often when nothing else is written.
const HEARTBEAT_EVERY_SECONDS: i64 = 3600;

thread_local! {
    /// The ticker as last read or written by this isolate.
    static TICKER_CACHE: RefCell<Option<Ticker>> = const { RefCell::new(None) };
}

/// Runs one scheduled event.
pub async fn run(event: &ScheduledEvent, env: &Env) -> Result<()> {
    let now = Instant::from_unix_millis(event.schedule() as i64);
    let kv = Kv::open(env)?;
    let index: Index = kv.get(INDEX).await?.unwrap_or_default();
    let mut ticker = match TICKER_CACHE.with(|c| c.borrow().clone()) {
        Some(t) => t,
        None => kv.get(TICKER).await?.unwrap_or_default(),
    };
    let before = ticker.clone();

    // Instances deleted through the API: their runtime state goes too (the tick owns it).
    let deleted: Vec<String> = ticker
        .instances
        .keys()
        .filter(|id| !index.instances.iter().any(|e| &e.id == *id))
        .cloned()
        .collect();
    for id in &deleted {
        kv.delete(&runtime_key(id)).await?;
        ticker.instances.remove(id);
    }
    // What is due: slots first (earliest first), then runs to poll, then configurations
    // saved since the last tick. A paused instance is due only to watch the runs it has out.
    let mut due: Vec<(u8, Instant, &crate::store::IndexEntry)> = index
        .instances
        .iter()
        .filter_map(|e| match ticker.instances.get(&e.id) {
            Some(t) if e.paused => t.polling.then_some((1, now, e)),
            None if e.paused => None,
            None => Some((2, now, e)),
            Some(t) if t.next_due.is_some_and(|d| d <= now) => Some((0, t.next_due?, e)),
            Some(t) if t.polling => Some((1, now, e)),
            Some(t) if t.revision != e.revision => Some((2, now, e)),
            Some(_) => None,
        })
        .collect();
    due.sort_by_key(|(class, at, _)| (*class, *at));
    // Planning costs CPU by the task row (parse, compile, plan): past the budget, the rest
    // waits for the next tick (slots stay due; the catch-up window covers the delay).
    let row_budget = env
        .var("TICK_ROW_BUDGET")
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .unwrap_or(DEFAULT_TICK_ROW_BUDGET);
    let mut rows = 0usize;
    let mut deferred = 0usize;
    due.retain(|(_, _, e)| {
        if rows > 0 && rows + e.task_count > row_budget {
            deferred += 1;
            return false;
        }
        rows += e.task_count;
        true
    });
    let due: Vec<&crate::store::IndexEntry> = due.into_iter().map(|(_, _, e)| e).collect();

    let mut stats = TickStats {
        deferred,
        ..TickStats::default()
    };
    if !due.is_empty() {
        let budget = env
            .var("SUBREQUEST_BUDGET")
            .ok()
            .and_then(|v| v.to_string().parse().ok())
            .unwrap_or(DEFAULT_SUBREQUEST_BUDGET);
        let clearml = Credentials::from_env(env).map(|c| ClearMl::new(c, budget));
        for entry in due {
            let outcome = run_instance(&kv, clearml.as_ref(), entry, now, &mut stats).await;
            match outcome {
                Ok(t) => {
                    ticker.instances.insert(entry.id.clone(), t);
                }
                Err(e) => worker::console_error!("instance {}: {e}", entry.id),
            }
        }
        if let Ok(c) = &clearml {
            stats.subrequests = c.subrequests.get();
        }
    }

    let stale_heartbeat = ticker.heartbeat.as_ref().is_none_or(|h| {
        let last = js_sys::Date::parse(&h.ran_at);
        last.is_nan() || js_sys::Date::now() - last > (HEARTBEAT_EVERY_SECONDS * 1000) as f64
    });
    let wrote = ticker.instances != before.instances || stale_heartbeat;
    if wrote {
        ticker.heartbeat = Some(Heartbeat {
            scheduled_time: iso_from_millis(event.schedule()),
            cron: event.cron(),
            ran_at: now_iso(),
        });
        kv.put(TICKER, &ticker).await?;
    }
    TICKER_CACHE.with(|c| *c.borrow_mut() = Some(ticker));
    worker::console_log!(
        "tick {} instances={} planned={} launched={} kv_reads={} kv_writes={} kv_lists={} subrequests={} deferred={}",
        now,
        index.instances.len(),
        stats.planned,
        stats.launched,
        kv.reads.get(),
        kv.writes.get(),
        kv.lists.get(),
        stats.subrequests,
        stats.deferred
    );
    Ok(())
}

#[derive(Default)]
struct TickStats {
    /// Due instances left for the next tick by the row budget.
    deferred: usize,
    planned: u32,
    launched: u32,
    subrequests: u32,
}

/// Plans and executes one instance; returns its new ticker entry.
async fn run_instance(
    kv: &Kv,
    clearml: std::result::Result<&ClearMl, &String>,
    entry: &crate::store::IndexEntry,
    now: Instant,
    stats: &mut TickStats,
) -> Result<TickerEntry> {
    let id = entry.id.as_str();
    let Some(record): Option<ConfigRecord> = kv.get(&config_key(id)).await? else {
        return Ok(TickerEntry {
            revision: 0,
            next_due: None,
            polling: false,
            next_run: None,
            last_run: None,
        });
    };
    let mut runtime: Runtime = kv.get(&runtime_key(id)).await?.unwrap_or_default();
    let stored = without_clock(&runtime);
    let config = match record.parse() {
        Ok(c) => c,
        Err(e) => {
            runtime.push_log(line(
                now,
                Level::Error,
                format!("The stored configuration is invalid: {e}"),
            ));
            kv.put(&runtime_key(id), &runtime).await?;
            return Ok(TickerEntry {
                revision: record.revision,
                next_due: None,
                polling: false,
                next_run: None,
                last_run: None,
            });
        }
    };
    // Paused: the runs out are watched, nothing else; the configuration (and any run-now
    // request) waits for the resume, which is a save of its own.
    let paused = entry.paused || record.paused;
    if runtime.revision != record.revision && !paused {
        runtime.state.on_config_saved(&config, record.saved_at);
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
    stats.planned += 1;
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
        if let Some(run_now) = plan_run_now(
            id,
            &config,
            &runtime.state,
            &request.item,
            request.requested_at,
        ) {
            runtime.state = run_now.state;
            actions.extend(run_now.actions);
        }
        runtime.run_now_done.push(request.clone());
    }
    // The API drops requests it sees here; remember a day's worth, so a stale read of the
    // configuration never brings one back (and the slot tag would stop a second clone anyway).
    let day_ago = now.add_seconds(-86_400);
    runtime
        .run_now_done
        .retain(|r| record.run_now.contains(r) || r.requested_at > day_ago);
    let mut exec = Executor {
        clearml,
        instance_id: id,
        instance_name: config.name(),
        now,
        cache: Cache::default(),
    };
    let mut polled = false;
    let mut launched = 0;
    for action in actions {
        match action {
            Action::Log(l) => runtime.push_log(l),
            Action::Skip { .. } => {}
            Action::Launch(launch) => {
                if exec.launch(&launch, &mut runtime).await {
                    launched += 1;
                }
            }
            Action::Abort {
                task_id, status, ..
            } => exec.abort(&task_id, status, &mut runtime).await,
            Action::Poll { task_ids } => {
                exec.poll(&task_ids, &config, &mut runtime).await;
                polled = true;
            }
        }
    }
    if launched > 0 && !polled {
        // A tick that launches reconciles too.
        exec.poll(&[], &config, &mut runtime).await;
    }
    stats.launched += launched;
    // A tick that only polled and found nothing new changed nothing but the clock: no write.
    if without_clock(&runtime) != stored {
        kv.put(&runtime_key(id), &runtime).await?;
    }
    Ok(TickerEntry {
        revision: record.revision,
        next_due: next_slot_due(&config, &runtime.state),
        polling: runtime.state.runs.iter().any(|r| r.status.is_open()),
        next_run: config.next_fire_after(now),
        last_run: runtime.runs.last().map(|r| LastRun {
            item: r.item.clone(),
            task_id: r.task_id.clone(),
            status: r.status.clone(),
            started: r.started,
        }),
    })
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

fn line(at: Instant, level: Level, message: String) -> LogLine {
    LogLine { at, level, message }
}

/// ClearML ids looked up once per instance and tick.
#[derive(Default)]
struct Cache {
    queues: Vec<(String, String)>,
    projects: Vec<(String, String)>,
    base_names: Vec<(String, String)>,
}

fn cached<'a>(list: &'a [(String, String)], key: &str) -> Option<&'a str> {
    list.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

struct Executor<'a> {
    clearml: std::result::Result<&'a ClearMl, &'a String>,
    instance_id: &'a str,
    instance_name: &'a str,
    now: Instant,
    cache: Cache,
}

/// The system tag every clone of one instance carries, to list them all.
pub fn instance_tag(instance_id: &str) -> String {
    format!("sched-instance:{instance_id}")
}

impl Executor<'_> {
    fn log(&self, runtime: &mut Runtime, level: Level, message: String) {
        runtime.push_log(line(self.now, level, message));
    }

    /// Launches one slot exactly once; reports the outcome into the state.
    async fn launch(&mut self, l: &Launch, runtime: &mut Runtime) -> bool {
        let clearml = match self.clearml {
            Ok(c) => c,
            Err(why) => {
                let why = why.clone();
                self.log(
                    runtime,
                    Level::Error,
                    format!("Cannot launch {}: {why}", l.name),
                );
                runtime.state.record_launch_failed(&l.slot, why);
                return false;
            }
        };
        if clearml.remaining() < CALLS_PER_LAUNCH {
            self.log(
                runtime,
                Level::Warn,
                format!("Deferring launch of {} for {} to the next tick: this tick's ClearML call budget is spent", l.name, l.slot.fire),
            );
            runtime
                .state
                .record_launch_failed(&l.slot, "deferred: subrequest budget spent");
            return false;
        }
        match self.try_launch(clearml, l).await {
            Ok(done) => {
                // Started = enqueued: the real clock, but never before the event that
                // launched it (a test or a catch-up may deliver an event "from the future").
                let started = self
                    .now
                    .max(Instant::from_unix_millis(js_sys::Date::now() as i64));
                runtime.state.record_launch(&l.slot, &done.task_id, started);
                runtime.push_run(ExecutedRun {
                    item: l.slot.item.clone(),
                    task_id: done.task_id.clone(),
                    slot: l.slot.fire,
                    started,
                    finished: None,
                    status: done.status.clone(),
                    project_id: done.project_id,
                    name: Some(done.name),
                });
                let how = if done.reused {
                    " (found the clone an earlier attempt made)"
                } else {
                    ""
                };
                self.log(
                    runtime,
                    Level::Info,
                    format!(
                        "Launched {} as ClearML task {} on queue {}{how}",
                        l.name, done.task_id, l.queue
                    ),
                );
                true
            }
            Err(e) => {
                let retry = if e.is_transient() {
                    "; will retry while within the catch-up window"
                } else {
                    ""
                };
                self.log(
                    runtime,
                    Level::Error,
                    format!(
                        "Launch of {} for {} failed: {e}{retry}",
                        l.name, l.slot.fire
                    ),
                );
                runtime.state.record_launch_failed(&l.slot, e.to_string());
                false
            }
        }
    }

    async fn try_launch(
        &mut self,
        c: &ClearMl,
        l: &Launch,
    ) -> std::result::Result<Launched, ClearMlError> {
        // 1. A clone for this slot may exist already (a lost answer, a duplicate event).
        let found = c
            .call(
                "tasks.get_all",
                json!({"system_tags": [l.tag], "only_fields": ["id", "status", "project", "name"]}),
            )
            .await?;
        let existing = found["tasks"].as_array().and_then(|t| t.first()).cloned();
        // 2. The queue, before any clone is made: a missing queue leaves no orphan clone.
        let queue_id = self.queue_id(c, &l.queue).await?;
        let (task_id, project_id, name, status, reused) = match existing {
            Some(task) => {
                let id = task["id"].as_str().unwrap_or_default().to_string();
                let status = task["status"].as_str().unwrap_or("unknown").to_string();
                let project = task["project"].as_str().map(str::to_string);
                let name = task["name"].as_str().unwrap_or_default().to_string();
                (id, project, name, status, true)
            }
            None => {
                let project_id = match &l.destination_project {
                    Some(p) => Some(self.project_id(c, p).await?),
                    None => None,
                };
                let base_name = self.base_name(c, &l.base_task_id).await?;
                let name = format!("{base_name} @ {}", slot_label(l.slot.fire));
                let mut body = json!({
                    "task": l.base_task_id,
                    "new_task_name": name,
                    "new_task_comment": format!("Scheduled by ClearML Task Scheduler instance \"{}\", item {}, slot {}", self.instance_name, l.slot.item, l.slot.fire),
                    "new_task_tags": ["scheduled", format!("scheduler:{}", l.slot.item)],
                    "new_task_system_tags": [l.tag, instance_tag(self.instance_id)],
                });
                if let Some(p) = &project_id {
                    body["new_task_project"] = json!(p);
                }
                let cloned = c.call("tasks.clone", body).await?;
                let id = cloned["id"]
                    .as_str()
                    .ok_or_else(|| malformed("tasks.clone", "no id in the answer"))?
                    .to_string();
                (id, project_id, name, "created".to_string(), false)
            }
        };
        // 3. Parameters and enqueue, unless an earlier attempt got that far.
        if status == "created" {
            // Again on a clone an earlier attempt made: it may have failed right after the
            // clone, and setting the same values twice is harmless.
            if !l.task_parameters.is_empty() {
                let params: Vec<Value> = l
                    .task_parameters
                    .iter()
                    .map(|(k, v)| {
                        let (section, name) = k.split_once('/').unwrap_or(("Args", k));
                        json!({"section": section, "name": name, "value": v})
                    })
                    .collect();
                c.call(
                    "tasks.edit_hyper_params",
                    json!({"task": task_id, "hyperparams": params}),
                )
                .await?;
            }
            c.call(
                "tasks.enqueue",
                json!({"task": task_id, "queue": queue_id, "status_reason": "scheduled", "status_message": format!("ClearML Task Scheduler slot {}", l.slot.fire)}),
            )
            .await?;
            return Ok(Launched {
                task_id,
                project_id,
                name,
                status: "queued".into(),
                reused,
            });
        }
        Ok(Launched {
            task_id,
            project_id,
            name,
            status,
            reused,
        })
    }

    async fn queue_id(
        &mut self,
        c: &ClearMl,
        queue: &str,
    ) -> std::result::Result<String, ClearMlError> {
        if let Some(id) = cached(&self.cache.queues, queue) {
            return Ok(id.to_string());
        }
        let by_name = c
            .call(
                "queues.get_all",
                json!({"name": anchored(queue), "only_fields": ["id"]}),
            )
            .await?;
        let id = match by_name["queues"]
            .as_array()
            .and_then(|q| q.first())
            .and_then(|q| q["id"].as_str())
        {
            Some(id) => id.to_string(),
            // Not a name: maybe an id.
            None => match c.call("queues.get_by_id", json!({"queue": queue})).await {
                Ok(q) => q["queue"]["id"].as_str().unwrap_or(queue).to_string(),
                Err(e) if !e.is_transient() => {
                    return Err(ClearMlError {
                        endpoint: "queues.get_all".into(),
                        code: 400,
                        subcode: 701,
                        message: format!(
                            "queue '{queue}' was not found or is inaccessible; no clone was made"
                        ),
                    })
                }
                Err(e) => return Err(e),
            },
        };
        self.cache.queues.push((queue.to_string(), id.clone()));
        Ok(id)
    }

    async fn project_id(
        &mut self,
        c: &ClearMl,
        name: &str,
    ) -> std::result::Result<String, ClearMlError> {
        if let Some(id) = cached(&self.cache.projects, name) {
            return Ok(id.to_string());
        }
        let found = c
            .call(
                "projects.get_all",
                json!({"name": anchored(name), "only_fields": ["id"], "search_hidden": true}),
            )
            .await?;
        let id = match found["projects"]
            .as_array()
            .and_then(|p| p.first())
            .and_then(|p| p["id"].as_str())
        {
            Some(id) => id.to_string(),
            None => {
                let made = c
                    .call(
                        "projects.create",
                        json!({"name": name, "description": "Created by ClearML Task Scheduler for scheduled runs"}),
                    )
                    .await?;
                made["id"]
                    .as_str()
                    .ok_or_else(|| malformed("projects.create", "no id in the answer"))?
                    .to_string()
            }
        };
        self.cache.projects.push((name.to_string(), id.clone()));
        Ok(id)
    }

    async fn base_name(
        &mut self,
        c: &ClearMl,
        task: &str,
    ) -> std::result::Result<String, ClearMlError> {
        if let Some(n) = cached(&self.cache.base_names, task) {
            return Ok(n.to_string());
        }
        let got = c.call("tasks.get_by_id", json!({"task": task})).await?;
        let name = got["task"]["name"].as_str().unwrap_or(task).to_string();
        self.cache.base_names.push((task.to_string(), name.clone()));
        Ok(name)
    }

    async fn abort(&mut self, task_id: &str, status: TaskStatus, runtime: &mut Runtime) {
        let Ok(c) = self.clearml else {
            return runtime.state.record_abort_failed(task_id);
        };
        let result = match status {
            TaskStatus::Queued => c.call("tasks.dequeue", json!({"task": task_id})).await,
            _ => {
                c.call("tasks.stopped", json!({"task": task_id, "force": true}))
                    .await
            }
        };
        if let Err(e) = result {
            self.log(
                runtime,
                Level::Error,
                format!("Aborting {task_id} failed: {e}; will try again"),
            );
            runtime.state.record_abort_failed(task_id);
        }
    }

    /// Reads the statuses of the open runs and reconciles the run list with
    /// ClearML's record of this instance's clones (by tag), in one call when it can.
    async fn poll(&mut self, open: &[String], config: &InstanceConfig, runtime: &mut Runtime) {
        let Ok(c) = self.clearml else { return };
        let fields = [
            "id",
            "name",
            "status",
            "status_changed",
            "completed",
            "started",
            "project",
            "system_tags",
        ];
        let recent = c
            .call(
                "tasks.get_all",
                json!({"system_tags": [instance_tag(self.instance_id)], "only_fields": fields, "order_by": ["-created"], "page": 0, "page_size": 100}),
            )
            .await;
        let mut tasks: Vec<Value> = match recent {
            Ok(data) => data["tasks"].as_array().cloned().unwrap_or_default(),
            Err(e) => {
                self.log(
                    runtime,
                    Level::Warn,
                    format!("Could not read run statuses: {e}; will try again"),
                );
                return;
            }
        };
        let missing: Vec<&String> = open
            .iter()
            .filter(|id| !tasks.iter().any(|t| t["id"].as_str() == Some(id.as_str())))
            .collect();
        if !missing.is_empty() {
            match c
                .call(
                    "tasks.get_all",
                    json!({"id": missing, "only_fields": fields}),
                )
                .await
            {
                Ok(data) => tasks.extend(data["tasks"].as_array().cloned().unwrap_or_default()),
                Err(e) => self.log(
                    runtime,
                    Level::Warn,
                    format!("Could not read run statuses: {e}; will try again"),
                ),
            }
        }
        for task in &tasks {
            self.reconcile(task, config, runtime);
        }
    }

    fn reconcile(&self, task: &Value, config: &InstanceConfig, runtime: &mut Runtime) {
        let Some(id) = task["id"].as_str() else {
            return;
        };
        let status_text = task["status"].as_str().unwrap_or("unknown");
        let status = TaskStatus::from_clearml(status_text);
        let finished = if status.is_open() || status == TaskStatus::Created {
            None
        } else {
            parse_time(&task["completed"]).or_else(|| parse_time(&task["status_changed"]))
        };
        if !runtime.runs.iter().any(|r| r.task_id == id) {
            // A clone KV lost track of: put it back on the dashboard.
            let Some(slot) = slot_of(task, self.instance_id, config) else {
                return;
            };
            runtime.push_run(ExecutedRun {
                item: slot.item.clone(),
                task_id: id.to_string(),
                slot: slot.fire,
                started: parse_time(&task["started"]).unwrap_or(slot.fire),
                finished: None,
                status: status_text.to_string(),
                project_id: task["project"].as_str().map(str::to_string),
                name: task["name"].as_str().map(str::to_string),
            });
        }
        if status != TaskStatus::Created {
            let _ = runtime.state.record_status(id, status);
        }
        if let Some(run) = runtime.runs.iter_mut().find(|r| r.task_id == id) {
            if run.status != status_text || run.finished != finished {
                run.status = status_text.to_string();
                run.finished = finished;
            }
        }
    }
}

struct Launched {
    task_id: String,
    project_id: Option<String>,
    name: String,
    status: String,
    reused: bool,
}

fn malformed(endpoint: &str, what: &str) -> ClearMlError {
    ClearMlError {
        endpoint: endpoint.into(),
        code: 0,
        subcode: 0,
        message: what.into(),
    }
}

/// Which slot a clone was made for, from its `sched-v1:` system tag.
fn slot_of(task: &Value, instance_id: &str, config: &InstanceConfig) -> Option<SlotKey> {
    let tags = task["system_tags"].as_array()?;
    for tag in tags.iter().filter_map(Value::as_str) {
        for item in config.scheduled_tasks() {
            let prefix = SlotKey::item_tag_prefix(instance_id, item.id());
            if let Some(minutes) = tag
                .strip_prefix(&prefix)
                .and_then(|m| m.parse::<i64>().ok())
            {
                return Some(SlotKey::new(
                    instance_id,
                    item.id(),
                    Instant::from_unix_seconds(minutes * 60),
                ));
            }
        }
    }
    None
}

/// ClearML's times ("2026-11-25T14:07:00.123+00:00", sometimes without zone: UTC).
fn parse_time(v: &Value) -> Option<Instant> {
    let s = v.as_str()?;
    let has_zone = s.ends_with('Z') || s.rfind(['+', '-']).is_some_and(|i| i > 10);
    let text = if has_zone {
        s.to_string()
    } else {
        format!("{s}Z")
    };
    let ms = js_sys::Date::parse(&text);
    (!ms.is_nan()).then(|| Instant::from_unix_millis(ms as i64))
}

/// "2026-11-26 06:20 UTC": the slot as the clone's name shows it.
fn slot_label(fire: Instant) -> String {
    let iso = iso_from_millis(fire.unix_millis() as f64);
    format!("{} {} UTC", &iso[..10], &iso[11..16])
}

/// Formats epoch milliseconds as RFC 3339 UTC (`2026-11-25T14:07:00.000Z`).
pub fn iso_from_millis(ms: f64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    String::from(d.to_iso_string())
}

pub fn now_iso() -> String {
    iso_from_millis(js_sys::Date::now())
}
