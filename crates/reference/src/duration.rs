//! LiteLLM's duration strings (`duration`, `budget_duration`): a count and a unit, read as LiteLLM
//! reads them, and the instant a span of that length ends.
//!
//! LiteLLM matches `<digits>(mo|s|m|h|d|w)` at the start of the text and ignores what follows, so
//! `30sabc` and `1day` are accepted and `30` (no unit) is not; 1.109 also takes `hourly`, `daily`,
//! `weekly` and `monthly`. Python's `\d` matches every Unicode decimal digit; only ASCII digits are
//! accepted here. Where LiteLLM's date arithmetic overflows (a count past a C integer, an end past
//! the year 9999) it answers 500; these are rejected as bad input instead.

use chrono::{DateTime, Months, TimeDelta, Utc};

/// A parsed duration: a fixed number of seconds, or calendar months (whose length depends on the start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Span {
    Seconds(i64),
    Months(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DurationError {
    #[error("no count at the start")]
    NoCount,
    #[error("no unit after the count")]
    NoUnit,
    #[error("count too large")]
    TooLarge,
}

/// The last instant LiteLLM can represent (Python's `datetime.max`), and so the latest end accepted.
fn latest_end() -> DateTime<Utc> {
    // 9999-12-31T23:59:59Z; built from a timestamp so no fallible date constructor is needed.
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// 1.109's word aliases, matched after trimming and lower-casing.
fn alias(text: &str) -> Option<&'static str> {
    match text.trim().to_ascii_lowercase().as_str() {
        "hourly" => Some("1h"),
        "daily" => Some("24h"),
        "weekly" => Some("7d"),
        "monthly" => Some("30d"),
        _ => None,
    }
}

pub(crate) fn parse(text: &str) -> Result<Span, DurationError> {
    let text = alias(text).unwrap_or(text);
    // The end of the ASCII digits is a char boundary, whatever follows.
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, rest) = text.split_at(digits_end);
    if digits.is_empty() {
        return Err(DurationError::NoCount);
    }
    let count: u64 = digits.parse().map_err(|_| DurationError::TooLarge)?;
    if rest.starts_with("mo") {
        return u32::try_from(count).map(Span::Months).map_err(|_| DurationError::TooLarge);
    }
    let unit_seconds: u64 = match rest.chars().next() {
        Some('s') => 1,
        Some('m') => 60,
        Some('h') => 3_600,
        Some('d') => 86_400,
        Some('w') => 604_800,
        _ => return Err(DurationError::NoUnit),
    };
    count
        .checked_mul(unit_seconds)
        .and_then(|s| i64::try_from(s).ok())
        .map(Span::Seconds)
        .ok_or(DurationError::TooLarge)
}

impl Span {
    /// False for a zero-length span (`0s`, `0mo`).
    pub fn is_positive(self) -> bool {
        match self {
            Span::Seconds(s) => s > 0,
            Span::Months(m) => m > 0,
        }
    }

    /// The instant a span of this length starting at `start` ends; `TooLarge` past the year 9999.
    pub fn end_from(self, start: DateTime<Utc>) -> Result<DateTime<Utc>, DurationError> {
        let end = match self {
            Span::Seconds(s) => TimeDelta::try_seconds(s).and_then(|d| start.checked_add_signed(d)),
            Span::Months(m) => start.checked_add_months(Months::new(m)),
        };
        end.filter(|e| *e <= latest_end()).ok_or(DurationError::TooLarge)
    }
}

/// When something given `text` as its duration at `start` ends.
pub(crate) fn end(text: &str, start: DateTime<Utc>) -> Result<DateTime<Utc>, DurationError> {
    parse(text)?.end_from(start)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).expect("a valid instant").with_timezone(&Utc)
    }

    #[rstest]
    #[case::seconds("30s", Ok(Span::Seconds(30)))]
    #[case::minutes("30m", Ok(Span::Seconds(1_800)))]
    #[case::hour("1h", Ok(Span::Seconds(3_600)))]
    #[case::days("7d", Ok(Span::Seconds(604_800)))]
    #[case::weeks("2w", Ok(Span::Seconds(1_209_600)))]
    #[case::month("1mo", Ok(Span::Months(1)))]
    #[case::zero("0s", Ok(Span::Seconds(0)))]
    #[case::trailing_text_ignored("30sabc", Ok(Span::Seconds(30)))]
    #[case::word_unit_prefix("1day", Ok(Span::Seconds(86_400)))]
    #[case::min_is_minutes("5min", Ok(Span::Seconds(300)))]
    #[case::alias_daily("daily", Ok(Span::Seconds(86_400)))]
    #[case::alias_padded_upper(" Monthly ", Ok(Span::Seconds(2_592_000)))]
    #[case::no_unit("30", Err(DurationError::NoUnit))]
    #[case::unknown_unit("30x", Err(DurationError::NoUnit))]
    #[case::empty("", Err(DurationError::NoCount))]
    #[case::negative("-1d", Err(DurationError::NoCount))]
    #[case::leading_space(" 1d", Err(DurationError::NoCount))]
    #[case::word("soon", Err(DurationError::NoCount))]
    #[case::multibyte_unit("1é", Err(DurationError::NoUnit))]
    #[case::emoji("😀", Err(DurationError::NoCount))]
    #[case::emoji_after_count("1😀", Err(DurationError::NoUnit))]
    #[case::non_ascii_digit("١s", Err(DurationError::NoCount))]
    #[case::count_past_u64("99999999999999999999999s", Err(DurationError::TooLarge))]
    #[case::seconds_past_i64("9223372036854775808s", Err(DurationError::TooLarge))]
    #[case::weeks_overflow("9223372036854775807w", Err(DurationError::TooLarge))]
    #[case::months_past_u32("4294967296mo", Err(DurationError::TooLarge))]
    fn parses_like_litellm(#[case] text: &str, #[case] expected: Result<Span, DurationError>) {
        assert_eq!(parse(text), expected, "{text:?}");
    }

    #[rstest]
    #[case::seconds("30s", Ok("2026-01-31T12:00:30Z"))]
    #[case::month_clamps_to_the_last_day("1mo", Ok("2026-02-28T12:00:00Z"))]
    #[case::the_last_day_of_9999("2912412d", Ok("9999-12-31T12:00:00Z"))]
    #[case::i64_max_seconds("9223372036854775807s", Err(DurationError::TooLarge))]
    #[case::days_past_9999("100000000d", Err(DurationError::TooLarge))]
    #[case::months_past_9999("100000mo", Err(DurationError::TooLarge))]
    #[case::one_day_past_9999("2912413d", Err(DurationError::TooLarge))]
    fn ends_within_what_litellm_can_represent(#[case] text: &str, #[case] expected: Result<&str, DurationError>) {
        let start = at("2026-01-31T12:00:00Z");
        assert_eq!(end(text, start), expected.map(at), "{text:?}");
    }
}
