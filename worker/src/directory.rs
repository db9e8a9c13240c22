//! The Directory: the one Durable Object (named [`NAME`]) that owns the list of instances and
//! what the cron knows about each.
//!
//! Every change is a synchronous read-modify-write of its SQLite rows, so concurrent saves
//! never lose one another: an instance's entry is replaced only by a newer revision (two edits
//! racing from two tabs leave the newer), a create adds, a delete removes for good. After each
//! change of the entries it publishes them to KV `index` under a lock, so publications reach KV
//! in order and each holds every change before it; the cron reads that copy (one KV read a
//! minute), the API reads the Directory itself.

use futures_util::lock::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

use crate::store::{
    Docs, Heartbeat, Index, IndexEntry, Kv, Ticker, TickerEntry, ENTRIES, INDEX, TICKER,
};

/// The binding (wrangler.toml `[[durable_objects.bindings]] name`) and the object's name.
pub const BINDING: &str = "DIRECTORY";
pub const NAME: &str = "directory";

/// `PUT /entry`: an instance saved.
#[derive(Serialize, Deserialize)]
pub struct EntryChange {
    pub entry: IndexEntry,
    /// A new instance: add it. Otherwise only an instance still listed is updated.
    pub create: bool,
}

/// `POST /ticker`: what the cron learnt from the instances it ticked.
#[derive(Serialize, Deserialize, Default)]
pub struct TickerChange {
    pub instances: BTreeMap<String, TickerEntry>,
    /// Instances whose object no longer has a configuration (deleted): dropped from the list.
    #[serde(default)]
    pub gone: Vec<String>,
    #[serde(default)]
    pub heartbeat: Option<Heartbeat>,
}

/// `GET /list`.
#[derive(Serialize, Deserialize, Default)]
pub struct Listing {
    pub index: Index,
    pub ticker: Ticker,
}

#[durable_object]
pub struct Directory {
    state: State,
    env: Env,
    publishing: Mutex<()>,
}

impl DurableObject for Directory {
    fn new(state: State, env: Env) -> Self {
        Directory {
            state,
            env,
            publishing: Mutex::new(()),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let docs = Docs::open(self.state.storage().sql())?;
        let path = req.path();
        match (req.method(), path.as_str()) {
            (Method::Get, "/list") => Response::from_json(&Listing {
                index: docs.get(ENTRIES)?.unwrap_or_default(),
                ticker: docs.get(TICKER)?.unwrap_or_default(),
            }),
            (Method::Get, "/ticker") => {
                Response::from_json(&docs.get::<Ticker>(TICKER)?.unwrap_or_default())
            }
            (Method::Put, "/entry") => {
                let change: EntryChange = req.json().await?;
                if apply_entry(&docs, change)? {
                    self.publish_or_retry(&docs).await;
                }
                Response::empty()
            }
            (Method::Delete, p) if p.starts_with("/entry/") => {
                let id = &p["/entry/".len()..];
                if remove(&docs, &[id.to_string()])? {
                    self.publish_or_retry(&docs).await;
                }
                Response::empty()
            }
            (Method::Post, "/ticker") => {
                let change: TickerChange = req.json().await?;
                let gone = !change.gone.is_empty() && remove(&docs, &change.gone)?;
                let index: Index = docs.get(ENTRIES)?.unwrap_or_default();
                let mut ticker: Ticker = docs.get(TICKER)?.unwrap_or_default();
                for (id, entry) in change.instances {
                    if index.instances.iter().any(|e| e.id == id) {
                        ticker.instances.insert(id, entry);
                    }
                }
                if change.heartbeat.is_some() {
                    ticker.heartbeat = change.heartbeat;
                }
                docs.put(TICKER, &ticker)?;
                if gone {
                    self.publish_or_retry(&docs).await;
                }
                Response::empty()
            }
            _ => Response::error("no such directory route", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let docs = Docs::open(self.state.storage().sql())?;
        if docs.get::<u64>(PUBLISHED)?.unwrap_or(0) < docs.get::<u64>(CHANGES)?.unwrap_or(0) {
            self.publish_or_retry(&docs).await;
        }
        Response::ok("")
    }
}

/// Rows counting the changes of the entries, and the change the last publication held: an
/// alarm publishes while they differ.
const CHANGES: &str = "entries_changes";
const PUBLISHED: &str = "entries_published";
/// How soon the alarm publishes a change that did not reach KV.
const PUBLISH_RETRY: std::time::Duration = std::time::Duration::from_millis(1500);

impl Directory {
    /// Publishes the list; if KV refuses (it takes one write a second per key), the change is
    /// kept all the same (the Directory is the authority, and the API answers from it) and the
    /// object's alarm publishes it again shortly.
    ///
    /// The alarm is set first, in the same write as the change (called with no await since
    /// it): an object killed before its KV write still publishes, from that alarm. It is taken
    /// back once a publication holds every change.
    async fn publish_or_retry(&self, docs: &Docs) {
        let storage = self.state.storage();
        // An offset from now (workers-rs reads an integer as milliseconds from now).
        let _ = storage.set_alarm(PUBLISH_RETRY).await;
        match self.publish(docs).await {
            Ok(()) => {
                let caught_up = docs.get::<u64>(PUBLISHED).ok().flatten()
                    >= docs.get::<u64>(CHANGES).ok().flatten();
                if caught_up {
                    let _ = storage.delete_alarm().await;
                }
            }
            Err(e) => {
                worker::console_error!("publishing the instance list to KV failed ({e}); retrying");
                let _ = storage.set_alarm(PUBLISH_RETRY).await;
            }
        }
    }

    /// Writes the entries as they are now to KV `index`, then records which change that was.
    /// Under the lock, so a slower earlier write never lands after a later one.
    async fn publish(&self, docs: &Docs) -> Result<()> {
        let _guard = self.publishing.lock().await;
        let index: Index = docs.get(ENTRIES)?.unwrap_or_default();
        let change = docs.get::<u64>(CHANGES)?.unwrap_or(0);
        Kv::open(&self.env)?.put(INDEX, &index).await?;
        if docs.get::<u64>(PUBLISHED)?.unwrap_or(0) < change {
            docs.put(PUBLISHED, &change)?;
        }
        Ok(())
    }
}

/// Adds or updates one entry (synchronous). Returns whether anything changed.
fn apply_entry(docs: &Docs, change: EntryChange) -> Result<bool> {
    let mut index: Index = docs.get(ENTRIES)?.unwrap_or_default();
    let entry = change.entry;
    match index.instances.iter_mut().find(|e| e.id == entry.id) {
        Some(e) if e.revision >= entry.revision => return Ok(false),
        Some(e) => *e = entry,
        None if change.create => index.instances.push(entry),
        // Deleted meanwhile: a late save does not bring it back.
        None => return Ok(false),
    }
    docs.put(ENTRIES, &index)?;
    count_change(docs)?;
    Ok(true)
}

/// Counts a change of the entries, in the same write (synchronous).
fn count_change(docs: &Docs) -> Result<()> {
    let n = docs.get::<u64>(CHANGES)?.unwrap_or(0);
    docs.put(CHANGES, &(n + 1))
}

/// Drops instances from the entries and the ticker (synchronous). Returns whether any was listed.
fn remove(docs: &Docs, ids: &[String]) -> Result<bool> {
    let mut index: Index = docs.get(ENTRIES)?.unwrap_or_default();
    let before = index.instances.len();
    index.instances.retain(|e| !ids.contains(&e.id));
    if index.instances.len() == before {
        return Ok(false);
    }
    docs.put(ENTRIES, &index)?;
    count_change(docs)?;
    let mut ticker: Ticker = docs.get(TICKER)?.unwrap_or_default();
    ticker.instances.retain(|id, _| !ids.contains(id));
    docs.put(TICKER, &ticker)?;
    Ok(true)
}

/// Calls the Directory.
pub async fn call(env: &Env, method: Method, path: &str, body: Option<String>) -> Result<Response> {
    let stub = env
        .durable_object(BINDING)?
        .id_from_name(NAME)?
        .get_stub()?;
    let mut init = worker::RequestInit::new();
    init.with_method(method);
    if let Some(b) = body {
        init.with_body(Some(b.into()));
    }
    let req = Request::new_with_init(&format!("https://directory{path}"), &init)?;
    let resp = stub.fetch_with_request(req).await?;
    if resp.status_code() >= 300 {
        return Err(worker::Error::RustError(format!(
            "the directory answered {} to {path}",
            resp.status_code()
        )));
    }
    Ok(resp)
}

/// Tells the Directory an instance was saved.
pub async fn save_entry(env: &Env, entry: IndexEntry, create: bool) -> Result<()> {
    let body = serde_json::to_string(&EntryChange { entry, create })?;
    call(env, Method::Put, "/entry", Some(body)).await.map(drop)
}

pub async fn delete_entry(env: &Env, id: &str) -> Result<()> {
    call(env, Method::Delete, &format!("/entry/{id}"), None)
        .await
        .map(drop)
}

pub async fn listing(env: &Env) -> Result<Listing> {
    call(env, Method::Get, "/list", None).await?.json().await
}

pub async fn ticker(env: &Env) -> Result<Ticker> {
    call(env, Method::Get, "/ticker", None).await?.json().await
}

pub async fn report(env: &Env, change: &TickerChange) -> Result<()> {
    let body = serde_json::to_string(change)?;
    call(env, Method::Post, "/ticker", Some(body))
        .await
        .map(drop)
}
