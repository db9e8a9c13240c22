//! Scheduler instances: list, create (form or imported file), read, replace, delete, pause and
//! resume (instance or one task), run one task now, export.
//!
//! Everything but the list and the id of a new instance runs inside the instance's own Durable
//! Object ([`Here`]): each save is a synchronous read-modify-write of its `config` row with
//! `revision + 1` and `saved_at = now`, so concurrent saves (two tabs, a double click, a script)
//! are applied one after the other and none is lost. Then the Directory is told the new
//! revision (it keeps the newest), which is what makes the next cron tick wake the instance.

use scheduler_core::api::{
    InstanceDetail, InstanceList, InstanceSummary, LastRun, RunNowAccepted, RunNowRequest,
};
use scheduler_core::{
    export_file_name, parse_any_config, parse_config_value, InstanceConfig, Instant,
};
use serde_json::Value;
use std::cell::RefCell;
use std::time::Duration;
use worker::{Env, Request, Storage};

use super::http::{self, Answer, ApiError};
use crate::directory;
use crate::instance::tick::RuntimeCell;
use crate::store::{
    share_key, ConfigRecord, Docs, IndexEntry, Kv, Runtime, CONFIG, LISTED, RUNTIME,
};

/// Pending run-now requests an instance may hold; more answer 429.
const MAX_RUN_NOW: usize = 50;

/// An instance's Durable Object, as the handlers see it: its rows, the environment, and its
/// storage (for the alarm that tells the Directory again, [`tell_directory`]).
pub struct Here<'a> {
    pub docs: &'a Docs,
    pub env: &'a Env,
    pub storage: Storage,
    /// The runtime as the object keeps it in memory (see `instance::tick::Ctx::runtime`): a
    /// request that writes the runtime writes through it, so a tick never stores a copy
    /// without that write.
    pub runtime: &'a RefCell<Option<Runtime>>,
}

/// When the object's alarm checks that the Directory heard of a save: set before any request
/// that may save (`Instance::fetch`), so it is stored before the save is, and catches a
/// Directory call cut short (the object stopped before the Directory answered).
pub const RELIST_CHECK: Duration = Duration::from_secs(5);

/// How soon a Directory call that failed is made again, from the alarm, after `failures`
/// failures in a row: 2 s, doubling, at most 5 minutes (a Directory down for long must not
/// have every instance with an unconfirmed save call it every 2 s).
pub fn relist_delay(failures: u32) -> Duration {
    const FIRST_MS: u64 = 2_000;
    const MOST_MS: u64 = 300_000;
    Duration::from_millis(FIRST_MS.saturating_mul(1 << failures.min(8)).min(MOST_MS))
}

/// `GET /api/instances`: from the Directory, one request for any number of instances.
pub async fn list(env: &Env) -> Answer {
    let listing = directory::listing(env).await?;
    let (index, ticker) = (listing.index, listing.ticker);
    let now = http::now();
    let instances = index
        .instances
        .iter()
        .map(|e| {
            let ticked = ticker.instances.get(&e.id);
            let next_run = match ticked {
                _ if e.paused => None,
                Some(t) if t.revision == e.revision => t.next_run,
                _ => e.next_run,
            }
            .filter(|r| *r > now);
            let last_run = ticked.and_then(|t| t.last_run.as_ref()).map(|r| LastRun {
                item: r.item.clone(),
                task_id: r.task_id.clone(),
                status: r.status.clone(),
                started: http::iso(r.started),
            });
            InstanceSummary {
                id: e.id.clone(),
                name: e.name.clone(),
                revision: e.revision,
                paused: e.paused,
                task_count: e.task_count,
                next_run: next_run.map(http::iso),
                last_run,
            }
        })
        .collect();
    http::ok_json(&InstanceList { instances })
}

/// `POST /api/instances` and `POST /api/instances/import`, in the new instance's object: the
/// body is a `clearml-task-scheduler/v1` document or a ClearML SDK `schedule` list (detected by
/// the core); all-or-nothing. `?name=` renames (an SDK list has no name).
pub async fn create(req: &mut Request, here: &Here<'_>, id: &str) -> Answer {
    let now = http::now();
    let config = parse_body(req, now).await?;
    let mut config = match http::query(req, "name") {
        Some(name) => rename(&config, &name)?,
        None => config,
    };
    // A new instance has no stored secrets: a channel given only by its hint is an error.
    config.keep_secrets(None).map_err(ApiError::invalid)?;
    if here.docs.get::<ConfigRecord>(CONFIG)?.is_some() {
        return Err(ApiError::new(
            409,
            "conflict",
            "this instance id is taken; try again",
        ));
    }
    let mut record = ConfigRecord {
        id: id.to_string(),
        revision: 0,
        saved_at: now,
        task_changed_at: Default::default(),
        created_at: now,
        paused: false,
        deleting: false,
        resumed_at: None,
        config: Value::Null,
        run_now: vec![],
        shares: vec![],
        origin: origin_of(req),
    };
    let entry = save(here, &mut record, &config, now)?;
    if let Err(e) = directory::save_entry(here.env, entry, true).await {
        // Not listed, it would never be ticked, and a retry would make a second one: nothing
        // of it is kept.
        worker::console_error!("listing new instance {id} failed: {e}");
        here.docs.delete_all()?;
        return Err(ApiError::new(
            503,
            "unavailable",
            "the instance could not be listed, so nothing was created; try again in a moment",
        ));
    }
    mark_listed(here.docs, record.revision)?;
    Ok(tagged(
        http::json_response(201, &detail(&record, &config)),
        &record,
    ))
}

/// `GET /api/instances/{id}`, with the revision as its `ETag` (what a `PUT` may send back in
/// `If-Match`).
pub fn read(here: &Here<'_>) -> Answer {
    let (record, config) = load(here.docs)?;
    Ok(tagged(
        http::json_response(200, &detail(&record, &config)),
        &record,
    ))
}

/// An answer about `record`, with its revision as the `ETag`.
fn tagged(mut resp: worker::Response, record: &ConfigRecord) -> worker::Response {
    let _ = resp
        .headers_mut()
        .set("ETag", &format!("\"{}\"", record.revision));
    resp
}

/// The revision a request's `If-Match` asks to replace (`"3"`, `W/"3"` or `3`, as `ETag` gave
/// it); none for no header or `*`.
fn if_match(req: &Request) -> Result<Option<u64>, ApiError> {
    let Some(value) = req.headers().get("If-Match").ok().flatten() else {
        return Ok(None);
    };
    let value = value.trim();
    if value == "*" {
        return Ok(None);
    }
    let bare = value.trim_start_matches("W/").trim_matches('"');
    bare.parse::<u64>().map(Some).map_err(|_| {
        ApiError::bad_request(
            "the If-Match header is not a revision; send the ETag of the GET you edited, e.g. \"3\", or leave the header out",
        )
    })
}

/// `PUT /api/instances/{id}`: a whole new configuration (either format). Keeps the paused
/// flag, share links, and run-now requests of tasks that still exist. With `If-Match` (the
/// revision the editor started from), a save made meanwhile (another tab, a task paused on the
/// dashboard) is not overwritten: 412, and nothing is written.
pub async fn replace(req: &mut Request, here: &Here<'_>) -> Answer {
    let now = http::now();
    let expected = if_match(req)?;
    let mut config = parse_body(req, now).await?;
    // Read after the body has arrived: from here to the save nothing awaits. The save's time
    // too (a tick may have run during the upload: the save is after it).
    let (mut record, previous) = load(here.docs)?;
    refuse_if_deleting(&record)?;
    let now = http::now();
    if let Some(expected) = expected.filter(|e| *e != record.revision) {
        return Err(ApiError::new(
            412,
            "stale_revision",
            format!(
                "this instance was saved again after the revision you edited (yours {expected}, now {}); load it again and redo your change, or save without If-Match to overwrite it",
                record.revision
            ),
        ));
    }
    // Channels sent back with their hints (an edit in the app, an exported file) keep their
    // stored URLs and signing secrets.
    config
        .keep_secrets(Some(&previous))
        .map_err(ApiError::invalid)?;
    record.run_now.retain(|r| config.task(&r.item).is_some());
    record.origin = origin_of(req).or(record.origin);
    let entry = save(here, &mut record, &config, now)?;
    tell_directory(here, entry).await?;
    Ok(tagged(
        http::json_response(200, &detail(&record, &config)),
        &record,
    ))
}

/// `DELETE /api/instances/{id}`: the configuration, the runtime state, its Directory entry and
/// its share links; first, what its started launches left in ClearML (clones kept for a retry)
/// is deleted there, best effort.
pub async fn delete(here: &Here<'_>) -> Answer {
    let (mut record, config) = load(here.docs)?;
    // Marked first (a synchronous write): no launch starts from now on (paused), and one still
    // out makes no clone and no enqueue, and deletes a clone it made (`deleting`, see
    // `tick::drive`). A deletion that fails after this leaves the instance paused, refusing
    // every change but another DELETE or a share link's revocation (`refuse_if_deleting`); a
    // deletion cut short like that is finished by this one.
    if !record.deleting {
        record.paused = true;
        record.deleting = true;
        let now = http::now();
        record.revision += 1;
        record.saved_at = now;
        here.docs.put(CONFIG, &record)?;
        // The list shows it paused (no next run) while the clean-up runs, and if it stops.
        tell_directory(here, entry_of(&record, &config, now)).await?;
    }
    let left =
        crate::instance::tick::clean_up_before_delete(here.env, here.docs, &config, &record.id)
            .await?;
    if !left.is_empty() {
        worker::console_warn!(
            "instance {} deleted; clones of these slots may be left in ClearML, not enqueued: {}",
            record.id,
            left.join(", ")
        );
    }
    // What lives outside the object goes first: a DELETE cut short after this finds the
    // record still there, marked, and finishes (these deletions are idempotent).
    directory::delete_entry(here.env, &record.id).await?;
    let kv = Kv::open(here.env)?;
    for share in &record.shares {
        kv.delete(&share_key(&share.hash)).await?;
    }
    here.docs.delete_all()?;
    http::no_content()
}

pub async fn set_paused(here: &Here<'_>, paused: bool) -> Answer {
    let (mut record, config) = load(here.docs)?;
    refuse_if_deleting(&record)?;
    let now = http::now();
    if record.paused && !paused {
        record.resumed_at = Some(now);
    }
    record.paused = paused;
    let entry = save(here, &mut record, &config, now)?;
    tell_directory(here, entry).await?;
    http::ok_json(&detail(&record, &config))
}

/// Pauses (`enabled: false`) or resumes one task: an edit of the configuration.
pub async fn set_task_enabled(here: &Here<'_>, item: &str, enabled: bool) -> Answer {
    let (mut record, config) = load(here.docs)?;
    refuse_if_deleting(&record)?;
    if config.task(item).is_none() {
        return Err(no_task(item));
    }
    let mut value = config.to_stored_value();
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
    let entry = save(here, &mut record, &config, http::now())?;
    tell_directory(here, entry).await?;
    http::ok_json(&detail(&record, &config))
}

/// "Run now": a request the next tick launches once, through the same exactly-once path as a
/// scheduled slot (its slot is the request's minute).
pub async fn run_now(here: &Here<'_>, item: &str) -> Answer {
    let (mut record, config) = load(here.docs)?;
    refuse_if_deleting(&record)?;
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
    let request = crate::store::RunNowRequest {
        item: item.to_string(),
        requested_at: Instant::from_unix_seconds(now.unix_minutes() * 60),
    };
    let answer = RunNowAccepted {
        item: request.item.clone(),
        requested_at: http::iso(request.requested_at),
        status: "requested".into(),
    };
    if record.run_now.contains(&request) {
        // Asked again (a retry after an error, say): tell the Directory again, so the next tick
        // surely wakes the instance.
        tell_directory(here, entry_of(&record, &config, now)).await?;
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
    let entry = save(here, &mut record, &config, now)?;
    tell_directory(here, entry).await?;
    Ok(http::json_response(202, &answer))
}

/// The configuration file: canonical, byte-stable JSON, as a download.
pub fn export(here: &Here<'_>) -> Answer {
    let (_, config) = load(here.docs)?;
    let mut resp = http::text_response(200, config.to_json(), "application/json; charset=utf-8");
    let disposition = format!(
        "attachment; filename=\"{}\"",
        export_file_name(config.name())
    );
    resp.headers_mut()
        .set("Content-Disposition", &disposition)?;
    Ok(resp)
}

// ---- helpers -----------------------------------------------------------------------------

/// Loads the instance (404 when this object holds none).
pub fn load(docs: &Docs) -> Result<(ConfigRecord, InstanceConfig), ApiError> {
    let record: ConfigRecord = docs.get(CONFIG)?.ok_or_else(no_instance)?;
    let config = record.parse().map_err(|e| {
        worker::console_error!("config of {} no longer validates: {e}", record.id);
        ApiError::new(
            503,
            "unavailable",
            "the stored configuration is damaged; replace it with PUT",
        )
    })?;
    Ok((record, config))
}

/// Refuses a change to an instance a DELETE has marked: one cut short leaves it paused, and
/// only another DELETE (or revoking a share link) may touch it.
pub fn refuse_if_deleting(record: &ConfigRecord) -> Result<(), ApiError> {
    if record.deleting {
        return Err(ApiError::new(
            409,
            "being_deleted",
            "this instance is being deleted (a deletion was interrupted before it finished); delete it again to finish",
        ));
    }
    Ok(())
}

/// Writes a new revision of `record` with `config` (synchronous: call it with nothing awaited
/// since the record was loaded). Drops run-now requests the tick reports as handled. Returns
/// the entry to send to the Directory.
pub fn save(
    here: &Here<'_>,
    record: &mut ConfigRecord,
    config: &InstanceConfig,
    now: Instant,
) -> Result<IndexEntry, ApiError> {
    let docs = here.docs;
    if !record.run_now.is_empty() {
        if let Ok(Some(runtime)) = docs.get::<Runtime>(RUNTIME) {
            record.run_now.retain(|r| !runtime.run_now_done.contains(r));
        }
    }
    // The configuration saved until now (none when the instance is new).
    let before = record.parse().ok();
    let changed_at = scheduler_core::tasks_changed_at(
        before.as_ref(),
        &record.task_changed_at,
        config,
        now,
        record.saved_at,
    );
    if let (Some(before), false) = (&before, record.paused) {
        if changed_at
            .iter()
            .any(|(item, at)| *at == now && before.task(item).is_some())
        {
            let previous = |item: &str| {
                let at = record.task_changed_at.get(item);
                Some(at.copied().unwrap_or(record.saved_at))
            };
            let edit = (before, config);
            tell_dropped_slots(here, edit, previous, record.resumed_at, now)?;
        }
    }
    record.task_changed_at = changed_at;
    record.revision += 1;
    record.saved_at = now;
    // The one place channel secrets are written: every answer and export shows hints.
    record.config = config.to_stored_value();
    docs.put(CONFIG, record)?;
    Ok(entry_of(record, config, now))
}

/// Tells, in the instance's log and so to its channels, the slots an edit of tasks takes from
/// the schedules it replaces: none while ticks keep up; after the scheduler was behind, those it
/// had not decided ([`scheduler_core::slots_dropped_by_edit`]). In the save's own synchronous
/// block, through the object's runtime in memory.
fn tell_dropped_slots(
    here: &Here<'_>,
    (before, after): (&InstanceConfig, &InstanceConfig),
    previous: impl Fn(&str) -> Option<Instant>,
    resumed_at: Option<Instant>,
    now: Instant,
) -> Result<(), ApiError> {
    let runtime = RuntimeCell {
        docs: here.docs,
        kept: here.runtime,
    };
    let lines = runtime.read(|r| {
        scheduler_core::slots_dropped_by_edit(before, after, &r.state, previous, resumed_at, now)
    })?;
    if !lines.is_empty() {
        let mut changed = runtime.get()?;
        for line in lines {
            changed.push_log(line);
        }
        runtime.store(changed)?;
    }
    Ok(())
}

/// Tells the Directory of a save (the list and the cron read it). The save stands whatever
/// happens here, so it is never answered as an error: the object's alarm, set before the
/// request was handled ([`RELIST_CHECK`]), tells the Directory again from the stored record
/// ([`relist`]) if this call fails or the object stops before the answer (a deploy resets
/// running objects, say). Until then the list shows the revision before, and the cron plans
/// the instance by it.
pub async fn tell_directory(here: &Here<'_>, entry: IndexEntry) -> Result<(), ApiError> {
    let (id, revision) = (entry.id.clone(), entry.revision);
    match directory::save_entry(here.env, entry, false).await {
        Ok(()) => Ok(mark_listed(here.docs, revision)?),
        Err(e) => {
            worker::console_warn!(
                "the Directory did not take revision {revision} of instance {id} ({e}); the instance's alarm tells it again"
            );
            // Sooner than the check already set; failing that, the check still comes.
            let _ = crate::instance::wake_in(&here.storage, relist_delay(0)).await;
            Ok(())
        }
    }
}

/// What the alarm's [`relist`] did.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Relisted {
    /// The Directory holds the newest save already: no call.
    Nothing,
    /// The Directory was told the newest save.
    Told,
    /// The Directory's call failed: to be tried again.
    Failed,
}

/// The object's alarm: tells the Directory of the newest save if it has not confirmed it (see
/// [`tell_directory`]).
pub async fn relist(docs: &Docs, env: &Env) -> worker::Result<Relisted> {
    let Some(record) = docs.get::<ConfigRecord>(CONFIG)? else {
        return Ok(Relisted::Nothing);
    };
    if docs.get::<u64>(LISTED)?.unwrap_or(0) >= record.revision {
        return Ok(Relisted::Nothing);
    }
    // A damaged configuration is told where it is read (`load`, the tick).
    let Ok(config) = record.parse() else {
        return Ok(Relisted::Nothing);
    };
    let entry = entry_of(&record, &config, http::now());
    match directory::save_entry(env, entry, false).await {
        Ok(()) => {
            mark_listed(docs, record.revision)?;
            worker::console_log!(
                "told the Directory revision {} of instance {}",
                record.revision,
                record.id
            );
            Ok(Relisted::Told)
        }
        Err(e) => {
            worker::console_warn!(
                "the Directory did not take revision {} of instance {} ({e}); trying again",
                record.revision,
                record.id
            );
            Ok(Relisted::Failed)
        }
    }
}

/// Records that the Directory holds `revision` (or newer: a save may have been told meanwhile).
fn mark_listed(docs: &Docs, revision: u64) -> worker::Result<()> {
    if docs.get::<u64>(LISTED)?.unwrap_or(0) < revision {
        docs.put(LISTED, &revision)?;
    }
    Ok(())
}

/// The instance's Directory entry.
fn entry_of(record: &ConfigRecord, config: &InstanceConfig, now: Instant) -> IndexEntry {
    IndexEntry {
        id: record.id.clone(),
        name: config.name().to_string(),
        revision: record.revision,
        paused: record.paused,
        task_count: config.scheduled_tasks().len(),
        next_run: (!record.paused)
            .then(|| config.next_fire_after(now))
            .flatten(),
    }
}

/// The instance as `GET /api/instances/{id}` shows it.
pub fn detail(record: &ConfigRecord, config: &InstanceConfig) -> InstanceDetail {
    InstanceDetail {
        id: record.id.clone(),
        name: config.name().to_string(),
        revision: record.revision,
        paused: record.paused,
        created_at: http::iso(record.created_at),
        saved_at: http::iso(record.saved_at),
        task_count: config.scheduled_tasks().len(),
        config: serde_json::to_value(config).unwrap_or_default(),
        run_now: waiting_run_nows(record, None),
    }
}

/// The record's run-now requests, less those the tick reports as handled (in `runtime`).
pub fn waiting_run_nows(record: &ConfigRecord, runtime: Option<&Runtime>) -> Vec<RunNowRequest> {
    record
        .run_now
        .iter()
        .filter(|r| runtime.is_none_or(|rt| !rt.run_now_done.contains(r)))
        .map(|r| RunNowRequest {
            item: r.item.clone(),
            requested_at: http::iso(r.requested_at),
        })
        .collect()
}

async fn parse_body(req: &mut Request, now: Instant) -> Result<InstanceConfig, ApiError> {
    let text = http::body_text(req).await?;
    // Not JSON at all: `invalid_json`, naming line and column, as everywhere else.
    http::parse_json(&text)?;
    parse_any_config(&text, now).map_err(ApiError::invalid)
}

/// `https://host` of the request: where the app is used.
fn origin_of(req: &Request) -> Option<String> {
    req.url().ok().map(|u| u.origin().ascii_serialization())
}

fn rename(config: &InstanceConfig, name: &str) -> Result<InstanceConfig, ApiError> {
    let mut value = config.to_stored_value();
    value["name"] = Value::from(name);
    parse_config_value(&value, None).map_err(ApiError::invalid)
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
