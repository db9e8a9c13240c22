//! `POST /api/instances/{id}/channels/{channel}/test`: "Send test". A test message goes to the
//! channel now, signed like every webhook, and the answer says what the receiver did with it
//! (its status and the start of its body, or why nothing arrived). Not through the outbox: a
//! test is not retried, and it is not news.

use scheduler_core::api::ChannelTest;
use scheduler_core::messages::{Context, Message};

use super::http::{self, Answer, ApiError};
use super::instances::{load, Here};
use crate::instance::deliver;

pub async fn test(here: &Here<'_>, channel_id: &str) -> Answer {
    let (record, config) = load(here.docs)?;
    let Some(channel) = config.notifications().channel(channel_id) else {
        return Err(ApiError::not_found(format!(
            "the instance has no notification channel \"{}\"; save it in the configuration first",
            super::truncate(channel_id, 64)
        )));
    };
    let now = http::now();
    let web = super::web_host(here.env);
    let cx = Context {
        instance_id: &record.id,
        instance_name: config.name(),
        dashboard_url: deliver::dashboard_url(here.env, &record),
        clearml_web: web.as_deref(),
        task_name: None,
        queue: None,
    };
    let started = js_sys::Date::now();
    let sent = deliver::send(channel, &Message::test(channel_id, now), &cx).await;
    http::ok_json(&ChannelTest {
        channel: channel_id.to_string(),
        delivered: sent.delivered(),
        status: sent.status,
        answer: sent.answer,
        error: sent.error,
        elapsed_ms: (js_sys::Date::now() - started).max(0.0) as u64,
    })
}
