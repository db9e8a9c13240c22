//! The launch protocol's calls as ClearML REST requests, and ClearML's answers (and errors) as
//! the protocol's [`Answer`]s. Only bytes move here; `scheduler_core::launch` decides.

use scheduler_core::launch::{Answer, BaseTask, Call, CloneSeen};
use scheduler_core::TaskStatus;
use serde_json::{json, Value};

use crate::clearml::{anchored, ClearMl, ClearMlError};

// clearml-server's 400 error subcodes (apierrors/errors.conf) that mean "no such object", or
// that the call lost a race.
const INVALID_TASK_ID: u32 = 101;
const INVALID_TASK_STATUS: u32 = 110;
const FAILED_CHANGING_TASK_STATUS: u32 = 121;
const TASK_CANNOT_BE_DELETED: u32 = 123;
const TASK_ALREADY_QUEUED: u32 = 706;
const INVALID_PROJECT_ID: u32 = 401;
const PROJECT_NOT_FOUND: u32 = 403;
const INVALID_QUEUE_ID: u32 = 701;
const TASK_NOT_IN_QUEUE: u32 = 703;
const PROJECT_NAME_EXISTS: u32 = 801;
const VALIDATION_ERROR: u32 = 12;

/// Whether a project name has a `/` part clearml-server would not create (under 3 characters).
fn has_short_part(name: &str) -> bool {
    name.split('/').any(|part| part.trim().chars().count() < 3)
}

/// Makes one call and reads its answer. A call that takes more than one request (an enqueue
/// that meets a stray queue entry) asks `in_time` before each further request: whether its
/// worst case still ends within the attempt's lease.
pub async fn perform(c: &ClearMl, call: &Call, in_time: &dyn Fn() -> bool) -> Answer {
    match call {
        Call::FindClones { tag } => {
            // `search_hidden`: a clone someone marked hidden is still this slot's clone.
            let body = json!({"system_tags": [tag], "only_fields": ["id", "status", "name", "project", "system_tags"], "order_by": ["created", "id"], "search_hidden": true});
            match c.call("tasks.get_all", body).await {
                Ok(data) => Answer::Clones(clones(&data, tag)),
                Err(e) => failed(&e),
            }
        }
        Call::FindQueue { name } => {
            let body = json!({"name": anchored(name), "only_fields": ["id"]});
            first_id(c.call("queues.get_all", body).await, "queues")
        }
        // `get_all` by id, not `get_by_id`: that one answers with every entry of the queue,
        // which can be thousands while no agent serves it.
        Call::QueueById { id } => {
            let body = json!({"id": [id], "only_fields": ["id"]});
            match c.call("queues.get_all", body).await {
                Ok(data) => match by_id(&data["queues"], id) {
                    Some(_) => Answer::Id(id.clone()),
                    None => Answer::Missing,
                },
                Err(e) => failed(&e),
            }
        }
        Call::FindProject { name } => {
            let body =
                json!({"name": anchored(name), "only_fields": ["id"], "search_hidden": true});
            first_id(c.call("projects.get_all", body).await, "projects")
        }
        Call::CreateProject { name } => {
            let body = json!({"name": name, "description": "Created by ClearML Task Scheduler for scheduled runs"});
            match c.call("projects.create", body).await {
                Ok(made) => made["id"]
                    .as_str()
                    .map_or_else(|| malformed("projects.create"), |id| Answer::Id(id.into())),
                Err(e) if e.is(400, PROJECT_NAME_EXISTS) => Answer::Missing,
                // clearml-server's "Project name cannot be blank": since 2025 each part of a
                // new project's name needs `Project.min_name_length` (3) characters.
                Err(e) if e.is(400, VALIDATION_ERROR) && has_short_part(name) => Answer::Failed {
                    message: format!(
                        "ClearML refused to create the project \"{name}\" ({e}): it needs at least 3 characters in each part between '/'; use a longer name, or create the project in ClearML first"
                    ),
                    transient: false,
                },
                Err(e) => failed(&e),
            }
        }
        // `get_all` by id, not `get_by_id`: that one answers with the whole task (its script,
        // configuration, artifacts), and only the name is needed. A task given by id is found
        // hidden or not.
        Call::ReadBaseTask { task_id } => {
            let body =
                json!({"id": [task_id], "only_fields": ["id", "name", "tags", "system_tags"]});
            match c.call("tasks.get_all", body).await {
                Ok(data) => match by_id(&data["tasks"], task_id) {
                    Some(task) => {
                        let list = |key: &str| -> Vec<String> {
                            task[key]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|t| t.as_str().map(str::to_string))
                                .collect()
                        };
                        Answer::Base(BaseTask {
                            name: task["name"].as_str().unwrap_or(task_id).to_string(),
                            tags: list("tags"),
                            system_tags: list("system_tags"),
                        })
                    }
                    None => Answer::Missing,
                },
                Err(e) => failed(&e),
            }
        }
        Call::Clone(r) => {
            let mut body = json!({
                "task": r.base_task_id,
                "new_task_name": r.name,
                "new_task_comment": r.comment,
                "new_task_tags": r.tags,
                "new_task_system_tags": r.system_tags,
                // The base is the clone's parent, as the SDK's jobs have it (clearml-server
                // would otherwise give it the base's own parent).
                "new_task_parent": r.base_task_id,
            });
            if let Some(p) = &r.project_id {
                body["new_task_project"] = json!(p);
            }
            match c.call("tasks.clone", body).await {
                Ok(made) => made["id"]
                    .as_str()
                    .map_or_else(|| malformed("tasks.clone"), |id| Answer::Id(id.into())),
                Err(e) if e.is(400, INVALID_TASK_ID) => Answer::Missing,
                // A cached project id ClearML no longer knows: the attempt fails, to be retried
                // (the runtime forgets the id, see `tick.rs`).
                Err(e) if e.is(400, INVALID_PROJECT_ID) || e.is(400, PROJECT_NOT_FOUND) => {
                    Answer::Failed {
                        message: format!("{e} (the destination project's id is stale)"),
                        transient: true,
                    }
                }
                Err(e) => failed(&e),
            }
        }
        Call::DeleteClone { task_id } => {
            match c
                .call(
                    "tasks.delete",
                    json!({"task": task_id, "move_to_trash": false}),
                )
                .await
            {
                Ok(_) => Answer::Done,
                Err(e) if e.is(400, INVALID_TASK_ID) => Answer::Missing,
                Err(e) if lost_race(&e) => retry_after_listing(&e),
                Err(e) => failed(&e),
            }
        }
        Call::SetParameters {
            task_id,
            parameters,
        } => {
            let params: Vec<Value> = parameters
                .iter()
                .map(|p| json!({"section": p.section, "name": p.name, "value": p.value}))
                .collect();
            let body = json!({"task": task_id, "hyperparams": params});
            match c.call("tasks.edit_hyper_params", body).await {
                Ok(_) => Answer::Done,
                Err(e) if e.is(400, INVALID_TASK_ID) => Answer::Missing,
                Err(e) if lost_race(&e) => retry_after_listing(&e),
                Err(e) => failed(&e),
            }
        }
        Call::Enqueue {
            task_id,
            queue_id,
            slot,
        } => {
            let body = json!({"task": task_id, "queue": queue_id, "status_reason": "scheduled", "status_message": format!("ClearML Task Scheduler slot {slot}")});
            match c.call("tasks.enqueue", body.clone()).await {
                Ok(_) => Answer::Done,
                Err(e) if e.is(400, INVALID_QUEUE_ID) => Answer::Missing,
                Err(e) if e.is(400, TASK_ALREADY_QUEUED) => {
                    already_queued(c, task_id, queue_id, body, in_time).await
                }
                // The clone vanished, or its status changed under the call (enqueued or
                // started by someone else, a race ClearML reports as 121): a transient
                // failure, the retry lists the slot's clones and goes by what it sees.
                Err(e) if e.is(400, INVALID_TASK_ID) || lost_race(&e) => retry_after_listing(&e),
                Err(e) => failed(&e),
            }
        }
    }
}

/// ClearML says the clone is already in a queue. Usually another attempt of this slot enqueued
/// it first, and what this call was to do is done. But clearml-server leaves the queue entry
/// behind when an enqueue fails after adding it (it puts the task back to its earlier status and
/// answers 500), and the retry then meets that entry with the clone still `created`: a task no
/// agent runs as queued and that nothing reports. So the clone's status decides: `created`
/// means a stray entry, which is taken out of the queue before the clone is enqueued again; any
/// other status means it was enqueued.
///
/// The entry goes with `queues.remove_task`, which touches the queue and never the task: an
/// agent may pop the entry and start the clone between the status read and the removal, and
/// `tasks.dequeue` would then force the running clone back to `created`. The removal instead
/// finds no entry (400/703), and the retry lists the slot's clones and sees it running.
async fn already_queued(
    c: &ClearMl,
    task_id: &str,
    queue_id: &str,
    enqueue: Value,
    in_time: &dyn Fn() -> bool,
) -> Answer {
    // Out of the lease's time, a step not taken is the retry's to take: it lists the slot's
    // clones and goes by their status, as after any transient failure.
    let out_of_time = || Answer::Failed {
        message: "the launch has taken too long; it is retried".into(),
        transient: true,
    };
    if !in_time() {
        return out_of_time();
    }
    let body = json!({"id": [task_id], "only_fields": ["id", "status"]});
    let status = match c.call("tasks.get_all", body).await {
        Ok(data) => data["tasks"][0]["status"]
            .as_str()
            .map(TaskStatus::from_clearml),
        Err(e) => return failed(&e),
    };
    match status {
        Some(TaskStatus::Created) => {}
        Some(_) => return Answer::Done,
        // Gone meanwhile: the retry lists the slot's clones again.
        None => {
            return Answer::Failed {
                message: format!("the clone {task_id} is gone"),
                transient: true,
            }
        }
    }
    if !in_time() {
        return out_of_time();
    }
    let remove = json!({"queue": queue_id, "task": task_id});
    match c.call("queues.remove_task", remove).await {
        Ok(_) => {}
        Err(e) if e.is(400, TASK_NOT_IN_QUEUE) => return retry_after_listing(&e),
        Err(e) => return failed(&e),
    }
    if !in_time() {
        return out_of_time();
    }
    match c.call("tasks.enqueue", enqueue).await {
        Ok(_) => Answer::Done,
        Err(e) if e.is(400, INVALID_QUEUE_ID) => Answer::Missing,
        Err(e) if lost_race(&e) || e.is(400, TASK_ALREADY_QUEUED) => retry_after_listing(&e),
        Err(e) => failed(&e),
    }
}

/// The slot's clones in a `tasks.get_all` answer: only tasks that carry the slot's tag, so an
/// answer that did not apply the filter (a proxy that dropped the body, say) never makes a
/// stranger's task this slot's run.
fn clones(data: &Value, tag: &str) -> Vec<CloneSeen> {
    data["tasks"]
        .as_array()
        .map(|tasks| {
            tasks
                .iter()
                .filter(|t| {
                    t["system_tags"]
                        .as_array()
                        .is_some_and(|tags| tags.iter().any(|x| x == tag))
                })
                .filter_map(|t| {
                    Some(CloneSeen {
                        id: t["id"].as_str()?.to_string(),
                        status: TaskStatus::from_clearml(t["status"].as_str().unwrap_or("")),
                        name: t["name"].as_str().unwrap_or_default().to_string(),
                        project_id: t["project"].as_str().map(str::to_string),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The entry of a `get_all` list whose id is `id`: only that one, so an answer that did not
/// apply the `id` filter (a proxy that dropped the body) never stands for it.
fn by_id<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list.as_array()?
        .iter()
        .find(|x| x["id"].as_str() == Some(id))
}

fn first_id(result: Result<Value, ClearMlError>, list: &str) -> Answer {
    match result {
        Ok(data) => match data[list]
            .as_array()
            .and_then(|l| l.first())
            .and_then(|x| x["id"].as_str())
        {
            Some(id) => Answer::Id(id.to_string()),
            None => Answer::Missing,
        },
        Err(e) => failed(&e),
    }
}

/// Whether ClearML refused a call on a clone because its status changed under the call: another
/// attempt of the same slot enqueued it, or an agent started it (it can no longer be edited or
/// deleted without force: 110, 123; or the change raced: 121).
fn lost_race(e: &ClearMlError) -> bool {
    e.is(400, INVALID_TASK_STATUS)
        || e.is(400, FAILED_CHANGING_TASK_STATUS)
        || e.is(400, TASK_CANNOT_BE_DELETED)
}

/// A failure that may pass: the retry lists the slot's clones again and goes by what it sees.
fn retry_after_listing(e: &ClearMlError) -> Answer {
    Answer::Failed {
        message: e.to_string(),
        transient: true,
    }
}

/// A ClearML error as the protocol sees it: transient (5xx, 429, timeouts, cut connections,
/// a spent call budget) or not (every other 4xx: permissions, validation).
fn failed(e: &ClearMlError) -> Answer {
    Answer::Failed {
        message: e.to_string(),
        transient: e.is_transient(),
    }
}

fn malformed(endpoint: &str) -> Answer {
    Answer::Failed {
        message: format!("{endpoint} answered without an id"),
        transient: true,
    }
}
