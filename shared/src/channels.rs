//! Where an instance's notifications go: its channels (a signed webhook, a Slack incoming
//! webhook), which events each one takes, and the rules that keep them from storming. The v1
//! file's `notifications` object:
//!
//! ```json
//! "notifications": {
//!   "channels": [
//!     { "id": "ops", "type": "webhook", "url": "https://ops.example.com/clearml",
//!       "signing_secret": "at least 16 characters, shared with the receiver" },
//!     { "id": "team", "type": "slack", "url": "https://hooks.slack.com/services/T0/B0/Wq7x",
//!       "events": ["launch_failed", "run_stuck"] }
//!   ],
//!   "stuck_after_minutes": 30, "group_window_minutes": 60, "max_per_hour": 20
//! }
//! ```
//!
//! A task may narrow where its events go with `"notify": ["ops"]` (absent: every channel).
//!
//! Channel URLs and signing secrets are credentials (a Slack webhook URL lets anyone post to the
//! channel), so they are write-only. A [`Secret`] is shown by its hint (`hooks.slack.com/…/Wq7x`)
//! in every export and answer; a file that sends the hint back (`url_hint`) keeps the stored
//! value ([`crate::InstanceConfig::keep_secrets`]). Only the instance's own storage holds the
//! value ([`crate::InstanceConfig::to_stored_value`]).

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::notify::{EventKind, Rules};
use crate::parse::{join, kind, unknown_fields, whole_number};
use crate::text::did_you_mean;
use crate::ValidationErrors;

/// Channels per instance.
pub const MAX_CHANNELS: usize = 10;
/// The shortest signing secret accepted (characters).
pub const MIN_SIGNING_SECRET: usize = 16;
/// Longest URL accepted.
pub const MAX_URL: usize = 2048;
/// A run still queued this long after its launch is told as stuck, unless the file says.
pub const DEFAULT_STUCK_AFTER_MINUTES: u32 = 30;

const FIELDS: &[&str] = &[
    "channels",
    "stuck_after_minutes",
    "group_window_minutes",
    "max_per_hour",
];
const CHANNEL_FIELDS: &[&str] = &[
    "id",
    "type",
    "url",
    "url_hint",
    "signing_secret",
    "signing_secret_hint",
    "events",
];

/// A credential: given in this file, or kept from the stored configuration (the file has only
/// its hint). Its `Debug` shows the hint only, so a logged configuration leaks nothing.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Given(String),
    Kept { hint: String },
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Given(_) => f.write_str("Secret(given)"),
            Secret::Kept { hint } => write!(f, "Secret(kept {hint})"),
        }
    }
}

impl Secret {
    /// The value, when this file gave it.
    pub fn value(&self) -> Option<&str> {
        match self {
            Secret::Given(v) => Some(v),
            Secret::Kept { .. } => None,
        }
    }
}

/// How a URL is shown: its host and the last four characters of what follows it
/// (`hooks.slack.com/…/Wq7x`), enough to tell channels apart and too little to use. Whatever
/// may carry a credential is left out: the user part (`user:token@`) always, and the tail unless
/// what follows the host is long enough (16 characters) that four of them give nothing away.
pub fn url_hint(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let count = after.chars().count();
    let tail: String = if count >= 16 {
        after.chars().skip(count - 4).collect()
    } else {
        String::new()
    };
    if tail.is_empty() {
        format!("{host}/…")
    } else {
        format!("{host}/…/{tail}")
    }
}

/// How a signing secret is shown: its last four characters.
pub fn secret_hint(secret: &str) -> String {
    let skip = secret.chars().count().saturating_sub(4);
    format!("…{}", secret.chars().skip(skip).collect::<String>())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    /// A POST of the notification as JSON, signed (see `crate::notify::signature`).
    Webhook,
    /// A Slack incoming webhook: a readable message.
    Slack,
}

impl ChannelKind {
    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
        }
    }
}

/// One place notifications go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub(crate) id: String,
    pub(crate) kind: ChannelKind,
    pub(crate) url: Secret,
    /// Webhooks only (required there).
    pub(crate) signing_secret: Option<Secret>,
    /// The events it takes, in [`EventKind::ALL`] order.
    pub(crate) events: Vec<EventKind>,
}

impl Channel {
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn kind(&self) -> ChannelKind {
        self.kind
    }
    pub fn url(&self) -> &Secret {
        &self.url
    }
    pub fn signing_secret(&self) -> Option<&Secret> {
        self.signing_secret.as_ref()
    }
    pub fn events(&self) -> &[EventKind] {
        &self.events
    }
    /// The URL's hint, as answers show it.
    pub fn url_hint(&self) -> String {
        match &self.url {
            Secret::Given(u) => url_hint(u),
            Secret::Kept { hint } => hint.clone(),
        }
    }
}

/// An instance's notification settings (empty: it tells no one, only its log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notifications {
    pub(crate) channels: Vec<Channel>,
    pub(crate) stuck_after_minutes: u32,
    pub(crate) rules: Rules,
}

impl Default for Notifications {
    fn default() -> Notifications {
        Notifications {
            channels: Vec::new(),
            stuck_after_minutes: DEFAULT_STUCK_AFTER_MINUTES,
            rules: Rules::default(),
        }
    }
}

impl Notifications {
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }
    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }
    pub fn stuck_after_minutes(&self) -> u32 {
        self.stuck_after_minutes
    }
    pub fn rules(&self) -> Rules {
        self.rules
    }

    /// The channels an event of `kind` about a task goes to: those taking the kind, narrowed by
    /// the task's `notify` list when it has one.
    pub fn channels_for(&self, kind: EventKind, task_notify: Option<&[String]>) -> Vec<String> {
        self.channels
            .iter()
            .filter(|c| c.events.contains(&kind))
            .filter(|c| task_notify.is_none_or(|ids| ids.contains(&c.id)))
            .map(|c| c.id.clone())
            .collect()
    }

    pub(crate) fn is_default(&self) -> bool {
        *self == Notifications::default()
    }

    /// Takes the stored value of every secret this file only hints at from `previous` (the
    /// same channel id and type, the same hint). A hint with nothing to keep is an error naming
    /// the field.
    pub(crate) fn keep_secrets(
        &mut self,
        previous: Option<&Notifications>,
        errs: &mut ValidationErrors,
    ) {
        for (i, c) in self.channels.iter_mut().enumerate() {
            let before = previous
                .and_then(|p| p.channel(&c.id))
                .filter(|p| p.kind == c.kind);
            let path = format!("notifications.channels[{i}]");
            keep(
                &mut c.url,
                before.map(|p| &p.url),
                url_hint,
                &join(&path, "url"),
                "the URL",
                errs,
            );
            if let Some(s) = &mut c.signing_secret {
                keep(
                    s,
                    before.and_then(|p| p.signing_secret.as_ref()),
                    secret_hint,
                    &join(&path, "signing_secret"),
                    "the signing secret",
                    errs,
                );
            }
        }
    }
}

fn keep(
    secret: &mut Secret,
    before: Option<&Secret>,
    hint_of: fn(&str) -> String,
    path: &str,
    what: &str,
    errs: &mut ValidationErrors,
) {
    let Secret::Kept { hint } = secret else {
        return;
    };
    match before {
        Some(Secret::Given(v)) if hint_of(v) == *hint => *secret = Secret::Given(v.clone()),
        _ => errs.push(
            path,
            format!(
                "missing: exports leave {what} out (it is a secret), and this instance has no \
                 stored one matching the hint given; write {what} again"
            ),
        ),
    }
}

// ---- the form -----------------------------------------------------------------------------

/// A channel as the app's form edits it: what was typed, and the hints of what is stored. Its
/// JSON goes through the same validation as a file's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelDraft {
    pub id: String,
    /// `webhook` or `slack`.
    pub kind: String,
    /// A URL typed in the form; empty keeps the stored one (`url_hint`).
    pub url: String,
    pub url_hint: Option<String>,
    /// A signing secret typed in the form; empty keeps the stored one.
    pub signing_secret: String,
    pub signing_secret_hint: Option<String>,
    pub events: Vec<EventKind>,
}

impl Default for ChannelDraft {
    fn default() -> ChannelDraft {
        ChannelDraft {
            id: String::new(),
            kind: "webhook".into(),
            url: String::new(),
            url_hint: None,
            signing_secret: String::new(),
            signing_secret_hint: None,
            events: EventKind::ALL.to_vec(),
        }
    }
}

impl ChannelDraft {
    /// From a channel of a configuration as answers show it (hints, no secrets).
    pub fn from_channel(v: &Value) -> ChannelDraft {
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let hint = |k: &str| v[k].as_str().map(str::to_string);
        let events = match v["events"].as_array() {
            Some(list) => EventKind::ALL
                .into_iter()
                .filter(|k| list.iter().any(|e| e.as_str() == Some(k.name())))
                .collect(),
            None => EventKind::ALL.to_vec(),
        };
        ChannelDraft {
            id: text("id"),
            kind: text("type"),
            url: text("url"),
            url_hint: hint("url_hint"),
            signing_secret: text("signing_secret"),
            signing_secret_hint: hint("signing_secret_hint"),
            events,
        }
    }

    /// The channel as the file writes it: a typed secret, else the stored one's hint.
    pub fn to_channel(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.id.trim().into());
        m.insert("type".into(), self.kind.as_str().into());
        let mut secret = |key: &str, typed: &str, hint: &Option<String>| match (typed.trim(), hint)
        {
            ("", Some(h)) => {
                m.insert(format!("{key}_hint"), h.as_str().into());
            }
            ("", None) => {}
            (typed, _) => {
                m.insert(key.into(), typed.into());
            }
        };
        secret("url", &self.url, &self.url_hint);
        if self.kind == "webhook" {
            secret(
                "signing_secret",
                &self.signing_secret,
                &self.signing_secret_hint,
            );
        }
        if self.events != EventKind::ALL {
            let names: Vec<Value> = self.events.iter().map(|k| k.name().into()).collect();
            m.insert("events".into(), Value::Array(names));
        }
        Value::Object(m)
    }
}

// ---- the file -----------------------------------------------------------------------------

/// `notifications` as written: `secrets` writes the values (storage, and what the app sends);
/// otherwise only hints (exports, answers).
pub(crate) struct NotificationsOut<'a> {
    pub n: &'a Notifications,
    pub secrets: bool,
}

impl Serialize for NotificationsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.n;
        let mut map = s.serialize_map(None)?;
        let channels: Vec<ChannelOut> = n
            .channels
            .iter()
            .map(|c| ChannelOut {
                c,
                secrets: self.secrets,
            })
            .collect();
        map.serialize_entry("channels", &channels)?;
        let d = Notifications::default();
        if n.stuck_after_minutes != d.stuck_after_minutes {
            map.serialize_entry("stuck_after_minutes", &n.stuck_after_minutes)?;
        }
        if n.rules.group_window_minutes != d.rules.group_window_minutes {
            map.serialize_entry("group_window_minutes", &n.rules.group_window_minutes)?;
        }
        if n.rules.max_per_hour != d.rules.max_per_hour {
            map.serialize_entry("max_per_hour", &n.rules.max_per_hour)?;
        }
        map.end()
    }
}

struct ChannelOut<'a> {
    c: &'a Channel,
    secrets: bool,
}

impl Serialize for ChannelOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.c;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &c.id)?;
        map.serialize_entry("type", c.kind.name())?;
        let mut secret = |field: &str, v: &Secret, hint_of: fn(&str) -> String| match v {
            Secret::Given(value) if self.secrets => map.serialize_entry(field, value),
            Secret::Given(value) => map.serialize_entry(&format!("{field}_hint"), &hint_of(value)),
            Secret::Kept { hint } => map.serialize_entry(&format!("{field}_hint"), hint),
        };
        secret("url", &c.url, url_hint)?;
        if let Some(s) = &c.signing_secret {
            secret("signing_secret", s, secret_hint)?;
        }
        if c.events != EventKind::ALL {
            let names: Vec<&str> = c.events.iter().map(|k| k.name()).collect();
            map.serialize_entry("events", &names)?;
        }
        map.end()
    }
}

/// Reads `notifications`; its problems go to `errs`.
pub(crate) fn parse(v: Option<&Value>, errs: &mut ValidationErrors) -> Notifications {
    let mut out = Notifications::default();
    let path = "notifications";
    let obj = match v {
        None | Some(Value::Null) => return out,
        Some(Value::Object(obj)) => obj,
        Some(v) => {
            errs.push(
                path,
                format!(
                    "expected an object like {{\"channels\": [{{\"id\": \"ops\", \"type\": \"slack\", \"url\": \"https://hooks.slack.com/services/…\"}}]}}, found {}",
                    kind(v)
                ),
            );
            return out;
        }
    };
    unknown_fields(obj, path, FIELDS, errs);
    let number = |key: &str, min: u32, max: u32, default: u32, errs: &mut ValidationErrors| {
        whole_number(obj, key, path, min, max, errs)
            .ok()
            .flatten()
            .unwrap_or(default)
    };
    out.stuck_after_minutes = number(
        "stuck_after_minutes",
        1,
        7 * 24 * 60,
        DEFAULT_STUCK_AFTER_MINUTES,
        errs,
    );
    out.rules.group_window_minutes = i64::from(number(
        "group_window_minutes",
        0,
        24 * 60,
        Rules::default().group_window_minutes as u32,
        errs,
    ));
    out.rules.max_per_hour = number("max_per_hour", 1, 1000, Rules::default().max_per_hour, errs);
    let channels_path = join(path, "channels");
    match obj.get("channels") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            if items.len() > MAX_CHANNELS {
                errs.push(
                    &channels_path,
                    format!(
                        "has {} channels; at most {MAX_CHANNELS} are allowed",
                        items.len()
                    ),
                );
            }
            for (i, item) in items.iter().enumerate() {
                let p = format!("{channels_path}[{i}]");
                if let Some(c) = channel(item, &p, errs) {
                    if out.channels.iter().any(|o| o.id == c.id) {
                        errs.push(
                            join(&p, "id"),
                            format!(
                                "\"{}\" is already the id of another channel; channel ids must be unique",
                                c.id
                            ),
                        );
                    } else {
                        out.channels.push(c);
                    }
                }
            }
        }
        Some(v) => errs.push(
            channels_path,
            format!("expected a list of channel objects, found {}", kind(v)),
        ),
    }
    out
}

fn channel(v: &Value, path: &str, errs: &mut ValidationErrors) -> Option<Channel> {
    let before = errs.len();
    let Some(obj) = v.as_object() else {
        errs.push(
            path,
            format!(
                "expected a channel object with id, type and url, found {}",
                kind(v)
            ),
        );
        return None;
    };
    unknown_fields(obj, path, CHANNEL_FIELDS, errs);
    let text = |key: &str, errs: &mut ValidationErrors| -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                errs.push(
                    join(path, key),
                    format!("expected a string, found {}", kind(v)),
                );
                None
            }
        }
    };
    let id = text("id", errs);
    match &id {
        None => errs.push(
            join(path, "id"),
            "missing; name the channel, like \"ops\" (tasks' \"notify\" lists refer to it)",
        ),
        Some(id)
            if id.is_empty()
                || id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')) =>
        {
            errs.push(
                join(path, "id"),
                format!(
                    "{} is not a channel id; use 1 to 64 letters, digits, '-' or '_'",
                    quoted_if_plain(id)
                ),
            )
        }
        _ => {}
    }
    let kind_ = match text("type", errs).as_deref() {
        Some("webhook") => Some(ChannelKind::Webhook),
        Some("slack") => Some(ChannelKind::Slack),
        Some(other) => {
            let hint = did_you_mean(other, &["webhook", "slack"])
                .map_or(String::new(), |s| format!("did you mean \"{s}\"? "));
            errs.push(
                join(path, "type"),
                format!(
                    "{} is not a channel type; {hint}use \"webhook\" or \"slack\"",
                    quoted_if_plain(other)
                ),
            );
            None
        }
        None => {
            errs.push(
                join(path, "type"),
                "missing; use \"webhook\" (signed JSON) or \"slack\" (an incoming webhook)",
            );
            None
        }
    };
    let url = secret(obj, "url", path, errs, |u| {
        let rest = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"));
        match rest {
            _ if u.len() > MAX_URL => Err(format!("is longer than {MAX_URL} characters")),
            Some(r) if !r.is_empty() && !r.starts_with('/') && !u.contains(char::is_whitespace) => {
                Ok(())
            }
            // The value is a secret: the message does not repeat it.
            _ => Err("is not a URL; write the full address, starting with https://".into()),
        }
    });
    let url = match url {
        Some(u) => Some(u),
        None if errs.len() == before => {
            errs.push(
                join(path, "url"),
                "missing; paste the address to POST to (for Slack, the incoming webhook's URL)",
            );
            None
        }
        None => None,
    };
    let signing_secret = secret(obj, "signing_secret", path, errs, |s| {
        if s.chars().count() < MIN_SIGNING_SECRET {
            Err(format!(
                "is too short; use at least {MIN_SIGNING_SECRET} random characters (for example the output of `openssl rand -hex 32`)"
            ))
        } else {
            Ok(())
        }
    });
    match (kind_, &signing_secret) {
        // Absent or null alike (a secret that failed its check has said so already).
        (Some(ChannelKind::Webhook), None)
            if matches!(obj.get("signing_secret"), None | Some(Value::Null)) =>
        {
            errs.push(
                join(path, "signing_secret"),
                "missing; a webhook is signed so its receiver can check it came from here: make a \
             secret (for example `openssl rand -hex 32`) and give the receiver the same",
            )
        }
        (Some(ChannelKind::Slack), Some(_)) => errs.push(
            join(path, "signing_secret"),
            "Slack incoming webhooks are not signed; remove signing_secret",
        ),
        _ => {}
    }
    let events = match obj.get("events") {
        None | Some(Value::Null) => EventKind::ALL.to_vec(),
        Some(Value::Array(items)) if !items.is_empty() => {
            let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
            let mut chosen = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let p = format!("{}[{i}]", join(path, "events"));
                match item.as_str().and_then(EventKind::from_name) {
                    Some(k) => chosen.push(k),
                    None => {
                        let hint = item
                            .as_str()
                            .and_then(|s| did_you_mean(s, &names))
                            .map_or(String::new(), |s| format!("did you mean \"{s}\"? "));
                        errs.push(
                            p,
                            format!("not an event; {hint}events are {}", names.join(", ")),
                        );
                    }
                }
            }
            EventKind::ALL
                .into_iter()
                .filter(|k| chosen.contains(k))
                .collect()
        }
        Some(v) => {
            errs.push(
                join(path, "events"),
                format!(
                    "expected a non-empty list of events such as [\"launch_failed\"], found {}; leave it out for every event",
                    kind(v)
                ),
            );
            vec![]
        }
    };
    if errs.len() > before {
        return None;
    }
    Some(Channel {
        id: id?,
        kind: kind_?,
        url: url?,
        signing_secret,
        events,
    })
}

/// A secret field: `key` with its value, or `{key}_hint` (kept from storage), not both.
/// A value an error may repeat, quoted; or "this value" when it may be a secret pasted into the
/// wrong field (an address, or anything long), since errors are shown and logged.
fn quoted_if_plain(value: &str) -> String {
    if value.chars().count() <= 32 && !value.contains("://") {
        format!("\"{value}\"")
    } else {
        "this value".to_string()
    }
}

fn secret(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    errs: &mut ValidationErrors,
    check: impl Fn(&str) -> Result<(), String>,
) -> Option<Secret> {
    let p = join(path, key);
    let hint_key = format!("{key}_hint");
    match (obj.get(key), obj.get(&hint_key)) {
        (Some(Value::String(v)), _) => match check(v) {
            Ok(()) => Some(Secret::Given(v.clone())),
            Err(why) => {
                errs.push(p, why);
                None
            }
        },
        (Some(v), _) if !v.is_null() => {
            errs.push(p, format!("expected a string, found {}", kind(v)));
            None
        }
        (_, Some(Value::String(h))) => Some(Secret::Kept { hint: h.clone() }),
        (_, Some(v)) if !v.is_null() => {
            errs.push(
                join(path, &hint_key),
                format!(
                    "expected the hint an export wrote (a string), found {}; or write {key} itself",
                    kind(v)
                ),
            );
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_config, Instant};
    use serde_json::json;

    fn now() -> Instant {
        Instant::from_utc(2026, 11, 30, 6, 0).unwrap()
    }

    fn doc(notifications: Value, notify: Option<Value>) -> String {
        let mut task = json!({"id": "a", "base_task_id": "t1", "queue": "default", "recurrence": "daily", "times": ["06:20"]});
        if let Some(n) = notify {
            task["notify"] = n;
        }
        json!({"format": crate::FORMAT_V1, "name": "n", "scheduled_tasks": [task], "notifications": notifications}).to_string()
    }

    const SLACK: &str = "https://hooks.slack.com/services/T000/B000/abcdWXYZ";
    const SECRET: &str = "0123456789abcdef-secret";

    fn two_channels() -> Value {
        json!({"channels": [
            {"id": "ops", "type": "webhook", "url": "https://ops.example.com/hook", "signing_secret": SECRET},
            {"id": "team", "type": "slack", "url": SLACK, "events": ["run_stuck", "launch_failed"]}
        ], "max_per_hour": 5})
    }

    #[test]
    fn exports_show_hints_and_storage_keeps_the_values() {
        let c = parse_config(&doc(two_channels(), None), now()).unwrap();
        let export = c.to_json();
        assert!(
            !export.contains(SLACK) && !export.contains(SECRET),
            "{export}"
        );
        assert!(export.contains("\"url_hint\": \"hooks.slack.com/…/WXYZ\""));
        assert!(export.contains("\"signing_secret_hint\": \"…cret\""));
        let v: Value = serde_json::from_str(&export).unwrap();
        assert_eq!(
            v["notifications"]["channels"][1]["events"],
            json!(["launch_failed", "run_stuck"]),
            "events in a fixed order"
        );
        assert!(!format!("{c:?}").contains(SLACK), "Debug shows no secret");
        let stored = c.to_stored_value().to_string();
        assert!(stored.contains(SLACK) && stored.contains(SECRET));
        let again = crate::parse_config_value(&c.to_stored_value(), None).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn a_file_with_hints_keeps_the_stored_secrets() {
        let stored = parse_config(&doc(two_channels(), None), now()).unwrap();
        let mut edited = parse_config(&stored.to_json(), now()).unwrap();
        assert!(edited.notifications().channels()[0].url().value().is_none());
        edited.keep_secrets(Some(&stored)).unwrap();
        assert_eq!(edited, stored);
        assert_eq!(edited.to_json(), stored.to_json(), "byte-stable");
        // Into another instance (nothing stored), the hints cannot be used.
        let mut elsewhere = parse_config(&stored.to_json(), now()).unwrap();
        let errs = elsewhere.keep_secrets(None).unwrap_err();
        let paths: Vec<&str> = errs.errors().iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "notifications.channels[0].url",
                "notifications.channels[0].signing_secret",
                "notifications.channels[1].url"
            ]
        );
        assert!(errs.errors()[0].message.contains("write the URL again"));
    }

    #[test]
    fn a_changed_type_or_hint_does_not_take_the_old_secret() {
        let stored = parse_config(&doc(two_channels(), None), now()).unwrap();
        let mut v: Value = serde_json::from_str(&stored.to_json()).unwrap();
        v["notifications"]["channels"][1]["url_hint"] = "hooks.slack.com/…/OTHR".into();
        let mut edited = crate::parse_config_value(&v, None).unwrap();
        assert!(edited.keep_secrets(Some(&stored)).is_err());
    }

    #[test]
    fn bad_channels_are_told_field_by_field_without_echoing_secrets() {
        let n = json!({"channels": [
            {"id": "ops", "type": "webhok", "url": "ftp://secret-host/x"},
            {"id": "a b", "type": "webhook", "url": "https://x.example/h", "signing_secret": "short"},
            {"id": "s", "type": "slack", "url": "https://hooks.slack.com/x/yyyyyyyy", "signing_secret": SECRET, "events": ["run_stuk"]},
            {"id": "w", "type": "webhook", "url": "https://x.example/h"}
        ], "max_per_hour": 0});
        let errs = parse_config(&doc(n, Some(json!(["opps"]))), now()).unwrap_err();
        let text = errs.to_string();
        assert!(!text.contains("secret-host"), "{text}");
        for expect in [
            "notifications.max_per_hour: 0 is out of range",
            "notifications.channels[0].type: \"webhok\" is not a channel type; did you mean \"webhook\"?",
            "notifications.channels[0].url: is not a URL",
            "notifications.channels[1].id: \"a b\" is not a channel id",
            "notifications.channels[1].signing_secret: is too short",
            "notifications.channels[2].signing_secret: Slack incoming webhooks are not signed",
            "notifications.channels[2].events[0]: not an event; did you mean \"run_stuck\"?",
            "notifications.channels[3].signing_secret: missing",
        ] {
            assert!(text.contains(expect), "{expect}\n{text}");
        }
    }

    #[test]
    fn a_tasks_notify_names_channels_and_narrows_where_its_events_go() {
        let c = parse_config(&doc(two_channels(), Some(json!(["team"]))), now()).unwrap();
        let n = c.notifications();
        let task = &c.scheduled_tasks()[0];
        assert_eq!(n.channels_for(EventKind::RunStuck, task.notify()), ["team"]);
        assert!(n
            .channels_for(EventKind::RunFailed, task.notify())
            .is_empty());
        assert_eq!(n.channels_for(EventKind::RunStuck, None), ["ops", "team"]);
        assert!(c
            .to_json()
            .contains("\"notify\": [\n        \"team\"\n      ]"));
        let errs = parse_config(&doc(two_channels(), Some(json!(["opps"]))), now()).unwrap_err();
        assert_eq!(errs.errors()[0].path, "scheduled_tasks[0].notify[0]");
        assert!(errs.errors()[0].message.contains("did you mean \"ops\"?"));
    }

    #[test]
    fn a_channel_from_an_answer_goes_back_with_its_hints_or_what_was_typed() {
        let stored = parse_config(&doc(two_channels(), None), now()).unwrap();
        let answer: Value = serde_json::to_value(&stored).unwrap();
        let drafts: Vec<ChannelDraft> = answer["notifications"]["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(ChannelDraft::from_channel)
            .collect();
        assert_eq!(
            drafts[1].events,
            [EventKind::LaunchFailed, EventKind::RunStuck]
        );
        assert_eq!(drafts[0].url, "", "nothing secret in the form");
        let back: Vec<Value> = drafts.iter().map(ChannelDraft::to_channel).collect();
        assert_eq!(
            back,
            answer["notifications"]["channels"]
                .as_array()
                .unwrap()
                .clone()
        );
        // A new URL typed over a kept one is sent; a Slack channel sends no signing secret.
        let mut typed = drafts[1].clone();
        typed.url = " https://hooks.slack.com/services/NEW/URL/abcd ".into();
        typed.signing_secret = "typed but not for slack".into();
        let v = typed.to_channel();
        assert_eq!(v["url"], "https://hooks.slack.com/services/NEW/URL/abcd");
        assert!(v.get("url_hint").is_none() && v.get("signing_secret").is_none());
        assert_eq!(
            ChannelDraft::default().to_channel(),
            json!({"id": "", "type": "webhook"})
        );
    }

    #[test]
    fn hints_show_the_host_and_four_characters() {
        assert_eq!(url_hint(SLACK), "hooks.slack.com/…/WXYZ");
        assert_eq!(url_hint("http://127.0.0.1:9/h"), "127.0.0.1:9/…");
        // A credential in the user part or a short query never shows.
        assert_eq!(
            url_hint("https://user:s3cr3tT0ken@hooks.example.com/x"),
            "hooks.example.com/…"
        );
        assert_eq!(
            url_hint("https://hooks.example.com?token=SECRET"),
            "hooks.example.com/…"
        );
        assert_eq!(url_hint("https://h.example.com#SECRET"), "h.example.com/…");
        // '\\' ends the host too: browsers read it as '/'.
        assert_eq!(
            url_hint("https://hooks.slack.com\\services\\T0\\B0\\SECRETSECRET"),
            "hooks.slack.com/…/CRET"
        );
        assert_eq!(secret_hint("abc"), "…abc");
    }

    #[test]
    fn a_webhook_needs_its_signing_secret_even_when_it_is_written_null() {
        let n = json!({"channels": [
            {"id": "ops", "type": "webhook", "url": "https://ops.example.com/hook", "signing_secret": null}
        ]});
        let errs = parse_config(&doc(n, None), now()).unwrap_err().to_string();
        assert!(
            errs.contains("notifications.channels[0].signing_secret: missing"),
            "{errs}"
        );
    }

    #[test]
    fn what_may_be_a_secret_in_the_wrong_place_is_not_repeated() {
        let token = "https://hooks.slack.com/services/T0/B0/REALTOKEN";
        let n = json!({"channels": [
            {"id": "ops", "type": token, "url": SLACK},
            {"id": token, "type": "slack", "url": SLACK}
        ]});
        let errs = parse_config(&doc(n, None), now()).unwrap_err().to_string();
        assert!(!errs.contains("REALTOKEN"), "{errs}");
        assert!(
            errs.contains("channels[0].type: this value is not a channel type"),
            "{errs}"
        );
        assert!(
            errs.contains("channels[1].id: this value is not a channel id"),
            "{errs}"
        );
        // A hint with no stored secret behind it is not repeated either.
        let hinted = json!({"channels": [
            {"id": "team", "type": "slack", "url_hint": token}
        ]});
        let mut c =
            crate::parse_config_value(&serde_json::from_str(&doc(hinted, None)).unwrap(), None)
                .unwrap();
        let errs = c.keep_secrets(None).unwrap_err().to_string();
        assert!(!errs.contains("REALTOKEN"), "{errs}");
    }
}
