//! A 24-hour chart of one endpoint as inline SVG: attempts per hour as
//! stacked bars by outcome, and the hour's ACK rate as a line on a 0–100 %
//! scale. Server-rendered: no script, no image requests.

use std::fmt::Write as _;

use chrono::{DateTime, Timelike, Utc};

use crate::store::health::HourlyOutcomes;

/// Colours of the outcomes and the rate line.
pub const ACKED: &str = "#2f9e6b";
/// Answered, not 2xx.
pub const REJECTED: &str = "#e0703a";
/// No answer.
pub const UNANSWERED: &str = "#8e2c2c";
/// ACK rate.
pub const RATE: &str = "#0b6bcb";

const W: f64 = 720.0;
const H: f64 = 200.0;
// Wide enough for "1000" and "100%" at the larger labels of a phone.
const LEFT: f64 = 60.0;
const RIGHT: f64 = 66.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;
const HOURS: usize = 24;

/// Renders the chart of the 24 hours from `start` (an hour boundary).
/// `hours` may miss hours without attempts and be in any order.
pub fn day_chart(label: &str, start: DateTime<Utc>, hours: &[HourlyOutcomes]) -> String {
    let slots = hourly_slots(start, hours);
    let scale = Scale::fitting(&slots);
    let summary = summary(label, &slots);
    let mut svg = format!(
        r#"<svg viewBox="0 0 {W} {H}" role="img" aria-label="{0}" xmlns="http://www.w3.org/2000/svg"><title>{0}</title>"#,
        super::html::Esc(&summary)
    );
    axes(&mut svg, &scale, &slots);
    bars(&mut svg, &scale, &slots);
    rate_line(&mut svg, &scale, &slots);
    svg.push_str("</svg>");
    svg
}

/// One slot per hour from `start`, zero where `hours` has none.
fn hourly_slots(start: DateTime<Utc>, hours: &[HourlyOutcomes]) -> Vec<HourlyOutcomes> {
    let mut slots: Vec<HourlyOutcomes> = (0..HOURS)
        .map(|i| HourlyOutcomes {
            hour: start + chrono::Duration::hours(i as i64),
            acked: 0,
            rejected: 0,
            unanswered: 0,
        })
        .collect();
    for h in hours {
        let i = (h.hour - start).num_hours();
        if let Ok(i) = usize::try_from(i) {
            if i < HOURS {
                slots[i] = *h;
            }
        }
    }
    slots
}

fn total(h: &HourlyOutcomes) -> i64 {
    h.acked + h.rejected + h.unanswered
}

/// The text a screen reader and the tooltip give for the whole chart.
fn summary(label: &str, slots: &[HourlyOutcomes]) -> String {
    let attempts: i64 = slots.iter().map(total).sum();
    let acked: i64 = slots.iter().map(|h| h.acked).sum();
    if attempts == 0 {
        format!("{label}: no attempts in the last 24 hours")
    } else {
        format!(
            "{label}: {attempts} attempts in the last 24 hours, {:.1}% acknowledged",
            acked as f64 / attempts as f64 * 100.0
        )
    }
}

/// Where things go on the plot: counts scaled to the busiest hour.
struct Scale {
    max: i64,
    plot_w: f64,
    plot_h: f64,
    slot_w: f64,
}

impl Scale {
    fn fitting(slots: &[HourlyOutcomes]) -> Self {
        let plot_w = W - LEFT - RIGHT;
        Scale {
            max: slots.iter().map(total).max().unwrap_or(0).max(1),
            plot_w,
            plot_h: H - TOP - BOTTOM,
            slot_w: plot_w / HOURS as f64,
        }
    }

    /// The y of a count of attempts.
    fn y(&self, count: f64) -> f64 {
        TOP + self.plot_h - count / self.max as f64 * self.plot_h
    }

    /// The y of a rate from 0 to 1.
    fn y_of_rate(&self, rate: f64) -> f64 {
        TOP + self.plot_h - rate * self.plot_h
    }

    fn bar_w(&self) -> f64 {
        self.slot_w * 0.7
    }
}

/// Axes and grid: baseline, top line, left counts, right percentages,
/// and an hour label every six hours.
fn axes(svg: &mut String, scale: &Scale, slots: &[HourlyOutcomes]) {
    let _ = write!(
        svg,
        r##"<g font-size="10" fill="#616e7c" font-family="system-ui,sans-serif">
<line x1="{LEFT}" y1="{b}" x2="{r}" y2="{b}" stroke="#cbd2d9"/>
<line x1="{LEFT}" y1="{TOP}" x2="{r}" y2="{TOP}" stroke="#e4e7eb" stroke-dasharray="3 3"/>
<text x="{lx}" y="{ty}" text-anchor="end">{max}</text><text x="{lx}" y="{b}" text-anchor="end">0</text>
<text x="{rx}" y="{ty}">100%</text><text x="{rx}" y="{b}">0%</text>"##,
        b = TOP + scale.plot_h,
        r = LEFT + scale.plot_w,
        lx = LEFT - 4.0,
        rx = LEFT + scale.plot_w + 4.0,
        ty = TOP + 4.0,
        max = scale.max,
    );
    for (i, slot) in slots.iter().enumerate().step_by(6) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}">{:02}:00</text>"#,
            LEFT + i as f64 * scale.slot_w,
            H - 8.0,
            slot.hour.hour()
        );
    }
    svg.push_str("</g>");
}

/// Bars, stacked from the baseline: acknowledged, rejected, unanswered.
fn bars(svg: &mut String, scale: &Scale, slots: &[HourlyOutcomes]) {
    let bar_w = scale.bar_w();
    for (i, slot) in slots.iter().enumerate() {
        let x = LEFT + i as f64 * scale.slot_w + (scale.slot_w - bar_w) / 2.0;
        let mut below = 0.0;
        for (count, colour, what) in [
            (slot.acked, ACKED, "acknowledged"),
            (slot.rejected, REJECTED, "rejected"),
            (slot.unanswered, UNANSWERED, "no answer"),
        ] {
            if count == 0 {
                continue;
            }
            let top = scale.y(below + count as f64);
            let height = scale.y(below) - top;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{top:.1}" width="{bar_w:.1}" height="{height:.1}" fill="{colour}"><title>{:02}:00 {count} {what}</title></rect>"#,
                slot.hour.hour()
            );
            below += count as f64;
        }
    }
}

/// ACK rate per hour with attempts: points, joined into a line.
fn rate_line(svg: &mut String, scale: &Scale, slots: &[HourlyOutcomes]) {
    let points: Vec<(f64, f64)> = slots
        .iter()
        .enumerate()
        .filter(|(_, h)| total(h) > 0)
        .map(|(i, h)| {
            let rate = h.acked as f64 / total(h) as f64;
            (
                LEFT + (i as f64 + 0.5) * scale.slot_w,
                scale.y_of_rate(rate),
            )
        })
        .collect();
    if points.len() > 1 {
        let line: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{RATE}" stroke-width="2"/>"#,
            line.join(" ")
        );
    }
    for (x, y) in &points {
        let _ = write!(
            svg,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="{RATE}"/>"#
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn hour(start: DateTime<Utc>, i: i64, acked: i64, rejected: i64) -> HourlyOutcomes {
        HourlyOutcomes {
            hour: start + chrono::Duration::hours(i),
            acked,
            rejected,
            unanswered: 0,
        }
    }

    #[test]
    fn bars_and_rate_points_follow_the_hours() {
        let start = Utc.with_ymd_and_hms(2025, 1, 1, 10, 0, 0).unwrap();
        let svg = day_chart("ep", start, &[hour(start, 0, 3, 1), hour(start, 23, 0, 2)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 3, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("6 attempts in the last 24 hours, 50.0% acknowledged"));
        assert!(svg.contains(">10:00</text>") && svg.contains(">16:00</text>"));
    }

    #[test]
    fn an_idle_day_draws_axes_only_and_hours_outside_are_ignored() {
        let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let svg = day_chart(
            "<ep>",
            start,
            &[hour(start, 24, 5, 0), hour(start, -1, 5, 0)],
        );
        assert_eq!(svg.matches("<rect").count(), 0);
        assert!(svg.contains("&lt;ep&gt;: no attempts"));
        assert!(!svg.contains("<ep>"));
    }
}
