//! `s3thaw report JOB --html FILE`: one self-contained HTML page about a job, to open in a
//! browser with no network: the job's card, the timeline of its statuses, its failures by error
//! code (a bar each, with the fix), the first failed tasks, and, for restore jobs, the
//! readiness of its objects per storage class and the calendar of their expiries, drawn as
//! inline SVG. No scripts, no fonts, styles or images from elsewhere.
//!
//! Every value taken from the job or its report (keys, messages, descriptions, bucket names)
//! is escaped: object keys are hostile input. The page is also well-formed XML, so tests (and
//! tools) can parse it strictly.

use std::fmt::Write as _;

use rhai::Map;

use crate::errors::Error;
use crate::formats::report::TaskStatus;
use crate::ops::report::Report;
use crate::ops::restore::{State, Status};
use crate::readiness::thousands;

/// Failed tasks listed on the page (the report file has them all).
pub const MAX_FAILED_ROWS: usize = 100;

/// What the page shows.
pub struct ReportPage<'a> {
    /// The job map, as `batch::describe` gives it.
    pub job: &'a Map,
    /// The completion report, or why it could not be read.
    pub report: Result<&'a Report, &'a Error>,
    /// The readiness of a restore job's objects, or why it could not be read; `None` for jobs
    /// that restore nothing.
    pub readiness: Option<Result<&'a Status, &'a Error>>,
    /// The job's start and tier, to draw when the restores still running are due.
    pub expected: Option<crate::readiness::Expected>,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0 (nor shown by browsers).
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn text(map: &Map, key: &str) -> String {
    match map.get(key) {
        Some(v) if !v.is_unit() => v.to_string(),
        _ => String::new(),
    }
}

fn int(map: &Map, key: &str) -> u64 {
    map.get(key)
        .and_then(|v| v.as_int().ok())
        .map_or(0, |n| n.max(0) as u64)
}

fn sub(map: &Map, key: &str) -> Map {
    map.get(key)
        .and_then(|v| v.read_lock::<Map>().map(|m| m.clone()))
        .unwrap_or_default()
}

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1d232a; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; }
.card { display: grid; grid-template-columns: 10em 1fr; gap: 0.3em 1em; }
.card dt { color: #57606a; }
.card dd { margin: 0; overflow-wrap: anywhere; }
.status { display: inline-block; padding: 0.1em 0.6em; border-radius: 1em; background: #ddf4ff; }
.status.Complete { background: #dafbe1; }
.status.Failed, .status.Cancelled { background: #ffebe9; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.25em 0.6em; border-bottom: 1px solid #eaeef2; vertical-align: top; }
td.key, td.message { overflow-wrap: anywhere; font-family: ui-monospace, monospace; font-size: 0.9em; }
td.n, th.n { text-align: right; }
.note { color: #57606a; }
svg text { font-family: system-ui, sans-serif; font-size: 12px; }
";

/// The page.
pub fn report_page(page: &ReportPage) -> String {
    let job = page.job;
    let id = text(job, "id");
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    let _ = writeln!(out, "<title>s3thaw: job {}</title>", escape(&id));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    let status = text(job, "status");
    let _ = writeln!(
        out,
        "<h1>Job <code>{}</code> <span class=\"status {}\">{}</span></h1>",
        escape(&id),
        escape(&status),
        escape(&status)
    );
    card(&mut out, job);
    timeline(&mut out, job);
    match page.report {
        Ok(report) => failures(&mut out, report, job),
        Err(e) => {
            let _ = writeln!(
                out,
                "<h2>Completion report</h2>\n<p class=\"note\" id=\"no-report\">No report: {}: {}</p>",
                escape(&e.code),
                escape(&e.message)
            );
        }
    }
    match page.readiness {
        Some(Ok(status)) => readiness(&mut out, status, page.expected.as_ref()),
        Some(Err(e)) => {
            let _ = writeln!(
                out,
                "<h2>Readiness</h2>\n<p class=\"note\" id=\"no-readiness\">The objects' readiness could not be read: {}: {}</p>",
                escape(&e.code),
                escape(&e.message)
            );
        }
        None => {}
    }
    out.push_str(
        "<p class=\"note\">Written by s3thaw report --html. Self-contained: no scripts, nothing loaded from the network.</p>\n</body>\n</html>\n",
    );
    out
}

fn card(out: &mut String, job: &Map) {
    let mut rows: Vec<(&str, String)> = Vec::new();
    let op = sub(job, "operation");
    if !op.is_empty() {
        let mut what = text(&op, "operation");
        let tier = text(&op, "tier");
        if !tier.is_empty() {
            let _ = write!(what, ", {tier} tier");
        }
        if let Some(days) = op.get("days").and_then(|d| d.as_int().ok()) {
            let _ = write!(what, ", {days} day(s)");
        }
        rows.push(("operation", what));
    }
    let p = sub(job, "progress");
    rows.push((
        "tasks",
        format!(
            "{} succeeded, {} failed of {}",
            thousands(int(&p, "succeeded")),
            thousands(int(&p, "failed")),
            thousands(int(&p, "total"))
        ),
    ));
    rows.push(("priority", text(job, "priority")));
    rows.push(("created", text(job, "creation_time")));
    rows.push(("ended", text(job, "termination_date")));
    let manifest = sub(job, "manifest");
    if !manifest.is_empty() {
        rows.push((
            "manifest",
            format!(
                "s3://{}/{}",
                text(&manifest, "bucket"),
                text(&manifest, "key")
            ),
        ));
    }
    let report = sub(job, "report");
    if !report.is_empty() {
        rows.push((
            "report",
            format!(
                "s3://{}/{} ({})",
                text(&report, "bucket"),
                text(&report, "prefix"),
                text(&report, "scope")
            ),
        ));
    }
    rows.push(("role", text(job, "role_arn")));
    rows.push(("description", text(job, "description")));
    out.push_str("<h2>Job</h2>\n<dl class=\"card\" id=\"card\">\n");
    for (label, value) in rows.iter().filter(|(_, v)| !v.is_empty()) {
        let _ = writeln!(out, "<dt>{label}</dt><dd>{}</dd>", escape(value));
    }
    out.push_str("</dl>\n");
}

/// The statuses the job is known to have passed through, with their times: created, then the
/// status it is in (ended, or still running), on a line.
fn timeline(out: &mut String, job: &Map) {
    let status = text(job, "status");
    let created = text(job, "creation_time");
    let ended = text(job, "termination_date");
    let mut steps: Vec<(String, String)> = vec![("created (New)".into(), created)];
    if ended.is_empty() {
        steps.push((format!("now {status}"), String::new()));
    } else {
        steps.push((status.clone(), ended));
    }
    let width = 640;
    let gap = (width - 80) / (steps.len().max(2) - 1);
    let _ = writeln!(
        out,
        "<h2>Timeline</h2>\n<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"70\" role=\"img\" aria-label=\"statuses over time\">"
    );
    let _ = writeln!(
        out,
        "<line x1=\"40\" y1=\"25\" x2=\"{}\" y2=\"25\" stroke=\"#8c959f\" stroke-width=\"2\"/>",
        40 + gap * (steps.len() - 1)
    );
    for (i, (label, at)) in steps.iter().enumerate() {
        let x = 40 + gap * i;
        let _ = writeln!(
            out,
            "<g class=\"step\"><circle cx=\"{x}\" cy=\"25\" r=\"6\" fill=\"#0969da\"/><text x=\"{x}\" y=\"50\" text-anchor=\"middle\">{}</text><text x=\"{x}\" y=\"65\" text-anchor=\"middle\" fill=\"#57606a\">{}</text></g>",
            escape(label),
            escape(at)
        );
    }
    out.push_str("</svg>\n");
    let reasons = job
        .get("failure_reasons")
        .and_then(|v| v.read_lock::<rhai::Array>().map(|a| a.clone()))
        .unwrap_or_default();
    if !reasons.is_empty() {
        out.push_str("<ul id=\"failure-reasons\">\n");
        for r in reasons {
            let _ = writeln!(out, "<li>{}</li>", escape(&r.to_string()));
        }
        out.push_str("</ul>\n");
    }
    let reason = text(job, "status_update_reason");
    if !reason.is_empty() {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&reason));
    }
}

fn failures(out: &mut String, report: &Report, job: &Map) {
    let failed = report.count(TaskStatus::Failed);
    let _ = writeln!(
        out,
        "<h2>Completion report</h2>\n<p id=\"summary\">{} tasks: {} succeeded, {} failed.</p>",
        thousands(report.total() as u64),
        thousands(report.count(TaskStatus::Succeeded) as u64),
        thousands(failed as u64)
    );
    let by_error = report.by_error();
    if by_error.is_empty() {
        return;
    }
    let role = text(job, "role_arn");
    let role = (!role.is_empty()).then_some(role.as_str());
    let id = report.job_id().unwrap_or("JOB");
    let most = by_error.values().copied().max().unwrap_or(1).max(1) as f64;
    let row_height = 24;
    let _ = writeln!(
        out,
        "<h3>Failures by error code</h3>\n<svg id=\"failures-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"{}\" role=\"img\" aria-label=\"failed tasks by error code\">",
        by_error.len() * row_height + 4
    );
    for (i, (code, count)) in by_error.iter().enumerate() {
        let y = i * row_height + 2;
        let w = ((*count as f64 / most) * 360.0).max(2.0);
        let _ = writeln!(
            out,
            "<g class=\"bar\"><text x=\"0\" y=\"{}\">{}</text><rect x=\"200\" y=\"{y}\" width=\"{w:.1}\" height=\"18\" fill=\"#cf222e\"/><text x=\"{:.1}\" y=\"{}\">{}</text></g>",
            y + 14,
            escape(code),
            206.0 + w,
            y + 14,
            thousands((*count).max(0) as u64)
        );
    }
    out.push_str("</svg>\n");
    out.push_str(
        "<table id=\"failures\">\n<thead><tr><th>error code</th><th class=\"n\">tasks</th><th>what to do</th></tr></thead>\n<tbody>\n",
    );
    for (code, count) in &by_error {
        let bucket = report.first_bucket_of(code).unwrap_or_default();
        let hint = crate::hints::for_task_cli(code, bucket, role, id).unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(code),
            thousands((*count).max(0) as u64),
            escape(&hint)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    let rows = match report.rows(Some(TaskStatus::Failed), MAX_FAILED_ROWS) {
        Ok(rows) => rows,
        Err(e) => {
            let _ = writeln!(
                out,
                "<p class=\"note\">The failed tasks cannot be read again: {}</p>",
                escape(&e.to_string())
            );
            return;
        }
    };
    let _ = writeln!(
        out,
        "<h3>Failed tasks{}</h3>",
        if failed > rows.len() {
            format!(
                " (the first {} of {})",
                rows.len(),
                thousands(failed as u64)
            )
        } else {
            String::new()
        }
    );
    out.push_str(
        "<table id=\"failed-tasks\">\n<thead><tr><th>bucket</th><th>key</th><th>version</th><th>error code</th><th>message</th></tr></thead>\n<tbody>\n",
    );
    for r in &rows {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"key\">{}</td><td>{}</td><td>{}</td><td class=\"message\">{}</td></tr>",
            escape(&r.bucket),
            escape(&r.key),
            escape(r.version_id.as_deref().unwrap_or("")),
            escape(r.error_code.as_deref().unwrap_or("")),
            escape(&r.message)
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Per storage class, one stacked bar (readable, in progress, not requested, other), and the
/// expiry calendar: restored copies by the UTC day they expire.
fn readiness(out: &mut String, status: &Status, expected: Option<&crate::readiness::Expected>) {
    let by_class = status.by_class();
    let c = &status.counts;
    let _ = writeln!(
        out,
        "<h2>Readiness</h2>\n<p id=\"readiness-summary\">At {}: {} of {} objects readable ({} restored, {} in progress, {} not requested).</p>",
        escape(&crate::timefmt::rfc3339(status.at)),
        thousands(c.restored + c.not_archived),
        thousands(c.total),
        thousands(c.restored),
        thousands(c.in_progress),
        thousands(c.not_requested)
    );
    let row_height = 28;
    let _ = writeln!(
        out,
        "<svg id=\"readiness-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"{}\" role=\"img\" aria-label=\"readiness per storage class\">",
        by_class.len() * row_height + 24
    );
    let parts: [(&str, &str); 4] = [
        ("readable", "#1a7f37"),
        ("in progress", "#bf8700"),
        ("not requested", "#8c959f"),
        ("other", "#d0d7de"),
    ];
    for (i, (class, counts)) in by_class.iter().enumerate() {
        let y = i * row_height + 2;
        let total = counts.total.max(1) as f64;
        let values = [
            counts.restored + counts.not_archived,
            counts.in_progress,
            counts.not_requested,
            counts.missing + counts.unknown,
        ];
        let _ = write!(
            out,
            "<g class=\"class\" data-class=\"{}\"><text x=\"0\" y=\"{}\">{}</text>",
            escape(class),
            y + 15,
            escape(class)
        );
        let mut x = 200.0;
        for ((name, color), n) in parts.iter().zip(values) {
            if n == 0 {
                continue;
            }
            let w = n as f64 / total * 360.0;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"20\" fill=\"{color}\"><title>{} {name}</title></rect>",
                thousands(n)
            );
            x += w;
        }
        let pct = 100.0 * values[0] as f64 / total;
        let _ = writeln!(out, "<text x=\"570\" y=\"{}\">{pct:.0}%</text></g>", y + 15);
    }
    let legend_y = by_class.len() * row_height + 16;
    for (i, (name, color)) in parts.iter().enumerate() {
        let x = 200 + i * 110;
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{}\" y=\"{legend_y}\">{name}</text>",
            legend_y - 9,
            x + 14
        );
    }
    out.push_str("\n</svg>\n");
    let over_time = crate::readiness::readiness_chart(status, expected);
    if !over_time.is_empty() {
        let _ = writeln!(
            out,
            "<h3>Readiness over time</h3>\n<pre id=\"readiness-over-time\">{}</pre>",
            escape(over_time.trim_end())
        );
    }
    expiry_calendar(out, status);
}

fn expiry_calendar(out: &mut String, status: &Status) {
    use std::collections::BTreeMap;
    let mut days: BTreeMap<time::Date, u64> = BTreeMap::new();
    for (state, expiry) in status.states.iter().zip(&status.expiries) {
        if *state == State::Restored
            && let Some(e) = expiry
        {
            *days.entry(e.date()).or_default() += 1;
        }
    }
    if days.is_empty() {
        return;
    }
    let busiest = days.values().copied().max().unwrap_or(1).max(1) as f64;
    let shown: Vec<_> = days.iter().take(31).collect();
    let _ = writeln!(
        out,
        "<h3>Expiry calendar</h3>\n<p class=\"note\">Restored copies by the UTC day they expire: read or copy them before.</p>\n<svg id=\"expiry-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"{}\" role=\"img\" aria-label=\"restored copies by expiry day\">",
        shown.len() * 22 + 4
    );
    for (i, (date, n)) in shown.iter().enumerate() {
        let y = i * 22 + 2;
        let w = (**n as f64 / busiest * 360.0).max(2.0);
        let _ = writeln!(
            out,
            "<g class=\"day\"><text x=\"0\" y=\"{}\">{date} {}</text><rect x=\"200\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"#0969da\"/><text x=\"{:.1}\" y=\"{}\">{}</text></g>",
            y + 13,
            &date.weekday().to_string()[..3],
            206.0 + w,
            y + 13,
            thousands(**n)
        );
    }
    out.push_str("</svg>\n");
    if days.len() > shown.len() {
        let _ = writeln!(
            out,
            "<p class=\"note\">… and {} more days.</p>",
            days.len() - shown.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_quotes_and_control_characters() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\"\u{1}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\u{fffd}"
        );
    }
}
