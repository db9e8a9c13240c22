//! Where everything is stored, and who writes it. Each value has exactly one writer, and every
//! read-modify-write runs where it cannot race: inside one Durable Object, in a synchronous
//! block (SQLite calls do not await, so nothing else runs in the object in between).
//!
//! | where | value | writer | holds |
//! |---|---|---|---|
//! | Instance object `{id}`, row `config` | [`ConfigRecord`] | that object (API saves) | the configuration, its revision, paused, run-now requests, share links |
//! | Instance object `{id}`, row `listed` | revision (`u64`) | that object (API saves, its alarm) | the newest revision the Directory confirmed: a newer one is told again from the alarm |
//! | Instance object `{id}`, row `runtime` | [`Runtime`] | that object (ticks) | planner state with its launch claims, executed runs, the scheduler log |
//! | Instance object `{id}`, row `clearml` | [`ClearMlCache`] | that object | queue and project ids, base task names, with their age |
//! | Directory object, row `entries` | [`Index`] | the Directory (sent by the instances after each save; newer revision wins) | every instance's id, name, revision, paused flag, task count |
//! | Directory object, row `ticker` | [`Ticker`] | the Directory (sent by the cron and queue consumers) | per instance the next due instant, polling, next and last run; the heartbeat |
//! | KV `index` | [`Index`] | the Directory, under a lock, after each change | a copy of `entries`: the cron's one read a minute |
//! | KV `share:{sha256}` | [`ShareRecord`] | the instance object owning the link | which instance a share token shows |
//!
//! An idle cron tick reads KV `index` and nothing else (the ticker is kept in the isolate's
//! memory, asked from the Directory on a cold start) and writes nothing to KV; it tells the
//! Directory it ran every half `TICK_LATE_AFTER_SECONDS` (the heartbeat).

use std::cell::Cell;

use scheduler_core::notify::Outbox;
use scheduler_core::{InstanceConfig, InstanceState, Instant, LogLine, ValidationErrors};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeMap;
use worker::{Env, KvStore, Result, SqlStorage};

/// The KV namespace binding name (wrangler.toml `[[kv_namespaces]] binding`).
pub const BINDING: &str = "SCHEDULER";
pub const INDEX: &str = "index";

/// Rows of an instance object.
pub const CONFIG: &str = "config";
pub const RUNTIME: &str = "runtime";
pub const LISTED: &str = "listed";
pub const CLEARML_CACHE: &str = "clearml";
/// Rows of the Directory object.
pub const ENTRIES: &str = "entries";
pub const TICKER: &str = "ticker";

pub fn share_key(token_hash: &str) -> String {
    format!("share:{token_hash}")
}

/// Most executed runs and log lines kept per instance; older ones are dropped and counted.
pub const MAX_RUNS: usize = 1000;
pub const MAX_LOG_LINES: usize = 2000;

/// KV with its operations counted, so a tick can log what it cost.
pub struct Kv {
    store: KvStore,
    pub reads: Cell<u32>,
    pub writes: Cell<u32>,
    pub lists: Cell<u32>,
}

impl Kv {
    pub fn open(env: &Env) -> Result<Kv> {
        Ok(Kv {
            store: env.kv(BINDING)?,
            reads: Cell::new(0),
            writes: Cell::new(0),
            lists: Cell::new(0),
        })
    }

    pub async fn get_text(&self, key: &str) -> Result<Option<String>> {
        self.reads.set(self.reads.get() + 1);
        Ok(self.store.get(key).text().await?)
    }

    /// Reads a JSON value; a value that no longer parses is an error naming the key.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.get_text(key).await? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| worker::Error::RustError(format!("KV value {key:?} is corrupt: {e}"))),
        }
    }

    pub async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.writes.set(self.writes.get() + 1);
        self.store
            .put(key, serde_json::to_string(value)?)?
            .execute()
            .await?;
        Ok(())
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        self.writes.set(self.writes.get() + 1);
        self.store.delete(key).await?;
        Ok(())
    }
}

/// A Durable Object's own SQLite storage as JSON documents by key. Synchronous: a sequence of
/// `get` and `put` with no `.await` between them is atomic within the object.
pub struct Docs {
    sql: SqlStorage,
    pub rows_written: Cell<u32>,
}

#[derive(Deserialize)]
struct DocRow {
    value: String,
}

impl Docs {
    pub fn open(sql: SqlStorage) -> Result<Docs> {
        sql.exec(
            "CREATE TABLE IF NOT EXISTS doc (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            None,
        )?;
        Ok(Docs {
            sql,
            rows_written: Cell::new(0),
        })
    }

    /// Reads a JSON document; one that no longer parses is an error naming the key.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let rows: Vec<DocRow> = self
            .sql
            .exec("SELECT value FROM doc WHERE key = ?", vec![key.into()])?
            .to_array()?;
        match rows.into_iter().next() {
            None => Ok(None),
            Some(row) => serde_json::from_str(&row.value).map(Some).map_err(|e| {
                worker::Error::RustError(format!("stored value {key:?} is corrupt: {e}"))
            }),
        }
    }

    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.rows_written.set(self.rows_written.get() + 1);
        let text = serde_json::to_string(value)?;
        self.sql.exec(
            "INSERT INTO doc (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![key.into(), text.into()],
        )?;
        Ok(())
    }

    pub fn delete_all(&self) -> Result<()> {
        self.rows_written.set(self.rows_written.get() + 1);
        self.sql.exec("DELETE FROM doc", None)?;
        Ok(())
    }
}

/// ClearML ids an instance looked up, reused until they are an hour old or ClearML says it
/// no longer knows them (a launch in steady state then needs no lookup at all).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClearMlCache {
    /// Keyed by what the configuration says (queue name, project name, base task id): the id
    /// (or name) and when it was learnt (wall clock, ms).
    #[serde(default)]
    pub queues: BTreeMap<String, (String, i64)>,
    #[serde(default)]
    pub projects: BTreeMap<String, (String, i64)>,
    /// Base tasks by id (an earlier version's `base_names`, names alone, is read no more: a
    /// launch reads the base task again).
    #[serde(default)]
    pub base_tasks: BTreeMap<String, (scheduler_core::launch::BaseTask, i64)>,
}

/// How long a cached ClearML id is trusted.
pub const CLEARML_CACHE_MS: i64 = 3600 * 1000;

impl ClearMlCache {
    /// What a launch of `launch` can skip looking up at `wall_ms`.
    pub fn known(
        &self,
        launch: &scheduler_core::Launch,
        wall_ms: i64,
    ) -> scheduler_core::launch::Known {
        fn fresh<T: Clone>(m: &BTreeMap<String, (T, i64)>, k: &str, wall_ms: i64) -> Option<T> {
            m.get(k)
                .filter(|(_, at)| wall_ms - at < CLEARML_CACHE_MS)
                .map(|(v, _)| v.clone())
        }
        scheduler_core::launch::Known {
            queue_id: fresh(&self.queues, &launch.queue, wall_ms),
            project_id: launch
                .destination_project
                .as_deref()
                .and_then(|p| fresh(&self.projects, p, wall_ms)),
            base: fresh(&self.base_tasks, &launch.base_task_id, wall_ms),
        }
    }

    /// Takes in what an attempt learnt. Returns whether anything changed.
    pub fn learn(&mut self, learned: &[scheduler_core::launch::Learned], wall_ms: i64) -> bool {
        use scheduler_core::launch::Learned;
        let before = self.clone();
        for l in learned {
            match l {
                Learned::Queue { name, id } => {
                    self.queues.insert(name.clone(), (id.clone(), wall_ms));
                }
                Learned::Project { name, id } => {
                    self.projects.insert(name.clone(), (id.clone(), wall_ms));
                }
                Learned::Base { task_id, base } => {
                    self.base_tasks
                        .insert(task_id.clone(), (base.clone(), wall_ms));
                }
                Learned::ForgetQueue { name } => {
                    self.queues.remove(name);
                }
                Learned::ForgetProject { name } => {
                    self.projects.remove(name);
                }
            }
        }
        *self != before
    }
}

/// `index`: the list of instances, small enough to read on every tick.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Index {
    pub instances: Vec<IndexEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexEntry {
    pub id: String,
    pub name: String,
    /// Bumped by every save of the instance's configuration; the tick reloads the
    /// configuration when it differs from the revision it has seen.
    pub revision: u64,
    #[serde(default)]
    pub paused: bool,
    pub task_count: usize,
    /// The next fire of any enabled task, as of the save (the list shows it until a tick
    /// has seen this revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<Instant>,
}

/// What a tick checks of row `config` between its awaits (is the instance still there, paused,
/// at which revision), read without building the configuration (a 500-task one is a large
/// document, and these checks run at every store and every launch).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ConfigHead {
    pub revision: u64,
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub deleting: bool,
}

/// Row `config` of an instance's object: its configuration as the API saved it. Its `Debug`
/// leaves the configuration out: it holds the channels' URLs and signing secrets.
#[derive(Clone, Serialize, Deserialize)]
pub struct ConfigRecord {
    pub id: String,
    pub revision: u64,
    /// When this revision was saved.
    pub saved_at: Instant,
    /// When each task last changed (added or edited) in a save: its undecided slots start
    /// from there. A save that left it as it was (another task's edit, Run now, a share link,
    /// a pause) keeps its time. A task without one changed at `saved_at` (records from before).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub task_changed_at: BTreeMap<String, Instant>,
    pub created_at: Instant,
    #[serde(default)]
    pub paused: bool,
    /// A `DELETE` is under way (it cleans up in ClearML before the rows go): launches still
    /// out make nothing more and delete what they made.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleting: bool,
    /// When the instance was last resumed: its ticks schedule from then on (the slots that fell
    /// in the pause are not caught up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_at: Option<Instant>,
    /// The configuration, in the import/export format.
    pub config: serde_json::Value,
    /// "Run now" requests not yet known to be handled (the tick records what it handled).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run_now: Vec<RunNowRequest>,
    /// The instance's share links (API-owned), so listing and revoking need no KV list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shares: Vec<ShareEntry>,
    /// The address the app was used at when this revision was saved (`https://host`): what
    /// notifications link the dashboard to, unless `PUBLIC_URL` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// One share link of an instance, as its owner sees it: never the token itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShareEntry {
    /// sha256 of the token (hex): the `share:{hash}` key, and the id used to revoke it.
    pub hash: String,
    /// The first characters of the token.
    pub hint: String,
    pub created_at: Instant,
}

impl std::fmt::Debug for ConfigRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigRecord")
            .field("id", &self.id)
            .field("revision", &self.revision)
            .field("paused", &self.paused)
            .field("config", &"(not shown: it holds secrets)")
            .finish_non_exhaustive()
    }
}

impl ConfigRecord {
    /// The validated configuration (it was validated when saved; this only fails if
    /// the stored value was changed by hand).
    pub fn parse(&self) -> std::result::Result<InstanceConfig, ValidationErrors> {
        scheduler_core::parse_config_value(&self.config, None)
    }
}

/// A user asked for one task to run at once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunNowRequest {
    pub item: String,
    /// When it was asked (whole minute): the slot's fire instant.
    pub requested_at: Instant,
}

/// `share:{sha256(token)}`: the token itself is never stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShareRecord {
    pub instance_id: String,
    pub created_at: Instant,
    /// The first characters of the token, so the owner can tell links apart.
    pub hint: String,
}

/// Row `ticker` of the Directory: what the cron needs to decide, in one small value, whether any
/// instance has anything to do.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Ticker {
    #[serde(default)]
    pub instances: BTreeMap<String, TickerEntry>,
    /// The last scheduled event that wrote this value (the heartbeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<Heartbeat>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TickerEntry {
    /// The config revision the runtime state was last planned against.
    pub revision: u64,
    /// Earliest instant at which this instance has anything to do; `None`: never.
    pub next_due: Option<Instant>,
    /// It has runs still queued or running: every tick polls their status.
    #[serde(default)]
    pub polling: bool,
    /// For the instance list: the next fire of any enabled task after the last tick.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<Instant>,
    /// For the instance list: the newest executed run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<LastRun>,
}

/// The newest executed run of an instance, as the instance list shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LastRun {
    pub item: String,
    pub task_id: String,
    pub status: String,
    pub started: Instant,
}

/// When the scheduled handler last wrote, so `/api/health` can tell the cron is alive (stored
/// as the API shows it).
pub use scheduler_core::api::Heartbeat;

/// Row `runtime` of an instance's object: everything its ticks write.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Runtime {
    pub state: InstanceState,
    /// The config revision `state` was planned against.
    #[serde(default)]
    pub revision: u64,
    /// Executed runs, oldest first, at most [`MAX_RUNS`].
    #[serde(default)]
    pub runs: Vec<ExecutedRun>,
    #[serde(default)]
    pub runs_dropped: u64,
    /// The scheduler log, oldest first, at most [`MAX_LOG_LINES`].
    #[serde(default)]
    pub log: Vec<LogLine>,
    #[serde(default)]
    pub log_dropped: u64,
    /// Run-now requests already launched (so they are never launched twice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run_now_done: Vec<RunNowRequest>,
    /// Notifications: news from the log not yet routed, open groups, deliveries.
    #[serde(default)]
    pub outbox: Outbox,
    /// Slots given up whose clean-up has not ended (what an attempt left, whether it was
    /// enqueued after all). Stored with the state that gave them up, so a worker killed before
    /// the clean-up ends leaves them to the next tick; asked again each tick, told once known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<Unverified>,
}

/// A given-up slot whose clean-up in ClearML has not ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Unverified {
    pub slot: scheduler_core::SlotKey,
    pub reason: scheduler_core::SkipReason,
    /// Clean-ups that could not finish so far.
    pub tries: u32,
    /// The tick (its minute) of the last try: one try a minute, however often the object's
    /// alarm runs meanwhile (it may run every few seconds for launches left over), so the
    /// tries left span minutes of ClearML being down, not seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tried_at: Option<Instant>,
    /// A launch of the slot may still be out (its task was removed while an owner held its
    /// claim): not cleaned up before this wall-clock time, the claim's lease end, so the
    /// clean-up never lists the slot's clones while that attempt can still make one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before_ms: Option<i64>,
}

/// One clone this instance launched, as the dashboard shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExecutedRun {
    pub item: String,
    pub task_id: String,
    /// The slot's fire instant.
    pub slot: Instant,
    /// 0: the slot's first run; n: its n-th rerun after a failed run.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rerun: u32,
    /// When it was enqueued.
    pub started: Instant,
    /// When ClearML says it completed (or its status changed to failed/stopped).
    pub finished: Option<Instant>,
    /// ClearML's status string.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Runtime {
    /// Adds a line to the log, and its news (if any) to the outbox.
    pub fn push_log(&mut self, line: LogLine) {
        self.outbox.note(&line);
        self.log.push(line);
        if self.log.len() > MAX_LOG_LINES {
            let extra = self.log.len() - MAX_LOG_LINES;
            self.log.drain(..extra);
            self.log_dropped += extra as u64;
        }
    }

    /// Keeps a slot given up as still to clean up (once), in the same write as the give-up.
    pub fn keep_to_clean_up(
        &mut self,
        slot: scheduler_core::SlotKey,
        reason: scheduler_core::SkipReason,
    ) {
        self.keep_to_clean_up_after(slot, reason, None);
    }

    /// [`Runtime::keep_to_clean_up`], not before wall-clock time `not_before_ms` (when set).
    pub fn keep_to_clean_up_after(
        &mut self,
        slot: scheduler_core::SlotKey,
        reason: scheduler_core::SkipReason,
        not_before_ms: Option<i64>,
    ) {
        if !self.unverified.iter().any(|u| u.slot == slot) {
            self.unverified.push(Unverified {
                slot,
                reason,
                tries: 0,
                tried_at: None,
                not_before_ms,
            });
        }
    }

    /// The slot's clean-up, if it is still to do (a tick running beside this one may have
    /// finished it).
    pub fn clean_up_of(&mut self, slot: &scheduler_core::SlotKey) -> Option<&mut Unverified> {
        self.unverified.iter_mut().find(|u| u.slot == *slot)
    }

    /// Logs how a given-up slot ended (its news goes to the outbox) and forgets its clean-up.
    pub fn tell_given_up(&mut self, line: LogLine, slot: &scheduler_core::SlotKey) {
        self.push_log(line);
        self.unverified.retain(|u| u.slot != *slot);
    }

    pub fn push_run(&mut self, run: ExecutedRun) {
        if self.runs.iter().any(|r| r.task_id == run.task_id) {
            return;
        }
        self.runs.push(run);
        if self.runs.len() > MAX_RUNS {
            let extra = self.runs.len() - MAX_RUNS;
            self.runs.drain(..extra);
            self.runs_dropped += extra as u64;
        }
    }
}
