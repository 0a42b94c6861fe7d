//! Reading the time of a scheduled change: an instant, or a local time in a named zone (R-LNK-4).

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};

use crate::error::Invalid;

const FIELD: &str = "at";

/// Looks up a time zone in the tz database bundled into the binary (a static image has none).
pub fn time_zone(name: &str) -> Result<TimeZone, Invalid> {
    if name.eq_ignore_ascii_case("utc") {
        return Ok(TimeZone::UTC);
    }
    jiff::tz::db().get(name).map_err(|_| {
        Invalid::new(
            "time_zone",
            "unknown",
            format!("`{name}` is not a time zone name such as Europe/Berlin"),
        )
    })
}

/// Parses when a change takes effect. Accepted forms:
/// `2026-09-15T09:00:00Z` or with an offset (an instant), `2026-09-15 09:00 Europe/Berlin`,
/// `2026-09-15T09:00[Europe/Berlin]`, or `2026-09-15 09:00` in `default_zone`.
/// A local time that does not exist or happens twice (DST changes) is refused.
pub fn parse_instant(input: &str, default_zone: &TimeZone) -> Result<Timestamp, Invalid> {
    let input = input.trim();
    if let Ok(instant) = input.parse::<Timestamp>() {
        return Ok(instant);
    }
    let (civil, zone) = split_zone(input);
    let zone = match zone {
        Some(name) => time_zone(name)?,
        None => default_zone.clone(),
    };
    let civil: DateTime = civil.parse().map_err(|_| {
        Invalid::new(
            FIELD,
            "format",
            format!(
                "`{input}` is not a time; write 2026-09-15T09:00:00Z, 2026-09-15T09:00:00+02:00 or 2026-09-15 09:00 Europe/Berlin"
            ),
        )
    })?;
    let ambiguous = zone.to_ambiguous_timestamp(civil);
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { .. } => Ok(ambiguous
            .compatible()
            .expect("an unambiguous local time converts")),
        AmbiguousOffset::Gap { .. } => Err(Invalid::new(
            FIELD,
            "nonexistent_local_time",
            format!(
                "{civil} does not exist in {} (the clocks skip it); choose another time",
                zone_name(&zone)
            ),
        )),
        AmbiguousOffset::Fold { .. } => Err(Invalid::new(
            FIELD,
            "ambiguous_local_time",
            format!(
                "{civil} happens twice in {} (the clocks go back); give an offset such as +01:00",
                zone_name(&zone)
            ),
        )),
    }
}

fn zone_name(zone: &TimeZone) -> &str {
    zone.iana_name().unwrap_or("this time zone")
}

/// Splits `2026-09-15 09:00 Europe/Berlin` or `2026-09-15T09:00[Europe/Berlin]` into parts.
fn split_zone(input: &str) -> (&str, Option<&str>) {
    if let Some(open) = input.find('[')
        && let Some(name) = input[open + 1..].strip_suffix(']')
    {
        return (&input[..open], Some(name));
    }
    match input.rsplit_once(' ') {
        Some((civil, name)) if name.contains('/') || name.eq_ignore_ascii_case("utc") => {
            (civil, Some(name))
        }
        _ => (input, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> TimeZone {
        time_zone("Europe/Berlin").unwrap()
    }

    #[test]
    fn reads_instants_and_local_times() {
        let expected: Timestamp = "2026-09-15T07:00:00Z".parse().unwrap();
        for input in [
            "2026-09-15T07:00:00Z",
            "2026-09-15T09:00:00+02:00",
            "2026-09-15 09:00 Europe/Berlin",
            "2026-09-15T09:00[Europe/Berlin]",
        ] {
            assert_eq!(
                parse_instant(input, &TimeZone::UTC).unwrap(),
                expected,
                "{input}"
            );
        }
        assert_eq!(
            parse_instant("2026-09-15 09:00", &berlin()).unwrap(),
            expected
        );
        assert_eq!(
            parse_instant("2026-09-15 07:00", &TimeZone::UTC).unwrap(),
            expected
        );
    }

    #[test]
    fn refuses_times_that_dst_makes_meaningless() {
        let gap = parse_instant("2026-03-29 02:30 Europe/Berlin", &TimeZone::UTC).unwrap_err();
        assert_eq!(gap.rule, "nonexistent_local_time");
        let fold = parse_instant("2026-10-25 02:30 Europe/Berlin", &TimeZone::UTC).unwrap_err();
        assert_eq!(fold.rule, "ambiguous_local_time");
        assert_eq!(
            parse_instant("next tuesday", &TimeZone::UTC)
                .unwrap_err()
                .rule,
            "format"
        );
        assert_eq!(
            parse_instant("2026-09-15 09:00 Mars/Olympus", &TimeZone::UTC)
                .unwrap_err()
                .rule,
            "unknown"
        );
    }
}
