//! The dead-man's switch: the scheduler cannot report its own death, so it says when it last
//! ticked (and whether that is late) for an uptime monitor to read, and pings out to one
//! (Healthchecks.io, Cronitor) on a period, whose silence is the alarm.
//!
//! Both are decisions on times passed in, so they are here; the worker reads the clock, calls
//! the URL and answers `/api/health`.

use serde::{Deserialize, Serialize};

use crate::Instant;

/// A tick is late when none ran for this long (the cron fires every minute).
pub const DEFAULT_LATE_AFTER_SECONDS: i64 = 600;

/// The default period of the heartbeat ping, in minutes.
pub const DEFAULT_PING_PERIOD_MINUTES: u32 = 5;

/// What `/api/health` says of the minute tick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickHealth {
    /// No tick ran for longer than `late_after_seconds` (or none ever ran).
    pub late: bool,
    /// Seconds since the last tick ran; `null` before the first.
    pub seconds_since_last_tick: Option<i64>,
    /// The threshold in force.
    pub late_after_seconds: i64,
}

/// Whether the tick is late at `now`, given when the last one ran.
pub fn tick_health(last_ran: Option<Instant>, now: Instant, late_after_seconds: i64) -> TickHealth {
    let since = last_ran.map(|t| (now.unix_seconds() - t.unix_seconds()).max(0));
    TickHealth {
        late: since.is_none_or(|s| s > late_after_seconds),
        seconds_since_last_tick: since,
        late_after_seconds,
    }
}

/// Whether a tick that ran at `now` records that it ran: when the record is older than half
/// the lateness threshold, so `/api/health` never reads a live cron as late, and an idle tick
/// writes only every few minutes (one Directory request each time).
pub fn heartbeat_stale(last_ran: Option<Instant>, now: Instant, late_after_seconds: i64) -> bool {
    last_ran.is_none_or(|t| now.unix_seconds() - t.unix_seconds() >= late_after_seconds / 2)
}

/// Whether the tick of `scheduled` (the cron event's own time) pings the heartbeat URL: on
/// every `period_minutes`-th minute of Unix time, so at most once per period however many
/// times the event is delivered, and with no state to keep. A period of 0 is taken as 1.
pub fn ping_due(scheduled: Instant, period_minutes: u32) -> bool {
    scheduled
        .unix_minutes()
        .rem_euclid(i64::from(period_minutes.max(1)))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> Instant {
        Instant::from_utc(2026, 11, 30, h, m).unwrap()
    }

    #[test]
    fn late_after_the_threshold_or_before_any_tick() {
        let now = at(12, 0);
        assert!(tick_health(None, now, 180).late);
        let fresh = tick_health(Some(at(11, 58)), now, 180);
        assert_eq!(
            (fresh.late, fresh.seconds_since_last_tick),
            (false, Some(120))
        );
        assert!(
            !tick_health(Some(at(11, 57)), now, 180).late,
            "exactly at the threshold"
        );
        assert!(tick_health(Some(at(11, 56)), now, 180).late);
        assert!(
            !tick_health(Some(at(12, 1)), now, 180).late,
            "a clock skew ahead"
        );
    }

    #[test]
    fn the_heartbeat_is_recorded_at_half_the_threshold() {
        let now = at(12, 0);
        assert!(heartbeat_stale(None, now, 600));
        assert!(!heartbeat_stale(Some(at(11, 56)), now, 600));
        assert!(heartbeat_stale(Some(at(11, 55)), now, 600));
        // Recorded at most every half threshold, a live cron is never read as late.
        assert!(!tick_health(Some(at(11, 55)), now, 600).late);
    }

    #[test]
    fn pings_once_per_period_on_its_minutes() {
        let due: Vec<u32> = (0..15).filter(|m| ping_due(at(12, *m), 5)).collect();
        assert_eq!(due, [0, 5, 10]);
        assert!((0..3).all(|m| ping_due(at(12, m), 1)));
        assert!(ping_due(at(12, 7), 0), "a period of 0 is every minute");
        // An event delivered late in its minute still belongs to its minute.
        assert!(ping_due(at(12, 5).add_seconds(59), 5));
    }
}
