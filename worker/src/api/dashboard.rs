//! Dashboard data (for the admin, and read-only through a share link) and share links.
//!
//! The dashboard joins the instance's configuration with its runtime row (executed runs and
//! the scheduler log; absent before the first tick: empty lists), both in the instance's object. Runs and log are newest
//! first and paginated: `?runs_page=&runs_page_size=&log_page=&log_page_size=`.
//!
//! A share token is 32 random bytes (64 hex digits) shown once; KV keeps only its SHA-256
//! (`share:{hash}` → [`ShareRecord`], so the worker finds the instance) and the instance's
//! record lists `{hash, hint, created_at}`: the authority on which links work.

use scheduler_core::api::{
    share_api_path, share_embed_path, share_page_path, Dashboard, DashboardInstance, DeliveryInfo,
    LogEntry, NewShare, Page, Run, ScheduledRow, ShareInfo, ShareList, DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
};
use scheduler_core::notify::{Delivery, DeliveryState};
use scheduler_core::{InstanceConfig, Instant};
use worker::{Env, Request};

use super::auth;
use super::http::{self, Answer, ApiError};
use super::instances::{load, save, Here};
use crate::store::{
    share_key, ConfigRecord, Docs, ExecutedRun, Kv, Runtime, ShareEntry, ShareRecord, RUNTIME,
};

/// ClearML-form rows shown per scheduled task.
const MAX_CLEARML_ROWS: usize = 24;

/// Share links an instance may have.
const MAX_SHARES: usize = 50;

pub fn admin(req: &Request, here: &Here<'_>) -> Answer {
    let (record, config) = load(here.docs)?;
    http::ok_json(&data(req, here, &record, &config, false)?)
}

/// `GET /api/share/{token}`: the same data, for whoever holds the link.
pub fn shared(req: &Request, here: &Here<'_>, token: &str) -> Answer {
    let (record, config) = resolve_share(here.docs, token)?;
    http::ok_json(&data(req, here, &record, &config, true)?)
}

fn unknown_share() -> ApiError {
    ApiError::not_found("this share link does not exist or was revoked")
}

/// The instance a share token names, as the worker finds it (KV `share:{hash}`). 404 for
/// unknown tokens; the instance's object then checks the link is still its own.
pub async fn share_target(env: &Env, token: &str) -> Result<String, ApiError> {
    let hash = auth::share_hash(token).ok_or_else(unknown_share)?;
    let share: ShareRecord = Kv::open(env)?
        .get(&share_key(&hash))
        .await?
        .ok_or_else(unknown_share)?;
    Ok(share.instance_id)
}

/// In the instance's object: the instance, if `token` is one of its live links (404 for unknown
/// and revoked tokens alike).
pub fn resolve_share(docs: &Docs, token: &str) -> Result<(ConfigRecord, InstanceConfig), ApiError> {
    let hash = auth::share_hash(token).ok_or_else(unknown_share)?;
    let (record, config) =
        load(docs).map_err(|e| if e.status == 404 { unknown_share() } else { e })?;
    // The instance's own list is the authority: a link revoked there is dead even if its
    // `share:` key is still visible somewhere (KV is eventually consistent).
    if !record.shares.iter().any(|s| s.hash == hash) {
        return Err(unknown_share());
    }
    Ok((record, config))
}

fn data(
    req: &Request,
    here: &Here<'_>,
    record: &ConfigRecord,
    config: &InstanceConfig,
    read_only: bool,
) -> Result<Dashboard, ApiError> {
    let runs_page = http::query_number(req, "runs_page", 1, usize::MAX)?;
    let runs_size = http::query_number(req, "runs_page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let log_page = http::query_number(req, "log_page", 1, usize::MAX)?;
    let log_size = http::query_number(req, "log_page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let runtime: Runtime = here.docs.get(RUNTIME)?.unwrap_or_default();
    let now = http::now();
    let web = web_host(here.env);

    let scheduled = config
        .scheduled_tasks()
        .iter()
        .map(|t| {
            let mut rows: Vec<String> = t.dashboard_rows().into_iter().map(|r| r.text).collect();
            // A monthly task has a row per day and time (up to hundreds): the answer, polled
            // every few seconds, lists the first ones and counts the rest.
            if rows.len() > MAX_CLEARML_ROWS {
                let more = rows.len() - MAX_CLEARML_ROWS;
                rows.truncate(MAX_CLEARML_ROWS);
                rows.push(format!("… and {more} more"));
            }
            let next = (!record.paused && t.enabled())
                .then(|| t.schedule().next_fire_after(now))
                .flatten();
            ScheduledRow {
                item: t.id().to_string(),
                name: t.display_name().to_string(),
                base_task_id: t.base_task_id().to_string(),
                project: t.destination_project().map(str::to_string),
                queue: t.queue().to_string(),
                recurrence: t.recurrence().kind().to_string(),
                timezone: t.timezone().to_string(),
                clearml: rows.join("; "),
                clearml_rows: rows,
                description: t.describe(),
                next_run: next.map(http::iso),
                enabled: t.enabled(),
            }
        })
        .collect();
    let runs: Vec<Run> = runtime
        .runs
        .iter()
        .rev()
        .map(|r| run_of(r, web.as_deref()))
        .collect();
    let log: Vec<LogEntry> = runtime
        .log
        .iter()
        .rev()
        .map(|l| LogEntry {
            at: http::iso(l.at),
            level: l.level,
            message: l.message.clone(),
        })
        .collect();
    let mut runs = Page::of(runs, runs_page, runs_size);
    runs.dropped = runtime.runs_dropped;
    let mut log = Page::of(log, log_page, log_size);
    log.dropped = runtime.log_dropped;
    Ok(Dashboard {
        instance: DashboardInstance {
            id: record.id.clone(),
            name: config.name().to_string(),
            paused: record.paused,
            revision: record.revision,
            saved_at: http::iso(record.saved_at),
            task_count: config.scheduled_tasks().len(),
        },
        read_only,
        now: http::iso(now),
        scheduled,
        run_now_pending: super::instances::waiting_run_nows(record, Some(&runtime)),
        runs,
        log,
        notifications: runtime
            .outbox
            .deliveries
            .iter()
            .rev()
            .map(delivery_info)
            .collect(),
    })
}

fn delivery_info(d: &Delivery) -> DeliveryInfo {
    let n = &d.notification;
    let (state, settled_at) = match &d.state {
        DeliveryState::Pending => ("pending", None),
        DeliveryState::Delivered { at } => ("delivered", Some(http::iso(*at))),
        DeliveryState::GaveUp { at } => ("gave_up", Some(http::iso(*at))),
    };
    DeliveryInfo {
        id: d.id.clone(),
        channel: d.channel.clone(),
        event: n.event.kind.name().to_string(),
        item: n.event.item.clone(),
        at: http::iso(n.event.at),
        message: n.event.detail.clone(),
        count: n.count,
        state: state.to_string(),
        attempts: d.attempts,
        last_error: d.last_error.clone(),
        next_attempt: (state == "pending").then(|| http::iso(d.next_at)),
        settled_at,
    }
}

fn run_of(r: &ExecutedRun, web: Option<&str>) -> Run {
    let seconds = |a: Instant, b: Instant| b.unix_seconds() - a.unix_seconds();
    let link = web.map(|w| {
        format!(
            "{w}/projects/{}/experiments/{}/output/log",
            r.project_id.as_deref().unwrap_or("*"),
            r.task_id
        )
    });
    Run {
        item: r.item.clone(),
        name: r.name.clone(),
        task_id: r.task_id.clone(),
        slot: http::iso(r.slot),
        rerun: r.rerun,
        started: http::iso(r.started),
        finished: r.finished.map(http::iso),
        status: r.status.clone(),
        duration_seconds: r.finished.map(|f| seconds(r.started, f)),
        late_seconds: seconds(r.slot, r.started),
        link,
    }
}

/// `CLEARML_WEB_HOST` without a trailing slash (secret or var; absent: no links).
pub fn web_host(env: &Env) -> Option<String> {
    crate::settings::get(env, "CLEARML_WEB_HOST")
        .map(|s| s.trim().trim_end_matches('/').to_string())
        .filter(|s| s.starts_with("http"))
}

// ---- share links -------------------------------------------------------------------------

/// `POST /api/instances/{id}/shares`: a new link; the token is in this answer only.
pub async fn create_share(req: &Request, here: &Here<'_>) -> Answer {
    let (mut record, config) = load(here.docs)?;
    super::instances::refuse_if_deleting(&record)?;
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
    record.shares.push(ShareEntry {
        hash: hash.clone(),
        hint: hint.clone(),
        created_at: now,
    });
    // Saved first (nothing awaited since the load), then published for the worker to find.
    let entry = save(here, &mut record, &config, now)?;
    Kv::open(here.env)?
        .put(
            &share_key(&hash),
            &ShareRecord {
                instance_id: record.id.clone(),
                created_at: now,
                hint: hint.clone(),
            },
        )
        .await?;
    super::instances::tell_directory(here, entry).await?;
    let origin = req
        .url()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    Ok(http::json_response(
        201,
        &NewShare {
            id: hash,
            hint,
            created_at: http::iso(now),
            url: format!("{origin}{}", share_page_path(&token)),
            api_url: format!("{origin}{}", share_api_path(&token)),
            embed_url: format!("{origin}{}", share_embed_path(&token)),
            token,
        },
    ))
}

pub fn list_shares(here: &Here<'_>) -> Answer {
    let (record, _) = load(here.docs)?;
    let shares = record
        .shares
        .iter()
        .map(|s| ShareInfo {
            id: s.hash.clone(),
            hint: s.hint.clone(),
            created_at: http::iso(s.created_at),
        })
        .collect();
    http::ok_json(&ShareList { shares })
}

/// `DELETE /api/instances/{id}/shares/{share id}`: the link stops working at once.
pub async fn revoke_share(here: &Here<'_>, hash: &str) -> Answer {
    let (mut record, config) = load(here.docs)?;
    if !auth::is_hex(hash, 64) || !record.shares.iter().any(|s| s.hash == hash) {
        return Err(ApiError::not_found(
            "this instance has no share link with this id",
        ));
    }
    record.shares.retain(|s| s.hash != hash);
    let entry = save(here, &mut record, &config, http::now())?;
    Kv::open(here.env)?.delete(&share_key(hash)).await?;
    super::instances::tell_directory(here, entry).await?;
    http::no_content()
}
