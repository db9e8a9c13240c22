//! Never silent: an instance's outbox of notifications. Sans-IO: events in, deliveries out.
//!
//! Events come from the tick (a launch failed for good, a slot missed, a run failed, stopped or
//! aborted, a run still queued after N minutes, a task that recovered); each becomes at most one
//! notification, sent to each channel it is routed to, at least once:
//!
//! * **Grouping.** The first event of a kind for a task is told at once; repeats within the
//!   group window are counted and told as one summary when the window ends ("failed 4 more
//!   times"). A recovery closes the task's groups and is told itself.
//! * **Rate limit.** At most `max_per_hour` notifications per instance and clock hour; the rest
//!   are counted, and the next one told says how many were held back.
//! * **Delivery.** Each (notification, channel) is a [`Delivery`] with a stable id (receivers
//!   drop duplicates by it). [`Outbox::claim_due`] hands out what to send now and leases it, so
//!   a sender that dies mid-call is retried after the lease with the same id; the answer comes
//!   back through [`Outbox::record`]: retried with backoff (1, 2, 4, 8, 16, 30 minutes), given
//!   up after [`MAX_ATTEMPTS`] and kept, for the dashboard to show what could not be delivered.
//!
//! Events are not made up here: a scheduler log line carries its news ([`About`]), the runtime's
//! log hands every line to [`Outbox::note`], and [`Outbox::route`] turns the news into events for
//! the channels the configuration routes them to ([`crate::channels`]). A success after failures
//! of a task is told as [`EventKind::Recovered`], once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hash::hash64;
use crate::Instant;

/// Attempts of one delivery before it is given up.
pub const MAX_ATTEMPTS: u32 = 8;
/// How long a claimed delivery is the claimer's before it may be sent again.
pub const LEASE_SECONDS: i64 = 120;
/// Deliveries kept once settled (delivered or given up), newest, for the dashboard.
pub const KEPT_SETTLED: usize = 50;

/// Minutes before retry `attempts` (1-based: after the first failure, 1 minute).
pub fn retry_minutes(attempts: u32) -> i64 {
    match attempts {
        0 | 1 => 1,
        2 => 2,
        3 => 4,
        4 => 8,
        5 => 16,
        _ => 30,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A launch failed for good (a missing queue or base task, or every retry failed).
    LaunchFailed,
    /// A slot was not launched: too late for its catch-up window, or the cron did not run.
    SlotMissed,
    /// A run ended failed, stopped, or aborted by its execution limit.
    RunFailed,
    /// A run still queued after the configured minutes: no agent serves its queue.
    RunStuck,
    /// The first success of a task after failures.
    Recovered,
}

impl EventKind {
    /// Every kind, in the order files and messages list them.
    pub const ALL: [EventKind; 5] = [
        EventKind::LaunchFailed,
        EventKind::SlotMissed,
        EventKind::RunFailed,
        EventKind::RunStuck,
        EventKind::Recovered,
    ];

    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            EventKind::LaunchFailed => "launch_failed",
            EventKind::SlotMissed => "slot_missed",
            EventKind::RunFailed => "run_failed",
            EventKind::RunStuck => "run_stuck",
            EventKind::Recovered => "recovered",
        }
    }

    /// What people read: "Run stuck in its queue" (the form's check boxes, the messages'
    /// titles, the dashboard's notification list).
    pub fn label(self) -> &'static str {
        match self {
            EventKind::LaunchFailed => "Launch failed",
            EventKind::SlotMissed => "Slot missed",
            EventKind::RunFailed => "Run failed",
            EventKind::RunStuck => "Run stuck in its queue",
            EventKind::Recovered => "Recovered",
        }
    }

    /// The label of a message's `event` field: a kind's, or that of a channel's test message.
    pub fn label_of(event: &str) -> &'static str {
        EventKind::from_name(event).map_or(TEST_MESSAGE_LABEL, EventKind::label)
    }
}

/// The label of a channel's test message (its `event` is `test`).
pub const TEST_MESSAGE_LABEL: &str = "Test message";

/// Something that happened to one task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    /// The task's id in the configuration.
    pub item: String,
    pub at: Instant,
    /// The slot it is about, if any.
    pub slot: Option<Instant>,
    /// The run (ClearML task id), if any.
    pub task_id: Option<String>,
    /// A sentence: what happened, and what to do.
    pub detail: String,
}

/// What is told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Stable: the same event told twice has the same id.
    pub id: String,
    pub event: Event,
    /// How many events this tells: 1, or a group's repeats in a summary.
    pub count: u32,
    /// The first event it tells (for a summary: the first repeat).
    pub since: Instant,
    /// Notifications held back by the rate limit since the last one told.
    pub held_back: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeliveryState {
    /// To send at `next_at` (or again, once a claim's lease ran out).
    Pending,
    Delivered {
        at: Instant,
    },
    GaveUp {
        at: Instant,
    },
}

/// One notification to one channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// `{notification id}.{channel}`: what receivers deduplicate by.
    pub id: String,
    pub channel: String,
    pub notification: Notification,
    pub attempts: u32,
    pub next_at: Instant,
    pub state: DeliveryState,
    /// The last failure, as the sender saw it (a status, a timeout): for the dashboard.
    pub last_error: Option<String>,
}

/// What a scheduler log line tells, when it is news for the notification channels: the tick
/// writes the line, and [`Outbox::note`] takes its news (so a notification never says what
/// the log does not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct About {
    pub news: News,
    /// The task's id in the configuration.
    pub item: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<Instant>,
    /// The run (ClearML task id), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum News {
    /// Something went wrong: told (grouped, rate-limited).
    Failed(EventKind),
    /// A slot launched: ends launch failures and missed slots (told as a recovery).
    Launched,
    /// A run completed: ends every failure of its task (told as a recovery).
    Completed,
}

impl About {
    pub fn failed(
        kind: EventKind,
        item: &str,
        slot: Option<Instant>,
        task_id: Option<&str>,
    ) -> About {
        About {
            news: News::Failed(kind),
            item: item.to_string(),
            slot,
            task_id: task_id.map(str::to_string),
        }
    }
}

/// News noted from the log, not yet routed to channels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Noted {
    about: About,
    at: Instant,
    detail: String,
}

/// Most news kept between two routings (a tick routes what it noted before it ends).
const MAX_NOTED: usize = 500;

/// How an instance groups and limits what it tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub group_window_minutes: i64,
    pub max_per_hour: u32,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            group_window_minutes: 60,
            max_per_hour: 20,
        }
    }
}

/// Repeats of one kind of event for one task since it was told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Group {
    told_at: Instant,
    repeats: u32,
    first_repeat: Option<Event>,
    last_repeat: Option<Event>,
    channels: Vec<String>,
}

/// The instance's outbox; stored with its runtime.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    /// `kind/item` → its open group.
    groups: BTreeMap<String, Group>,
    pub deliveries: Vec<Delivery>,
    /// The clock hour (Unix hours) the count is for, and the count.
    hour: i64,
    told_this_hour: u32,
    held_back: u32,
    /// News not routed yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    inbox: Vec<Noted>,
    /// Per task, the kinds of failure told since its last success (a success then is told as
    /// a recovery).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    failing: BTreeMap<String, Vec<EventKind>>,
}

fn group_key(kind: EventKind, item: &str) -> String {
    format!("{}/{item}", kind.name())
}

impl Outbox {
    /// Takes the news of a log line, if it has any, for the next [`Outbox::route`].
    pub fn note(&mut self, line: &crate::LogLine) {
        let Some(about) = &line.about else {
            return;
        };
        if self.inbox.len() >= MAX_NOTED {
            self.inbox.remove(0);
        }
        self.inbox.push(Noted {
            about: about.clone(),
            at: line.at,
            detail: line.message.clone(),
        });
    }

    /// Turns the news noted since the last call into notifications for the channels the
    /// configuration routes them to, ends the groups whose window is over at `now`, and gives
    /// up deliveries to channels no longer configured.
    pub fn route(&mut self, config: &crate::InstanceConfig, now: Instant) {
        let n = config.notifications();
        let rules = n.rules();
        for noted in std::mem::take(&mut self.inbox) {
            let item = noted.about.item.clone();
            let notify = config.task(&item).and_then(|t| t.notify());
            let event = |kind| Event {
                kind,
                item: item.clone(),
                at: noted.at,
                slot: noted.about.slot,
                task_id: noted.about.task_id.clone(),
                detail: noted.detail.clone(),
            };
            match noted.about.news {
                News::Failed(kind) => {
                    let kinds = self.failing.entry(item.clone()).or_default();
                    if !kinds.contains(&kind) {
                        kinds.push(kind);
                    }
                    self.push(event(kind), &n.channels_for(kind, notify), rules);
                }
                News::Launched | News::Completed => {
                    let Some(kinds) = self.failing.get_mut(&item) else {
                        continue;
                    };
                    let ended: &[EventKind] = if noted.about.news == News::Launched {
                        &[EventKind::LaunchFailed, EventKind::SlotMissed]
                    } else {
                        &EventKind::ALL
                    };
                    kinds.retain(|k| !ended.contains(k));
                    if kinds.is_empty() {
                        self.failing.remove(&item);
                        let kind = EventKind::Recovered;
                        self.push(event(kind), &n.channels_for(kind, notify), rules);
                    }
                }
            }
        }
        self.flush(now, rules);
        for d in &mut self.deliveries {
            if d.state == DeliveryState::Pending && n.channel(&d.channel).is_none() {
                d.state = DeliveryState::GaveUp { at: now };
                d.last_error = Some("the channel was removed from the configuration".into());
            }
        }
        self.trim();
    }

    /// Takes an event routed to `channels` (none: it is only grouped and counted).
    pub fn push(&mut self, event: Event, channels: &[String], rules: Rules) {
        if event.kind == EventKind::Recovered {
            // The task's failure groups end: their repeats are told, then the recovery.
            let prefix_items: Vec<String> = self
                .groups
                .keys()
                .filter(|k| k.split_once('/').is_some_and(|(_, i)| i == event.item))
                .cloned()
                .collect();
            for key in prefix_items {
                self.close_group(&key, event.at, rules);
            }
            self.tell(event.clone(), 1, event.at, channels, rules);
            return;
        }
        let key = group_key(event.kind, &event.item);
        match self.groups.get_mut(&key) {
            Some(g) => {
                g.repeats += 1;
                if g.first_repeat.is_none() {
                    g.first_repeat = Some(event.clone());
                }
                g.last_repeat = Some(event);
                g.channels = channels.to_vec();
            }
            None => {
                self.groups.insert(
                    key,
                    Group {
                        told_at: event.at,
                        repeats: 0,
                        first_repeat: None,
                        last_repeat: None,
                        channels: channels.to_vec(),
                    },
                );
                self.tell(event.clone(), 1, event.at, channels, rules);
            }
        }
    }

    /// Ends the groups whose window is over at `now`: each with repeats is told as a summary.
    pub fn flush(&mut self, now: Instant, rules: Rules) {
        let window = rules.group_window_minutes * 60;
        let ended: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| now.unix_seconds() - g.told_at.unix_seconds() >= window)
            .map(|(k, _)| k.clone())
            .collect();
        for key in ended {
            self.close_group(&key, now, rules);
        }
    }

    fn close_group(&mut self, key: &str, now: Instant, rules: Rules) {
        let Some(g) = self.groups.remove(key) else {
            return;
        };
        if let (Some(first), Some(last)) = (g.first_repeat, g.last_repeat) {
            // The last repeat's words, told now, about every slot since the first repeat's.
            let mut summary = last;
            summary.at = now;
            summary.slot = first.slot.or(summary.slot);
            let channels = g.channels.clone();
            self.tell(summary, g.repeats, first.at, &channels, rules);
        }
    }

    /// One notification, unless the hour's limit is reached (then it is counted as held back).
    fn tell(
        &mut self,
        event: Event,
        count: u32,
        since: Instant,
        channels: &[String],
        rules: Rules,
    ) {
        let hour = event.at.unix_seconds().div_euclid(3600);
        if hour != self.hour {
            self.hour = hour;
            self.told_this_hour = 0;
        }
        if self.told_this_hour >= rules.max_per_hour {
            self.held_back += 1;
            return;
        }
        self.told_this_hour += 1;
        let id = format!(
            "{:016x}",
            hash64(&[
                event.kind.name().as_bytes(),
                event.item.as_bytes(),
                &since.unix_seconds().to_be_bytes(),
                &count.to_be_bytes(),
                event.task_id.as_deref().unwrap_or("").as_bytes(),
                // Two slots told in the same minute (one at once, the other's summary) are two
                // notifications, not one delivered and the other taken for its repeat.
                &event
                    .slot
                    .map_or(i64::MIN, |s| s.unix_seconds())
                    .to_be_bytes(),
            ])
        );
        let notification = Notification {
            id,
            event,
            count,
            since,
            held_back: std::mem::take(&mut self.held_back),
        };
        for channel in channels {
            let id = format!("{}.{channel}", notification.id);
            if self.deliveries.iter().any(|d| d.id == id) {
                continue;
            }
            self.deliveries.push(Delivery {
                id,
                channel: channel.clone(),
                next_at: notification.event.at,
                notification: notification.clone(),
                attempts: 0,
                state: DeliveryState::Pending,
                last_error: None,
            });
        }
    }

    /// The deliveries to send now, leased to the caller for [`LEASE_SECONDS`]: a sender that
    /// never answers is retried after the lease, with the same id.
    pub fn claim_due(&mut self, now: Instant, max: usize) -> Vec<Delivery> {
        let mut due = Vec::new();
        for d in &mut self.deliveries {
            if due.len() >= max {
                break;
            }
            if d.state == DeliveryState::Pending && d.next_at <= now {
                d.next_at = now.add_seconds(LEASE_SECONDS);
                due.push(d.clone());
            }
        }
        due
    }

    /// The receiver's answer for delivery `id`: `Ok` delivered, `Err` why not (retried with
    /// backoff, given up after [`MAX_ATTEMPTS`]). An answer for a delivery already settled is
    /// ignored.
    pub fn record(&mut self, id: &str, outcome: Result<(), String>, now: Instant) {
        let Some(d) = self.deliveries.iter_mut().find(|d| d.id == id) else {
            return;
        };
        if d.state != DeliveryState::Pending {
            return;
        }
        d.attempts += 1;
        match outcome {
            Ok(()) => d.state = DeliveryState::Delivered { at: now },
            Err(e) => {
                d.last_error = Some(e);
                if d.attempts >= MAX_ATTEMPTS {
                    d.state = DeliveryState::GaveUp { at: now };
                } else {
                    d.next_at = now.add_seconds(retry_minutes(d.attempts) * 60);
                }
            }
        }
        self.trim();
    }

    /// Keeps every pending delivery and the newest [`KEPT_SETTLED`] settled ones.
    fn trim(&mut self) {
        let settled = self
            .deliveries
            .iter()
            .filter(|d| d.state != DeliveryState::Pending)
            .count();
        let mut drop = settled.saturating_sub(KEPT_SETTLED);
        self.deliveries.retain(|d| {
            if drop > 0 && d.state != DeliveryState::Pending {
                drop -= 1;
                false
            } else {
                true
            }
        });
    }

    /// Whether anything is waiting to be routed.
    pub fn has_news(&self) -> bool {
        !self.inbox.is_empty()
    }

    /// Nothing to route, no group to end, nothing pending: [`Outbox::route`] would change
    /// nothing (a tick can skip it).
    pub fn is_quiet(&self) -> bool {
        self.inbox.is_empty()
            && self.groups.is_empty()
            && !self
                .deliveries
                .iter()
                .any(|d| d.state == DeliveryState::Pending)
    }

    /// When the outbox next needs the sender (the earliest pending delivery), for an alarm.
    pub fn next_due(&self) -> Option<Instant> {
        self.deliveries
            .iter()
            .filter(|d| d.state == DeliveryState::Pending)
            .map(|d| d.next_at)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> Instant {
        Instant::from_utc(2026, 11, 30, h, m).unwrap()
    }

    fn event(kind: EventKind, item: &str, t: Instant) -> Event {
        Event {
            kind,
            item: item.into(),
            at: t,
            slot: Some(t),
            task_id: None,
            detail: "the queue \"gpu\" does not exist; create it in ClearML".into(),
        }
    }

    fn ch(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_first_event_is_told_at_once_to_each_channel() {
        let mut o = Outbox::default();
        o.push(
            event(EventKind::LaunchFailed, "a", at(6, 20)),
            &ch(&["ops", "slack"]),
            Rules::default(),
        );
        let due = o.claim_due(at(6, 20), 10);
        assert_eq!(due.len(), 2);
        assert_eq!(due[0].notification.id, due[1].notification.id);
        assert_ne!(due[0].id, due[1].id);
        assert!(
            o.claim_due(at(6, 20), 10).is_empty(),
            "claimed: not handed out twice"
        );
    }

    #[test]
    fn two_slots_told_in_the_same_minute_are_two_notifications() {
        // Two slots given up at the same tick (one's clean-up took an extra tick), then a
        // launch: with no grouping window, the first is told at once and the second as the
        // group's summary when the recovery ends it. Neither may be taken for the other.
        let mut o = Outbox::default();
        let rules = Rules {
            group_window_minutes: 0,
            ..Rules::default()
        };
        for slot in [at(12, 40), at(12, 41)] {
            let mut e = event(EventKind::LaunchFailed, "a", at(12, 42));
            e.slot = Some(slot);
            o.push(e, &ch(&["ops"]), rules);
        }
        o.push(
            event(EventKind::Recovered, "a", at(12, 42)),
            &ch(&["ops"]),
            rules,
        );
        let told: Vec<(EventKind, Option<Instant>)> = o
            .deliveries
            .iter()
            .map(|d| (d.notification.event.kind, d.notification.event.slot))
            .collect();
        assert_eq!(
            told,
            [
                (EventKind::LaunchFailed, Some(at(12, 40))),
                (EventKind::LaunchFailed, Some(at(12, 41))),
                (EventKind::Recovered, Some(at(12, 42))),
            ]
        );
    }

    #[test]
    fn repeats_are_grouped_and_told_as_one_summary_when_the_window_ends() {
        let mut o = Outbox::default();
        let rules = Rules::default();
        for m in 0..5 {
            o.push(
                event(EventKind::RunFailed, "a", at(6, 20 + m)),
                &ch(&["ops"]),
                rules,
            );
        }
        assert_eq!(o.deliveries.len(), 1, "the first only, for now");
        o.flush(at(7, 0), rules);
        assert_eq!(o.deliveries.len(), 1, "the window is not over");
        o.flush(at(7, 20), rules);
        assert_eq!(o.deliveries.len(), 2);
        let summary = &o.deliveries[1].notification;
        assert_eq!((summary.count, summary.since), (4, at(6, 21)));
        assert_eq!(
            summary.event.slot,
            Some(at(6, 21)),
            "from the first repeat's slot"
        );
        // A new failure after the window opens a new group: told at once.
        o.push(
            event(EventKind::RunFailed, "a", at(7, 30)),
            &ch(&["ops"]),
            rules,
        );
        assert_eq!(o.deliveries.len(), 3);
    }

    #[test]
    fn a_recovery_ends_the_tasks_groups_and_is_told() {
        let mut o = Outbox::default();
        let rules = Rules::default();
        o.push(
            event(EventKind::LaunchFailed, "a", at(6, 20)),
            &ch(&["ops"]),
            rules,
        );
        o.push(
            event(EventKind::LaunchFailed, "a", at(6, 21)),
            &ch(&["ops"]),
            rules,
        );
        o.push(
            event(EventKind::LaunchFailed, "b", at(6, 21)),
            &ch(&["ops"]),
            rules,
        );
        o.push(
            event(EventKind::Recovered, "a", at(6, 22)),
            &ch(&["ops"]),
            rules,
        );
        let kinds: Vec<(EventKind, &str, u32)> = o
            .deliveries
            .iter()
            .map(|d| {
                (
                    d.notification.event.kind,
                    d.notification.event.item.as_str(),
                    d.notification.count,
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (EventKind::LaunchFailed, "a", 1),
                (EventKind::LaunchFailed, "b", 1),
                (EventKind::LaunchFailed, "a", 1),
                (EventKind::Recovered, "a", 1),
            ]
        );
        o.push(
            event(EventKind::LaunchFailed, "a", at(6, 23)),
            &ch(&["ops"]),
            rules,
        );
        assert_eq!(
            o.deliveries.len(),
            5,
            "after a recovery, a failure is news again"
        );
    }

    #[test]
    fn the_hourly_limit_holds_back_and_the_next_one_says_how_many() {
        let mut o = Outbox::default();
        let rules = Rules {
            max_per_hour: 3,
            ..Rules::default()
        };
        for i in 0..10 {
            o.push(
                event(EventKind::SlotMissed, &format!("t{i}"), at(6, i)),
                &ch(&["ops"]),
                rules,
            );
        }
        assert_eq!(o.deliveries.len(), 3);
        o.push(
            event(EventKind::SlotMissed, "late", at(7, 0)),
            &ch(&["ops"]),
            rules,
        );
        let next = &o.deliveries[3].notification;
        assert_eq!((next.event.item.as_str(), next.held_back), ("late", 7));
    }

    #[test]
    fn deliveries_retry_with_backoff_then_give_up_and_stay_visible() {
        let mut o = Outbox::default();
        o.push(
            event(EventKind::RunStuck, "a", at(6, 0)),
            &ch(&["ops"]),
            Rules::default(),
        );
        let id = o.claim_due(at(6, 0), 10)[0].id.clone();
        let mut now = at(6, 0);
        let mut waits = Vec::new();
        for _ in 0..MAX_ATTEMPTS {
            o.record(&id, Err("503".into()), now);
            let Some(next) = o.next_due() else { break };
            waits.push((next.unix_seconds() - now.unix_seconds()) / 60);
            assert!(
                o.claim_due(next.add_seconds(-1), 10).is_empty(),
                "not before its time"
            );
            now = next;
            assert_eq!(o.claim_due(now, 10).len(), 1);
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert!(matches!(
            o.deliveries[0].state,
            DeliveryState::GaveUp { .. }
        ));
        assert_eq!(o.deliveries[0].last_error.as_deref(), Some("503"));
        assert_eq!(o.next_due(), None);
    }

    #[test]
    fn a_lost_answer_is_sent_again_after_the_lease_with_the_same_id() {
        let mut o = Outbox::default();
        o.push(
            event(EventKind::RunFailed, "a", at(6, 0)),
            &ch(&["ops"]),
            Rules::default(),
        );
        let first = o.claim_due(at(6, 0), 10);
        // The sender died: no answer came back.
        assert!(o.claim_due(at(6, 1), 10).is_empty());
        let again = o.claim_due(at(6, 0).add_seconds(LEASE_SECONDS), 10);
        assert_eq!(again[0].id, first[0].id, "receivers deduplicate by it");
        o.record(&again[0].id, Ok(()), at(6, 3));
        o.record(&again[0].id, Err("late answer".into()), at(6, 4));
        assert!(
            matches!(o.deliveries[0].state, DeliveryState::Delivered { .. }),
            "settled stays settled"
        );
    }

    #[test]
    fn the_same_event_told_twice_is_one_notification() {
        let mut a = Outbox::default();
        let mut b = Outbox::default();
        let e = event(EventKind::LaunchFailed, "a", at(6, 20));
        a.push(e.clone(), &ch(&["ops"]), Rules::default());
        b.push(e, &ch(&["ops"]), Rules::default());
        assert_eq!(a.deliveries[0].id, b.deliveries[0].id);
    }

    #[test]
    fn settled_deliveries_are_kept_to_a_bound() {
        let mut o = Outbox::default();
        let rules = Rules {
            max_per_hour: 1000,
            ..Rules::default()
        };
        for i in 0..(KEPT_SETTLED + 30) {
            o.push(
                event(EventKind::SlotMissed, &format!("t{i}"), at(6, 0)),
                &ch(&["ops"]),
                rules,
            );
        }
        for d in o.claim_due(at(6, 0), 1000) {
            o.record(&d.id, Ok(()), at(6, 1));
        }
        assert_eq!(o.deliveries.len(), KEPT_SETTLED);
    }

    fn config(notify: &str) -> crate::InstanceConfig {
        let doc = format!(
            r#"{{"format": "clearml-task-scheduler/v1", "name": "n",
              "scheduled_tasks": [
                {{"id": "a", "base_task_id": "t", "queue": "q", "recurrence": "daily", "times": ["06:20"]{notify}}},
                {{"id": "b", "base_task_id": "t", "queue": "q", "recurrence": "daily", "times": ["06:20"]}}],
              "notifications": {{"channels": [
                {{"id": "ops", "type": "webhook", "url": "https://ops.example/h", "signing_secret": "0123456789abcdef"}},
                {{"id": "team", "type": "slack", "url": "https://hooks.slack.com/x", "events": ["launch_failed", "recovered"]}}]}}}}"#
        );
        crate::parse_config(&doc, at(0, 0)).unwrap()
    }

    fn line(kind: News, item: &str, t: Instant) -> crate::LogLine {
        crate::LogLine::new(t, crate::Level::Warn, format!("{kind:?} of {item}")).about(About {
            news: kind,
            item: item.into(),
            slot: Some(t),
            task_id: None,
        })
    }

    fn told(o: &Outbox) -> Vec<(String, &'static str, String)> {
        o.deliveries
            .iter()
            .map(|d| {
                (
                    d.notification.event.item.clone(),
                    d.notification.event.kind.name(),
                    d.channel.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn logged_news_is_routed_by_each_channels_events_and_the_tasks_notify() {
        let c = config(r#", "notify": ["team"]"#);
        let mut o = Outbox::default();
        o.note(&crate::LogLine::new(
            at(6, 0),
            crate::Level::Info,
            "no news",
        ));
        o.note(&line(News::Failed(EventKind::LaunchFailed), "a", at(6, 20)));
        o.note(&line(News::Failed(EventKind::RunStuck), "a", at(6, 21)));
        o.note(&line(News::Failed(EventKind::RunStuck), "b", at(6, 21)));
        assert!(o.has_news() && !o.is_quiet());
        o.route(&c, at(6, 21));
        assert!(!o.has_news());
        let s = |a: &str, k: &'static str, c: &str| (a.to_string(), k, c.to_string());
        assert_eq!(
            told(&o),
            [s("a", "launch_failed", "team"), s("b", "run_stuck", "ops")],
            "a: only team, which takes no run_stuck; b: every channel taking run_stuck"
        );
        assert_eq!(
            o.deliveries[0].notification.event.detail,
            "Failed(LaunchFailed) of a"
        );
    }

    #[test]
    fn a_success_after_failures_is_told_as_a_recovery_once() {
        let c = config("");
        let mut o = Outbox::default();
        o.note(&line(News::Launched, "a", at(6, 0)));
        o.route(&c, at(6, 0));
        assert!(
            o.deliveries.is_empty(),
            "a success without failures is no news"
        );
        o.note(&line(News::Failed(EventKind::LaunchFailed), "a", at(6, 20)));
        o.note(&line(News::Failed(EventKind::RunFailed), "a", at(6, 21)));
        o.note(&line(News::Launched, "a", at(6, 22)));
        o.route(&c, at(6, 22));
        assert_eq!(
            told(&o).len(),
            3,
            "launch_failed x2 channels, run_failed x1"
        );
        o.note(&line(News::Completed, "a", at(7, 0)));
        o.note(&line(News::Completed, "a", at(7, 1)));
        o.route(&c, at(7, 1));
        let recovered: Vec<_> = told(&o)
            .into_iter()
            .filter(|t| t.1 == "recovered")
            .collect();
        assert_eq!(recovered.len(), 2, "once, to both channels: {recovered:?}");
    }

    #[test]
    fn an_outbox_with_nothing_open_is_quiet() {
        let mut o = Outbox::default();
        assert!(o.is_quiet());
        o.note(&line(News::Launched, "a", at(6, 0)));
        assert!(!o.is_quiet());
        o.route(&config(""), at(6, 0));
        assert!(o.is_quiet(), "a success with no failures opens nothing");
    }

    #[test]
    fn deliveries_to_a_removed_channel_are_given_up_with_the_reason() {
        let mut o = Outbox::default();
        o.note(&line(News::Failed(EventKind::LaunchFailed), "a", at(6, 20)));
        o.route(&config(""), at(6, 20));
        let doc = r#"{"format": "clearml-task-scheduler/v1", "name": "n", "scheduled_tasks": []}"#;
        o.route(&crate::parse_config(doc, at(0, 0)).unwrap(), at(6, 21));
        assert!(o
            .deliveries
            .iter()
            .all(|d| matches!(d.state, DeliveryState::GaveUp { .. })));
        assert_eq!(o.next_due(), None);
        assert!(o.deliveries[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("removed"));
    }
}
