//! A grouped bar chart as inline SVG, drawn on the server: labelled axes,
//! a legend, a title and description for screen readers. Colours come
//! from classes in console.css (the CSP allows no inline style), so the
//! chart follows light and dark mode.

use std::fmt::Write;

use crate::relay::reflow::escape;

pub struct Series {
    /// The CSS class of its bars and legend swatch.
    pub class: &'static str,
    pub name: String,
    pub values: Vec<i64>,
}

pub struct Chart {
    pub title: String,
    pub description: String,
    pub x_axis: String,
    pub y_axis: String,
    /// One per group (week), under the bars.
    pub labels: Vec<String>,
    pub series: Vec<Series>,
}

const W: i64 = 720;
const H: i64 = 300;
const LEFT: i64 = 48;
const RIGHT: i64 = 8;
const TOP: i64 = 36;
const BOTTOM: i64 = 56;
/// Grid lines above zero.
const TICKS: i64 = 4;

impl Chart {
    pub fn svg(&self) -> String {
        let (plot_w, plot_h) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
        let top = self
            .series
            .iter()
            .flat_map(|s| &s.values)
            .copied()
            .max()
            .unwrap_or(0);
        let step = ((top + TICKS - 1) / TICKS).max(1);
        let y_max = step * TICKS;
        let y = |v: i64| TOP + plot_h - v * plot_h / y_max;
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg class="bars" viewBox="0 0 {W} {H}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{}</title><desc id="chart-desc">{}</desc>"#,
            escape(&self.title),
            escape(&self.description)
        );
        for i in 0..=TICKS {
            let v = step * i;
            let _ = write!(
                s,
                r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y}" y2="{y}"/><text class="tick" x="{}" y="{}" text-anchor="end">{v}</text>"#,
                W - RIGHT,
                LEFT - 6,
                y(v) + 4,
                y = y(v)
            );
        }
        self.bars(&mut s, plot_w, &y);
        self.axes_and_legend(&mut s, plot_w);
        s.push_str("</svg>");
        s
    }

    fn bars(&self, s: &mut String, plot_w: i64, y: &dyn Fn(i64) -> i64) {
        let groups = self.labels.len().max(1) as i64;
        let group_w = plot_w / groups;
        let n = self.series.len().max(1) as i64;
        let bar_w = (group_w - 8) / n;
        for (g, label) in self.labels.iter().enumerate() {
            let x0 = LEFT + g as i64 * group_w + 4;
            for (k, series) in self.series.iter().enumerate() {
                let v = series.values.get(g).copied().unwrap_or(0);
                let (x, top) = (x0 + k as i64 * bar_w, y(v));
                let _ = write!(
                    s,
                    r#"<rect class="{}" x="{x}" y="{top}" width="{}" height="{}"><title>{}: {v}</title></rect>"#,
                    series.class,
                    bar_w - 1,
                    y(0) - top,
                    escape(&format!("{label} {}", series.name))
                );
            }
            let _ = write!(
                s,
                r#"<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>"#,
                x0 + group_w / 2 - 4,
                H - BOTTOM + 18,
                escape(label)
            );
        }
    }

    fn axes_and_legend(&self, s: &mut String, plot_w: i64) {
        let _ = write!(
            s,
            r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{b}" y2="{b}"/><text class="label" x="{}" y="{}" text-anchor="middle">{}</text><text class="label" x="{LEFT}" y="14">{}</text>"#,
            W - RIGHT,
            LEFT + plot_w / 2,
            H - 12,
            escape(&self.x_axis),
            escape(&self.y_axis),
            b = H - BOTTOM
        );
        let mut x = LEFT + 160;
        for series in &self.series {
            let _ = write!(
                s,
                r#"<rect class="{}" x="{x}" y="5" width="12" height="12"/><text class="legend" x="{}" y="15">{}</text>"#,
                series.class,
                x + 16,
                escape(&series.name)
            );
            x += 24 + 9 * series.name.chars().count().max(4) as i64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_has_a_title_axes_a_legend_and_a_bar_per_value() {
        let chart = Chart {
            title: "Last 12 weeks".into(),
            description: "Requests <and> introductions".into(),
            x_axis: "Week starting".into(),
            y_axis: "Per week".into(),
            labels: vec!["30 Nov".into(), "7 Dec".into()],
            series: vec![
                Series {
                    class: "s-requests",
                    name: "Requests".into(),
                    values: vec![3, 9],
                },
                Series {
                    class: "s-intros",
                    name: "Introductions".into(),
                    values: vec![0, 2],
                },
            ],
        }
        .svg();
        assert!(chart.starts_with("<svg") && chart.ends_with("</svg>"));
        assert!(chart.contains(r#"<title id="chart-title">Last 12 weeks</title>"#));
        assert!(
            chart.contains("Requests &lt;and&gt; introductions"),
            "escaped"
        );
        assert_eq!(
            chart.matches(r#"<rect class="s-requests""#).count(),
            3,
            "two bars and a swatch"
        );
        assert!(chart.contains("Week starting") && chart.contains("Per week"));
        assert!(chart.contains(">7 Dec</text>") && chart.contains("7 Dec Requests: 9"));
        assert!(
            chart.contains(">12</text>"),
            "the y axis reaches past the largest value"
        );
        assert!(!chart.contains("style="), "no inline style (CSP)");
    }
}
