//! A tiny built-in agent: queued tasks start after N seconds and complete N seconds later;
//! a run asked to stop (`tasks.stop`: the message "stopping") is stopped at its next pass.
//!
//! It pulls from every queue in queue order, like a `clearml-agent` serving all queues, and only
//! completes tasks it started itself (a test may put a task in progress by hand and keep it there).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map};

use super::model::State;
use super::service::tasks::change_status;
use super::service::Ctx;
use super::Shared;

/// Run until the stand-in shuts down (the caller aborts the task).
pub(crate) async fn run(shared: Arc<Shared>, delay: Duration) {
    let period = (delay / 10).clamp(Duration::from_millis(20), Duration::from_millis(250));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let mut state = shared.lock();
        step(&mut state, delay);
    }
}

/// One pass of the agent over the state.
///
/// Like `clearml-agent`, it runs whatever entry it pops, whatever the task's status: the agent
/// reports `tasks.started` with `force`. So a stray entry (left by an enqueue that failed after
/// adding it, the task back to `created`) is run too. Entries of deleted tasks are dropped.
pub fn step(state: &mut State, delay: Duration) {
    let ctx = Ctx::new(super::api::MAX_API_VERSION, &[]);
    let mut to_start = vec![];
    for qi in 0..state.queues.len() {
        let entries = std::mem::take(&mut state.queues[qi].entries);
        let before = entries.len();
        let mut keep = vec![];
        for e in entries {
            match state.task(&e.task) {
                Some(t) if t.changed_at.elapsed() >= delay => to_start.push(e.task.clone()),
                Some(_) => keep.push(e),
                None => {}
            }
        }
        if keep.len() != before {
            state.queues[qi].last_update = ctx.now_iso.clone();
        }
        state.queues[qi].entries = keep;
    }
    for id in to_start {
        start(state, &id, &ctx);
    }
    for task in state.tasks.iter_mut() {
        let stopping = task.doc.get("status_message").and_then(|m| m.as_str()) == Some("stopping");
        if task.run_by_agent && task.status() == "in_progress" && stopping {
            // Asked to stop (`tasks.stop`): the agent aborts the run and reports it stopped.
            let mut extra = Map::new();
            extra.insert("completed".into(), json!(ctx.now_iso));
            let _ = change_status(task, "stopped", "", "aborted", true, &ctx, extra);
            task.run_by_agent = false;
        } else if task.run_by_agent
            && task.status() == "in_progress"
            && task.changed_at.elapsed() >= delay
        {
            let mut extra = Map::new();
            extra.insert("completed".into(), json!(ctx.now_iso));
            let _ = change_status(task, "completed", "", "", true, &ctx, extra);
            task.run_by_agent = false;
        }
    }
}

/// An agent pops the task's entries from every queue and starts it, whatever its status: what
/// the `agent_takes_first` fault does just before a call on the task.
pub(crate) fn take(state: &mut State, task_id: &str) {
    let ctx = Ctx::new(super::api::MAX_API_VERSION, &[]);
    for q in state.queues.iter_mut() {
        let before = q.entries.len();
        q.entries.retain(|e| e.task != task_id);
        if q.entries.len() != before {
            q.last_update = ctx.now_iso.clone();
        }
    }
    start(state, task_id, &ctx);
}

/// Puts the task in progress as this agent's: `tasks.started`, as an agent reports it.
fn start(state: &mut State, task_id: &str, ctx: &Ctx) {
    if let Some(task) = state.task_mut(task_id) {
        let mut extra = Map::new();
        if task.doc.get("started").is_none() {
            extra.insert("started".into(), json!(ctx.now_iso));
        }
        extra.insert("last_worker".into(), json!("standin-agent"));
        extra.insert("last_worker_report".into(), json!(ctx.now_iso));
        if change_status(task, "in_progress", "", "", true, ctx, extra).is_ok() {
            task.run_by_agent = true;
        }
    }
}
