//! The timeline plot: one row per scheduled task, the last 7 days of executed runs (dots
//! coloured by ClearML status) and the next 7 days of planned runs (ticks), as hand-written
//! SVG. Served to the admin (`/api/instances/{id}/timeline.svg`) and, for embedding in an
//! `<img>` or `<iframe>` anywhere, through a share token (`/embed/{token}/timeline.svg`).

use std::collections::BTreeSet;

use scheduler_core::describe::MONTH_NAMES;
use scheduler_core::markup::Markup;
use scheduler_core::{InstanceConfig, Instant};

use super::dashboard::resolve_share;
use super::http::{self, Answer};
use super::instances::{load, Here};
use crate::store::{ConfigRecord, Docs, Runtime, RUNTIME};

const DAY: i64 = 86_400;
const WIDTH: i64 = 900;
const LEFT: i64 = 170;
const RIGHT: i64 = 880;
const TOP: i64 = 36;
const ROW: i64 = 22;
/// Rows drawn at most; the rest are summed up in one line.
const MAX_ROWS: usize = 40;
/// Fire instants looked at per task (an every-minute task has 10080 in a week).
const MAX_FIRES: usize = 20_000;

pub fn admin(here: &Here<'_>) -> Answer {
    let (record, config) = load(here.docs)?;
    let svg = render_for(here.docs, &record, &config)?;
    Ok(http::text_response(
        200,
        svg,
        "image/svg+xml; charset=utf-8",
    ))
}

pub fn shared(here: &Here<'_>, token: &str) -> Answer {
    let (record, config) = resolve_share(here.docs, token)?;
    let svg = render_for(here.docs, &record, &config)?;
    let mut resp = http::text_response(200, svg, "image/svg+xml; charset=utf-8");
    resp.headers_mut()
        .set("Cache-Control", "public, max-age=60")?;
    Ok(resp)
}

fn render_for(
    docs: &Docs,
    record: &ConfigRecord,
    config: &InstanceConfig,
) -> Result<String, super::http::ApiError> {
    let runtime: Runtime = docs.get(RUNTIME)?.unwrap_or_default();
    Ok(render(config, record.paused, &runtime, http::now()))
}

/// The SVG text. Pure, so it is the same for the admin and the embed.
pub fn render(config: &InstanceConfig, paused: bool, runtime: &Runtime, now: Instant) -> String {
    let start = now.unix_seconds() - 7 * DAY;
    let end = now.unix_seconds() + 7 * DAY;
    let x = |t: i64| LEFT + (t - start) * (RIGHT - LEFT) / (end - start);
    // The first second drawn in column `c` (x's inverse, rounded up).
    let column_start =
        |c: i64| start + ((c - LEFT) * (end - start) + (RIGHT - LEFT) - 1) / (RIGHT - LEFT);
    let tasks = config.scheduled_tasks();
    let shown = tasks.len().min(MAX_ROWS);
    let known: BTreeSet<&str> = tasks.iter().map(|t| t.id()).collect();
    let has_other = runtime
        .runs
        .iter()
        .any(|r| !known.contains(r.item.as_str()) && r.started.unix_seconds() >= start);
    let rows = shown + usize::from(has_other) + usize::from(tasks.len() > shown);
    let plot_bottom = TOP + ROW * rows.max(1) as i64;
    let height = plot_bottom + 44;

    let mut s = Markup::with_capacity(16 * 1024);
    s.lit(r#"<svg xmlns="http://www.w3.org/2000/svg""#)
        .attr("width", WIDTH)
        .attr("height", height)
        .lit(r#" viewBox="0 0 "#)
        .num(WIDTH)
        .lit(" ")
        .num(height)
        .lit(r##"" font-family="system-ui, sans-serif" font-size="11"><title>"##)
        .text(config.name())
        .lit(r##" — runs of the last 7 days and the next 7 days (UTC)</title><rect width="100%" height="100%" fill="#ffffff"/>"##);
    // Day grid: a line and a label at each UTC midnight.
    let mut day = start.div_euclid(DAY) * DAY + DAY;
    while day < end {
        let xd = x(day);
        let (_, m, d, ..) = Instant::from_unix_seconds(day).to_utc();
        s.lit("<line")
            .attr("x1", xd)
            .attr("y1", TOP - 6)
            .attr("x2", xd)
            .attr("y2", plot_bottom)
            .lit(r##" stroke="#e3e3e3"/><text"##)
            .attr("x", xd + 2)
            .attr("y", TOP - 10)
            .lit(r##" fill="#666">"##)
            .text(&MONTH_NAMES[(m as usize).saturating_sub(1) % 12][..3])
            .lit(" ")
            .num(i64::from(d))
            .lit("</text>");
        day += DAY;
    }
    // Rows.
    let row_y = |i: usize| TOP + ROW * i as i64;
    for (i, t) in tasks.iter().take(shown).enumerate() {
        let y = row_y(i);
        let mid = y + ROW / 2;
        s.lit(r#"<rect x="0""#)
            .attr("y", y)
            .attr("width", WIDTH)
            .attr("height", ROW)
            .lit(if i % 2 == 0 {
                r##" fill="#f7f7f9"/>"##
            } else {
                r##" fill="#ffffff"/>"##
            })
            .lit(r#"<text x="6""#)
            .attr("y", mid + 4)
            .lit(if t.enabled() {
                r##" fill="#222">"##
            } else {
                r##" fill="#999">"##
            })
            .text(&clip(t.display_name(), 26))
            .lit("</text>");
        if paused || !t.enabled() {
            continue;
        }
        // Planned runs: one tick per pixel column at most, so once a column has one the search
        // goes on from the next column (an every-minute task costs a search per column, not
        // one per minute of the week).
        let mut columns = BTreeSet::new();
        let mut at = now;
        for _ in 0..MAX_FIRES {
            match t.schedule().next_fire_after(at) {
                Some(f) if f.unix_seconds() <= end => {
                    let c = x(f.unix_seconds());
                    columns.insert(c);
                    at = f.max(Instant::from_unix_seconds(column_start(c + 1) - 1));
                }
                _ => break,
            }
        }
        for c in columns {
            s.lit("<rect")
                .attr("x", c)
                .attr("y", y + 5)
                .lit(r#" width="2""#)
                .attr("height", ROW - 10)
                .lit(r##" fill="#5b6ee1"/>"##);
        }
    }
    if has_other {
        let y = row_y(shown);
        s.lit(r#"<text x="6""#)
            .attr("y", y + ROW / 2 + 4)
            .lit(r##" fill="#999">removed tasks</text>"##);
    }
    if tasks.len() > shown {
        let y = row_y(shown + usize::from(has_other));
        s.lit(r#"<text x="6""#)
            .attr("y", y + ROW / 2 + 4)
            .lit(r##" fill="#999">+"##)
            .num((tasks.len() - shown) as i64)
            .lit(" more tasks</text>");
    }
    // Executed runs: a dot at the slot, coloured by status (the newest per pixel wins).
    let mut dots: std::collections::BTreeMap<(usize, i64), &'static str> =
        std::collections::BTreeMap::new();
    for r in &runtime.runs {
        let t = r.slot.unix_seconds();
        if t < start || t > now.unix_seconds() {
            continue;
        }
        let row = match tasks.iter().position(|task| task.id() == r.item) {
            Some(i) if i < shown => i,
            Some(_) => continue,
            None => shown,
        };
        dots.insert((row, x(t)), status_colour(&r.status));
    }
    for ((row, cx), colour) in dots {
        s.lit("<circle")
            .attr("cx", cx)
            .attr("cy", row_y(row) + ROW / 2)
            .lit(r#" r="4" fill=""#)
            .lit(colour)
            .lit(r#""/>"#);
    }
    // Now, and the legend.
    let xn = x(now.unix_seconds());
    s.lit("<line")
        .attr("x1", xn)
        .attr("y1", TOP - 20)
        .attr("x2", xn)
        .attr("y2", plot_bottom)
        .lit(r##" stroke="#d33" stroke-dasharray="3 2"/><text"##)
        .attr("x", xn + 3)
        .attr("y", TOP - 22)
        .lit(r##" fill="#d33">now</text>"##);
    let ly = plot_bottom + 24;
    let mut lx = LEFT;
    s.lit("<rect")
        .attr("x", lx)
        .attr("y", ly - 10)
        .lit(r##" width="2" height="12" fill="#5b6ee1"/><text"##)
        .attr("x", lx + 6)
        .attr("y", ly)
        .lit(r##" fill="#444">planned</text>"##);
    lx += 70;
    for (label, colour) in LEGEND {
        s.lit("<circle")
            .attr("cx", lx)
            .attr("cy", ly - 4)
            .lit(r#" r="4" fill=""#)
            .lit(colour)
            .lit(r#""/><text"#)
            .attr("x", lx + 8)
            .attr("y", ly)
            .lit(r##" fill="#444">"##)
            .lit(label)
            .lit("</text>");
        lx += 18 + 7 * label.len() as i64;
    }
    if paused {
        s.lit("<text")
            .attr("x", RIGHT - 100)
            .attr("y", ly)
            .lit(r##" fill="#d33">instance paused</text>"##);
    }
    s.lit("</svg>");
    s.into_string()
}

const LEGEND: [(&str, &str); 5] = [
    ("completed", "#2e9e44"),
    ("running", "#2f7ed8"),
    ("queued", "#e8a317"),
    ("failed", "#d33"),
    ("stopped", "#999"),
];

fn status_colour(status: &str) -> &'static str {
    match status {
        "completed" | "published" | "publishing" | "closed" => "#2e9e44",
        "in_progress" => "#2f7ed8",
        "queued" | "created" => "#e8a317",
        "failed" => "#d33",
        _ => "#999",
    }
}

fn clip(s: &str, max: usize) -> String {
    super::truncate(s, max)
}
