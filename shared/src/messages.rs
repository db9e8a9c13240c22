//! What a notification says on the wire: the webhook's JSON body (a stable, versioned schema),
//! its signature, and the Slack message.
//!
//! The webhook is signed the way Stripe signs its own: the header
//! `X-Scheduler-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. A
//! receiver recomputes the HMAC over the raw body with the channel's signing secret, compares
//! in constant time, and rejects a timestamp more than five minutes from its clock (a replay).
//! `X-Scheduler-Delivery` (and the body's `id`) is the same for every retry of one delivery, so
//! a receiver drops duplicates by it.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::notify::{Delivery, EventKind};
use crate::Instant;

/// The `schema` of every webhook body this version sends.
pub const WEBHOOK_SCHEMA: &str = "clearml-task-scheduler/notification/v1";
/// The signature header: `t=<unix seconds>,v1=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Scheduler-Signature";
/// The delivery's stable id, also the body's `id`.
pub const DELIVERY_HEADER: &str = "X-Scheduler-Delivery";
/// How far from its own clock a receiver should accept a signature's timestamp.
pub const TOLERANCE_SECONDS: i64 = 300;

/// What a message names and links to, beyond the notification: from the configuration and the
/// deployment.
#[derive(Clone, Debug, Default)]
pub struct Context<'a> {
    pub instance_id: &'a str,
    pub instance_name: &'a str,
    /// The instance's dashboard in the app (when the deployment knows its public address).
    pub dashboard_url: Option<String>,
    /// ClearML's web app (`CLEARML_WEB_HOST`), for links to runs.
    pub clearml_web: Option<&'a str>,
    /// The task's display name and queue, while the configuration has the task.
    pub task_name: Option<&'a str>,
    pub queue: Option<&'a str>,
}

/// One message, from a delivery or a "Send test".
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: String,
    pub notification_id: String,
    /// An [`EventKind`] name, or `test`.
    pub event: String,
    pub at: Instant,
    pub item: Option<String>,
    pub slot: Option<Instant>,
    pub task_id: Option<String>,
    pub detail: String,
    pub count: u32,
    pub since: Instant,
    pub held_back: u32,
}

impl Message {
    pub fn of(d: &Delivery) -> Message {
        let n = &d.notification;
        Message {
            id: d.id.clone(),
            notification_id: n.id.clone(),
            event: n.event.kind.name().to_string(),
            at: n.event.at,
            item: Some(n.event.item.clone()),
            slot: n.event.slot,
            task_id: n.event.task_id.clone(),
            detail: n.event.detail.clone(),
            count: n.count,
            since: n.since,
            held_back: n.held_back,
        }
    }

    /// A "Send test" message for channel `channel` at `now` (its id is unique to the minute).
    pub fn test(channel: &str, now: Instant) -> Message {
        let id = format!("test-{}.{channel}", now.unix_seconds());
        Message {
            id: id.clone(),
            notification_id: id,
            event: "test".into(),
            at: now,
            item: None,
            slot: None,
            task_id: None,
            detail: format!(
                "A test from the scheduler: channel \"{channel}\" is set up and reachable."
            ),
            count: 1,
            since: now,
            held_back: 0,
        }
    }
}

/// The webhook body, schema [`WEBHOOK_SCHEMA`]. Optional fields are `null` when unknown, never
/// absent, so receivers can rely on every key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookBody {
    pub schema: String,
    /// The delivery's id: the same on every retry; drop duplicates by it.
    pub id: String,
    /// The notification's id (the same for every channel it went to).
    pub notification_id: String,
    /// `launch_failed`, `slot_missed`, `run_failed`, `run_stuck`, `recovered` or `test`.
    pub event: String,
    /// When it happened (UTC, RFC 3339).
    pub at: String,
    pub instance: WebhookInstance,
    pub task: Option<WebhookTask>,
    /// The slot's fire instant.
    pub slot: Option<String>,
    pub run: Option<WebhookRun>,
    /// A sentence: what happened, and what to do.
    pub message: String,
    /// How many events this tells (more than 1: a summary of repeats since `since`).
    pub count: u32,
    pub since: String,
    /// Notifications held back by the hourly limit just before this one.
    pub held_back: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookInstance {
    pub id: String,
    pub name: String,
    pub dashboard_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookTask {
    /// The task's id in the configuration.
    pub item: String,
    pub name: Option<String>,
    pub queue: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookRun {
    /// The ClearML task id of the run.
    pub task_id: String,
    /// The run in ClearML's web app, when the deployment sets `CLEARML_WEB_HOST`.
    pub url: Option<String>,
}

fn run_url(web: Option<&str>, task_id: &str) -> Option<String> {
    web.map(|w| format!("{w}/projects/*/experiments/{task_id}/output/log"))
}

pub fn webhook_body(m: &Message, cx: &Context) -> String {
    let body = WebhookBody {
        schema: WEBHOOK_SCHEMA.into(),
        id: m.id.clone(),
        notification_id: m.notification_id.clone(),
        event: m.event.clone(),
        at: m.at.to_string(),
        instance: WebhookInstance {
            id: cx.instance_id.into(),
            name: cx.instance_name.into(),
            dashboard_url: cx.dashboard_url.clone(),
        },
        task: m.item.as_ref().map(|item| WebhookTask {
            item: item.clone(),
            name: cx.task_name.map(str::to_string),
            queue: cx.queue.map(str::to_string),
        }),
        slot: m.slot.map(|s| s.to_string()),
        run: m.task_id.as_ref().map(|id| WebhookRun {
            task_id: id.clone(),
            url: run_url(cx.clearml_web, id),
        }),
        message: m.detail.clone(),
        count: m.count,
        since: m.since.to_string(),
        held_back: m.held_back,
    };
    serde_json::to_string(&body).expect("body serializes")
}

/// The `X-Scheduler-Signature` value for `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

fn title(event: &str) -> (&'static str, &'static str) {
    let emoji = match EventKind::from_name(event) {
        Some(EventKind::LaunchFailed) => ":rotating_light:",
        Some(EventKind::SlotMissed) => ":warning:",
        Some(EventKind::RunFailed) => ":x:",
        Some(EventKind::RunStuck) => ":hourglass:",
        Some(EventKind::Recovered) => ":white_check_mark:",
        None => ":wave:",
    };
    (emoji, EventKind::label_of(event))
}

/// Slack's escaping for text in a message: `&`, `<` and `>` (Slack decodes only these three;
/// [`crate::markup::escaped`]'s `&quot;` would show as is).
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The Slack incoming-webhook body: one readable message with links to the run in ClearML and
/// to the dashboard.
pub fn slack_body(m: &Message, cx: &Context) -> String {
    let (emoji, title) = title(&m.event);
    let who = match (&m.item, cx.task_name) {
        (Some(_), Some(name)) => format!(" · {}", slack_escape(name)),
        (Some(item), None) => format!(" · {}", slack_escape(item)),
        _ => String::new(),
    };
    let mut text = format!(
        "{emoji} *{title}* · {}{who}\n{}",
        slack_escape(cx.instance_name),
        slack_escape(&m.detail)
    );
    if m.count > 1 {
        text.push_str(&format!(
            "\n{} times since {}.",
            m.count,
            m.since.to_string().replace('T', " ").replace('Z', " UTC")
        ));
    }
    if m.held_back > 0 {
        text.push_str(&format!(
            "\n{} earlier notification(s) were held back by the hourly limit; the dashboard has them all.",
            m.held_back
        ));
    }
    let mut links = Vec::new();
    if let Some(slot) = m.slot {
        links.push(format!(
            "Slot {}",
            slot.to_string().replace('T', " ").replace('Z', " UTC")
        ));
    }
    if let Some(id) = &m.task_id {
        links.push(match run_url(cx.clearml_web, id) {
            Some(url) => format!("<{}|Run {id} in ClearML>", slack_escape(&url)),
            None => format!("Run {id}"),
        });
    }
    if let Some(url) = &cx.dashboard_url {
        links.push(format!("<{}|Dashboard>", slack_escape(url)));
    }
    if !links.is_empty() {
        text.push('\n');
        text.push_str(&links.join(" · "));
    }
    serde_json::json!({ "text": text }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::{Event, Outbox, Rules};
    use serde_json::{json, Value};

    fn delivery() -> Delivery {
        let mut o = Outbox::default();
        let at = Instant::from_utc(2026, 11, 30, 6, 20).unwrap();
        o.push(
            Event {
                kind: EventKind::RunStuck,
                item: "retrain".into(),
                at,
                slot: Some(at),
                task_id: Some("abc123".into()),
                detail: "Run abc123 of retrain is still queued after 30 minutes: no agent <serves> \"gpu\"".into(),
            },
            &["ops".to_string()],
            Rules::default(),
        );
        o.deliveries.remove(0)
    }

    fn cx() -> Context<'static> {
        Context {
            instance_id: "inst-1",
            instance_name: "Nightly & co",
            dashboard_url: Some("https://sched.example.com/#/instances/inst-1".into()),
            clearml_web: Some("https://app.clear.ml"),
            task_name: Some("Retrain"),
            queue: Some("gpu"),
        }
    }

    #[test]
    fn the_webhook_body_has_every_key_of_the_schema() {
        let d = delivery();
        let v: Value = serde_json::from_str(&webhook_body(&Message::of(&d), &cx())).unwrap();
        assert_eq!(
            v,
            json!({
                "schema": "clearml-task-scheduler/notification/v1",
                "id": d.id,
                "notification_id": d.notification.id,
                "event": "run_stuck",
                "at": "2026-11-30T06:20:00Z",
                "instance": {"id": "inst-1", "name": "Nightly & co", "dashboard_url": "https://sched.example.com/#/instances/inst-1"},
                "task": {"item": "retrain", "name": "Retrain", "queue": "gpu"},
                "slot": "2026-11-30T06:20:00Z",
                "run": {"task_id": "abc123", "url": "https://app.clear.ml/projects/*/experiments/abc123/output/log"},
                "message": "Run abc123 of retrain is still queued after 30 minutes: no agent <serves> \"gpu\"",
                "count": 1,
                "since": "2026-11-30T06:20:00Z",
                "held_back": 0
            })
        );
        assert!(d.id.ends_with(".ops"));
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // RFC 4231 test case 2 ("Jefe" / "what do ya want for nothing?"), split as t.body.
        let sig = signature("Jefe", 0, "what do ya want for nothing?");
        assert_ne!(sig, "", "sanity");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"0.what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sig, format!("t=0,v1={hex}"));
        // A known answer, computed independently with Python's hmac module.
        assert_eq!(
            signature("whsec_test", 1767225600, "{}"),
            "t=1767225600,v1=4a942ef9477fb7b15b98664cf7ff2c2543984c1fa6bdf3520b48dcb25bcd1fe4"
        );
    }

    #[test]
    fn the_slack_message_is_readable_escaped_and_links_out() {
        let d = delivery();
        let v: Value = serde_json::from_str(&slack_body(&Message::of(&d), &cx())).unwrap();
        let text = v["text"].as_str().unwrap();
        assert!(
            text.starts_with(":hourglass: *Run stuck in its queue* · Nightly &amp; co · Retrain\n"),
            "{text}"
        );
        assert!(text.contains("no agent &lt;serves&gt;"), "{text}");
        assert!(text.contains(
            "<https://app.clear.ml/projects/*/experiments/abc123/output/log|Run abc123 in ClearML>"
        ));
        assert!(text.contains("<https://sched.example.com/#/instances/inst-1|Dashboard>"));
        assert!(text.contains("Slot 2026-11-30 06:20:00 UTC"));
    }
}
