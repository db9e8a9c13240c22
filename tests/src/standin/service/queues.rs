//! queues.get_all, queues.get_by_id, queues.get_default, queues.create, queues.remove_task.

use serde_json::{json, Value};

use super::{tasks, Ctx, Req};
use crate::standin::api::{ApiError, Kw};
use crate::standin::model::{new_id, Queue, State, COMPANY_ID};
use crate::standin::query::{self, Filter};

pub fn get_all(state: &State, req: &Req) -> Result<Value, ApiError> {
    let filter = Filter::parse(req.raw(), &query::QUEUES, false)?;
    let docs = state
        .queues
        .iter()
        .map(Queue::doc)
        .filter(|q| filter.matches(q))
        .collect();
    Ok(json!({"queues": query::finish(docs, req.raw())?}))
}

pub fn get_by_id(state: &State, req: &Req) -> Result<Value, ApiError> {
    let id = req.required_str("queue")?;
    let q = state
        .queue(&id)
        .ok_or_else(|| ApiError::invalid_queue_id(&id, COMPANY_ID))?;
    Ok(json!({"queue": q.doc()}))
}

pub fn get_default(state: &State) -> Result<Value, ApiError> {
    let q = default_queue(state)?;
    Ok(json!({"id": q.id, "name": q.name}))
}

/// The queue tagged `default` (400/707 when there is none).
pub fn default_queue(state: &State) -> Result<&Queue, ApiError> {
    state
        .queues
        .iter()
        .find(|q| q.system_tags.iter().any(|t| t == "default"))
        .ok_or_else(ApiError::no_default_queue)
}

pub fn create(state: &mut State, req: &Req, ctx: &Ctx) -> Result<Value, ApiError> {
    let name = req.required_str("name")?;
    if state.queues.iter().any(|q| q.name == name) {
        return Err(ApiError::expected_unique_data(
            "value combination already exists (unique field already contains this value)",
            &[Kw::S("name", &name), Kw::S("company", COMPANY_ID)],
        ));
    }
    let id = insert(state, &name, ctx);
    if let Some(q) = state.queue_mut(&id) {
        q.tags = req.opt_str_list("tags")?.unwrap_or_default();
        q.system_tags = req.opt_str_list("system_tags")?.unwrap_or_default();
    }
    Ok(json!({"id": id}))
}

/// queues.remove_task: takes the task's entry out of the queue and nothing else (clearml-server's
/// `QueueBLL.remove_task`): the task's status changes only with `update_task_status` (2.31),
/// and then (forced, whatever it is) only if its execution queue is this one. 400/703 when the
/// queue has no entry for the task (or there is no such queue).
pub fn remove_task(state: &mut State, req: &Req, ctx: &Ctx) -> Result<Value, ApiError> {
    let queue_id = req.required_str("queue")?;
    let task_id = req.required_str("task")?;
    let update_status = req.bool_or("update_task_status", false)?;
    let queue = state
        .queues
        .iter_mut()
        .find(|q| q.id == queue_id && q.entries.iter().any(|e| e.task == task_id))
        .ok_or_else(|| {
            ApiError::invalid_queue_or_task_not_queued(&task_id, &queue_id, COMPANY_ID)
        })?;
    queue.entries.retain(|e| e.task != task_id);
    queue.last_update = ctx.now_iso.clone();
    if update_status {
        tasks::back_from_queue(state, &task_id, &queue_id, ctx)?;
    }
    Ok(json!({"removed": 1}))
}

/// Add an empty queue (also used by tasks.enqueue with an unknown `queue_name`).
pub fn insert(state: &mut State, name: &str, ctx: &Ctx) -> String {
    let id = new_id();
    state.queues.push(Queue::new(&id, name, &[], &ctx.now_iso));
    id
}
