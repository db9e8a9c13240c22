//! workers.get_all: the agents ClearML knows, with the queues each listens to (the schema of
//! clearml 2.23's `workers.Worker`: `queues` is a list of `{id, name, next_task, num_tasks}`).
//! Listed: the built-in agent (when on) on every queue, and workers tests register by hand.

use serde_json::{json, Value};

use super::{Ctx, Req};
use crate::standin::api::ApiError;
use crate::standin::model::{State, COMPANY_ID, USER_ID, USER_NAME};

pub fn get_all(state: &State, req: &Req, ctx: &Ctx) -> Result<Value, ApiError> {
    // `last_seen` filters out workers idle for longer; every worker here is active.
    if let Some(v) = req.raw().get("last_seen") {
        if !(v.is_null() || v.is_i64() || v.is_u64()) {
            return Err(ApiError::field_type("last_seen", "integer"));
        }
    }
    let mut listed: Vec<(String, Vec<String>)> = Vec::new();
    if state.agent_on {
        let all = state.queues.iter().map(|q| q.id.clone()).collect();
        listed.push(("standin-agent:gpu0".into(), all));
    }
    listed.extend(
        state
            .workers
            .iter()
            .map(|w| (w.id.clone(), w.queues.clone())),
    );
    let workers: Vec<Value> = listed
        .into_iter()
        .map(|(id, queues)| {
            let queues: Vec<Value> = queues
                .iter()
                .filter_map(|qid| state.queue(qid))
                .map(|q| json!({"id": q.id, "name": q.name, "num_tasks": q.entries.len()}))
                .collect();
            json!({
                "id": id,
                "key": format!("worker_{COMPANY_ID}_{USER_ID}_{id}"),
                "user": {"id": USER_ID, "name": USER_NAME},
                "company": {"id": COMPANY_ID, "name": "stand-in"},
                "ip": "127.0.0.1",
                "register_time": ctx.now_iso,
                "last_activity_time": ctx.now_iso,
                "last_report_time": ctx.now_iso,
                "task": null,
                "project": null,
                "queue": null,
                "queues": queues,
                "tags": [],
                "system_tags": [],
            })
        })
        .collect();
    Ok(json!({ "workers": workers }))
}
