//! [`Instant`]: the one time type of the public API.
//!
//! The core has no clock: every function that needs "now" takes an `Instant`. It is a count of
//! seconds since the Unix epoch (UTC), the same number on every platform, so the worker can build
//! one from a Cron Trigger's `event.schedule()` (milliseconds) with [`Instant::from_unix_millis`]
//! and store it in KV as a plain JSON integer.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::civil;

/// A point in time: whole seconds since 1970-01-01T00:00:00Z.
///
/// Serialized as a JSON integer (Unix seconds). Schedules fire on whole minutes, so seconds are
/// all the precision the core needs; sub-second input is floored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Instant(i64);

impl Instant {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Instant = Instant(0);
    /// 9999-12-31T23:59:59Z, the last instant a schedule may fire at.
    pub const MAX: Instant = Instant(civil::days_from_civil(9999, 12, 31) * 86_400 + 86_399);

    /// From seconds since the Unix epoch.
    pub const fn from_unix_seconds(seconds: i64) -> Instant {
        Instant(seconds)
    }

    /// From milliseconds since the Unix epoch (what `Date.now()` and a Cron Trigger's
    /// `scheduledTime` give), floored to the second.
    pub const fn from_unix_millis(millis: i64) -> Instant {
        Instant(millis.div_euclid(1000))
    }

    /// From a UTC civil date and time. Returns `None` for an impossible date or time.
    pub fn from_utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> Option<Instant> {
        if !(1..=12).contains(&month)
            || day == 0
            || day > civil::days_in_month(year, month)
            || hour > 23
            || minute > 59
        {
            return None;
        }
        let days = civil::days_from_civil(year, month, day);
        Some(Instant(
            days * 86_400 + i64::from(hour * 3600 + minute * 60),
        ))
    }

    /// Seconds since the Unix epoch.
    pub const fn unix_seconds(self) -> i64 {
        self.0
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> i64 {
        self.0 * 1000
    }

    /// Whole minutes since the Unix epoch (floored): the unit slots are counted in.
    pub const fn unix_minutes(self) -> i64 {
        self.0.div_euclid(60)
    }

    /// This instant plus `seconds` (saturating).
    pub const fn add_seconds(self, seconds: i64) -> Instant {
        Instant(self.0.saturating_add(seconds))
    }

    /// Parses RFC 3339 (`2026-11-26T06:20:00Z`, `2026-11-26T07:20:00.5+01:00`; also `+0100`),
    /// floored to the second: the API's times, and ClearML's.
    pub fn parse_rfc3339(s: &str) -> Option<Instant> {
        let b = s.as_bytes();
        if b.len() < 20 || !s.is_ascii() {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        if b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if second > 60 {
            return None;
        }
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        let offset = match &s[i..] {
            "Z" | "z" => 0,
            rest if (rest.len() == 6 && &rest[3..4] == ":" || rest.len() == 5)
                && (rest.starts_with('+') || rest.starts_with('-')) =>
            {
                let h = num(i + 1..i + 3)?;
                let m = num(i + rest.len() - 2..i + rest.len())?;
                if h > 23 || m > 59 {
                    return None;
                }
                let o = i64::from(h * 3600 + m * 60);
                if rest.starts_with('-') {
                    -o
                } else {
                    o
                }
            }
            _ => return None,
        };
        let base = Instant::from_utc(year as i32, month, day, hour, minute)?;
        Some(base.add_seconds(i64::from(second.min(59)) - offset))
    }

    /// The UTC civil date and time `(year, month, day, hour, minute, second)`.
    pub fn to_utc(self) -> (i32, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400) as u32;
        let (y, m, d) = civil::civil_from_days(days);
        (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
    }
}

/// RFC 3339 in UTC, e.g. `2024-03-10T07:00:00Z`.
impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d, h, mi, s) = self.to_utc();
        write!(f, "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_read_back_with_fractions_and_offsets() {
        let t = Instant::from_utc(2026, 11, 25, 14, 7).unwrap();
        assert_eq!(Instant::parse_rfc3339(&t.to_string()), Some(t));
        for s in [
            "2026-11-25T14:07:00.123+00:00",
            "2026-11-25T15:07:00.123456+01:00",
            "2026-11-25 13:07:00-0100",
            "2026-11-25t14:07:00z",
        ] {
            assert_eq!(Instant::parse_rfc3339(s), Some(t), "{s}");
        }
        for s in [
            "2026-11-25T14:07:00",
            "2026-11-25T14:07Z",
            "2026-02-30T14:07:00Z",
            "2026-11-25T14:07:00.Z",
            "2026-11-25T14:07:00+1:00",
            "2026-11-25T14:07:00+24:00",
        ] {
            assert_eq!(Instant::parse_rfc3339(s), None, "{s}");
        }
    }

    #[test]
    fn display_and_millis() {
        let t = Instant::from_utc(2024, 3, 10, 7, 0).unwrap();
        assert_eq!(t.to_string(), "2024-03-10T07:00:00Z");
        assert_eq!(Instant::from_unix_millis(t.unix_millis() + 999), t);
        assert_eq!(Instant::from_unix_millis(-1).unix_seconds(), -1);
        assert_eq!(Instant::MAX.to_string(), "9999-12-31T23:59:59Z");
        assert!(Instant::from_utc(2023, 2, 29, 0, 0).is_none());
    }
}
