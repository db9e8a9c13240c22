//! Dashboard data (for the admin, and read-only through a share link) and share links.
//!
//! The dashboard joins the API's configuration with the tick's `runtime:{id}` (executed runs
//! and the scheduler log; absent before the first tick: empty lists). Runs and log are newest
//! first and paginated: `?runs_page=&runs_page_size=&log_page=&log_page_size=`.
//!
//! A share token is 32 random bytes (64 hex digits) shown once; KV keeps only its SHA-256
//! (`share:{hash}` → [`ShareRecord`]) and the instance's record lists `{hash, hint,
//! created_at}`, so listing and revoking need no KV list.

use scheduler_core::{InstanceConfig, Instant};
use serde_json::{json, Value};
use worker::{Env, Request};

use super::auth;
use super::http::{self, Answer, ApiError};
use super::instances::{load, save};
use crate::store::{
    runtime_key, share_key, ConfigRecord, ExecutedRun, Kv, Runtime, ShareEntry, ShareRecord,
};

const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 500;
/// Share links an instance may have.
const MAX_SHARES: usize = 50;

pub async fn admin(req: &Request, env: &Env, kv: &Kv, id: &str) -> Answer {
    let (record, config) = load(kv, id).await?;
    http::ok_json(&data(req, env, kv, &record, &config, false).await?)
}

/// `GET /api/share/{token}`: the same data, for whoever holds the link.
pub async fn shared(req: &Request, env: &Env, kv: &Kv, token: &str) -> Answer {
    let (record, config) = resolve_share(kv, token).await?;
    http::ok_json(&data(req, env, kv, &record, &config, true).await?)
}

/// The instance a share token shows (404 for unknown and revoked tokens alike).
pub async fn resolve_share(
    kv: &Kv,
    token: &str,
) -> Result<(ConfigRecord, InstanceConfig), ApiError> {
    let unknown = || ApiError::not_found("this share link does not exist or was revoked");
    let hash = auth::share_hash(token).ok_or_else(unknown)?;
    let share: ShareRecord = kv.get(&share_key(&hash)).await?.ok_or_else(unknown)?;
    let (record, config) =
        load(kv, &share.instance_id)
            .await
            .map_err(|e| if e.status == 404 { unknown() } else { e })?;
    // The instance's own list is the authority: a link revoked there is dead even if its
    // `share:` key is still visible somewhere (KV is eventually consistent).
    if !record.shares.iter().any(|s| s.hash == hash) {
        return Err(unknown());
    }
    Ok((record, config))
}

async fn data(
    req: &Request,
    env: &Env,
    kv: &Kv,
    record: &ConfigRecord,
    config: &InstanceConfig,
    read_only: bool,
) -> Result<Value, ApiError> {
    let runs_page = http::query_number(req, "runs_page", 1, usize::MAX)?;
    let runs_size = http::query_number(req, "runs_page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let log_page = http::query_number(req, "log_page", 1, usize::MAX)?;
    let log_size = http::query_number(req, "log_page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let runtime: Runtime = kv.get(&runtime_key(&record.id)).await?.unwrap_or_default();
    let now = http::now();
    let web = web_host(env);

    let scheduled: Vec<Value> = config
        .scheduled_tasks()
        .iter()
        .map(|t| {
            let rows: Vec<String> = t.dashboard_rows().into_iter().map(|r| r.text).collect();
            let next = (!record.paused && t.enabled())
                .then(|| t.schedule().next_fire_after(now))
                .flatten();
            json!({
                "item": t.id(),
                "name": t.display_name(),
                "base_task_id": t.base_task_id(),
                "project": t.destination_project(),
                "queue": t.queue(),
                "recurrence": t.recurrence().kind(),
                "timezone": t.timezone(),
                "clearml": rows.join("; "),
                "clearml_rows": rows,
                "description": t.describe(),
                "next_run": next.map(http::iso),
                "enabled": t.enabled(),
            })
        })
        .collect();
    let runs: Vec<Value> = runtime
        .runs
        .iter()
        .rev()
        .map(|r| run_json(r, web.as_deref()))
        .collect();
    let log: Vec<Value> = runtime
        .log
        .iter()
        .rev()
        .map(|l| json!({"at": http::iso(l.at), "level": l.level, "message": l.message}))
        .collect();
    let mut runs = http::page(runs, runs_page, runs_size);
    runs["dropped"] = json!(runtime.runs_dropped);
    let mut log = http::page(log, log_page, log_size);
    log["dropped"] = json!(runtime.log_dropped);
    let pending: Vec<Value> = record
        .run_now
        .iter()
        .filter(|r| !runtime.run_now_done.contains(r))
        .map(|r| json!({"item": r.item, "requested_at": http::iso(r.requested_at)}))
        .collect();
    Ok(json!({
        "instance": {
            "id": record.id,
            "name": config.name(),
            "paused": record.paused,
            "revision": record.revision,
            "saved_at": http::iso(record.saved_at),
            "task_count": config.scheduled_tasks().len(),
        },
        "read_only": read_only,
        "now": http::iso(now),
        "scheduled": scheduled,
        "run_now_pending": pending,
        "runs": runs,
        "log": log,
    }))
}

fn run_json(r: &ExecutedRun, web: Option<&str>) -> Value {
    let seconds = |a: Instant, b: Instant| b.unix_seconds() - a.unix_seconds();
    let link = web.map(|w| {
        format!(
            "{w}/projects/{}/experiments/{}/output/log",
            r.project_id.as_deref().unwrap_or("*"),
            r.task_id
        )
    });
    json!({
        "item": r.item,
        "name": r.name,
        "task_id": r.task_id,
        "slot": http::iso(r.slot),
        "started": http::iso(r.started),
        "finished": r.finished.map(http::iso),
        "status": r.status,
        "duration_seconds": r.finished.map(|f| seconds(r.started, f)),
        "late_seconds": seconds(r.slot, r.started),
        "link": link,
    })
}

/// `CLEARML_WEB_HOST` without a trailing slash (secret or var; absent: no links).
fn web_host(env: &Env) -> Option<String> {
    let v = env
        .secret("CLEARML_WEB_HOST")
        .map(|s| s.to_string())
        .or_else(|_| env.var("CLEARML_WEB_HOST").map(|v| v.to_string()));
    v.ok()
        .map(|s| s.trim().trim_end_matches('/').to_string())
        .filter(|s| s.starts_with("http"))
}

// ---- share links -------------------------------------------------------------------------

/// `POST /api/instances/{id}/shares`: a new link; the token is in this answer only.
pub async fn create_share(req: &Request, kv: &Kv, id: &str) -> Answer {
    let (mut record, config) = load(kv, id).await?;
    if record.shares.len() >= MAX_SHARES {
        return Err(ApiError::new(
            409,
            "too_many_shares",
            format!("an instance has at most {MAX_SHARES} share links; revoke one first"),
        ));
    }
    let (token, hash) = auth::new_share_token()?;
    let now = http::now();
    let hint = token[..8].to_string();
    kv.put(
        &share_key(&hash),
        &ShareRecord {
            instance_id: record.id.clone(),
            created_at: now,
            hint: hint.clone(),
        },
    )
    .await?;
    record.shares.push(ShareEntry {
        hash: hash.clone(),
        hint: hint.clone(),
        created_at: now,
    });
    save(kv, &mut record, &config, now).await?;
    let origin = req
        .url()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    Ok(http::json_response(
        201,
        &json!({
            "id": hash,
            "token": token,
            "hint": hint,
            "created_at": http::iso(now),
            "url": format!("{origin}/#/share/{token}"),
            "api_url": format!("{origin}/api/share/{token}"),
            "embed_url": format!("{origin}/embed/{token}/timeline.svg"),
        }),
    ))
}

pub async fn list_shares(kv: &Kv, id: &str) -> Answer {
    let (record, _) = load(kv, id).await?;
    let shares: Vec<Value> = record
        .shares
        .iter()
        .map(|s| json!({"id": s.hash, "hint": s.hint, "created_at": http::iso(s.created_at)}))
        .collect();
    http::ok_json(&json!({ "shares": shares }))
}

/// `DELETE /api/instances/{id}/shares/{share id}`: the link stops working at once.
pub async fn revoke_share(kv: &Kv, id: &str, hash: &str) -> Answer {
    let (mut record, config) = load(kv, id).await?;
    if !auth::is_hex(hash, 64) || !record.shares.iter().any(|s| s.hash == hash) {
        return Err(ApiError::not_found(
            "this instance has no share link with this id",
        ));
    }
    record.shares.retain(|s| s.hash != hash);
    save(kv, &mut record, &config, http::now()).await?;
    kv.delete(&share_key(hash)).await?;
    http::no_content()
}
