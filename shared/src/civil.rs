//! Proleptic Gregorian calendar arithmetic on day numbers.
//!
//! Everything here works on "days since 1970-01-01" (negative before it), which is what lets the
//! recurrence search jump straight to the next candidate day instead of walking minutes. The two
//! conversions are Howard Hinnant's `days_from_civil` / `civil_from_days`: a handful of integer
//! operations, no tables, no loops.

/// Days since 1970-01-01 of the civil date `y-m-d` (`m` in 1..=12, `d` in 1..=31).
#[inline]
pub(crate) const fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y as i64 - 1 } else { y as i64 };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400; // [0, 399]
    let mp = (m as i64 + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d as i64 - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The civil date `(year, month, day)` of a day number.
///
/// Neri and Schneider's "Euclidean affine functions" algorithm (2022): the same result as
/// Hinnant's `civil_from_days` with multiplications and shifts instead of most divisions, which
/// is most of the cost of a next-fire search. Valid for day numbers of years -32800..=+11 million
/// (the shift below keeps everything unsigned), far beyond the 1970..=9999 we need.
#[inline]
pub(crate) const fn civil_from_days(z: i64) -> (i32, u32, u32) {
    const S: u32 = 82; // 400-year cycles shifted so that the computation stays unsigned
    const K: u32 = 719_468 + 146_097 * S;
    const L: u32 = 400 * S;
    let n = (z as i32 as u32).wrapping_add(K);
    // Century and day of century.
    let n1 = 4 * n + 3;
    let c = n1 / 146_097;
    let n2 = (n1 % 146_097) | 3;
    // Year of century and day of year (March-based).
    let p2 = 2_939_745u64 * n2 as u64;
    let zc = (p2 >> 32) as u32;
    let n_y = (p2 as u32) / 2_939_745 / 4;
    let y = 100 * c + zc;
    // Month and day (March-based), then to January-based.
    let n3 = 2_141 * n_y + 197_913;
    let m = n3 >> 16;
    let d = (n3 & 0xffff) / 2_141;
    let j = n_y >= 306;
    let y = (y as i32) - (L as i32) + j as i32;
    let m = if j { m - 12 } else { m };
    (y, m, d + 1)
}

/// Day of the week of a day number, 0 = Sunday .. 6 = Saturday (cron's numbering).
#[inline]
pub(crate) const fn weekday(days: i64) -> u32 {
    // 1970-01-01 was a Thursday (4). Shifted by a multiple of 7 to stay unsigned (cheaper).
    (days as i32 as u32).wrapping_add(4 + 7 * 2_000_000) % 7
}

#[inline]
pub(crate) const fn is_leap(y: i32) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Number of days in month `m` of year `y`.
#[inline]
pub(crate) const fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 => {
            if is_leap(y) {
                29
            } else {
                28
            }
        }
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_day_of_several_centuries() {
        let start = days_from_civil(1, 1, 1);
        let end = days_from_civil(9999, 12, 31);
        let (mut y, mut m, mut d) = (1, 1, 1);
        for z in start..=end {
            assert_eq!(civil_from_days(z), (y, m, d));
            assert_eq!(days_from_civil(y, m, d), z);
            d += 1;
            if d > days_in_month(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(weekday(0), 4);
        assert_eq!(
            civil_from_days(days_from_civil(9999, 12, 31)),
            (9999, 12, 31)
        );
        // 2024-02-29 was a Thursday.
        assert_eq!(weekday(days_from_civil(2024, 2, 29)), 4);
        assert!(is_leap(2000) && !is_leap(1900) && is_leap(2024));
    }
}
