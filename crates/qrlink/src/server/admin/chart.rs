//! Daily counts drawn on the server (R-UI-3): the numbers an SVG template needs, nothing more.
//! The templates draw with attributes only (no inline styles), so the strict CSP holds.

use jiff::civil::Date;
use qrlink_core::counts::DailyCount;

/// Hits per day over the `days` days that end with `today`, oldest first, zero-filled.
pub fn daily_hits(counts: &[DailyCount], today: Date, days: u32) -> Vec<(Date, i64)> {
    let first = today
        .checked_sub(jiff::Span::new().days(i64::from(days) - 1))
        .unwrap_or(today);
    let mut series: Vec<(Date, i64)> = first
        .series(jiff::Span::new().days(1))
        .take(days as usize)
        .map(|day| (day, 0))
        .collect();
    for count in counts {
        if let Ok(offset) = usize::try_from((count.day - first).get_days())
            && let Some(slot) = series.get_mut(offset)
            && slot.0 == count.day
        {
            slot.1 += count.counts.hits;
        }
    }
    series
}

/// A sparkline's `points` in a 100 x 20 box.
pub fn sparkline(series: &[(Date, i64)]) -> String {
    let max = series
        .iter()
        .map(|(_, hits)| *hits)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = 100.0 / (series.len().max(2) - 1) as f64;
    series
        .iter()
        .enumerate()
        .map(|(i, (_, hits))| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                19.0 - 18.0 * *hits as f64 / max
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One bar of the counts chart, in a 1000 x 200 box.
#[derive(Debug, Clone)]
pub struct Bar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    /// For the bar's `<title>`: the day and its hits.
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct BarChart {
    pub bars: Vec<Bar>,
    pub max: i64,
    pub total: i64,
    pub first: Date,
    pub last: Date,
}

pub fn bars(series: &[(Date, i64)]) -> BarChart {
    let max = series.iter().map(|(_, hits)| *hits).max().unwrap_or(0);
    let scale = max.max(1) as f64;
    let width = 1000.0 / series.len().max(1) as f64;
    let bars = series
        .iter()
        .enumerate()
        .filter(|(_, (_, hits))| *hits > 0)
        .map(|(i, (day, hits))| {
            let height = (200.0 * *hits as f64 / scale).max(1.0);
            Bar {
                x: format!("{:.2}", i as f64 * width),
                y: format!("{:.2}", 200.0 - height),
                width: format!("{:.2}", (width * 0.8).max(0.5)),
                height: format!("{height:.2}"),
                label: format!("{day}: {hits} hits"),
            }
        })
        .collect();
    BarChart {
        bars,
        max,
        total: series.iter().map(|(_, hits)| hits).sum(),
        first: series.first().map_or(Date::ZERO, |(day, _)| *day),
        last: series.last().map_or(Date::ZERO, |(day, _)| *day),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qrlink_core::counts::Counts;
    use qrlink_core::link::LinkId;

    fn count(day: &str, hits: i64) -> DailyCount {
        DailyCount {
            link_id: LinkId(1),
            day: day.parse().unwrap(),
            counts: Counts {
                hits,
                ..Counts::default()
            },
        }
    }

    #[test]
    fn a_series_is_zero_filled_and_drops_days_outside_it() {
        let today: Date = "2026-06-30".parse().unwrap();
        let counts = [
            count("2026-05-01", 99),
            count("2026-06-01", 4),
            count("2026-06-30", 6),
        ];
        let series = daily_hits(&counts, today, 30);
        assert_eq!(series.len(), 30);
        assert_eq!(series[0], ("2026-06-01".parse().unwrap(), 4));
        assert_eq!(series[29], (today, 6));
        assert_eq!(
            series.iter().map(|(_, h)| h).sum::<i64>(),
            10,
            "May is outside"
        );

        let chart = bars(&series);
        assert_eq!((chart.max, chart.total, chart.bars.len()), (6, 10, 2));
        assert_eq!(
            chart.bars[1].height, "200.00",
            "the tallest bar fills the box"
        );
        assert_eq!(chart.bars[0].label, "2026-06-01: 4 hits");
        let points = sparkline(&series);
        assert!(
            points.starts_with("0.0,7.0 ") && points.ends_with(" 100.0,1.0"),
            "{points}"
        );
    }
}
