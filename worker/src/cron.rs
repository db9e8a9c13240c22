//! The minute cron handler: finds the instances with something to do and ticks each in its own
//! Durable Object, where planning, launching and recording happen (`instance/tick.rs`).
//!
//! Cost: an idle tick reads KV `index` (what each instance needs next is kept in the isolate's
//! memory, asked from the Directory on a cold start) and writes nothing, but for telling the
//! Directory it ran every half `TICK_LATE_AFTER_SECONDS` (the heartbeat `/api/health` reads to
//! say whether the tick is late); every `HEARTBEAT_PERIOD_MINUTES` it pings `HEARTBEAT_URL` if
//! set (`heartbeat.rs`). A busy tick ticks up to `DIRECT_TICKS`
//! instances itself ([`MAX_PARALLEL_TICKS`] at a time) and hands the rest to the `TICKS` queue
//! in batches ([`consume`]), each batch an invocation with a call budget of its own.

use std::cell::RefCell;

use futures_util::stream::{self, StreamExt};
use scheduler_core::Instant;
use serde::{Deserialize, Serialize};
use worker::{Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder, Result, ScheduledEvent};

use crate::directory::{self, TickerChange};
use crate::instance::{self, TickReport};
use crate::store::{Heartbeat, Index, IndexEntry, Kv, Ticker, INDEX};

/// Instances one invocation ticks itself (each a subrequest; Free allows 50).
const DEFAULT_DIRECT_TICKS: usize = 40;
/// Instances one queue message carries.
const TICKS_PER_MESSAGE: usize = 40;
/// Instance ticks in flight at once (Cloudflare allows 6 open connections).
const MAX_PARALLEL_TICKS: usize = 6;
/// A failed queued tick is retried after this long (`QUEUE_RETRY_DELAY_SECONDS`), and goes to
/// the dead-letter queue after the queue's `max_retries`.
const RETRY_DELAY_SECONDS: u32 = 20;
/// The queue binding (wrangler.toml `[[queues.producers]] binding`).
pub const QUEUE: &str = "TICKS";

thread_local! {
    /// The ticker as this isolate last knew it, and whether it handed ticks to the queue since
    /// (their outcome went to the Directory, not here: ask it again).
    static TICKER_CACHE: RefCell<Option<(Ticker, bool)>> = const { RefCell::new(None) };
}

/// A queue message: instances to tick at one event's time.
#[derive(Debug, Serialize, Deserialize)]
pub struct TickBatch {
    pub now_ms: i64,
    pub ids: Vec<String>,
}

/// Runs one scheduled event.
pub async fn run(event: &ScheduledEvent, env: &Env) -> Result<()> {
    let now_ms = event.schedule() as i64;
    let now = Instant::from_unix_millis(now_ms);
    let kv = Kv::open(env)?;
    let index: Index = kv.get(INDEX).await?.unwrap_or_default();
    let mut do_requests = 0u32;
    let mut ticker = match TICKER_CACHE.with(|c| c.borrow().clone()) {
        Some((t, false)) => t,
        _ => {
            do_requests += 1;
            directory::ticker(env).await.unwrap_or_default()
        }
    };
    let last_heartbeat = ticker.heartbeat.as_ref().and_then(crate::heartbeat::ran_at);
    ticker
        .instances
        .retain(|id, _| index.instances.iter().any(|e| &e.id == id));

    // What is due: slots first (earliest first), then runs to poll, then configurations
    // saved since the last tick. A paused instance is due only to watch the runs it has out.
    let mut due: Vec<(u8, Instant, &IndexEntry)> = index
        .instances
        .iter()
        .filter_map(|e| match ticker.instances.get(&e.id) {
            Some(t) if t.revision != e.revision => Some((2, now, e)),
            Some(t) if e.paused => t.polling.then_some((1, now, e)),
            None => Some((2, now, e)),
            Some(t) if t.next_due.is_some_and(|d| d <= now) => Some((0, t.next_due?, e)),
            Some(t) if t.polling => Some((1, now, e)),
            Some(_) => None,
        })
        .collect();
    due.sort_by_key(|(class, at, _)| (*class, *at));
    let ids: Vec<String> = due.into_iter().map(|(_, _, e)| e.id.clone()).collect();
    let direct = env
        .var("DIRECT_TICKS")
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .unwrap_or(DEFAULT_DIRECT_TICKS)
        .min(ids.len());
    let (mine, rest) = ids.split_at(direct);

    let mut queued = 0;
    if !rest.is_empty() {
        let batches: Vec<TickBatch> = rest
            .chunks(TICKS_PER_MESSAGE)
            .map(|c| TickBatch {
                now_ms,
                ids: c.to_vec(),
            })
            .collect();
        match env.queue(QUEUE)?.send_batch(batches).await {
            Ok(()) => queued = rest.len(),
            // Not queued: they are still due, and the next tick tries again.
            Err(e) => worker::console_error!("could not queue {} instance ticks: {e}", rest.len()),
        }
    }
    do_requests += mine.len() as u32;
    let reports = tick_all(env, now_ms, mine).await;
    let (stats, mut change, _) = fold(reports, Some(&mut ticker));
    // The tick says it ran often enough for `/api/health` to tell when the cron stops (every
    // half lateness threshold: an idle tick writes every few minutes, not every minute).
    let stale = scheduler_core::health::heartbeat_stale(
        last_heartbeat,
        Instant::from_unix_millis(js_sys::Date::now() as i64),
        crate::heartbeat::late_after_seconds(env),
    );
    if stale || !change.instances.is_empty() || !change.gone.is_empty() {
        let heartbeat = Heartbeat {
            scheduled_time: iso_from_millis(event.schedule()),
            cron: event.cron(),
            ran_at: now_iso(),
        };
        change.heartbeat = Some(heartbeat.clone());
        ticker.heartbeat = Some(heartbeat);
        do_requests += 1;
        if let Err(e) = directory::report(env, &change).await {
            worker::console_error!("could not report to the directory: {e}");
        }
    }
    TICKER_CACHE.with(|c| *c.borrow_mut() = Some((ticker, queued > 0)));
    // After the launches: a slow monitor never delays one.
    crate::heartbeat::ping(env, now).await;
    worker::console_log!(
        "tick {} instances={} ticked={} queued={} launched={} left={} kv_reads={} kv_writes={} kv_lists={} do_requests={} rows_written={} subrequests={}",
        now,
        index.instances.len(),
        mine.len(),
        queued,
        stats.launched,
        stats.left,
        kv.reads.get(),
        kv.writes.get(),
        kv.lists.get(),
        do_requests,
        stats.rows_written,
        stats.calls
    );
    Ok(())
}

/// Consumes queued instance ticks: each message's instances are ticked like the cron ticks
/// its own, and what they report goes to the Directory. A message whose ticks failed is
/// retried with backoff; after the queue's `max_retries` it goes to the dead-letter queue.
pub async fn consume(batch: MessageBatch<TickBatch>, env: &Env) -> Result<()> {
    let var = |name: &str| env.var(name).ok().map(|v| v.to_string());
    // Fault injection for the tests of the retry and dead-letter path: every batch fails.
    let fail_all = var("FAIL_QUEUED_TICKS").as_deref() == Some("1");
    let retry_delay = var("QUEUE_RETRY_DELAY_SECONDS")
        .and_then(|v| v.parse().ok())
        .unwrap_or(RETRY_DELAY_SECONDS);
    for message in batch.messages()? {
        let body = message.body();
        if fail_all {
            worker::console_error!(
                "queued tick of {} instances failed (injected)",
                body.ids.len()
            );
            message.retry_with_options(
                &QueueRetryOptionsBuilder::new()
                    .with_delay_seconds(retry_delay)
                    .build(),
            );
            continue;
        }
        let reports = tick_all(env, body.now_ms, &body.ids).await;
        let (stats, change, failed) = fold(reports, None);
        let reported = directory::report(env, &change).await;
        worker::console_log!(
            "queued tick {} instances={} launched={} left={} failed={} subrequests={}",
            Instant::from_unix_millis(body.now_ms),
            body.ids.len(),
            stats.launched,
            stats.left,
            failed,
            stats.calls
        );
        if failed > 0 || reported.is_err() {
            // Ticks are idempotent: doing the whole message again is safe.
            message.retry_with_options(
                &QueueRetryOptionsBuilder::new()
                    .with_delay_seconds(retry_delay)
                    .build(),
            );
        } else {
            message.ack();
        }
    }
    Ok(())
}

/// The dead-letter queue's consumer: ticks that failed every retry are logged (the instances
/// stay due: the next cron tick picks them up again).
pub async fn dead_letters(batch: MessageBatch<TickBatch>) -> Result<()> {
    for message in batch.messages()? {
        let body = message.body();
        worker::console_error!(
            "dead letter: the ticks of {} at {} failed after every retry: {}",
            body.ids.len(),
            Instant::from_unix_millis(body.now_ms),
            body.ids.join(", ")
        );
        message.ack();
    }
    Ok(())
}

/// Ticks `ids` at `now_ms`, [`MAX_PARALLEL_TICKS`] at a time.
async fn tick_all(env: &Env, now_ms: i64, ids: &[String]) -> Vec<(String, Result<TickReport>)> {
    stream::iter(ids.iter().cloned())
        .map(|id| async move {
            let report = instance::tick(env, &id, now_ms).await;
            (id, report)
        })
        .buffer_unordered(MAX_PARALLEL_TICKS)
        .collect()
        .await
}

/// Sums instance ticks' reports, and collects what the Directory must learn: the entries that
/// changed against `known` (all, without it), and the instances gone. Returns the failures too.
fn fold(
    reports: Vec<(String, Result<TickReport>)>,
    mut known: Option<&mut Ticker>,
) -> (Stats, TickerChange, u32) {
    let mut stats = Stats::default();
    let mut change = TickerChange::default();
    let mut failed = 0;
    for (id, report) in reports {
        let r = match report {
            Ok(r) => r,
            Err(e) => {
                failed += 1;
                worker::console_error!("instance {id}: {e}");
                continue;
            }
        };
        stats.add(&r);
        match (r.entry, known.as_deref_mut()) {
            (Some(entry), Some(t)) => {
                if t.instances.get(&id) != Some(&entry) {
                    change.instances.insert(id.clone(), entry.clone());
                }
                t.instances.insert(id, entry);
            }
            (Some(entry), None) => {
                change.instances.insert(id, entry);
            }
            (None, t) => {
                if let Some(t) = t {
                    t.instances.remove(&id);
                }
                change.gone.push(id);
            }
        }
    }
    (stats, change, failed)
}

#[derive(Default)]
struct Stats {
    launched: u32,
    left: u32,
    calls: u32,
    rows_written: u32,
}

impl Stats {
    fn add(&mut self, r: &TickReport) {
        self.launched += r.launched;
        self.left += r.left;
        self.calls += r.calls;
        self.rows_written += r.rows_written;
    }
}

/// Formats epoch milliseconds as RFC 3339 UTC (`2026-11-25T14:07:00.000Z`).
pub fn iso_from_millis(ms: f64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    String::from(d.to_iso_string())
}

pub fn now_iso() -> String {
    iso_from_millis(js_sys::Date::now())
}
