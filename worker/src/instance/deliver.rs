//! Notification delivery, inside the instance's object: claim what is due (sync), send it (a
//! signed webhook, or a Slack message; each with a deadline), record the answers (sync).
//!
//! It runs in the object's alarm, an invocation of its own, never in the tick's request: a slow
//! or failing receiver cannot delay a launch or the cron. The outbox (the core's
//! `notify::Outbox`) decides what is due, the ids, retries and backoff; this only moves bytes.
//! A claim is leased, so an invocation that dies mid-send leaves its deliveries to be sent
//! again, with the same ids, once the lease runs out.

use std::time::Duration;

use futures_util::future::join_all;
use scheduler_core::channels::{Channel, ChannelKind};
use scheduler_core::messages::{self, Context, Message, DELIVERY_HEADER, SIGNATURE_HEADER};
use scheduler_core::notify::Delivery;
use scheduler_core::{InstanceConfig, Instant};
use worker::{Env, Headers, Method, Request, RequestInit, Result};

use super::tick::Ctx;
use crate::outbound::{fetch_within, NoAnswer};
use crate::store::{ConfigRecord, CONFIG};

/// How long a receiver may take to answer.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Deliveries sent per invocation (each is a subrequest; the rest wait for the next alarm).
const MAX_PER_INVOCATION: usize = 12;
/// How much of a receiver's answer is kept (the dashboard, "Send test").
const ANSWER_EXCERPT: usize = 300;

/// What a receiver did with one message.
pub struct Sent {
    pub status: Option<u16>,
    pub answer: String,
    pub error: Option<String>,
}

impl Sent {
    pub fn delivered(&self) -> bool {
        self.error.is_none()
    }
}

/// The deliveries' clock: the wall clock, but never before the tick that made them (tests and
/// catch-ups deliver cron events "from the future").
pub fn clock(last_tick: Option<Instant>) -> Instant {
    let wall = Instant::from_unix_millis(js_sys::Date::now() as i64);
    last_tick.map_or(wall, |t| t.max(wall))
}

/// Routes the news the log has noted, then sends what is due. Returns the delay until the
/// next delivery is due, if any (for the object's alarm).
pub async fn deliver(ctx: &Ctx<'_>) -> Result<Option<Duration>> {
    let Some(record) = ctx.docs.get::<ConfigRecord>(CONFIG)? else {
        return Ok(None);
    };
    let Ok(config) = record.parse() else {
        return Ok(None);
    };
    // 1. Claim (sync).
    let mut runtime = ctx.runtime()?;
    let now = clock(runtime.state.last_tick);
    runtime
        .outbox
        .route(&config, runtime.state.last_tick.unwrap_or(now));
    let due = runtime.outbox.claim_due(now, MAX_PER_INVOCATION);
    ctx.store(runtime)?;
    if !due.is_empty() {
        // 2. Send, all at once (each within its deadline).
        let sends = due
            .iter()
            .map(|d| send_delivery(ctx.env, &record, &config, d));
        let answers = join_all(sends).await;
        // 3. Record (sync), into the latest runtime.
        let mut runtime = ctx.runtime()?;
        let at = clock(runtime.state.last_tick);
        for (d, sent) in due.iter().zip(answers) {
            let outcome = match sent.error {
                None => Ok(()),
                Some(e) => Err(e),
            };
            runtime.outbox.record(&d.id, outcome, at);
        }
        ctx.store(runtime)?;
    }
    let runtime = ctx.runtime()?;
    let now = clock(runtime.state.last_tick);
    Ok(runtime
        .outbox
        .next_due()
        .map(|t| Duration::from_millis((t.unix_millis() - now.unix_millis()).max(10) as u64)))
}

async fn send_delivery(
    env: &Env,
    record: &ConfigRecord,
    config: &InstanceConfig,
    d: &Delivery,
) -> Sent {
    let Some(channel) = config.notifications().channel(&d.channel) else {
        return Sent {
            status: None,
            answer: String::new(),
            error: Some("the channel was removed from the configuration".into()),
        };
    };
    let web = crate::api::web_host(env);
    let task = config.task(&d.notification.event.item);
    let cx = Context {
        instance_id: &record.id,
        instance_name: config.name(),
        dashboard_url: dashboard_url(env, record),
        clearml_web: web.as_deref(),
        task_name: task.map(|t| t.display_name()),
        queue: task.map(|t| t.queue()),
    };
    send(channel, &Message::of(d), &cx).await
}

/// The instance's dashboard in the app: `PUBLIC_URL` if set, else where the app was used when
/// the configuration was saved.
pub fn dashboard_url(env: &Env, record: &ConfigRecord) -> Option<String> {
    let base = crate::settings::get(env, "PUBLIC_URL")
        .map(|u| u.trim().trim_end_matches('/').to_string())
        .or_else(|| record.origin.clone())?;
    Some(format!("{base}/#/instances/{}", record.id))
}

/// Sends one message to one channel, signed at the wall clock's time (what a receiver checks
/// against its own). The channel's URL is never in what this returns.
pub async fn send(channel: &Channel, m: &Message, cx: &Context<'_>) -> Sent {
    let failed = |error: String| Sent {
        status: None,
        answer: String::new(),
        error: Some(error),
    };
    let Some(url) = channel.url().value() else {
        return failed("the channel has no stored URL; write it again in the configuration".into());
    };
    let headers = Headers::new();
    let _ = headers.set("Content-Type", "application/json");
    let _ = headers.set("User-Agent", "clearml-task-scheduler");
    let body = match channel.kind() {
        ChannelKind::Webhook => {
            let body = messages::webhook_body(m, cx);
            let _ = headers.set(DELIVERY_HEADER, &m.id);
            if let Some(secret) = channel.signing_secret().and_then(|s| s.value()) {
                let _ = headers.set(
                    SIGNATURE_HEADER,
                    &messages::signature(secret, (js_sys::Date::now() / 1000.0) as i64, &body),
                );
            }
            body
        }
        ChannelKind::Slack => messages::slack_body(m, cx),
    };
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let Ok(request) = Request::new_with_init(url, &init) else {
        return failed("the channel's URL is not one this worker can call".into());
    };
    match fetch_within(request, SEND_TIMEOUT).await {
        Ok(mut resp) => {
            let status = resp.status_code();
            let text = resp.text().await.unwrap_or_default();
            let answer: String = text.chars().take(ANSWER_EXCERPT).collect();
            let error = (!(200..300).contains(&status)).then(|| {
                let excerpt: String = answer.chars().take(100).collect();
                if excerpt.trim().is_empty() {
                    format!("the receiver answered HTTP {status}")
                } else {
                    format!("the receiver answered HTTP {status}: {}", excerpt.trim())
                }
            });
            Sent {
                status: Some(status),
                answer,
                error,
            }
        }
        // The runtime's message may name the URL: it is not passed on.
        Err(NoAnswer::Failed(_)) => failed("the receiver could not be reached".into()),
        Err(NoAnswer::TimedOut) => failed(format!(
            "the receiver did not answer within {} s",
            SEND_TIMEOUT.as_secs()
        )),
    }
}
