//! Human-readable forms of a task's schedule: the ClearML dashboard rows and an English
//! sentence.
//!
//! The dashboard of ClearML's Task Scheduler shows one row per specific time, in the SDK's
//! vocabulary (`minute=20, hour=6, day=1` is "daily at 06:20"); users coming from it read
//! schedules that way, so we produce the same rows. The sentence is for everyone else.

use serde::Serialize;

use crate::config::{MonthDay, Recurrence, ScheduledTask, TimeOfDay};
use crate::schedule::{DayMode, Days, Rule, Times};
use crate::text::{english_list, ordinal};

/// One row of the dashboard's "Scheduled Tasks" table, in the SDK's terms. Fields that do not
/// apply are `None`. `text` is the row as one string, e.g. `minute=20, hour=6, day=1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DashboardRow {
    pub minute: Option<u8>,
    pub hour: Option<u8>,
    /// A day number, `"last"`, or for daily schedules the SDK's period `1`.
    pub day: Option<String>,
    pub weekdays: Option<Vec<String>>,
    pub month: Option<u16>,
    pub year: Option<i32>,
    pub cron: Option<String>,
    pub text: String,
}

impl DashboardRow {
    fn new(minute: u8, hour: u8) -> DashboardRow {
        DashboardRow {
            minute: Some(minute),
            hour: Some(hour),
            day: None,
            weekdays: None,
            month: None,
            year: None,
            cron: None,
            text: String::new(),
        }
    }

    fn finish(mut self) -> DashboardRow {
        let mut parts = vec![];
        if let Some(c) = &self.cron {
            parts.push(format!("cron={c}"));
        }
        if let Some(m) = self.minute {
            parts.push(format!("minute={m}"));
        }
        if let Some(h) = self.hour {
            parts.push(format!("hour={h}"));
        }
        if let Some(d) = &self.day {
            parts.push(format!("day={d}"));
        }
        if let Some(w) = &self.weekdays {
            parts.push(format!("weekdays=[{}]", w.join(", ")));
        }
        if let Some(m) = self.month {
            parts.push(format!("month={m}"));
        }
        if let Some(y) = self.year {
            parts.push(format!("year={y}"));
        }
        self.text = parts.join(", ");
        self
    }
}

impl ScheduledTask {
    /// The dashboard rows: one per time of day (and, for monthly, per day of the month).
    ///
    /// Daily 06:20 is `minute=20, hour=6, day=1`; monthly on the 15th at 12:00 is
    /// `minute=0, hour=12, day=15, month=1`; weekly is
    /// `minute=30, hour=8, weekdays=[monday, friday]`; once is
    /// `minute=20, hour=6, day=15, month=3, year=2025`; cron is one row `cron=0 */2 * * *`.
    pub fn dashboard_rows(&self) -> Vec<DashboardRow> {
        let row = |t: &TimeOfDay| DashboardRow::new(t.minute, t.hour);
        match &self.recurrence {
            Recurrence::Daily { times } => times
                .iter()
                .map(|t| {
                    DashboardRow {
                        day: Some("1".into()),
                        ..row(t)
                    }
                    .finish()
                })
                .collect(),
            Recurrence::Weekly { weekdays, times } => times
                .iter()
                .map(|t| {
                    DashboardRow {
                        weekdays: Some(weekdays.iter().map(|w| w.name().to_string()).collect()),
                        ..row(t)
                    }
                    .finish()
                })
                .collect(),
            Recurrence::Monthly { days, times } => days
                .iter()
                .flat_map(|d| {
                    let day = match d {
                        MonthDay::Day(n) => n.to_string(),
                        MonthDay::Last => "last".to_string(),
                    };
                    times.iter().map(move |t| {
                        DashboardRow {
                            day: Some(day.clone()),
                            month: Some(1),
                            ..row(t)
                        }
                        .finish()
                    })
                })
                .collect(),
            Recurrence::None { date, times } => times
                .iter()
                .map(|t| {
                    DashboardRow {
                        day: Some(date.day.to_string()),
                        month: Some(date.month.into()),
                        year: Some(date.year),
                        ..row(t)
                    }
                    .finish()
                })
                .collect(),
            Recurrence::Cron { expr } => vec![DashboardRow {
                minute: None,
                hour: None,
                day: None,
                weekdays: None,
                month: None,
                year: None,
                cron: Some(expr.clone()),
                text: String::new(),
            }
            .finish()],
        }
    }

    /// An English sentence: "At 06:20 and 18:00 UTC, every day"; "At 12:00 UTC on the 15th and
    /// the last day of every month"; "At 08:30 UTC on Monday and Friday".
    pub fn describe(&self) -> String {
        let tz = &self.timezone;
        let at = |times: &[TimeOfDay]| {
            let list: Vec<String> = times.iter().map(|t| t.to_string()).collect();
            format!("At {} {tz}", english_list(&list))
        };
        match &self.recurrence {
            Recurrence::Daily { times } => format!("{}, every day", at(times)),
            Recurrence::Weekly { weekdays, times } => {
                let days: Vec<&str> = weekdays.iter().map(|w| w.title()).collect();
                format!("{} on {}", at(times), english_list(&days))
            }
            Recurrence::Monthly { days, times } => {
                let days: Vec<String> = days
                    .iter()
                    .map(|d| match d {
                        MonthDay::Day(n) => format!("the {}", ordinal(u32::from(*n))),
                        MonthDay::Last => "the last day".to_string(),
                    })
                    .collect();
                format!("{} on {} of every month", at(times), english_list(&days))
            }
            Recurrence::None { date, times } => format!("{} on {date}, once", at(times)),
            Recurrence::Cron { .. } => describe_cron(&self.schedule.rule, tz),
        }
    }
}

/// English month names, January first: the one list (cron's JAN..DEC and the timeline's
/// "Nov 30" are their first three letters).
pub const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// The English name of cron weekday `d` (0 = Sunday).
fn day_name(d: u32) -> &'static str {
    crate::Weekday::from_cron_index(d).title()
}

const NTH: [&str; 5] = ["first", "second", "third", "fourth", "fifth"];

/// Set bits of `mask` in `lo..=hi`.
fn bits(mask: u64, lo: u32, hi: u32) -> Vec<u32> {
    (lo..=hi).filter(|b| mask >> b & 1 == 1).collect()
}

/// "1 to 5, 10 and 20": runs of 3 or more consecutive values are written as ranges.
fn ranges(values: &[u32], name: impl Fn(u32) -> String) -> String {
    let mut parts = vec![];
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!("{} to {}", name(values[i]), name(values[j])));
        } else {
            for v in &values[i..=j] {
                parts.push(name(*v));
            }
        }
        i = j + 1;
    }
    english_list(&parts)
}

/// A step pattern from `lo` (0): every `step` up to `hi`.
fn step_of(values: &[u32], hi: u32) -> Option<u32> {
    if values.len() < 2 || values[0] != 0 {
        return None;
    }
    let step = values[1];
    let expected: Vec<u32> = (0..=hi).step_by(step as usize).collect();
    (expected == values).then_some(step)
}

fn describe_cron(rule: &Rule, tz: &str) -> String {
    let Rule::Recurring {
        days,
        times: Times::Masks { minutes, hours },
    } = *rule
    else {
        return String::new();
    };
    let mins = bits(minutes, 0, 59);
    let hrs = bits(u64::from(hours), 0, 23);
    let time = if mins.len() * hrs.len() <= 6 {
        let list: Vec<String> = hrs
            .iter()
            .flat_map(|h| mins.iter().map(move |m| format!("{h:02}:{m:02}")))
            .collect();
        format!("At {} {tz}", english_list(&list))
    } else {
        let minute_part = if mins.len() == 60 {
            "Every minute".to_string()
        } else if let Some(step) = step_of(&mins, 59) {
            format!("Every {step} minutes")
        } else if mins.len() == 1 {
            format!("At minute {} past every hour", mins[0])
        } else {
            format!(
                "At minutes {} past every hour",
                ranges(&mins, |m| m.to_string())
            )
        };
        if hrs.len() == 24 {
            format!("{minute_part} ({tz})")
        } else if let Some(step) = step_of(&hrs, 23) {
            format!("{minute_part}, every {step} hours ({tz})")
        } else {
            format!(
                "{minute_part}, during hour {} ({tz})",
                ranges(&hrs, |h| format!("{h:02}"))
            )
        }
    };
    format!("{time}{}", describe_days(&days))
}

fn describe_days(days: &Days) -> String {
    let dom = {
        let mut v: Vec<String> = bits(u64::from(days.dom), 1, 31)
            .iter()
            .map(|d| ordinal(*d))
            .collect();
        if days.dom_last {
            v.push("last day".into());
        }
        if v.is_empty() {
            None
        } else {
            Some(format!("the {} of the month", english_list(&v)))
        }
    };
    let dow = {
        let mut v = vec![];
        let plain = bits(u64::from(days.dow), 0, 6);
        if !plain.is_empty() {
            v.push(ranges(&plain, |d| day_name(d).to_string()));
        }
        for b in bits(days.nth, 0, 34) {
            v.push(format!("the {} {}", NTH[(b % 5) as usize], day_name(b / 5)));
        }
        for d in bits(u64::from(days.dow_last), 0, 6) {
            v.push(format!("the last {}", day_name(d)));
        }
        if v.is_empty() {
            None
        } else {
            Some(english_list(&v))
        }
    };
    let all_dom = days.dom == Days::ALL.dom;
    let all_dow = days.dow == 0x7f && days.nth == 0 && days.dow_last == 0;
    let day_part = match days.mode {
        DayMode::All => String::new(),
        DayMode::Dom => format!(" on {}", dom.unwrap_or_default()),
        DayMode::Dow => format!(" on {}", dow.unwrap_or_default()),
        DayMode::Either => format!(
            " on {} or on {}",
            dom.unwrap_or_default(),
            dow.unwrap_or_default()
        ),
        DayMode::Both if all_dom => format!(" on {}", dow.unwrap_or_default()),
        DayMode::Both if all_dow => format!(" on {}", dom.unwrap_or_default()),
        DayMode::Both => format!(
            " on {} when it is {}",
            dom.unwrap_or_default(),
            dow.unwrap_or_default()
        ),
    };
    let months = bits(u64::from(days.months), 1, 12);
    let month_part = if months.len() == 12 {
        if day_part.is_empty() {
            ", every day".to_string()
        } else {
            String::new()
        }
    } else {
        format!(
            " in {}",
            ranges(&months, |m| MONTH_NAMES[m as usize - 1].to_string())
        )
    };
    format!("{day_part}{month_part}")
}
