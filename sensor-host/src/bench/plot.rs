//! Nanoseconds per event against rule count, as a hand-written SVG: both axes logarithmic, one
//! line per engine and event source, so a flat line (cost that does not grow with the rule set)
//! is seen rather than read.

use std::fmt::Write as _;

/// One line of the plot.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Stroke colour (any SVG colour).
    pub color: &'static str,
    /// Dashed rather than solid.
    pub dashed: bool,
    /// (rules, ns per event) points; non-positive values are left out.
    pub points: Vec<(f64, f64)>,
}

const WIDTH: f64 = 860.0;
const HEIGHT: f64 = 540.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 250.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Decades `10^lo ..= 10^hi` that cover `min..=max`.
fn decades(min: f64, max: f64) -> (i32, i32) {
    let lo = min.log10().floor() as i32;
    let hi = (max.log10().ceil() as i32).max(lo + 1);
    (lo, hi)
}

fn label(value: f64) -> String {
    match value {
        v if v >= 1e9 => format!("{}G", v / 1e9),
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e3 => format!("{}k", v / 1e3),
        v if v >= 1.0 => format!("{v}"),
        v => format!("{v:.1}"),
    }
}

/// Renders the plot.
pub fn svg(title: &str, subtitle: &str, series: &[Series]) -> String {
    let points = || {
        series
            .iter()
            .flat_map(|s| &s.points)
            .filter(|(x, y)| *x > 0.0 && *y > 0.0)
    };
    let (xmin, xmax) = points().fold((f64::INFINITY, 0.0f64), |(lo, hi), &(x, _)| {
        (lo.min(x), hi.max(x))
    });
    let (ymin, ymax) = points().fold((f64::INFINITY, 0.0f64), |(lo, hi), &(_, y)| {
        (lo.min(y), hi.max(y))
    });
    let (xmin, xmax) = if xmin.is_finite() {
        (xmin, xmax)
    } else {
        (1.0, 10.0)
    };
    let (ymin, ymax) = if ymin.is_finite() {
        (ymin, ymax)
    } else {
        (1.0, 10.0)
    };
    let (x_lo, x_hi) = decades(xmin, xmax);
    let (y_lo, y_hi) = decades(ymin, ymax);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let px = |x: f64| LEFT + (x.log10() - f64::from(x_lo)) / f64::from(x_hi - x_lo) * plot_w;
    let py =
        |y: f64| TOP + plot_h - (y.log10() - f64::from(y_lo)) / f64::from(y_hi - y_lo) * plot_h;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="22" font-size="16" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let _ = writeln!(
        out,
        r##"<text x="{LEFT}" y="40" fill="#555">{}</text>"##,
        escape(subtitle)
    );
    // Grid and ticks: every decade labelled, 2x and 5x as faint lines.
    for d in x_lo..=x_hi {
        for m in [1.0, 2.0, 5.0] {
            let x = m * 10f64.powi(d);
            if d == x_hi && m > 1.0 {
                continue;
            }
            let sx = px(x);
            let stroke = if m == 1.0 { "#ccc" } else { "#eee" };
            let _ = writeln!(
                out,
                r#"<line x1="{sx:.1}" y1="{TOP}" x2="{sx:.1}" y2="{:.1}" stroke="{stroke}"/>"#,
                TOP + plot_h
            );
            if m == 1.0 {
                let _ = writeln!(
                    out,
                    r#"<text x="{sx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                    TOP + plot_h + 18.0,
                    label(x)
                );
            }
        }
    }
    for d in y_lo..=y_hi {
        for m in [1.0, 2.0, 5.0] {
            let y = m * 10f64.powi(d);
            if d == y_hi && m > 1.0 {
                continue;
            }
            let sy = py(y);
            let stroke = if m == 1.0 { "#ccc" } else { "#eee" };
            let _ = writeln!(
                out,
                r#"<line x1="{LEFT}" y1="{sy:.1}" x2="{:.1}" y2="{sy:.1}" stroke="{stroke}"/>"#,
                LEFT + plot_w
            );
            if m == 1.0 {
                let _ = writeln!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                    LEFT - 8.0,
                    sy + 4.0,
                    label(y)
                );
            }
        }
    }
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">rules in the rule set (log scale)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 15.0
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate(22 {:.1}) rotate(-90)" text-anchor="middle">ns per event (log scale)</text>"#,
        TOP + plot_h / 2.0
    );
    for (i, s) in series.iter().enumerate() {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(x, y)| *x > 0.0 && *y > 0.0)
            .collect();
        let dash = if s.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let path: Vec<String> = pts
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
            path.join(" "),
            s.color
        );
        for &(x, y) in &pts {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}"><title>{}: {} rules, {:.0} ns/event</title></circle>"#,
                px(x),
                py(y),
                s.color,
                escape(&s.label),
                x,
                y
            );
        }
        let ly = TOP + 10.0 + 20.0 * i as f64;
        let lx = LEFT + plot_w + 15.0;
        let _ = writeln!(
            out,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{}" stroke-width="2"{dash}/>"#,
            lx + 28.0,
            s.color
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 34.0,
            ly + 4.0,
            escape(&s.label)
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Vec<Series> {
        vec![
            Series {
                label: "ours <synthetic>".into(),
                color: "#1f77b4",
                dashed: false,
                points: vec![(13.0, 150.0), (100.0, 900.0), (10_000.0, 80_000.0)],
            },
            Series {
                label: "floor".into(),
                color: "#7f7f7f",
                dashed: true,
                points: vec![(13.0, 4.0), (100.0, 4.0), (10_000.0, 0.0)],
            },
        ]
    }

    #[test]
    fn draws_every_point_on_log_axes() {
        let svg = svg("ns per event", "test", &series());
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        // Five positive points, one left out.
        assert_eq!(svg.matches("<circle").count(), 5);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("ours &lt;synthetic&gt;"));
        assert!(svg.contains("stroke-dasharray"));
        // Decade labels on both axes: 10 to 10k rules, 1 to 100k ns.
        for tick in [">10<", ">100<", ">1k<", ">10k<", ">1<", ">100k<"] {
            assert!(svg.contains(tick), "{tick}");
        }
    }

    #[test]
    fn equal_costs_draw_a_horizontal_line() {
        let flat = [Series {
            label: "flat".into(),
            color: "black",
            dashed: false,
            points: vec![(100.0, 50.0), (1000.0, 50.0), (10_000.0, 50.0)],
        }];
        let svg = svg("t", "s", &flat);
        let line = svg
            .lines()
            .find(|l| l.starts_with("<polyline"))
            .expect("a line");
        let ys: Vec<&str> = line
            .split('"')
            .nth(1)
            .expect("points")
            .split(' ')
            .map(|p| p.split(',').nth(1).expect("y"))
            .collect();
        assert_eq!(ys.len(), 3);
        assert!(ys.iter().all(|y| *y == ys[0]), "{ys:?}");
    }
}
