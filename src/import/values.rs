//! Reading the values of CRM exports as they come: dates in several layouts (ISO with or
//! without time and zone, US `MM/DD/YY hh:mm AM`), booleans spelled `TRUE`/`false`/`1`/`0`,
//! amounts with currency symbols, thousands separators and accounting parentheses. Each reader
//! returns `Ok(None)` for an empty cell and an error message naming what it expected otherwise.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// How the timestamps of one export are read.
#[derive(Debug, Clone)]
pub struct TimeReading {
    /// strftime layouts tried first, before the built-in ones.
    pub formats: Vec<String>,
    /// The zone of timestamps that carry none.
    pub zone: Tz,
}

impl Default for TimeReading {
    fn default() -> Self {
        Self {
            formats: Vec::new(),
            zone: Tz::UTC,
        }
    }
}

/// Layouts with a time of day and no zone, tried in order.
const DATE_TIME_LAYOUTS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    // Two-digit years first: `%Y` would read "26" as the year 26.
    "%m/%d/%y %I:%M:%S %p",
    "%m/%d/%y %I:%M %p",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
];

/// Layouts with a time of day and a zone offset (`+0000`, `+00:00`, `Z`).
const ZONED_LAYOUTS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
];

/// Date-only layouts; a two-digit year is 1969–2068 (chrono's `%y`).
const DATE_LAYOUTS: &[&str] = &["%Y-%m-%d", "%m/%d/%y", "%m/%d/%Y", "%Y/%m/%d"];

impl TimeReading {
    /// A timestamp as microseconds since the epoch (UTC).
    pub fn timestamp(&self, text: &str) -> Result<Option<i64>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        for format in &self.formats {
            if let Ok(zoned) = DateTime::parse_from_str(text, format) {
                return Ok(Some(zoned.timestamp_micros()));
            }
            // A date layout also reads the same date followed by a time of day.
            for layout in with_times(format) {
                if let Ok(naive) = NaiveDateTime::parse_from_str(text, &layout) {
                    return self.localize(naive, text).map(Some);
                }
            }
            if let Ok(date) = NaiveDate::parse_from_str(text, format) {
                return self.localize(midnight(date), text).map(Some);
            }
        }
        if let Ok(zoned) = DateTime::parse_from_rfc3339(text) {
            return Ok(Some(zoned.timestamp_micros()));
        }
        let zulu = text.strip_suffix('Z').or_else(|| text.strip_suffix('z'));
        if let Some(naive) = zulu.and_then(|t| naive_date_time(t, false).ok()) {
            return Ok(Some(naive.and_utc().timestamp_micros()));
        }
        for layout in ZONED_LAYOUTS {
            if let Ok(zoned) = DateTime::parse_from_str(text, layout) {
                return Ok(Some(zoned.timestamp_micros()));
            }
        }
        if let Ok(naive) = naive_date_time(text, self.us_order()) {
            return self.localize(naive, text).map(Some);
        }
        match date(text, self.us_order()) {
            Ok(date) => self.localize(midnight(date), text).map(Some),
            Err(()) => Err(format!("cannot read '{text}' as a date or timestamp")),
        }
    }

    /// A calendar date as days since the epoch; a timestamp is read as its date in the
    /// export's zone.
    pub fn date(&self, text: &str) -> Result<Option<i32>, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let custom = self
            .formats
            .iter()
            .find_map(|format| NaiveDate::parse_from_str(trimmed, format).ok());
        let day = match custom
            .ok_or(())
            .or_else(|()| date(trimmed, self.us_order()))
        {
            Ok(day) => day,
            Err(()) => {
                let micros = self.timestamp(trimmed)?.unwrap_or_default();
                let utc = DateTime::from_timestamp_micros(micros)
                    .ok_or_else(|| format!("'{trimmed}' is out of range"))?;
                utc.with_timezone(&self.zone).date_naive()
            }
        };
        Ok(Some(days_since_epoch(day)))
    }

    /// US month/day layouts are tried only when the mapping gives no layouts of its own (a
    /// mapping with `%d/%m/%Y` must not have `03/02/2024 10:00` read as March 2).
    fn us_order(&self) -> bool {
        self.formats.is_empty()
    }

    fn localize(&self, naive: NaiveDateTime, text: &str) -> Result<i64, String> {
        self.zone
            .from_local_datetime(&naive)
            .earliest()
            .map(|local| local.timestamp_micros())
            .ok_or_else(|| format!("'{text}' does not exist in time zone {}", self.zone))
    }
}

/// `format` followed by the usual times of day.
fn with_times(format: &str) -> impl Iterator<Item = String> + '_ {
    [
        " %H:%M:%S%.f",
        " %H:%M",
        " %I:%M:%S %p",
        " %I:%M %p",
        "T%H:%M:%S%.f",
    ]
    .into_iter()
    .map(move |time| format!("{format}{time}"))
}

fn is_us_layout(layout: &str) -> bool {
    layout.starts_with("%m/")
}

fn naive_date_time(text: &str, us_order: bool) -> Result<NaiveDateTime, ()> {
    DATE_TIME_LAYOUTS
        .iter()
        .filter(|layout| us_order || !is_us_layout(layout))
        .find_map(|layout| NaiveDateTime::parse_from_str(text, layout).ok())
        .ok_or(())
}

fn date(text: &str, us_order: bool) -> Result<NaiveDate, ()> {
    DATE_LAYOUTS
        .iter()
        .filter(|layout| us_order || !is_us_layout(layout))
        .find_map(|layout| NaiveDate::parse_from_str(text, layout).ok())
        .ok_or(())
}

fn midnight(date: NaiveDate) -> NaiveDateTime {
    date.and_hms_opt(0, 0, 0).expect("midnight exists")
}

/// Days since 1970-01-01.
pub fn days_since_epoch(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch is a date");
    i32::try_from((date - epoch).num_days()).unwrap_or(i32::MAX)
}

/// A boolean: `true/false`, `t/f`, `yes/no`, `y/n`, `1/0`, any case.
pub fn boolean(text: &str) -> Result<Option<bool>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Ok(Some(true)),
        "false" | "f" | "no" | "n" | "0" => Ok(Some(false)),
        _ => Err(format!("cannot read '{text}' as true or false")),
    }
}

/// A money amount in cents: `$1,234.50`, `EUR 1234.50`, `(1,200)` (negative) and `1.2E6`;
/// European `1.234,50` and `12,5` are refused as ambiguous rather than misread.
pub fn amount_cents(text: &str) -> Result<Option<i128>, String> {
    let number = match decimal(text)? {
        Some(number) => number,
        None => return Ok(None),
    };
    let cents = (number * 100.0).round();
    if !cents.is_finite() || cents.abs() >= 1e18 {
        return Err(format!("amount '{}' is out of range", text.trim()));
    }
    Ok(Some(cents as i128))
}

/// A whole number, after multiplying by `scale` (minutes → seconds: 60; ms → s: 0.001).
pub fn integer(text: &str, scale: f64) -> Result<Option<i32>, String> {
    let number = match decimal(text)? {
        Some(number) => (number * scale).round(),
        None => return Ok(None),
    };
    if number.abs() > f64::from(i32::MAX) {
        return Err(format!("'{}' is out of range", text.trim()));
    }
    Ok(Some(number as i32))
}

/// A plain number with optional currency, thousands separators and accounting parentheses.
pub fn decimal(text: &str) -> Result<Option<f64>, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let (negative, inner) = match trimmed.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        Some(inner) => (true, inner),
        None => (false, trimmed),
    };
    let unsigned = inner
        .trim_matches(|c: char| c.is_alphabetic() && c.is_uppercase() || c.is_whitespace())
        .trim_matches(|c| matches!(c, '$' | '€' | '£' | '¥'))
        .trim();
    let (negative, unsigned) = match unsigned.strip_prefix('-') {
        Some(rest) => (
            !negative,
            rest.trim_start_matches(['$', '€', '£', '¥']).trim(),
        ),
        None => (negative, unsigned),
    };
    let cleaned = ungrouped(unsigned)
        .ok_or_else(|| format!("cannot read '{trimmed}' as a number (use 1,234.50 or 1234.50)"))?;
    match cleaned.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(Some(if negative { -value } else { value })),
        _ => Err(format!("cannot read '{trimmed}' as a number")),
    }
}

/// The digits of a number whose thousands may be grouped by `,` or spaces; `None` when the
/// grouping is not in threes (`12,5`, `1.234,50`, `1 234,50` are ambiguous, not guessed).
fn ungrouped(text: &str) -> Option<String> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let groups: Vec<&str> = whole.split([',', ' ', '\u{a0}', '_']).collect();
    let grouped_in_threes = groups.len() == 1
        || (!groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..]
                .iter()
                .all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit())));
    if !grouped_in_threes || fraction.is_some_and(|f| f.contains([',', ' '])) {
        return None;
    }
    let mut digits = groups.concat();
    if let Some(fraction) = fraction {
        digits.push('.');
        digits.push_str(fraction);
    }
    Some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn reads_the_timestamp_layouts_of_crm_exports() {
        let reading = TimeReading::default();
        let cases = [
            ("02/23/26 08:55 PM", "2026-02-23T20:55:00Z"),
            ("02/23/26", "2026-02-23T00:00:00Z"),
            ("2/3/2024 8:05 AM", "2024-02-03T08:05:00Z"),
            ("2019-04-04 18:47:01", "2019-04-04T18:47:01Z"),
            ("2019-04-04T18:47:01.000+0000", "2019-04-04T18:47:01Z"),
            ("2019-04-04T18:47:01.250Z", "2019-04-04T18:47:01.250Z"),
            ("2019-04-04T20:47:01+02:00", "2019-04-04T18:47:01Z"),
            ("2018-12-19", "2018-12-19T00:00:00Z"),
            (" 2018-12-19 00:00:00 ", "2018-12-19T00:00:00Z"),
        ];
        for (text, expected) in cases {
            assert_eq!(reading.timestamp(text), Ok(Some(utc(expected))), "{text}");
        }
        assert_eq!(reading.timestamp(""), Ok(None));
        assert!(
            reading
                .timestamp("13/45/2020")
                .unwrap_err()
                .contains("13/45/2020")
        );
    }

    #[test]
    fn a_time_zone_applies_to_timestamps_without_one() {
        let reading = TimeReading {
            formats: vec![],
            zone: "America/New_York".parse().unwrap(),
        };
        assert_eq!(
            reading.timestamp("2024-07-01 09:00:00"),
            Ok(Some(utc("2024-07-01T13:00:00Z")))
        );
        assert_eq!(
            reading.timestamp("2024-07-01T09:00:00Z"),
            Ok(Some(utc("2024-07-01T09:00:00Z")))
        );
        assert!(
            reading.timestamp("2024-03-10 02:30:00").is_err(),
            "a DST gap"
        );
    }

    #[test]
    fn custom_layouts_come_first() {
        let reading = TimeReading {
            formats: vec!["%d/%m/%Y".into()],
            zone: Tz::UTC,
        };
        assert_eq!(
            reading.timestamp("03/02/2024"),
            Ok(Some(utc("2024-02-03T00:00:00Z")))
        );
        assert_eq!(reading.date("03/02/2024"), Ok(Some(19_756)));
    }

    #[test]
    fn reads_booleans_and_amounts() {
        assert_eq!(boolean("TRUE"), Ok(Some(true)));
        assert_eq!(boolean("0"), Ok(Some(false)));
        assert_eq!(boolean(" "), Ok(None));
        assert!(boolean("maybe").is_err());
        assert_eq!(amount_cents("$1,234.50"), Ok(Some(123_450)));
        assert_eq!(amount_cents("USD 1234.5"), Ok(Some(123_450)));
        assert_eq!(amount_cents("(1,200)"), Ok(Some(-120_000)));
        assert_eq!(amount_cents("2.412E7"), Ok(Some(2_412_000_000)));
        assert_eq!(amount_cents("€ 99"), Ok(Some(9_900)));
        assert_eq!(amount_cents("-$1,200.5"), Ok(Some(-120_050)));
        assert_eq!(amount_cents("1 234 567"), Ok(Some(123_456_700)));
        for ambiguous in ["1 234,50 €", "1.234,50", "12,5", "1,23,456"] {
            assert!(amount_cents(ambiguous).is_err(), "{ambiguous}");
        }
        assert_eq!(amount_cents(""), Ok(None));
        assert!(amount_cents("twelve").is_err());
        assert_eq!(integer("90", 60.0), Ok(Some(5_400)));
        assert_eq!(integer("125000", 0.001), Ok(Some(125)));
    }
}
