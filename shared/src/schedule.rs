//! [`Schedule`]: a task's recurrence compiled into bitmasks, and the next-fire search.
//!
//! Compiling once at save time and then answering "when next?" by mask look-ups is what keeps a
//! tick cheap (saffron's approach). The search never walks minutes: it converts the start to a
//! civil date with `civil_from_days` (the private `civil` module), builds the set of matching days of that
//! month as one `u32` (bit N = day N), takes the lowest set bit at or after today, and only moves
//! on to the next month (with the months mask) when the month has none left. Days a month lacks
//! (the 31st of April, the 29th of February in 2023) simply have no bit, so they are skipped
//! without any special case, and a schedule can never stall on them. The commonest shapes take
//! shorter roads to the same answers (the property tests hold all of them to a minute-by-minute
//! reference): every day (no calendar at all), weekdays in every month (a rotation of the
//! weekday mask), and days of the month in every month (one conversion, then month lengths).
//!
//! The search runs in *local civil* minutes; [`Zone`] maps the result to an instant with the
//! gap/fold rules. For UTC the local minute is the instant, which is the fast path.

use crate::civil::{civil_from_days, days_from_civil, days_in_month, is_leap, weekday};
use crate::cron::CronSpec;
use crate::{Instant, Zone};

/// At most this many times of day per task (the config limit; also the inline array size).
pub const MAX_TIMES: usize = 24;

/// A compiled recurrence in a time zone. Build it with [`Schedule::from_cron`] or get it from a
/// parsed task ([`crate::ScheduledTask::schedule`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub(crate) rule: Rule,
    pub(crate) zone: Zone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Fires on matching days at matching times, forever.
    Recurring { days: Days, times: Times },
    /// Fires on one civil date (days since 1970-01-01, local) at each of `times`.
    Once { day: i64, times: Times },
}

/// How the day-of-month and day-of-week parts combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DayMode {
    /// Every day (daily).
    All,
    /// Day-of-month only (monthly).
    Dom,
    /// Day-of-week only (weekly).
    Dow,
    /// Either part (cron with both day fields restricted: the Vixie rule).
    Either,
    /// Both parts (cron where a day field starts with `*`).
    Both,
}

/// Which days match, as masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Days {
    /// Bits 1..=12.
    pub months: u16,
    /// Bits 1..=31.
    pub dom: u32,
    /// The month's last day.
    pub dom_last: bool,
    /// Bits 0..=6, 0 = Sunday.
    pub dow: u8,
    /// Nth weekday of the month: bit `weekday * 5 + (n - 1)`.
    pub nth: u64,
    /// Last such weekday of the month: bit `weekday`.
    pub dow_last: u8,
    pub mode: DayMode,
}

/// Which minutes of a day match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Times {
    /// Cron: every combination of the hours and minutes masks.
    Masks { minutes: u64, hours: u32 },
    /// Explicit times of day ("06:20", "18:00"), minutes since midnight, sorted, deduplicated.
    /// A cross product of masks would wrongly add 06:00 and 18:20, hence a list.
    List { mins: [u16; MAX_TIMES], len: u8 },
}

impl Times {
    /// Builds the list form; `mins` must be non-empty, sorted, unique and at most [`MAX_TIMES`].
    pub(crate) fn list(mins: &[u16]) -> Times {
        let mut arr = [0u16; MAX_TIMES];
        arr[..mins.len()].copy_from_slice(mins);
        Times::List {
            mins: arr,
            len: mins.len() as u8,
        }
    }

    /// The first matching minute of the day at or after `tod`.
    #[inline]
    fn at_or_after(&self, tod: u32) -> Option<u32> {
        match self {
            Times::List { mins, len } => mins[..*len as usize]
                .iter()
                .find(|&&t| u32::from(t) >= tod)
                .map(|&t| u32::from(t)),
            Times::Masks { minutes, hours } => {
                let (minutes, hours) = (*minutes, *hours);
                let (h, m) = (tod / 60, tod % 60);
                if hours >> h & 1 == 1 {
                    let mm = minutes & (!0u64 << m);
                    if mm != 0 {
                        return Some(h * 60 + mm.trailing_zeros());
                    }
                }
                if h >= 23 {
                    return None;
                }
                let hh = hours & (!0u32 << (h + 1));
                (hh != 0).then(|| hh.trailing_zeros() * 60 + minutes.trailing_zeros())
            }
        }
    }

    #[inline]
    fn first(&self) -> u32 {
        match self {
            Times::Masks { minutes, hours } => {
                hours.trailing_zeros() * 60 + minutes.trailing_zeros()
            }
            Times::List { mins, .. } => u32::from(mins[0]),
        }
    }
}

/// Day number of 10000-01-01: schedules end with the year 9999.
const FIRST_DAY_AFTER_9999: i64 = days_from_civil(10000, 1, 1);

const fn valid_days(dim: u32) -> u32 {
    // Bits 1..=dim.
    ((1u64 << (dim + 1)) - 2) as u32
}

impl Days {
    /// Every day of every month.
    pub(crate) const ALL: Days = Days {
        months: 0x1ffe,
        dom: 0xffff_fffe,
        dom_last: false,
        dow: 0x7f,
        nth: 0,
        dow_last: 0,
        mode: DayMode::All,
    };

    /// The matching days of month `m` of year `y` as bits 1..=31; `first` is the day number of
    /// the 1st.
    #[inline]
    fn in_month(&self, dim: u32, first: i64) -> u32 {
        let valid = valid_days(dim);
        match self.mode {
            DayMode::All => valid,
            DayMode::Dom => self.dom_bits(dim) & valid,
            DayMode::Dow => self.dow_bits(dim, first) & valid,
            DayMode::Either => (self.dom_bits(dim) | self.dow_bits(dim, first)) & valid,
            DayMode::Both => self.dom_bits(dim) & self.dow_bits(dim, first) & valid,
        }
    }

    #[inline(always)]
    fn dom_bits(&self, dim: u32) -> u32 {
        self.dom | if self.dom_last { 1 << dim } else { 0 }
    }

    #[inline(always)]
    fn dow_bits(&self, dim: u32, first: i64) -> u32 {
        let wd1 = weekday(first); // weekday of the 1st
                                  // Rotate the weekday mask so that bit i means "the weekday of day i + 1":
                                  //   dow  = S M T W T F S  (bit 0 = Sunday)
                                  //   wd1 = 3 (the 1st is a Wednesday) -> bit 0 = Wed, bit 1 = Thu, ... bit 6 = Tue.
        let d = u64::from(self.dow);
        let r = ((d >> wd1) | (d << (7 - wd1))) & 0x7f;
        // Repeat the 7-day pattern over 35 days and shift so bit N is day N.
        let mut bits = ((r | r << 7 | r << 14 | r << 21 | r << 28) << 1) as u32;
        let mut nth = self.nth;
        while nth != 0 {
            let b = nth.trailing_zeros();
            nth &= nth - 1;
            let (wd, n) = (b / 5, b % 5);
            let day = 1 + (wd + 7 - wd1) % 7 + 7 * n;
            if day <= dim {
                bits |= 1 << day;
            }
        }
        let mut last = self.dow_last;
        if last != 0 {
            let wd_last = (wd1 + dim - 1) % 7;
            while last != 0 {
                let wd = last.trailing_zeros();
                last &= last - 1;
                bits |= 1 << (dim - (wd_last + 7 - wd) % 7);
            }
        }
        bits
    }

    /// Whether some day of some year can match, by looking only at the masks: constant time,
    /// which is what lets validation reject `0 0 30 2 *` without searching.
    fn can_match(&self) -> bool {
        let mut months = self.months & 0x1ffe;
        while months != 0 {
            let m = months.trailing_zeros();
            months &= months - 1;
            // February has 28 or 29 days depending on the year; other months one length.
            let (min_dim, max_dim) = if m == 2 {
                (28, 29)
            } else {
                (days_in_month(2001, m), days_in_month(2001, m))
            };
            let dom_days = self.dom & valid_days(max_dim)
                | if self.dom_last {
                    1 << min_dim | 1 << max_dim
                } else {
                    0
                };
            // Any day-of-month falls on every weekday in some year, so a plain weekday matches
            // any day; "#N" pins the day to 7N-6..=7N and "L" to the last 7 days.
            let mut dow_days: u32 = if self.dow != 0 {
                valid_days(max_dim)
            } else {
                0
            };
            for n in 0..5 {
                if (0..7).any(|wd| self.nth >> (wd * 5 + n) & 1 == 1) {
                    dow_days |= (0x7f << (7 * n + 1)) & valid_days(max_dim);
                }
            }
            if self.dow_last != 0 {
                dow_days |= valid_days(max_dim) & !valid_days(min_dim - 7);
            }
            let ok = match self.mode {
                DayMode::All => true,
                DayMode::Dom => dom_days != 0,
                DayMode::Dow => dow_days != 0,
                DayMode::Either => dom_days | dow_days != 0,
                DayMode::Both => dom_days & dow_days != 0,
            };
            if ok {
                return true;
            }
        }
        false
    }
}

impl Schedule {
    /// Compiles a 5-field cron expression in `zone`. See [`crate::cron`] for the syntax; the
    /// error says which field is wrong and what it accepts, or that the pattern never fires.
    pub fn from_cron(expr: &str, zone: Zone) -> Result<Schedule, String> {
        let spec = crate::cron::parse(expr)?;
        let schedule = Schedule::from_cron_spec(&spec, zone);
        if !schedule.can_fire() {
            return Err(format!(
                "\"{expr}\" can never fire: no month in it has the days it asks for (e.g. February has no 30th); pick days that exist"
            ));
        }
        Ok(schedule)
    }

    pub(crate) fn from_cron_spec(spec: &CronSpec, zone: Zone) -> Schedule {
        let all_dom = spec.dom == Days::ALL.dom && !spec.dom_last;
        let all_dow = spec.dow == 0x7f && spec.nth == 0 && spec.dow_last == 0;
        // Vixie: both restricted -> either matches; otherwise both must match, which with one
        // side unrestricted is just the other side (cheaper to compute alone).
        let mode = match (spec.dom_star, spec.dow_star) {
            (false, false) => DayMode::Either,
            _ if all_dom && all_dow => DayMode::All,
            _ if all_dom => DayMode::Dow,
            _ if all_dow => DayMode::Dom,
            _ => DayMode::Both,
        };
        let days = Days {
            months: spec.months,
            dom: spec.dom,
            dom_last: spec.dom_last,
            dow: spec.dow,
            nth: spec.nth,
            dow_last: spec.dow_last,
            mode,
        };
        let times = Times::Masks {
            minutes: spec.minutes,
            hours: spec.hours,
        };
        Schedule {
            rule: Rule::Recurring { days, times },
            zone,
        }
    }

    /// The time zone the schedule is written in.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// True if the masks allow at least one firing in some year. Constant time: it inspects
    /// the twelve months' masks, never searches the calendar. (A one-shot always "can fire"
    /// here; whether its date has passed depends on "now" and is checked at validation.)
    pub fn can_fire(&self) -> bool {
        match self.rule {
            Rule::Recurring { days, times } => {
                let has_time = match times {
                    Times::Masks { minutes, hours } => minutes != 0 && hours != 0,
                    Times::List { len, .. } => len > 0,
                };
                has_time && days.can_match()
            }
            Rule::Once { times, .. } => !matches!(times, Times::List { len: 0, .. }),
        }
    }

    /// The first instant strictly after `t` at which the schedule fires, exact to the minute.
    ///
    /// `None` when it never fires again (a one-shot that passed) or the next firing would be
    /// after 9999-12-31. Works for any `t` from 1970 to 9999 (and earlier).
    pub fn next_fire_after(&self, t: Instant) -> Option<Instant> {
        let t = t.unix_seconds();
        if self.zone.is_utc() {
            let m = self.next_local(t.div_euclid(60))?;
            return Some(Instant::from_unix_seconds(m * 60)).filter(|i| *i <= Instant::MAX);
        }
        // Search in local minutes from the local time at `t`. Because gaps map to the
        // transition and folds to their first occurrence, the local-to-instant map never goes
        // backwards, so the first candidate whose instant is after `t` is the answer; the loop
        // only repeats inside a fold (when `t` is in the second occurrence).
        let mut after = (t + self.zone.offset_at(t)).div_euclid(60);
        loop {
            let c = self.next_local(after)?;
            let at = self.zone.local_to_instant(c * 60)?;
            if at > t {
                return Some(Instant::from_unix_seconds(at)).filter(|i| *i <= Instant::MAX);
            }
            after = c;
        }
    }

    /// The next `n` firings after `t`, for the dashboard's "next run" column.
    pub fn upcoming(&self, t: Instant, n: usize) -> Vec<Instant> {
        let mut out = Vec::with_capacity(n);
        let mut t = t;
        while out.len() < n {
            match self.next_fire_after(t) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }

    /// The first matching local civil minute (minutes since 1970-01-01T00:00 local) strictly
    /// after `after`, or `None` if there is none up to the end of year 9999.
    #[inline]
    pub(crate) fn next_local(&self, after: i64) -> Option<i64> {
        let start = after + 1;
        let day = start.div_euclid(1440);
        let tod = start.rem_euclid(1440) as u32;
        match self.rule {
            Rule::Once { day: on, ref times } => match day.cmp(&on) {
                std::cmp::Ordering::Less => Some(on * 1440 + i64::from(times.first())),
                std::cmp::Ordering::Equal => {
                    times.at_or_after(tod).map(|t| on * 1440 + i64::from(t))
                }
                std::cmp::Ordering::Greater => None,
            },
            Rule::Recurring {
                ref days,
                ref times,
            } => {
                let months = days.months & 0x1ffe;
                if months == 0 {
                    return None;
                }
                // Weekdays in every month (weekly, and cron with `*` days of the month): the
                // next matching weekday is a rotation of the 7-bit mask, no calendar needed.
                if days.mode == DayMode::Dow
                    && months == 0x1ffe
                    && days.nth == 0
                    && days.dow_last == 0
                {
                    let dow = u32::from(days.dow) & 0x7f;
                    if dow == 0 {
                        return None;
                    }
                    let wd = weekday(day);
                    if dow >> wd & 1 == 1 {
                        if let Some(t) = times.at_or_after(tod) {
                            return Some(day * 1440 + i64::from(t));
                        }
                    }
                    // Bit k of `ahead` is the weekday k + 1 days after `day`.
                    let s = (wd + 1) % 7;
                    let ahead = ((dow >> s) | (dow << (7 - s))) & 0x7f;
                    let next = day + i64::from(ahead.trailing_zeros()) + 1;
                    return (next < FIRST_DAY_AFTER_9999)
                        .then(|| next * 1440 + i64::from(times.first()));
                }
                // Every day of every month (daily, and cron `* * *`): today if a time is left,
                // else tomorrow's first; no calendar needed either.
                if days.mode == DayMode::All && months == 0x1ffe {
                    if let Some(t) = times.at_or_after(tod) {
                        return Some(day * 1440 + i64::from(t));
                    }
                    return (day + 1 < FIRST_DAY_AFTER_9999)
                        .then(|| (day + 1) * 1440 + i64::from(times.first()));
                }
                // Days of the month in every month (monthly): this month's mask from today
                // on, then the next months' until one has a bit; a month lacks a day only
                // when the day is past 28, so this looks at three months at most.
                if days.mode == DayMode::Dom && months == 0x1ffe {
                    let (mut y, mut m, d) = civil_from_days(day);
                    let mut dim = days_in_month(y, m);
                    let month = days.dom_bits(dim) & valid_days(dim);
                    if month >> d & 1 == 1 {
                        if let Some(t) = times.at_or_after(tod) {
                            return Some(day * 1440 + i64::from(t));
                        }
                    }
                    let later = month & (!1u32 << d);
                    if later != 0 {
                        let next = day + i64::from(later.trailing_zeros() - d);
                        return Some(next * 1440 + i64::from(times.first()));
                    }
                    // The day number of the 1st of the month, carried forward.
                    let mut first = day - i64::from(d) + 1;
                    loop {
                        first += i64::from(dim);
                        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                        if y > 9999 {
                            return None;
                        }
                        dim = days_in_month(y, m);
                        let mask = days.dom_bits(dim) & valid_days(dim);
                        if mask != 0 {
                            let next = first + i64::from(mask.trailing_zeros()) - 1;
                            return Some(next * 1440 + i64::from(times.first()));
                        }
                    }
                }
                // February 29th alone (or with other days only a leap February has): the
                // years in between cannot match, so skip them without a calendar conversion.
                let leap_februaries_only =
                    months == 1 << 2 && days.mode == DayMode::Dom && days.in_month(28, 0) == 0;
                let (mut y, mut m, d) = civil_from_days(day);
                // Day number of the 1st of the month: known from `day` without a conversion,
                // and carried forward month by month.
                let mut first = day - i64::from(d) + 1;
                let (mut from_day, mut from_tod) = (d, tod);
                loop {
                    if y > 9999 {
                        return None;
                    }
                    let dim = days_in_month(y, m);
                    if months >> m & 1 == 1 {
                        let mut mask = days.in_month(dim, first) & (!0u32 << from_day);
                        if mask != 0 && mask.trailing_zeros() == from_day && from_tod > 0 {
                            // Today matches: any time left today?
                            if let Some(t) = times.at_or_after(from_tod) {
                                return Some(
                                    (first + i64::from(from_day) - 1) * 1440 + i64::from(t),
                                );
                            }
                            mask &= mask - 1;
                        }
                        if mask != 0 {
                            let dd = i64::from(mask.trailing_zeros());
                            return Some((first + dd - 1) * 1440 + i64::from(times.first()));
                        }
                    }
                    // On to the next month that has a bit: the very next one by adding the
                    // month's length, a later one with a conversion.
                    let later = months & (!0u16 << (m + 1));
                    let next_m = if later != 0 {
                        later.trailing_zeros()
                    } else {
                        months.trailing_zeros()
                    };
                    if later != 0 && next_m == m + 1 {
                        first += i64::from(dim);
                    } else {
                        if later == 0 {
                            y += 1;
                            if leap_februaries_only {
                                while !is_leap(y) {
                                    y += 1;
                                }
                            }
                        }
                        first = days_from_civil(y, next_m, 1);
                    }
                    m = next_m;
                    from_day = 1;
                    from_tod = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> Instant {
        Instant::from_utc(y, m, d, h, mi).unwrap()
    }

    fn cron(expr: &str) -> Schedule {
        Schedule::from_cron(expr, Zone::utc()).unwrap()
    }

    #[test]
    fn cron_basics() {
        let s = cron("20 6 * * *");
        assert_eq!(
            s.next_fire_after(at(2024, 1, 1, 6, 19)),
            Some(at(2024, 1, 1, 6, 20))
        );
        assert_eq!(
            s.next_fire_after(at(2024, 1, 1, 6, 20)),
            Some(at(2024, 1, 2, 6, 20))
        );
        assert_eq!(
            s.next_fire_after(at(2024, 12, 31, 7, 0)),
            Some(at(2025, 1, 1, 6, 20))
        );
        let s = cron("0 0 31 * *");
        assert_eq!(
            s.next_fire_after(at(2024, 1, 31, 0, 0)),
            Some(at(2024, 3, 31, 0, 0))
        );
        let s = cron("0 0 29 2 *");
        assert_eq!(
            s.next_fire_after(at(2024, 3, 1, 0, 0)),
            Some(at(2028, 2, 29, 0, 0))
        );
        let s = cron("0 12 L * *");
        assert_eq!(
            s.next_fire_after(at(2023, 2, 1, 0, 0)),
            Some(at(2023, 2, 28, 12, 0))
        );
        let s = cron("0 9 * * MON#2");
        assert_eq!(
            s.next_fire_after(at(2024, 6, 1, 0, 0)),
            Some(at(2024, 6, 10, 9, 0))
        );
        let s = cron("0 9 * * 5#5");
        assert_eq!(
            s.next_fire_after(at(2024, 6, 1, 0, 0)),
            Some(at(2024, 8, 30, 9, 0))
        );
        let s = cron("0 9 * * 5L");
        assert_eq!(
            s.next_fire_after(at(2024, 6, 1, 0, 0)),
            Some(at(2024, 6, 28, 9, 0))
        );
        // Vixie: the 13th OR any Friday.
        let s = cron("0 0 13 * 5");
        assert_eq!(
            s.next_fire_after(at(2024, 9, 1, 0, 0)),
            Some(at(2024, 9, 6, 0, 0))
        );
        assert_eq!(
            s.next_fire_after(at(2024, 9, 12, 0, 0)),
            Some(at(2024, 9, 13, 0, 0))
        );
        let s = cron("* * * * *");
        assert_eq!(
            s.next_fire_after(at(2024, 1, 1, 23, 59)),
            Some(at(2024, 1, 2, 0, 0))
        );
        assert_eq!(s.next_fire_after(Instant::MAX), None);
        assert_eq!(
            s.next_fire_after(at(9999, 12, 31, 23, 58)),
            Some(at(9999, 12, 31, 23, 59))
        );
    }

    #[test]
    fn never_fires_is_rejected_without_search() {
        for expr in [
            "0 0 30 2 *",
            "0 0 31 4,6,9,11 *",
            "0 0 30/5 2 *",
            "0 0 */15 * MON#2",
        ] {
            // The last: `*/15` starts with `*`, so the day fields AND; the 2nd Monday (8th-14th) is never the 1st, 16th or 31st.
            let err = Schedule::from_cron(expr, Zone::utc()).unwrap_err();
            assert!(err.contains("can never fire"), "{expr}: {err}");
        }
        for expr in [
            "0 0 29 2 *",
            "0 0 L 2 *",
            "0 0 31 * *",
            "0 0 30 2 MON",
            "0 0 29 2 */7",
        ] {
            assert!(Schedule::from_cron(expr, Zone::utc()).is_ok(), "{expr}");
        }
    }

    #[cfg(feature = "tzdb")]
    #[test]
    fn dst_rules() {
        let ny = Zone::get("America/New_York").unwrap();
        let s = Schedule::from_cron("30 2 * * *", ny.clone()).unwrap();
        // 2024-03-10 02:30 does not exist: fires at the transition, 03:00 EDT = 07:00Z.
        assert_eq!(
            s.next_fire_after(at(2024, 3, 9, 12, 0)),
            Some(at(2024, 3, 10, 7, 0))
        );
        // Every minute in the gap fires once.
        let s = Schedule::from_cron("*/10 2 * * *", ny.clone()).unwrap();
        let t = s.next_fire_after(at(2024, 3, 10, 6, 55)).unwrap();
        assert_eq!(t, at(2024, 3, 10, 7, 0));
        assert_eq!(s.next_fire_after(t), Some(at(2024, 3, 11, 6, 0)));
        // Fall back: 01:30 fires once, at the first occurrence (05:30Z), not again at 06:30Z.
        let s = Schedule::from_cron("30 1 * * *", ny).unwrap();
        let t = s.next_fire_after(at(2024, 11, 3, 0, 0)).unwrap();
        assert_eq!(t, at(2024, 11, 3, 5, 30));
        assert_eq!(s.next_fire_after(t), Some(at(2024, 11, 4, 6, 30)));
        assert_eq!(
            s.next_fire_after(at(2024, 11, 3, 6, 0)),
            Some(at(2024, 11, 4, 6, 30))
        );
    }
}
