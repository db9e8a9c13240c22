//! The dead-man's switch, the worker's side: `/api/health`'s lateness threshold and the
//! heartbeat ping (`HEARTBEAT_URL`, a secret: the URL is never logged or answered).
//!
//! The core decides (`scheduler_core::health`); this reads the settings and calls the URL.

use std::time::Duration;

use scheduler_core::health::{ping_due, DEFAULT_LATE_AFTER_SECONDS, DEFAULT_PING_PERIOD_MINUTES};
use scheduler_core::Instant;
use worker::{Env, Method, Request, RequestInit};

use crate::outbound::{fetch_within, NoAnswer};

/// How long a ping may take; it runs after the tick's launches, so it never delays one.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

fn setting(env: &Env, name: &str) -> Option<String> {
    crate::settings::get(env, name).map(|s| s.trim().to_string())
}

/// When the tick of this heartbeat ran (its wall-clock `ran_at`).
pub fn ran_at(h: &crate::store::Heartbeat) -> Option<Instant> {
    let ms = js_sys::Date::parse(&h.ran_at);
    (!ms.is_nan()).then(|| Instant::from_unix_millis(ms as i64))
}

/// `TICK_LATE_AFTER_SECONDS` (default 600).
pub fn late_after_seconds(env: &Env) -> i64 {
    setting(env, "TICK_LATE_AFTER_SECONDS")
        .and_then(|v| v.parse().ok())
        .filter(|s: &i64| *s > 0)
        .unwrap_or(DEFAULT_LATE_AFTER_SECONDS)
}

/// Pings `HEARTBEAT_URL` if it is set and the tick of `scheduled` is due to
/// (`HEARTBEAT_PERIOD_MINUTES`, default 5). Failures are logged without the URL.
pub async fn ping(env: &Env, scheduled: Instant) {
    let Some(url) = setting(env, "HEARTBEAT_URL") else {
        return;
    };
    let period = setting(env, "HEARTBEAT_PERIOD_MINUTES")
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_PING_PERIOD_MINUTES);
    if !ping_due(scheduled, period) {
        return;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Get);
    let Ok(request) = Request::new_with_init(&url, &init) else {
        worker::console_error!("heartbeat: HEARTBEAT_URL is not a URL; set an https:// address");
        return;
    };
    let answer = fetch_within(request, PING_TIMEOUT).await;
    match answer {
        Ok(resp) if (200..300).contains(&resp.status_code()) => {
            worker::console_log!("heartbeat: pinged for {scheduled}");
        }
        Ok(resp) => worker::console_error!(
            "heartbeat: the monitor answered {} for {scheduled}",
            resp.status_code()
        ),
        Err(NoAnswer::Failed(_)) => {
            worker::console_error!("heartbeat: the monitor could not be reached for {scheduled}")
        }
        Err(NoAnswer::TimedOut) => {
            worker::console_error!(
                "heartbeat: the monitor did not answer within {} s for {scheduled}",
                PING_TIMEOUT.as_secs()
            );
        }
    }
}
