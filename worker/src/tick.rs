//! The minute cron handler.

use crate::store::{self, Heartbeat};
use worker::{Env, Result, ScheduledEvent};

/// Runs one scheduled event: records the heartbeat.
pub async fn run(event: &ScheduledEvent, env: &Env) -> Result<()> {
    let kv = store::kv(env)?;
    let beat = Heartbeat {
        scheduled_time: iso_from_millis(event.schedule()),
        cron: event.cron(),
        ran_at: now_iso(),
    };
    store::write_heartbeat(&kv, &beat).await
}

/// Formats epoch milliseconds as RFC 3339 UTC (`2026-11-25T14:07:00.000Z`).
pub fn iso_from_millis(ms: f64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    String::from(d.to_iso_string())
}

pub fn now_iso() -> String {
    iso_from_millis(js_sys::Date::now())
}
