//! tasks.*: get_by_id, get_all, clone, enqueue, dequeue, status changes, edit_hyper_params.
//!
//! Status changes follow clearml-server's state machine (`bll/task/utils.py`); a change to the
//! same status is allowed, `force` skips the check. Every change sets `status_changed`,
//! `last_update`, `last_change` and reports the updated fields back, as the server does.

use serde_json::{json, Map, Value};

use super::{queues, Ctx, Req};
use crate::standin::api::{ApiError, Kw};
use crate::standin::model::{new_id, State, Task, COMPANY_ID, USER_ID, USER_NAME};
use crate::standin::query::{self, Filter};
use crate::standin::records::{CloneRecord, DeleteRecord, EnqueueRecord};

/// Statuses reachable from `from` without `force`.
fn allowed_from(from: &str) -> &'static [&'static str] {
    match from {
        "created" => &["queued", "in_progress"],
        "queued" => &["created", "in_progress", "stopped"],
        "in_progress" => &["stopped", "failed", "created", "completed"],
        "stopped" => &[
            "closed",
            "created",
            "failed",
            "queued",
            "in_progress",
            "published",
            "publishing",
            "completed",
        ],
        "closed" => &["created", "failed", "published", "publishing", "stopped"],
        "failed" => &["created", "stopped", "published", "queued"],
        "publishing" => &["published"],
        "completed" => &["published", "in_progress", "created"],
        _ => &[],
    }
}

/// Change a task's status (ChangeStatusRequest.execute) and return the updated fields.
pub fn change_status(
    task: &mut Task,
    new_status: &str,
    reason: &str,
    message: &str,
    force: bool,
    ctx: &Ctx,
    extra: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let current = task.status().to_string();
    if !force && new_status != current && !allowed_from(&current).contains(&new_status) {
        return Err(ApiError::invalid_task_status(
            Some("Invalid status change"),
            &[
                Kw::S("current_status", &current),
                Kw::S("new_status", new_status),
            ],
        ));
    }
    let mut fields = Map::new();
    fields.insert("status".into(), json!(new_status));
    fields.insert("status_reason".into(), json!(reason));
    fields.insert("status_message".into(), json!(message));
    fields.insert("status_changed".into(), json!(ctx.now_iso));
    fields.insert("last_update".into(), json!(ctx.now_iso));
    fields.insert("last_change".into(), json!(ctx.now_iso));
    fields.insert("last_changed_by".into(), json!(USER_ID));
    for (k, v) in &fields {
        task.doc.insert(k.clone(), v.clone());
    }
    for (k, v) in extra {
        if k == "enqueue_status" {
            task.enqueue_status = v.as_str().map(str::to_string);
        } else {
            task.doc.insert(k.clone(), v.clone());
        }
        fields.insert(k, v);
    }
    if new_status == "queued" {
        if let Some(Value::Array(tags)) = task.doc.get_mut("system_tags") {
            tags.retain(|t| t != "development");
        }
    }
    task.changed_at = std::time::Instant::now();
    Ok(fields)
}

fn task_for_writing<'a>(state: &'a mut State, id: &str) -> Result<&'a mut Task, ApiError> {
    state.task_mut(id).ok_or_else(|| {
        ApiError::invalid_task_id(None, &[Kw::S("id", id), Kw::S("company", COMPANY_ID)])
    })
}

pub fn get_by_id(state: &State, req: &Req) -> Result<Value, ApiError> {
    let id = req.required_str("task")?;
    let task = state.task(&id).ok_or_else(|| {
        ApiError::invalid_task_id(None, &[Kw::L("ids", std::slice::from_ref(&id))])
    })?;
    Ok(json!({"task": task.doc}))
}

pub fn get_all(state: &State, req: &Req) -> Result<Value, ApiError> {
    let filter = Filter::parse(req.raw(), &query::TASKS, true)?;
    let docs = state
        .tasks
        .iter()
        .filter(|t| filter.matches(&t.doc))
        .map(|t| t.doc.clone())
        .collect();
    Ok(json!({"tasks": query::finish(docs, req.raw())?}))
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Fill `section`/`name` into every hyperparameter item, as the server stores them.
fn normalize_hyperparams(hp: Map<String, Value>) -> Map<String, Value> {
    hp.into_iter()
        .map(|(section, items)| {
            let items = match items {
                Value::Object(items) => Value::Object(
                    items
                        .into_iter()
                        .map(|(name, item)| {
                            let mut item = match item {
                                Value::Object(m) => m,
                                other => {
                                    let mut m = Map::new();
                                    m.insert("value".into(), other);
                                    m
                                }
                            };
                            item.entry("section").or_insert_with(|| json!(section));
                            item.entry("name").or_insert_with(|| json!(name));
                            (name, Value::Object(item))
                        })
                        .collect(),
                ),
                other => other,
            };
            (section, items)
        })
        .collect()
}

/// Fill `name` into every configuration item.
fn normalize_configuration(cfg: Map<String, Value>) -> Map<String, Value> {
    cfg.into_iter()
        .map(|(name, item)| {
            let item = match item {
                Value::Object(mut m) => {
                    m.entry("name").or_insert_with(|| json!(name));
                    Value::Object(m)
                }
                other => other,
            };
            (name, item)
        })
        .collect()
}

pub fn clone(state: &mut State, req: &Req, ctx: &Ctx) -> Result<Value, ApiError> {
    let src_id = req.required_str("task")?;
    let name = req.opt_str("new_task_name")?;
    let comment = req.opt_str("new_task_comment")?;
    let tags = req.opt_str_list("new_task_tags")?;
    let system_tags = req.opt_str_list("new_task_system_tags")?;
    let parent = req.opt_str("new_task_parent")?;
    let project = req.opt_str("new_task_project")?;
    let hyperparams = req.opt_object("new_task_hyperparams")?;
    let configuration = req.opt_object("new_task_configuration")?;
    let container = req.opt_object("new_task_container")?;
    let overrides = req.opt_object("execution_overrides")?;
    let validate_references = req.bool_or("validate_references", false)?;
    let new_project_name = req.opt_str("new_project_name")?;

    let src = state
        .task(&src_id)
        .ok_or_else(|| ApiError::invalid_task_id(None, &[Kw::S("id", &src_id)]))?
        .doc
        .clone();

    let mut execution = src
        .get("execution")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut container = container.filter(|c| !c.is_empty());
    if let Some(mut ov) = overrides.filter(|o| !o.is_empty()) {
        ov.remove("model");
        if let Some(Value::String(cmd)) = ov.remove("docker_cmd") {
            if container.is_none() {
                let (image, args) = cmd.split_once(' ').unwrap_or((cmd.as_str(), ""));
                let mut c = Map::new();
                c.insert("image".into(), json!(image));
                c.insert("arguments".into(), json!(args));
                container = Some(c);
            }
        }
        ov.remove("parameters");
        ov.remove("configuration");
        for (k, v) in ov {
            execution.insert(k, v);
        }
    }
    // Output artifacts belong to the run that produced them, not to the clone.
    if let Some(Value::Array(artifacts)) = execution.get_mut("artifacts") {
        artifacts.retain(|a| a.get("mode").and_then(Value::as_str) != Some("output"));
    } else {
        execution.insert("artifacts".into(), json!([]));
    }
    execution.remove("queue");

    let mut new_project = None;
    let mut project = project;
    if project.is_none() {
        if let Some(pname) = new_project_name {
            let pname = super::projects::normalize_name(&pname)?;
            let id = match state.project_by_name(&pname) {
                Some(p) => p["id"].as_str().unwrap_or_default().to_string(),
                None => state.insert_project(None, &pname, "", vec![], vec![]),
            };
            new_project = Some(json!({"id": id, "name": pname}));
            project = Some(id);
        }
    }

    let src_parent = src
        .get("parent")
        .and_then(Value::as_str)
        .filter(|p| !p.starts_with("__DELETED__"))
        .map(str::to_string);
    let validate_parent = validate_references || parent.is_some();
    let validate_project = validate_references || project.is_some();
    // clearml-server: the parent asked for, else the base's own (none if it has none).
    let parent = parent.or(src_parent);
    let project = project.or_else(|| {
        src.get("project")
            .and_then(Value::as_str)
            .map(str::to_string)
    });

    if let Some(parent) = parent.as_deref().filter(|_| validate_parent) {
        if !parent.starts_with("__DELETED__") && state.task(parent).is_none() {
            return Err(ApiError::invalid_task_id(
                Some("invalid parent"),
                &[Kw::S("parent", parent)],
            ));
        }
    }
    if let Some(p) = &project {
        if validate_project && state.project(p).is_none() {
            return Err(ApiError::invalid_project_id(p));
        }
    }

    let tags = tags
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| str_list(src.get("tags")));
    let system_tags = system_tags.filter(|t| !t.is_empty()).unwrap_or_else(|| {
        str_list(src.get("system_tags"))
            .into_iter()
            .filter(|t| t != "development" && t != "archived")
            .collect()
    });
    let hyperparams = hyperparams
        .filter(|h| !h.is_empty())
        .map(normalize_hyperparams)
        .map(Value::Object)
        .or_else(|| src.get("hyperparams").cloned());
    let configuration = configuration
        .filter(|c| !c.is_empty())
        .map(normalize_configuration)
        .map(Value::Object)
        .or_else(|| src.get("configuration").cloned());

    let id = new_id();
    let mut doc = Map::new();
    let mut put = |k: &str, v: Value| {
        doc.insert(k.to_string(), v);
    };
    put("id", json!(id));
    put(
        "name",
        json!(name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| src["name"].as_str().unwrap_or_default().to_string())),
    );
    put(
        "type",
        src.get("type").cloned().unwrap_or(json!("training")),
    );
    put("status", json!("created"));
    if let Some(c) = comment
        .filter(|c| !c.is_empty())
        .map(Value::from)
        .or_else(|| src.get("comment").cloned())
    {
        put("comment", c);
    }
    put("created", json!(ctx.now_iso));
    put("user", json!(USER_ID));
    put("company", json!(COMPANY_ID));
    if let Some(p) = &parent {
        put("parent", json!(p));
    }
    if let Some(p) = &project {
        put("project", json!(p));
    }
    put("tags", json!(tags));
    put("system_tags", json!(system_tags));
    if let Some(s) = src.get("script") {
        put("script", s.clone());
    }
    let destination = src
        .get("output")
        .and_then(|o| o.get("destination"))
        .cloned();
    put(
        "output",
        destination.map_or_else(|| json!({}), |d| json!({"destination": d})),
    );
    let input_models = src
        .get("models")
        .and_then(|m| m.get("input"))
        .cloned()
        .unwrap_or(json!([]));
    put("models", json!({"input": input_models, "output": []}));
    put(
        "container",
        container
            .map(Value::Object)
            .or_else(|| src.get("container").cloned())
            .unwrap_or(json!({})),
    );
    put("execution", Value::Object(execution));
    if let Some(c) = configuration {
        put("configuration", c);
    }
    if let Some(h) = hyperparams {
        put("hyperparams", h);
    }
    put("runtime", json!({}));
    put("last_iteration", json!(0));
    put("last_update", json!(ctx.now_iso));
    put("last_change", json!(ctx.now_iso));
    put("last_changed_by", json!(USER_ID));

    let record = CloneRecord {
        id: id.clone(),
        source: src_id,
        name: doc["name"].as_str().unwrap_or_default().to_string(),
        project: project.clone(),
        parent,
        tags,
        system_tags,
        response_dropped: false,
        at_ms: state.elapsed_ms(),
    };
    state.tasks.push(Task::new(doc));
    state.records.clones.push(record);

    let mut res = json!({"id": id});
    if let Some(np) = new_project {
        res["new_project"] = np;
    }
    Ok(res)
}

pub fn enqueue(state: &mut State, req: &Req, ctx: &Ctx) -> Result<Value, ApiError> {
    let task_id = req.required_str("task")?;
    let force = req.bool_or("force", false)?;
    let reason = req.opt_str("status_reason")?.unwrap_or_default();
    let message = req.opt_str("status_message")?.unwrap_or_default();
    let queue_id = req.opt_str("queue")?.filter(|q| !q.is_empty());
    let queue_name = req.opt_str("queue_name")?.filter(|q| !q.is_empty());
    let verify_watched = req.bool_or("verify_watched_queue", false)?;
    let update_execution_queue = req.bool_or("update_execution_queue", true)?;
    if verify_watched && !update_execution_queue {
        return Err(ApiError::validation(
            "verify_watched_queue cannot be used with update_execution_queue=False",
        ));
    }
    if queue_id.is_some() && queue_name.is_some() {
        return Err(ApiError::validation(
            "Either queue id or queue name should be provided",
        ));
    }
    let task = task_for_writing(state, &task_id)?;
    let status_before = task.status().to_string();
    let has_queue = status_before == "queued" && task.execution_queue().is_some();
    if !update_execution_queue && !has_queue {
        return Err(ApiError::validation(
            "Cannot skip setting execution queue for a task that is not enqueued or does not have execution queue set",
        ));
    }
    let enqueue_status = if status_before == "queued" {
        task.enqueue_status
            .clone()
            .unwrap_or_else(|| status_before.clone())
    } else {
        status_before.clone()
    };

    let queue_id = match (queue_id, queue_name) {
        (Some(id), _) => id,
        (None, Some(name)) => match state.queues.iter().find(|q| q.name == name) {
            Some(q) => q.id.clone(),
            None => queues::insert(state, &name, ctx),
        },
        (None, None) => queues::default_queue(state)?.id.clone(),
    };

    // Validate the transition first (nothing changes on 400/110)...
    let task = task_for_writing(state, &task_id)?;
    let current = task.status().to_string();
    if !force && current != "queued" && !allowed_from(&current).contains(&"queued") {
        return Err(ApiError::invalid_task_status(
            Some("Invalid status change"),
            &[
                Kw::S("current_status", &current),
                Kw::S("new_status", "queued"),
            ],
        ));
    }
    // ...then add to the queue; on failure the server reverts the status change it already made,
    // which leaves status_reason "failed enqueueing" and a fresh status_changed behind.
    let add_error = match state.queue(&queue_id) {
        None => Some(ApiError::invalid_queue_id(&queue_id, COMPANY_ID)),
        Some(q) if q.entries.iter().any(|e| e.task == task_id) => {
            Some(ApiError::task_already_queued(&task_id))
        }
        Some(_) => None,
    };
    if let Some(err) = add_error {
        let task = task_for_writing(state, &task_id)?;
        let status = task.status().to_string();
        change_status(
            task,
            &status,
            "failed enqueueing",
            "",
            true,
            ctx,
            Map::new(),
        )?;
        return Err(err);
    }

    let mut extra = Map::new();
    extra.insert("enqueue_status".into(), json!(enqueue_status));
    let task = task_for_writing(state, &task_id)?;
    let mut fields = change_status(task, "queued", &reason, &message, force, ctx, extra)?;
    if update_execution_queue {
        let exec = task.doc.entry("execution").or_insert_with(|| json!({}));
        if let Value::Object(e) = exec {
            e.insert("queue".into(), json!(queue_id));
        }
        fields.insert("execution.queue".into(), json!(queue_id));
    }
    for q in state.queues.iter_mut() {
        if q.id == queue_id {
            q.entries.push(crate::standin::model::QueueEntry {
                task: task_id.clone(),
                added: ctx.now_iso.clone(),
            });
            q.last_update = ctx.now_iso.clone();
        } else if q.entries.iter().any(|e| e.task == task_id) {
            q.entries.retain(|e| e.task != task_id);
            q.last_update = ctx.now_iso.clone();
        }
    }
    let queue_name = state
        .queue(&queue_id)
        .map(|q| q.name.clone())
        .unwrap_or_default();
    let at_ms = state.elapsed_ms();
    state.records.enqueues.push(EnqueueRecord {
        task: task_id,
        queue: queue_id,
        queue_name,
        status_before,
        at_ms,
    });
    let mut res = json!({"updated": 1, "fields": fields, "queued": 1});
    if verify_watched {
        // The built-in agent (when on) pulls from every queue.
        res["queue_watched"] = json!(state.agent_on);
    }
    Ok(res)
}

/// `tasks.delete`: removes the task (and its queue entries). Without `force` only a draft
/// (`created`) or archived task is deleted; any other is refused with 400/123 "due to status,
/// use force=True", as clearml-server's `delete_task` does.
pub fn delete(state: &mut State, req: &Req, ctx: &Ctx) -> Result<Value, ApiError> {
    let task_id = req.required_str("task")?;
    let force = req.bool_or("force", false)?;
    let _ = req.bool_or("move_to_trash", false)?;
    let task = task_for_writing(state, &task_id)?;
    let status = task.status().to_string();
    let archived = task
        .doc
        .get("system_tags")
        .and_then(Value::as_array)
        .is_some_and(|tags| tags.iter().any(|t| t == "archived"));
    if status != "created" && !archived && !force {
        return Err(ApiError::task_cannot_be_deleted(
            Some("due to status, use force=True"),
            &[
                Kw::S("task", &task_id),
                Kw::S("expected", "created"),
                Kw::S("current", &status),
            ],
        ));
    }
    state.tasks.retain(|t| t.id() != task_id);
    for q in state.queues.iter_mut() {
        let before = q.entries.len();
        q.entries.retain(|e| e.task != task_id);
        if q.entries.len() != before {
            q.last_update = ctx.now_iso.clone();
        }
    }
    state.records.deletes.push(DeleteRecord {
        task: task_id,
        status_before: status,
        at_ms: state.elapsed_ms(),
    });
    Ok(
        json!({"deleted": true, "updated_children": 0, "updated_models": 0, "updated_versions": 0, "events": {}}),
    )
}

/// What clearml-server's `enqueue_task` does when what follows `add_task` fails: the status
/// goes back to the one before the call (forced, "failed enqueueing"), the queue entry stays.
pub fn revert_enqueue(state: &mut State, task_id: &str, ctx: &Ctx) {
    let Some(task) = state.task_mut(task_id) else {
        return;
    };
    let before = task
        .enqueue_status
        .clone()
        .unwrap_or_else(|| "created".into());
    let mut extra = Map::new();
    extra.insert("enqueue_status".into(), Value::Null);
    let _ = change_status(task, &before, "failed enqueueing", "", true, ctx, extra);
}

pub fn dequeue(state: &mut State, req: &Req, ctx: &Ctx) -> Result<Value, ApiError> {
    let task_id = req.required_str("task")?;
    let reason = req.opt_str("status_reason")?.unwrap_or_default();
    let message = req.opt_str("status_message")?.unwrap_or_default();
    let remove_from_all = req.bool_or("remove_from_all_queues", false)?;
    let new_status = req.opt_str("new_status")?;
    const STATUSES: &[&str] = &[
        "created",
        "queued",
        "in_progress",
        "stopped",
        "published",
        "publishing",
        "closed",
        "failed",
        "completed",
        "unknown",
    ];
    if let Some(s) = &new_status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ApiError::validation(&format!("Invalid task status: {s}")));
        }
    }
    let Some(task) = state.task(&task_id) else {
        for q in state.queues.iter_mut() {
            q.entries.retain(|e| e.task != task_id);
        }
        return Ok(json!({"dequeued": 1, "updated": 0}));
    };
    let status = task.status().to_string();
    let queue = task.execution_queue().map(str::to_string);
    for q in state.queues.iter_mut() {
        let from_this = status == "queued" && queue.as_deref() == Some(q.id.as_str());
        if from_this || remove_from_all {
            let before = q.entries.len();
            q.entries.retain(|e| e.task != task_id);
            if q.entries.len() != before {
                q.last_update = ctx.now_iso.clone();
            }
        }
    }
    if status != "queued" && status != "in_progress" {
        return Ok(json!({"dequeued": 1, "updated": 0}));
    }
    let task = task_for_writing(state, &task_id)?;
    let target = new_status
        .or_else(|| task.enqueue_status.clone())
        .unwrap_or_else(|| "created".into());
    let mut extra = Map::new();
    extra.insert("enqueue_status".into(), Value::Null);
    let fields = change_status(task, &target, &reason, &message, true, ctx, extra)?;
    task.run_by_agent = false;
    Ok(json!({"dequeued": 1, "updated": 1, "fields": fields}))
}

/// tasks.started / stopped / failed / completed.
pub fn set_status(
    state: &mut State,
    req: &Req,
    ctx: &Ctx,
    action: &str,
) -> Result<Value, ApiError> {
    let task_id = req.required_str("task")?;
    let force = req.bool_or("force", false)?;
    let reason = req.opt_str("status_reason")?.unwrap_or_default();
    let message = req.opt_str("status_message")?.unwrap_or_default();
    let task = task_for_writing(state, &task_id)?;
    let mut extra = Map::new();
    let new_status = match action {
        "started" => {
            if task.doc.get("started").is_none_or(Value::is_null) {
                extra.insert("started".into(), json!(ctx.now_iso));
            }
            "in_progress"
        }
        "stopped" | "completed" => {
            extra.insert("completed".into(), json!(ctx.now_iso));
            action
        }
        _ => action,
    };
    let fields = change_status(task, new_status, &reason, &message, force, ctx, extra)?;
    if new_status != "in_progress" {
        task.run_by_agent = false;
    }
    let mut res = json!({"updated": 1, "fields": fields});
    if action == "started" {
        res["started"] = json!(1);
    }
    Ok(res)
}

/// How long after its last update clearml-server takes a task's worker to be still running it
/// (`apiserver.workers.task_update_timeout`).
const TASK_UPDATE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// `tasks.stop` (clearml-server's `stop_task`): a queued task is taken off its queue and
/// stopped; one a worker is running (it has a `last_worker` and changed within the update
/// timeout; the stand-in's last update is its last status change) keeps its status with the
/// message "stopping", for the agent to stop it; any other (a development task, one no worker
/// runs) is stopped at once. The change is checked against the status machine unless `force`.
pub fn stop(state: &mut State, req: &Req, ctx: &Ctx) -> Result<Value, ApiError> {
    let task_id = req.required_str("task")?;
    let force = req.bool_or("force", false)?;
    let reason = req.opt_str("status_reason")?.unwrap_or_default();
    let task = task_for_writing(state, &task_id)?;
    let status = task.status().to_string();
    let queue = task.execution_queue().map(str::to_string);
    let development = task
        .doc
        .get("system_tags")
        .and_then(Value::as_array)
        .is_some_and(|tags| tags.iter().any(|t| t == "development"));
    let run_by_worker = task
        .doc
        .get("last_worker")
        .and_then(Value::as_str)
        .is_some_and(|w| !w.is_empty())
        && task.changed_at.elapsed() < TASK_UPDATE_TIMEOUT;
    let queued = status == "queued";
    let fields = if queued || development || !run_by_worker {
        let message = format!("Stopped by {USER_NAME}");
        let fields = change_status(task, "stopped", &reason, &message, force, ctx, Map::new())?;
        task.run_by_agent = false;
        if queued {
            // The dequeue of a queued task (silent when it has no entry).
            for q in state
                .queues
                .iter_mut()
                .filter(|q| Some(&q.id) == queue.as_ref())
            {
                let before = q.entries.len();
                q.entries.retain(|e| e.task != task_id);
                if q.entries.len() != before {
                    q.last_update = ctx.now_iso.clone();
                }
            }
        }
        fields
    } else {
        change_status(task, &status, &reason, "stopping", force, ctx, Map::new())?
    };
    Ok(json!({"updated": 1, "fields": fields}))
}

pub fn edit_hyper_params(state: &mut State, req: &Req, ctx: &Ctx) -> Result<Value, ApiError> {
    let task_id = req.required_str("task")?;
    let force = req.bool_or("force", false)?;
    let replace = req
        .opt_str("replace_hyperparams")?
        .unwrap_or_else(|| "none".into());
    if !["none", "section", "all"].contains(&replace.as_str()) {
        return Err(ApiError::validation(
            "error for field 'replace_hyperparams'. value should be one of (none, section, all)",
        ));
    }
    let items = req.opt_list("hyperparams")?.unwrap_or_default();
    if items.is_empty() {
        return Err(ApiError::validation(
            "error for field 'hyperparams'. value is too short",
        ));
    }
    let mut sections: Map<String, Value> = Map::new();
    for item in &items {
        let obj = item
            .as_object()
            .ok_or_else(|| ApiError::field_type("hyperparams", "list of objects"))?;
        let item_req = Req(obj);
        let section = item_req.required_str("section")?;
        let name = item_req.required_str("name")?;
        let value = item_req.required_str("value")?;
        if section.is_empty() || name.is_empty() {
            return Err(ApiError::validation(
                "error for field 'section'. value is too short",
            ));
        }
        let mut stored = json!({"section": section, "name": name, "value": value});
        for key in ["type", "description"] {
            if let Some(v) = item_req.opt_str(key)? {
                stored[key] = json!(v);
            }
        }
        let sec = sections.entry(section.clone()).or_insert_with(|| json!({}));
        sec[name.as_str()] = stored;
    }
    let properties_only = sections.keys().all(|s| s == "properties");
    let task = task_for_writing(state, &task_id)?;
    let status = task.status().to_string();
    let allowed: &[&str] = if force {
        &["created", "in_progress"]
    } else {
        &["created"]
    };
    if !properties_only && !allowed.contains(&status.as_str()) {
        return Err(ApiError::invalid_task_status(
            None,
            &[Kw::S("expected", "created"), Kw::S("status", &status)],
        ));
    }
    let hp = task.doc.entry("hyperparams").or_insert_with(|| json!({}));
    if replace == "all" || !hp.is_object() {
        *hp = json!({});
    }
    let hp = hp.as_object_mut().expect("hyperparams is an object");
    for (section, params) in sections {
        if replace == "section" || !hp.get(&section).is_some_and(Value::is_object) {
            hp.insert(section.clone(), json!({}));
        }
        let target = hp
            .get_mut(&section)
            .and_then(Value::as_object_mut)
            .expect("section just ensured");
        if let Value::Object(params) = params {
            for (name, item) in params {
                target.insert(name, item);
            }
        }
    }
    if !properties_only {
        task.doc.insert("last_update".into(), json!(ctx.now_iso));
    }
    task.doc.insert("last_change".into(), json!(ctx.now_iso));
    task.doc.insert("last_changed_by".into(), json!(USER_ID));
    Ok(json!({"updated": 1}))
}

/// What `queues.remove_task` with `update_task_status` does to the task (clearml-server's
/// `_update_task_status_on_removal_from_queue`): a task whose execution queue is this one goes
/// back, forced, to the status it had before it was enqueued (or `created`), whatever its status
/// now, and loses its queue. The server logs and swallows a failure here; so does this.
pub fn back_from_queue(
    state: &mut State,
    task_id: &str,
    queue_id: &str,
    ctx: &Ctx,
) -> Result<(), ApiError> {
    let Some(task) = state.task_mut(task_id) else {
        return Ok(());
    };
    if task.execution_queue() != Some(queue_id) {
        return Ok(());
    }
    let target = task
        .enqueue_status
        .clone()
        .unwrap_or_else(|| "created".into());
    let reason = format!("Task was removed from the queue {queue_id}");
    let mut extra = Map::new();
    extra.insert("enqueue_status".into(), Value::Null);
    if change_status(task, &target, &reason, "", true, ctx, extra).is_ok() {
        if let Some(execution) = task.doc.get_mut("execution").and_then(Value::as_object_mut) {
            execution.remove("queue");
        }
        task.run_by_agent = false;
    }
    Ok(())
}
