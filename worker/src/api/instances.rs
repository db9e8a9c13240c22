//! Scheduler instances: list, create (form or imported file), read, replace, delete, pause and
//! resume (instance or one task), run one task now, export.
//!
//! Every save goes through [`save`]: the `config:{id}` record with `revision + 1` and
//! `saved_at = now`, then the `index` entry with the same revision, which is what makes the
//! next tick reload it. The API never writes `runtime:*` or `ticker` (the tick's keys).

use scheduler_core::{parse_any_config, parse_config_value, InstanceConfig, Instant};
use serde_json::{json, Value};
use worker::Request;

use super::auth;
use super::http::{self, Answer, ApiError};
use crate::store::{
    config_key, runtime_key, share_key, ConfigRecord, Index, IndexEntry, Kv, RunNowRequest,
    Runtime, Ticker, INDEX, TICKER,
};

/// Pending run-now requests an instance may hold; more answer 429.
const MAX_RUN_NOW: usize = 50;

pub async fn list(kv: &Kv) -> Answer {
    let index: Index = kv.get(INDEX).await?.unwrap_or_default();
    // The tick keeps each instance's next run and last run in the ticker: one read for all.
    let ticker: Ticker = kv.get(TICKER).await?.unwrap_or_default();
    let now = http::now();
    // Instances the tick has not seen yet: from their configuration.
    let loads = index.instances.iter().map(|e| {
        let seen = ticker
            .instances
            .get(&e.id)
            .is_some_and(|t| t.revision == e.revision);
        async move {
            if seen || e.paused {
                return None;
            }
            let record: Option<ConfigRecord> = kv.get(&config_key(&e.id)).await.ok().flatten();
            record
                .and_then(|r| r.parse().ok())
                .and_then(|c| next_run(&c, now))
        }
    });
    let fresh = futures_util::future::join_all(loads).await;
    let items: Vec<Value> = index
        .instances
        .iter()
        .zip(fresh)
        .map(|(e, fresh)| {
            let ticked = ticker.instances.get(&e.id);
            let next_run = match ticked {
                _ if e.paused => None,
                Some(t) if t.revision == e.revision => t.next_run.filter(|r| *r > now),
                _ => fresh,
            };
            let last_run = ticked.and_then(|t| t.last_run.as_ref()).map(|r| {
                json!({"item": r.item, "task_id": r.task_id, "status": r.status, "started": http::iso(r.started)})
            });
            json!({
                "id": e.id, "name": e.name, "revision": e.revision, "paused": e.paused,
                "task_count": e.task_count, "next_run": next_run.map(http::iso), "last_run": last_run,
            })
        })
        .collect();
    http::ok_json(&json!({ "instances": items }))
}

/// `POST /api/instances` and `POST /api/instances/import`: the body is a
/// `clearml-task-scheduler/v1` document or a ClearML SDK `schedule` list (detected by the
/// core); all-or-nothing. `?name=` renames (an SDK list has no name).
pub async fn create(req: &mut Request, kv: &Kv) -> Answer {
    let now = http::now();
    let config = parse_body(req, now).await?;
    let config = match http::query(req, "name") {
        Some(name) => rename(&config, &name)?,
        None => config,
    };
    let id = auth::new_instance_id()?;
    let mut record = ConfigRecord {
        id: id.clone(),
        revision: 0,
        saved_at: now,
        created_at: now,
        paused: false,
        config: Value::Null,
        run_now: vec![],
        shares: vec![],
    };
    save(kv, &mut record, &config, now).await?;
    Ok(http::json_response(201, &detail(&record, &config)))
}

pub async fn read(kv: &Kv, id: &str) -> Answer {
    let (record, config) = load(kv, id).await?;
    http::ok_json(&detail(&record, &config))
}

/// `PUT /api/instances/{id}`: a whole new configuration (either format). Keeps the paused
/// flag, share links, and run-now requests of tasks that still exist.
pub async fn replace(req: &mut Request, kv: &Kv, id: &str) -> Answer {
    let (mut record, _) = load(kv, id).await?;
    let now = http::now();
    let config = parse_body(req, now).await?;
    record.run_now.retain(|r| config.task(&r.item).is_some());
    save(kv, &mut record, &config, now).await?;
    http::ok_json(&detail(&record, &config))
}

/// `DELETE /api/instances/{id}`: the configuration, its index entry and its share links. The
/// tick drops `runtime:{id}` of instances no longer in the index.
pub async fn delete(kv: &Kv, id: &str) -> Answer {
    let (record, _) = load(kv, id).await?;
    let mut index: Index = kv.get(INDEX).await?.unwrap_or_default();
    index.instances.retain(|e| e.id != id);
    kv.put(INDEX, &index).await?;
    for share in &record.shares {
        kv.delete(&share_key(&share.hash)).await?;
    }
    kv.delete(&config_key(id)).await?;
    http::no_content()
}

pub async fn set_paused(kv: &Kv, id: &str, paused: bool) -> Answer {
    let (mut record, config) = load(kv, id).await?;
    record.paused = paused;
    save(kv, &mut record, &config, http::now()).await?;
    http::ok_json(&detail(&record, &config))
}

/// Pauses (`enabled: false`) or resumes one task: an edit of the configuration.
pub async fn set_task_enabled(kv: &Kv, id: &str, item: &str, enabled: bool) -> Answer {
    let (mut record, config) = load(kv, id).await?;
    if config.task(item).is_none() {
        return Err(no_task(item));
    }
    let mut value =
        serde_json::to_value(&config).map_err(|_| ApiError::bad_request("configuration"))?;
    if let Some(tasks) = value
        .get_mut("scheduled_tasks")
        .and_then(Value::as_array_mut)
    {
        for t in tasks.iter_mut().filter(|t| t["id"] == item) {
            if let Some(obj) = t.as_object_mut() {
                obj.insert("enabled".into(), Value::Bool(enabled));
            }
        }
    }
    let config = parse_config_value(&value, None).map_err(ApiError::invalid)?;
    save(kv, &mut record, &config, http::now()).await?;
    http::ok_json(&detail(&record, &config))
}

/// "Run now": a request the next tick launches once, through the same exactly-once path as a
/// scheduled slot (its slot is the request's minute).
pub async fn run_now(kv: &Kv, id: &str, item: &str) -> Answer {
    let (mut record, config) = load(kv, id).await?;
    if config.task(item).is_none() {
        return Err(no_task(item));
    }
    if record.paused {
        return Err(ApiError::new(
            409,
            "instance_paused",
            "the instance is paused; resume it first",
        ));
    }
    let now = http::now();
    let request = RunNowRequest {
        item: item.to_string(),
        requested_at: Instant::from_unix_seconds(now.unix_minutes() * 60),
    };
    let answer = json!({"item": request.item, "requested_at": http::iso(request.requested_at), "status": "requested"});
    if record.run_now.contains(&request) {
        return Ok(http::json_response(202, &answer));
    }
    if record.run_now.len() >= MAX_RUN_NOW {
        return Err(ApiError::new(
            429,
            "too_many_requests",
            "too many run-now requests are waiting; wait for the next tick",
        ));
    }
    record.run_now.push(request);
    save(kv, &mut record, &config, now).await?;
    Ok(http::json_response(202, &answer))
}

/// The configuration file: canonical, byte-stable JSON, as a download.
pub async fn export(kv: &Kv, id: &str) -> Answer {
    let (_, config) = load(kv, id).await?;
    let mut resp = http::text_response(200, config.to_json(), "application/json; charset=utf-8");
    let disposition = format!("attachment; filename=\"{}.json\"", file_stem(config.name()));
    resp.headers_mut()
        .set("Content-Disposition", &disposition)?;
    Ok(resp)
}

// ---- helpers -----------------------------------------------------------------------------

/// Loads an instance (404 when absent or the id is not one of ours).
pub async fn load(kv: &Kv, id: &str) -> Result<(ConfigRecord, InstanceConfig), ApiError> {
    if !auth::is_hex(id, 32) {
        return Err(no_instance());
    }
    let record: ConfigRecord = kv.get(&config_key(id)).await?.ok_or_else(no_instance)?;
    let config = record.parse().map_err(|e| {
        worker::console_error!("config:{id} no longer validates: {e}");
        ApiError::new(
            503,
            "unavailable",
            "the stored configuration is damaged; replace it with PUT",
        )
    })?;
    Ok((record, config))
}

/// Writes a new revision of `record` with `config`, then its `index` entry. Drops run-now
/// requests the tick reports as handled.
pub async fn save(
    kv: &Kv,
    record: &mut ConfigRecord,
    config: &InstanceConfig,
    now: Instant,
) -> Result<(), ApiError> {
    if !record.run_now.is_empty() {
        if let Ok(Some(runtime)) = kv.get::<Runtime>(&runtime_key(&record.id)).await {
            record.run_now.retain(|r| !runtime.run_now_done.contains(r));
        }
    }
    record.revision += 1;
    record.saved_at = now;
    record.config =
        serde_json::to_value(config).map_err(|_| ApiError::bad_request("configuration"))?;
    kv.put(&config_key(&record.id), record).await?;
    let mut index: Index = kv.get(INDEX).await?.unwrap_or_default();
    let entry = IndexEntry {
        id: record.id.clone(),
        name: config.name().to_string(),
        revision: record.revision,
        paused: record.paused,
        task_count: config.scheduled_tasks().len(),
    };
    match index.instances.iter_mut().find(|e| e.id == record.id) {
        Some(e) => *e = entry,
        None => index.instances.push(entry),
    }
    kv.put(INDEX, &index).await?;
    Ok(())
}

/// The instance as `GET /api/instances/{id}` shows it.
pub fn detail(record: &ConfigRecord, config: &InstanceConfig) -> Value {
    let run_now: Vec<Value> = record
        .run_now
        .iter()
        .map(|r| json!({"item": r.item, "requested_at": http::iso(r.requested_at)}))
        .collect();
    json!({
        "id": record.id,
        "name": config.name(),
        "revision": record.revision,
        "paused": record.paused,
        "created_at": http::iso(record.created_at),
        "saved_at": http::iso(record.saved_at),
        "task_count": config.scheduled_tasks().len(),
        "config": config,
        "run_now": run_now,
    })
}

async fn parse_body(req: &mut Request, now: Instant) -> Result<InstanceConfig, ApiError> {
    let text = http::body_text(req).await?;
    parse_any_config(&text, now).map_err(ApiError::invalid)
}

fn rename(config: &InstanceConfig, name: &str) -> Result<InstanceConfig, ApiError> {
    let mut value =
        serde_json::to_value(config).map_err(|_| ApiError::bad_request("configuration"))?;
    value["name"] = Value::from(name);
    parse_config_value(&value, None).map_err(ApiError::invalid)
}

/// The instance next fires at (enabled tasks only).
pub fn next_run(config: &InstanceConfig, now: Instant) -> Option<Instant> {
    config.next_fire_after(now)
}

/// A safe file name from the instance name: `Nightly retraining` → `nightly-retraining`.
fn file_stem(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "scheduler".into()
    } else {
        out
    }
}

pub fn no_instance() -> ApiError {
    ApiError::not_found("no scheduler instance with this id")
}

fn no_task(item: &str) -> ApiError {
    ApiError::not_found(format!(
        "the instance has no scheduled task \"{}\"",
        super::truncate(item, 100)
    ))
}
