//! Times on the command line: durations (`--since 2h30m`) and instants (`--from`, `--to`),
//! always UTC, as unix milliseconds.

use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};
use webhook_core::store::query::TimeWindow;

use crate::error::CliError;

/// The longest window a command accepts (about ten years of day partitions).
pub const MAX_WINDOW: Duration = Duration::from_secs(3_660 * 86_400);

/// Parses `90s`, `15m`, `1h`, `2h30m`, `7d`, `2w`: one or more `<number><unit>` parts with
/// units s, m, h, d, w.
///
/// # Errors
/// A message for the user when the text is not such a duration, is zero, or is longer than
/// [`MAX_WINDOW`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration like 90s, 15m, 1h, 2h30m, 7d or 2w");
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(invalid()),
        };
        let value: u64 = digits.parse().map_err(|_| invalid())?;
        digits.clear();
        total = value
            .checked_mul(unit)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(invalid)?;
    }
    if !digits.is_empty() || total == 0 {
        return Err(invalid());
    }
    let duration = Duration::from_secs(total);
    if duration > MAX_WINDOW {
        return Err(format!("{text:?} is longer than the limit of 3660 days"));
    }
    Ok(duration)
}

/// Which end of a window a bare date stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The first millisecond of the day.
    Start,
    /// The last millisecond of the day.
    Finish,
}

/// Parses a `--from` time: RFC 3339, `YYYY-MM-DDTHH:MM[:SS]` (UTC), `YYYY-MM-DD` (start of
/// the day, UTC) or unix seconds; unix milliseconds.
///
/// # Errors
/// A message for the user when the text is none of these.
pub fn parse_from(text: &str) -> Result<i64, String> {
    parse_instant(text, End::Start)
}

/// Parses a `--to` time: as [`parse_from`], but a bare date means the end of that day.
///
/// # Errors
/// A message for the user when the text is no time.
pub fn parse_to(text: &str) -> Result<i64, String> {
    parse_instant(text, End::Finish)
}

fn parse_instant(text: &str, end: End) -> Result<i64, String> {
    let text = text.trim();
    let invalid = || {
        format!(
            "{text:?} is not a time like 2026-11-24T09:00:00Z, 2026-11-24T09:00, 2026-11-24 or unix seconds"
        )
    };
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: i64 = text.parse().map_err(|_| invalid())?;
        return seconds.checked_mul(1000).ok_or_else(invalid);
    }
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(millis(at));
    }
    for format in [
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]"),
    ] {
        if let Ok(at) = PrimitiveDateTime::parse(text, format) {
            return Ok(millis(at.assume_utc()));
        }
    }
    let date =
        Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| invalid())?;
    let start = millis(date.midnight().assume_utc());
    Ok(match end {
        End::Start => start,
        End::Finish => start + 86_400_000 - 1,
    })
}

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The window `[now - since, now]`, in unix milliseconds.
pub fn since(now_ms: i64, since: Duration) -> (i64, i64) {
    let span = i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
    (now_ms.saturating_sub(span), now_ms)
}

/// The window that `--since`, or `--from`/`--to` (to now), describe at time `now_ms`; `default`
/// back from now when neither is given.
///
/// # Errors
/// A usage error when `--from` is after `--to`, or the window is longer than [`MAX_WINDOW`].
pub fn window(
    since_arg: Option<Duration>,
    from_arg: Option<i64>,
    to_arg: Option<i64>,
    default: Duration,
    now_ms: i64,
) -> Result<TimeWindow, CliError> {
    let (from, to) = match (since_arg, from_arg) {
        (Some(span), _) => since(now_ms, span),
        (None, Some(from)) => (from, to_arg.unwrap_or(now_ms)),
        (None, None) => since(now_ms, default),
    };
    let window = TimeWindow::new(from, to).ok_or_else(|| {
        CliError::usage(format!(
            "--from {} is after --to {}",
            webhook_core::store::iso_millis(from),
            webhook_core::store::iso_millis(to)
        ))
    })?;
    let longest = i64::try_from(MAX_WINDOW.as_millis()).unwrap_or(i64::MAX);
    if to.saturating_sub(from) > longest {
        return Err(CliError::usage(
            "the time window is longer than the limit of 3660 days",
        ));
    }
    Ok(window)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_unit_and_combined() {
        let secs = |text| parse_duration(text).map(|d| d.as_secs());
        assert_eq!(secs("90s"), Ok(90));
        assert_eq!(secs("15m"), Ok(900));
        assert_eq!(secs("1h"), Ok(3_600));
        assert_eq!(secs("2h30m"), Ok(9_000));
        assert_eq!(secs("7d"), Ok(604_800));
        assert_eq!(secs("2w"), Ok(1_209_600));
        assert_eq!(secs(" 1d12h "), Ok(129_600));
    }

    #[test]
    fn durations_that_are_not() {
        for text in [
            "",
            "1",
            "h",
            "1x",
            "-1h",
            "1.5h",
            "0h",
            "0s0m",
            "1h 2m",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(text).is_err(), "{text:?}");
        }
        assert!(parse_duration("3661d").unwrap_err().contains("limit"));
        assert!(parse_duration("3660d").is_ok());
    }

    #[test]
    fn instants_in_every_accepted_form() {
        let day = 1_795_478_400_000; // 2026-11-24T00:00:00Z
        assert_eq!(parse_from("2026-11-24"), Ok(day));
        assert_eq!(parse_to("2026-11-24"), Ok(day + 86_400_000 - 1));
        assert_eq!(parse_from("2026-11-24T09:30"), Ok(day + 34_200_000));
        assert_eq!(parse_from("2026-11-24 09:30:15"), Ok(day + 34_215_000));
        assert_eq!(parse_from("2026-11-24T09:30:15Z"), Ok(day + 34_215_000));
        assert_eq!(
            parse_from("2026-11-24T10:30:15+01:00"),
            Ok(day + 34_215_000)
        );
        assert_eq!(parse_from("2026-11-24T09:30:15.250Z"), Ok(day + 34_215_250));
        assert_eq!(parse_from("1795478400"), Ok(day));
        // Unix seconds and full times mean the same at either end.
        assert_eq!(parse_to("1795478400"), Ok(day));
    }

    #[test]
    fn instants_that_are_not() {
        for text in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-11-24T25:00",
            "24/11/2026",
        ] {
            assert!(parse_from(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn windows_from_each_kind_of_argument() {
        let args = |since: Option<u64>, from: Option<i64>, to: Option<i64>| {
            (since.map(Duration::from_secs), from, to)
        };
        let day = Duration::from_secs(86_400);
        let now = 1_795_511_521_000;
        let window = |(since, from, to)| super::window(since, from, to, day, now);
        assert_eq!(
            window(args(None, None, None)),
            Ok(TimeWindow::new(now - 86_400_000, now).unwrap())
        );
        assert_eq!(
            window(args(Some(3_600), None, None)),
            Ok(TimeWindow::new(now - 3_600_000, now).unwrap())
        );
        assert_eq!(
            window(args(None, Some(now - 5), None)),
            Ok(TimeWindow::new(now - 5, now).unwrap())
        );
        assert_eq!(
            window(args(None, Some(5), Some(9))),
            Ok(TimeWindow::new(5, 9).unwrap())
        );
        assert!(matches!(
            window(args(None, Some(9), Some(5))),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            window(args(None, Some(0), Some(now))),
            Err(CliError::Usage(_))
        ));
    }

    #[test]
    fn since_ends_now() {
        assert_eq!(since(10_000, Duration::from_secs(3)), (7_000, 10_000));
    }
}
