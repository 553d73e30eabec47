//! What the status page draws with, all inline so it works without any
//! external request (no CDN, no JS): the stylesheet, the logo and the
//! sparkline geometry. Sparklines are SVG paths made of numbers only, so they
//! pass through the template's HTML escaping unchanged.

use serde::Serialize;

/// The page's stylesheet. Light by default, dark when the system asks.
pub const CSS: &str = r#"
:root{--bg:#f6f7f9;--card:#fff;--text:#0f172a;--muted:#64748b;--line:#e2e8f0;
--up:#16a34a;--up-soft:#dcfce7;--down:#dc2626;--down-soft:#fef2f2;--down-line:#fecaca;
--warn:#d97706;--warn-soft:#fffbeb;--none:#e2e8f0;--maint:#60a5fa;--accent:#4f46e5;
--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
@media (prefers-color-scheme:dark){:root{--bg:#0b1120;--card:#111827;--text:#e5e7eb;
--muted:#94a3b8;--line:#1f2937;--up-soft:#052e16;--down-soft:#2a0f12;--down-line:#7f1d1d;
--warn-soft:#2b1d05;--none:#273244}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
-webkit-text-size-adjust:100%}
a{color:inherit}
.wrap{max-width:980px;margin:0 auto;padding:0 20px}
header.top{background:var(--card);border-bottom:1px solid var(--line)}
header.top .wrap{display:flex;align-items:center;justify-content:space-between;gap:12px;
min-height:64px;flex-wrap:wrap;padding-top:10px;padding-bottom:10px}
.brand{display:flex;align-items:center;gap:10px;text-decoration:none;font-weight:650;font-size:18px}
.brand small{display:block;font-weight:400;font-size:12px;color:var(--muted);letter-spacing:.02em}
.updated{color:var(--muted);font-size:13px}
main{padding:28px 0 40px}
.banner{display:flex;align-items:center;gap:14px;padding:18px 20px;border-radius:12px;
color:#fff;font-weight:600;font-size:18px;margin-bottom:24px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.banner svg{flex:none}
.banner.up{background:var(--up)}.banner.down{background:var(--down)}
.banner.degraded{background:var(--warn)}.banner.pending{background:#64748b}
.banner small{display:block;font-weight:400;font-size:13px;opacity:.9}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 20px;
margin-bottom:16px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
.card.down{border-color:var(--down-line)}
.head{display:flex;align-items:center;justify-content:space-between;gap:12px}
.name{display:flex;align-items:center;gap:10px;min-width:0;font-weight:650;font-size:17px}
.name a{text-decoration:none;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.name a:hover{text-decoration:underline}
.dot{flex:none;width:10px;height:10px;border-radius:50%;background:var(--none)}
.dot.up{background:var(--up);box-shadow:0 0 0 4px var(--up-soft)}
.dot.down{background:var(--down);box-shadow:0 0 0 4px var(--down-soft)}
.dot.degraded{background:var(--warn);box-shadow:0 0 0 4px var(--warn-soft)}
.pill{flex:none;font-size:13px;font-weight:600;padding:3px 10px;border-radius:999px;
background:var(--none);color:var(--muted)}
.pill.up{background:var(--up-soft);color:var(--up)}
.pill.down{background:var(--down-soft);color:var(--down)}
.pill.degraded{background:var(--warn-soft);color:var(--warn)}
.meta{color:var(--muted);font-size:13px;margin:4px 0 14px;overflow-wrap:anywhere}
.meta code{font-family:var(--mono);font-size:12.5px}
.nw{white-space:nowrap}
.sep{margin:0 6px;opacity:.6}
.row{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.label{display:flex;justify-content:space-between;font-size:12.5px;color:var(--muted);margin-bottom:6px}
.label b{color:var(--text);font-weight:600}
.bar{display:flex;gap:2px;height:30px}
.bar span{flex:1;border-radius:2px;background:var(--none)}
.bar .up{background:var(--up)}.bar .down{background:var(--down)}
.bar .degraded{background:var(--warn)}.bar .maintenance{background:var(--maint)}
.spark{display:block;width:100%;height:44px}
.spark .line{fill:none;stroke:var(--accent);stroke-width:1.6;vector-effect:non-scaling-stroke}
.spark .area{fill:var(--accent);opacity:.10}
.latency{margin-top:14px}
.failure{margin-top:16px;border:1px solid var(--down-line);background:var(--down-soft);
border-radius:10px;padding:14px 16px}
.failure h3{margin:0 0 6px;font-size:14px;display:flex;flex-wrap:wrap;gap:8px;align-items:center}
.class{font-family:var(--mono);font-size:12.5px;background:var(--down);color:#fff;padding:2px 8px;border-radius:6px}
.phase{font-size:12.5px;color:var(--muted);font-weight:500}
.message{margin:0 0 8px;font-size:14px}
.hint{margin:0;font-size:14px;color:var(--text)}
.hint b{color:var(--down)}
dl.evidence{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:12px 0 0;font-size:13px}
dl.evidence dt{color:var(--muted)}
dl.evidence dd{margin:0;font-family:var(--mono);font-size:12.5px;overflow-wrap:anywhere;white-space:pre-wrap;max-height:12em;overflow:auto}
details{margin-top:10px;font-size:13px}
summary{cursor:pointer;color:var(--muted)}
ol.timeline{list-style:none;margin:8px 0 0;padding:0;font-family:var(--mono);font-size:12px}
ol.timeline li{display:grid;grid-template-columns:72px 64px 1fr;gap:8px;padding:2px 0;overflow-wrap:anywhere}
ol.timeline .t{color:var(--muted);text-align:right}
.stats{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin:4px 0 18px}
.stat{background:var(--bg);border-radius:10px;padding:10px 12px}
.stat span{display:block;font-size:12px;color:var(--muted)}
.stat b{font-size:18px;font-weight:650}
h2{font-size:16px;margin:26px 0 10px}
table{width:100%;border-collapse:collapse;font-size:13.5px}
th{text-align:left;color:var(--muted);font-weight:500;border-bottom:1px solid var(--line);padding:6px 8px}
td{border-bottom:1px solid var(--line);padding:7px 8px;vertical-align:top}
td.mono{font-family:var(--mono);font-size:12.5px}
.ok{color:var(--up);font-weight:600}.bad{color:var(--down);font-weight:600}
.empty{color:var(--muted);font-size:14px}
.counts{display:flex;flex-wrap:wrap;gap:8px 18px;margin:12px 2px 14px;font-size:14px;color:var(--muted)}
.counts b{color:var(--text);font-weight:650}
ul.list{list-style:none;margin:0;padding:0;background:var(--card);border:1px solid var(--line);border-radius:12px}
ul.list li{display:flex;align-items:center;gap:10px;padding:7px 14px;border-bottom:1px solid var(--line);font-size:14px}
ul.list li:last-child{border-bottom:0}
ul.list .n{flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
ul.list .s{color:var(--muted);font-size:13px;white-space:nowrap}
nav.pager{display:flex;justify-content:space-between;align-items:center;margin:16px 2px;font-size:14px}
nav.pager a{color:var(--accent)}
.back{display:inline-block;margin-bottom:14px;color:var(--muted);text-decoration:none;font-size:14px}
footer{color:var(--muted);font-size:13px;padding:10px 0 40px;text-align:center}
footer a{color:var(--muted)}
@media (max-width:640px){
.wrap{padding:0 14px}main{padding:18px 0 28px}
.banner{font-size:16px;padding:14px 16px}
.card{padding:14px}
.row{grid-template-columns:1fr;gap:12px}
.stats{grid-template-columns:repeat(2,1fr)}
.bar{height:26px;gap:1px}
.updated{width:100%}
ol.timeline li{grid-template-columns:58px 1fr}
ol.timeline .p{display:none}
.hide-sm{display:none}
}
"#;

/// The logo: a pulse in a rounded square.
pub const LOGO_SVG: &str = r##"<svg width="32" height="32" viewBox="0 0 32 32" aria-hidden="true"><rect width="32" height="32" rx="8" fill="#4f46e5"/><path d="M5 17h5l3-7 4 13 3-8 2 2h5" fill="none" stroke="#fff" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round"/></svg>"##;

/// The same logo as a data URI, for the favicon.
pub const FAVICON: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='8' fill='%234f46e5'/%3E%3Cpath d='M5 17h5l3-7 4 13 3-8 2 2h5' fill='none' stroke='white' stroke-width='2.4' stroke-linecap='round' stroke-linejoin='round'/%3E%3C/svg%3E";

/// Width of the sparkline's coordinate system; the SVG is stretched to fit.
pub const SPARK_WIDTH: f64 = 300.0;
/// Height of the sparkline's coordinate system.
pub const SPARK_HEIGHT: f64 = 44.0;

/// A sparkline as SVG path data (numbers and M/L/Z only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spark {
    /// The line, one sub-path per stretch without gaps.
    pub line: String,
    /// The filled area under each stretch.
    pub area: String,
}

/// Draw `values` (oldest first; `None` is a gap) across the full width,
/// scaled from 0 to the largest value. `None` when there is nothing to draw.
pub fn sparkline(values: &[Option<f64>]) -> Option<Spark> {
    values.iter().flatten().next()?;
    let max = values.iter().flatten().copied().fold(0.0f64, f64::max);
    let n = values.len();
    let step = if n > 1 {
        SPARK_WIDTH / (n - 1) as f64
    } else {
        0.0
    };
    // Leave a pixel top and bottom so the stroke is not clipped.
    let y = |v: f64| {
        let scaled = if max > 0.0 { v / max } else { 0.0 };
        SPARK_HEIGHT - 1.0 - scaled * (SPARK_HEIGHT - 2.0)
    };
    let mut line = String::new();
    let mut area = String::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    let flush = |run: &mut Vec<(f64, f64)>, line: &mut String, area: &mut String| {
        if run.is_empty() {
            return;
        }
        if run.len() == 1 {
            // A lone point: draw a short flat dash so it is visible.
            let (x, y) = run[0];
            run.push((x + step.max(2.0) / 2.0, y));
            run[0].0 = (x - step.max(2.0) / 2.0).max(0.0);
        }
        for (i, (x, y)) in run.iter().enumerate() {
            line.push_str(&format!(
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { "L" },
                x,
                y
            ));
        }
        let (first, last) = (run[0].0, run[run.len() - 1].0);
        area.push_str(&format!("M{first:.1},{SPARK_HEIGHT:.1}"));
        for (x, y) in run.iter() {
            area.push_str(&format!("L{x:.1},{y:.1}"));
        }
        area.push_str(&format!("L{last:.1},{SPARK_HEIGHT:.1}Z"));
        run.clear();
    };
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => run.push((i as f64 * step, y(*v))),
            None => flush(&mut run, &mut line, &mut area),
        }
    }
    flush(&mut run, &mut line, &mut area);
    Some(Spark { line, area })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_spans_the_width_and_scales_to_the_largest_value() {
        let s = sparkline(&[Some(0.0), Some(10.0), Some(5.0)]).expect("drawn");
        assert_eq!(s.line, "M0.0,43.0L150.0,1.0L300.0,22.0");
        assert_eq!(
            s.area,
            "M0.0,44.0L0.0,43.0L150.0,1.0L300.0,22.0L300.0,44.0Z"
        );
    }

    #[test]
    fn gaps_split_the_line_and_lone_points_become_dashes() {
        let s = sparkline(&[Some(4.0), None, Some(4.0), Some(4.0)]).expect("drawn");
        assert_eq!(s.line, "M0.0,1.0L50.0,1.0M200.0,1.0L300.0,1.0");
        assert_eq!(sparkline(&[None, None]), None);
        assert_eq!(sparkline(&[]), None);
    }

    #[test]
    fn path_data_holds_nothing_html_would_escape() {
        let s = sparkline(&[Some(1.0), Some(3.0), None, Some(2.0)]).expect("drawn");
        for text in [&s.line, &s.area] {
            assert!(
                text.chars()
                    .all(|c| c.is_ascii_digit() || ".,MLZ-".contains(c)),
                "{text}"
            );
        }
    }
}
