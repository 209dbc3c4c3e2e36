//! Server-rendered SVG charts: no script, no library, a few hundred bytes each. Every mark
//! carries its numbers in `data-*` attributes and a `<title>` (the browser's tooltip, read by
//! screen readers); each chart is also told as a table next to it.

use crate::gateway::sandbox::server::escape_html;
use std::fmt::Write;

/// Chart width in SVG units (the chart scales to its box, about as wide).
const WIDTH: f64 = 480.0;
/// Room for the labels beside horizontal bars.
const LABEL_WIDTH: f64 = 170.0;
/// Room for the value after a bar.
const VALUE_WIDTH: f64 = 70.0;
const ROW_HEIGHT: f64 = 28.0;

/// The colours of the series, in order (each at least 4.5:1 on white).
pub const PALETTE: [&str; 6] = ["#0f766e", "#1d4ed8", "#b45309", "#7c3aed", "#be123c", "#4d7c0f"];

/// One row of a horizontal bar chart.
pub struct Bar {
    /// What the row is (`data-key`).
    pub key: String,
    /// Its name, shown.
    pub label: String,
    /// The bar's length, in the chart's unit.
    pub value: i64,
    /// A longer, lighter bar behind it (attempts behind paid, p95 behind p50), if any.
    pub behind: Option<i64>,
    /// The number written after the bar.
    pub value_text: String,
    /// The tooltip.
    pub title: String,
}

/// Horizontal bars, longest to the scale of the largest value. In right-to-left pages the
/// labels are on the right and the bars grow leftwards. Every chart is drawn with
/// `direction="ltr"` so that `text-anchor` means the same in both languages (the text itself
/// is still laid out by the bidi algorithm); colours are presentation attributes, which the
/// page's CSP allows where it refuses `style` attributes.
pub fn bars(id: &str, aria_label: &str, rows: &[Bar], rtl: bool) -> String {
    let max = rows.iter().map(|r| r.value.max(r.behind.unwrap_or(0))).max().unwrap_or(0).max(1) as f64;
    let height = ROW_HEIGHT * rows.len() as f64 + 8.0;
    let track = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let mut svg = format!(
        "<svg id=\"{id}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{}\" class=\"chart\" direction=\"ltr\">",
        escape_html(aria_label)
    );
    // In RTL, x runs from the right edge: mirror every x and every width.
    let x_of = |x: f64, w: f64| if rtl { WIDTH - x - w } else { x };
    let (label_x, label_anchor) = if rtl { (WIDTH - LABEL_WIDTH + 10.0, "start") } else { (LABEL_WIDTH - 10.0, "end") };
    for (i, row) in rows.iter().enumerate() {
        let y = 4.0 + ROW_HEIGHT * i as f64;
        let _ = write!(
            svg,
            "<g class=\"bar\" data-key=\"{}\" data-value=\"{}\"{}><title>{}</title>",
            escape_html(&row.key),
            row.value,
            row.behind.map(|b| format!(" data-behind=\"{b}\"")).unwrap_or_default(),
            escape_html(&row.title)
        );
        let _ = write!(
            svg,
            "<text x=\"{label_x}\" y=\"{}\" text-anchor=\"{label_anchor}\" class=\"label\">{}</text>",
            y + 18.0,
            escape_html(&row.label)
        );
        if let Some(behind) = row.behind {
            let w = track * behind as f64 / max;
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{}\" width=\"{w:.1}\" height=\"20\" rx=\"3\" class=\"behind\"/>",
                x_of(LABEL_WIDTH, w),
                y + 3.0
            );
        }
        let w = track * row.value as f64 / max;
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{}\" width=\"{w:.1}\" height=\"20\" rx=\"3\" class=\"value\"/>",
            x_of(LABEL_WIDTH, w),
            y + 3.0
        );
        let end = LABEL_WIDTH + track * row.value.max(row.behind.unwrap_or(0)) as f64 / max + 6.0;
        let (value_x, value_anchor) = if rtl { (WIDTH - end, "end") } else { (end, "start") };
        let _ = write!(
            svg,
            "<text x=\"{value_x:.1}\" y=\"{}\" text-anchor=\"{value_anchor}\" class=\"number\">{}</text></g>",
            y + 18.0,
            escape_html(&row.value_text)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One line of a chart over days.
pub struct Series {
    /// What the line is (`data-series`).
    pub key: String,
    /// One point per day, `None` where there is nothing to show: (value 0..=1, tooltip).
    pub points: Vec<Option<(f64, String)>>,
}

/// A legend's colour swatch for the `n`th series.
pub fn swatch(n: usize) -> String {
    format!(
        "<svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\"/></svg>",
        PALETTE[n % PALETTE.len()]
    )
}

/// Lines over `days` (the x axis, oldest first, left to right in both languages, as dates are
/// read on Arabic charts too) of values between 0 and 1 (y, shown as percentages).
pub fn lines(id: &str, aria_label: &str, days: &[String], series: &[Series]) -> String {
    const HEIGHT: f64 = 240.0;
    const LEFT: f64 = 44.0;
    const RIGHT: f64 = 16.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 28.0;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| {
        if days.len() <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (days.len() - 1) as f64
        }
    };
    let y = |v: f64| TOP + plot_h * (1.0 - v.clamp(0.0, 1.0));
    let mut svg = format!(
        "<svg id=\"{id}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\" class=\"chart\" direction=\"ltr\">",
        escape_html(aria_label)
    );
    for pct in [0, 50, 100] {
        let gy = y(pct as f64 / 100.0);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{gy:.1}\" y2=\"{gy:.1}\" class=\"grid\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" class=\"axis\">{pct}%</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            gy + 4.0
        );
    }
    // A date under the first, the middle and the last day.
    let last = days.len().saturating_sub(1);
    let mut ticks = vec![0, last / 2, last];
    ticks.dedup();
    for i in ticks.into_iter().filter(|&i| i < days.len()) {
        // The first and last dates end at the plot's edges, inside the picture.
        let anchor = match i {
            _ if days.len() == 1 => "middle",
            0 => "start",
            i if i == last => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\" class=\"axis\">{}</text>",
            x(i),
            HEIGHT - 8.0,
            escape_html(&days[i])
        );
    }
    for (n, s) in series.iter().enumerate() {
        let colour = PALETTE[n % PALETTE.len()];
        let _ = write!(
            svg,
            "<g class=\"series\" data-series=\"{}\" fill=\"{colour}\" stroke=\"{colour}\">",
            escape_html(&s.key)
        );
        let path: Vec<String> = s
            .points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|(v, _)| format!("{:.1},{:.1}", x(i), y(*v))))
            .collect();
        if path.len() > 1 {
            let _ = write!(svg, "<polyline points=\"{}\" class=\"line\"/>", path.join(" "));
        }
        for (i, point) in s.points.iter().enumerate() {
            if let Some((v, title)) = point {
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" class=\"point\" data-day=\"{}\" data-value=\"{v:.4}\"><title>{}</title></circle>",
                    x(i),
                    y(*v),
                    escape_html(&days[i]),
                    escape_html(title)
                );
            }
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(key: &str, value: i64, behind: Option<i64>) -> Bar {
        Bar { key: key.into(), label: key.into(), value, behind, value_text: value.to_string(), title: key.into() }
    }

    fn width_of(svg: &str, class: &str, nth: usize) -> f64 {
        let marker = format!("class=\"{class}\"");
        let rect = svg.split("<rect").filter(|r| r.contains(&marker)).nth(nth).unwrap();
        let w = rect.split("width=\"").nth(1).unwrap().split('"').next().unwrap();
        w.parse().unwrap()
    }

    #[test]
    fn bars_are_to_scale_and_mirrored_in_rtl() {
        let rows = [bar("a", 10, Some(20)), bar("b", 5, None)];
        let ltr = bars("x", "chart", &rows, false);
        let track = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
        assert_eq!(width_of(&ltr, "behind", 0), (track * 1.0 * 10.0).round() / 10.0);
        assert!((width_of(&ltr, "value", 0) - track / 2.0).abs() < 0.1);
        assert!((width_of(&ltr, "value", 1) - track / 4.0).abs() < 0.1);
        assert!(ltr.contains(&format!("x=\"{LABEL_WIDTH:.1}\"")));
        let rtl = bars("x", "chart", &rows, true);
        // The widest bar ends at the label column, on the right.
        assert!(rtl.contains(&format!("x=\"{:.1}\"", WIDTH - LABEL_WIDTH - track)));
    }

    #[test]
    fn text_is_escaped() {
        let svg = bars("x", "<chart>", &[bar("<a&b>", 1, None)], false);
        assert!(!svg.contains("<a&b>") && svg.contains("&lt;a&amp;b&gt;") && svg.contains("&lt;chart&gt;"));
    }

    #[test]
    fn lines_skip_days_without_data() {
        let days: Vec<String> = ["d1", "d2", "d3"].iter().map(|d| d.to_string()).collect();
        let s = Series { key: "g".into(), points: vec![Some((1.0, "t".into())), None, Some((0.5, "t".into()))] };
        let svg = lines("x", "chart", &days, &[s]);
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("data-day=\"d3\" data-value=\"0.5000\""));
        // Top of the plot for 100 %, the middle for 50 %.
        assert!(svg.contains("cy=\"12.0\"") && svg.contains("cy=\"112.0\""));
    }
}
