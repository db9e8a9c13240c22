//! Parsing 5-field cron expressions into bitmasks.
//!
//! `minute hour day-of-month month day-of-week`, each field a comma list of `*`, `N`, `A-B`,
//! with an optional `/STEP` (`*/15`, `1-30/5`, `5/10` = 5 to the field's maximum every 10).
//! Months and weekdays also take three-letter names (case-insensitive); weekday 7 is Sunday like
//! 0. Day-of-month takes `L` (the month's last day); day-of-week takes `DOW#N` (the Nth such
//! weekday of the month, N in 1..=5) and `DOWL` (the last such weekday).
//!
//! When both day fields are restricted the Vixie cron rule applies: a day matches if *either*
//! matches. A field counts as unrestricted when it starts with `*` or `?` (so `*/2` in one day
//! field still ANDs with the other, exactly as in Vixie cron).

/// A parsed cron expression: one bitmask per field, bit N set when value N matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CronSpec {
    /// Bits 0..=59.
    pub minutes: u64,
    /// Bits 0..=23.
    pub hours: u32,
    /// Bits 1..=31.
    pub dom: u32,
    /// `L` in day-of-month.
    pub dom_last: bool,
    /// Bits 1..=12.
    pub months: u16,
    /// Bits 0..=6, 0 = Sunday.
    pub dow: u8,
    /// `DOW#N`: bit `dow * 5 + (N - 1)`.
    pub nth: u64,
    /// `DOWL`: bit `dow`.
    pub dow_last: u8,
    /// Day-of-month field started with `*` or `?`.
    pub dom_star: bool,
    /// Day-of-week field started with `*` or `?`.
    pub dow_star: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Field {
    Minute,
    Hour,
    Dom,
    Month,
    Dow,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::Dom => "day-of-month",
            Field::Month => "month",
            Field::Dow => "day-of-week",
        }
    }
    fn range(self) -> (u32, u32) {
        match self {
            Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::Dom => (1, 31),
            Field::Month => (1, 12),
            Field::Dow => (0, 7),
        }
    }
    fn allowed(self) -> &'static str {
        match self {
            Field::Minute => "0 to 59",
            Field::Hour => "0 to 23",
            Field::Dom => "1 to 31 or L",
            Field::Month => "1 to 12 or JAN to DEC",
            Field::Dow => "0 to 7 (0 and 7 are Sunday) or SUN to SAT, with optional #1 to #5 or L",
        }
    }
}

/// Parses a 5-field cron expression. The error names the field and says what is allowed.
pub(crate) fn parse(expr: &str) -> Result<CronSpec, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "\"{expr}\" has {} field(s); a cron expression has 5: minute hour day-of-month month day-of-week, e.g. \"30 6 * * 1-5\"",
            fields.len()
        ));
    }
    let mut spec = CronSpec {
        minutes: 0,
        hours: 0,
        dom: 0,
        dom_last: false,
        months: 0,
        dow: 0,
        nth: 0,
        dow_last: 0,
        dom_star: is_star(fields[2]),
        dow_star: is_star(fields[4]),
    };
    let mut errors = Vec::new();
    let mut run = |text: &str, field: Field, spec: &mut CronSpec| {
        if let Err(e) = parse_field(text, field, spec) {
            errors.push(format!("{} field \"{text}\": {e}", field.name()));
        }
    };
    run(fields[0], Field::Minute, &mut spec);
    run(fields[1], Field::Hour, &mut spec);
    run(fields[2], Field::Dom, &mut spec);
    run(fields[3], Field::Month, &mut spec);
    run(fields[4], Field::Dow, &mut spec);
    if errors.is_empty() {
        Ok(spec)
    } else {
        Err(errors.join("; "))
    }
}

fn is_star(field: &str) -> bool {
    field.starts_with('*') || field.starts_with('?')
}

fn parse_field(text: &str, field: Field, spec: &mut CronSpec) -> Result<(), String> {
    let (min, max) = field.range();
    let mut bits: u64 = 0;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(format!(
                "an empty list item; separate values with single commas, using {}",
                field.allowed()
            ));
        }
        let upper = item.to_ascii_uppercase();
        if field == Field::Dom && upper == "L" {
            spec.dom_last = true;
            continue;
        }
        if field == Field::Dow {
            if let Some((day, n)) = upper.split_once('#') {
                let day = value(day, field)? % 7;
                let n: u32 = n
                    .parse()
                    .ok()
                    .filter(|n| (1..=5).contains(n))
                    .ok_or_else(|| format!("\"#{n}\" is not a week of the month; use #1 to #5"))?;
                spec.nth |= 1 << (day * 5 + n - 1);
                continue;
            }
            if let Some(day) = upper.strip_suffix('L').filter(|d| !d.is_empty()) {
                spec.dow_last |= 1 << (value(day, field)? % 7);
                continue;
            }
        }
        let (range, step) = match upper.split_once('/') {
            Some((range, step)) => {
                let step: u32 =
                    step.parse().ok().filter(|s| *s >= 1).ok_or_else(|| {
                        format!("step \"/{step}\" is not a positive whole number")
                    })?;
                (range, Some(step))
            }
            None => (upper.as_str(), None),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(a, field)?, value(b, field)?);
            if a > b {
                return Err(format!(
                    "the range {a}-{b} runs backwards; write it as two parts, {a}-{max},{min}-{b}"
                ));
            }
            (a, b)
        } else {
            let a = value(range, field)?;
            (a, if step.is_some() { max } else { a })
        };
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            // A huge step (`10/4294967292`) must end the walk, not wrap around to lower values.
            match v.checked_add(step) {
                Some(next) => v = next,
                None => break,
            }
        }
    }
    match field {
        Field::Minute => spec.minutes = bits,
        Field::Hour => spec.hours = bits as u32,
        Field::Dom => spec.dom = bits as u32,
        Field::Month => spec.months = bits as u16,
        // Fold 7 (Sunday) onto 0.
        Field::Dow => spec.dow = ((bits | bits >> 7) & 0x7f) as u8,
    }
    Ok(())
}

fn value(text: &str, field: Field) -> Result<u32, String> {
    let (min, max) = field.range();
    // JAN..DEC and SUN..SAT: the first three letters of the English names.
    let abbreviates = |name: &str| text.len() == 3 && name[..3].eq_ignore_ascii_case(text);
    let named = match field {
        Field::Month => crate::describe::MONTH_NAMES
            .iter()
            .position(|m| abbreviates(m))
            .map(|i| i as u32 + 1),
        Field::Dow => (0..7).find(|&d| abbreviates(crate::Weekday::from_cron_index(d).title())),
        _ => None,
    };
    if let Some(v) = named {
        return Ok(v);
    }
    match text.parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        Ok(v) => Err(format!("{v} is out of range; use {}", field.allowed())),
        Err(_) => Err(format!(
            "\"{text}\" is not a number or name; use {}",
            field.allowed()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let s = parse("*/15 9-17 L,1 jan,Jul MON#2,5L").unwrap();
        assert_eq!(s.minutes, 1 | 1 << 15 | 1 << 30 | 1 << 45);
        assert_eq!(s.hours, 0b11_1111_1110_0000_0000);
        assert_eq!(s.dom, 1 << 1);
        assert!(s.dom_last);
        assert_eq!(s.months, 1 << 1 | 1 << 7);
        assert_eq!(s.nth, 1 << 6);
        assert_eq!(s.dow_last, 1 << 5);
        assert!(!s.dom_star && !s.dow_star);
        let s = parse("5/10 0 * * 7").unwrap();
        assert_eq!(
            s.minutes,
            1 << 5 | 1 << 15 | 1 << 25 | 1 << 35 | 1 << 45 | 1 << 55
        );
        assert_eq!(s.dow, 1);
        assert!(s.dom_star && !s.dow_star);
        assert_eq!(parse("0 0 * * 5-7").unwrap().dow, 0b110_0001);
    }

    #[test]
    fn errors_name_the_field_and_the_fix() {
        let e = parse("60 24 0 13 8").unwrap_err();
        assert!(
            e.contains("minute field \"60\": 60 is out of range; use 0 to 59"),
            "{e}"
        );
        assert!(e.contains("hour field \"24\""), "{e}");
        assert!(e.contains("day-of-month field \"0\""), "{e}");
        assert!(e.contains("month field \"13\""), "{e}");
        assert!(e.contains("day-of-week field \"8\""), "{e}");
        assert!(parse("* * * *").unwrap_err().contains("has 4 field(s)"));
        assert!(parse("0 0 * * FRI-MON")
            .unwrap_err()
            .contains("runs backwards"));
        assert!(parse("*/0 * * * *").unwrap_err().contains("positive"));
        assert!(parse("0 0 * * MON#6").unwrap_err().contains("#1 to #5"));
    }
}
