//! How values look to an operator: maps and arrays pretty-printed, job maps as a status card,
//! lists of jobs and objects as tables, `Report` and `Manifest` values as summaries, long lists
//! cut with a count, and any value as JSON for `--json`.
//!
//! The REPL prints results with [`show`]; `s3thaw jobs` and `s3thaw report` print with the
//! same functions, so a job looks the same everywhere. Nothing here calls a backend.

use std::fmt::Write as _;
use std::io::IsTerminal;

use comfy_table::{ColumnConstraint, ContentArrangement, LineStyle, Table, TableStyle};
use rhai::{Array, Dynamic, Map};
use serde_json::Value as Json;

use crate::formats::report::TaskStatus;
use crate::ops::cost::RestoreEstimate;
use crate::ops::manifest::Manifest;
use crate::ops::report::Report;

/// Rows shown of a long list before the rest is counted.
pub const MAX_ROWS: usize = 20;
/// A map or array printed on one line when it fits in this many characters.
const INLINE_WIDTH: usize = 72;

/// A value's type as a script author names it.
pub fn type_name(value: &Dynamic) -> String {
    let name = value.type_name();
    match name {
        "i64" => "int".into(),
        "f64" => "float".into(),
        "bool" => "bool".into(),
        "string" | "ImmutableString" => "string".into(),
        other => other.rsplit("::").next().unwrap_or(other).to_string(),
    }
}

/// A value as the REPL prints it; empty for `()`.
pub fn show(value: &Dynamic) -> String {
    if value.is_unit() {
        return String::new();
    }
    if value.is_string() {
        return value.to_string();
    }
    if let Some(report) = value.read_lock::<Report>() {
        return report_text(&report, None, false);
    }
    if let Some(manifest) = value.read_lock::<Manifest>() {
        return manifest_text(&manifest);
    }
    if let Some(map) = value.read_lock::<Map>() {
        if is_job(&map) && map.contains_key("manifest") {
            return job_card(&map);
        }
        return literal(value, 0);
    }
    if let Some(items) = value.read_lock::<Array>() {
        return list_text(&items);
    }
    if let Some(blob) = value.read_lock::<rhai::Blob>() {
        return blob_text(&blob);
    }
    literal(value, 0)
}

/// A job map (full or summary): it has an id, a status and task counts.
pub fn is_job(map: &Map) -> bool {
    ["id", "status", "progress", "creation_time"]
        .iter()
        .all(|k| map.contains_key(*k))
}

fn text(map: &Map, key: &str) -> String {
    match map.get(key) {
        Some(v) if !v.is_unit() => v.to_string(),
        _ => String::new(),
    }
}

fn int(map: &Map, key: &str) -> i64 {
    map.get(key).and_then(|v| v.as_int().ok()).unwrap_or(0)
}

/// A count with thousands separators.
fn count(n: i64) -> String {
    crate::readiness::thousands(n.max(0) as u64)
}

fn sub(map: &Map, key: &str) -> Map {
    map.get(key)
        .and_then(|v| v.read_lock::<Map>().map(|m| m.clone()))
        .unwrap_or_default()
}

/// "3 succeeded, 0 failed of 3".
fn progress_text(job: &Map) -> String {
    let p = sub(job, "progress");
    let total = int(&p, "total");
    if total == 0 && int(&p, "succeeded") == 0 {
        return "no tasks yet".into();
    }
    format!(
        "{} succeeded, {} failed of {total}",
        int(&p, "succeeded"),
        int(&p, "failed")
    )
}

/// A job map as a short status card.
pub fn job_card(job: &Map) -> String {
    let mut out = format!(
        "Job {}  {}  (priority {})\n",
        text(job, "id"),
        text(job, "status"),
        int(job, "priority")
    );
    let mut line = |label: &str, value: String| {
        if !value.is_empty() {
            let _ = writeln!(out, "  {label:<12}{value}");
        }
    };
    let op = sub(job, "operation");
    if !op.is_empty() {
        let days = match op.get("days").and_then(|d| d.as_int().ok()) {
            Some(d) => format!(", {d} day(s)"),
            None => String::new(),
        };
        line(
            "operation",
            format!(
                "{}, {} tier{days}",
                text(&op, "operation"),
                text(&op, "tier")
            ),
        );
    }
    line("tasks", progress_text(job));
    line("created", text(job, "creation_time"));
    line("ended", text(job, "termination_date"));
    let manifest = sub(job, "manifest");
    if !manifest.is_empty() {
        line(
            "manifest",
            format!(
                "s3://{}/{}",
                text(&manifest, "bucket"),
                text(&manifest, "key")
            ),
        );
    }
    let generator = sub(job, "manifest_generator");
    if !generator.is_empty() {
        let classes = generator
            .get("storage_classes")
            .and_then(|c| c.read_lock::<Array>().map(|a| a.clone()))
            .map(|a| {
                a.iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        line(
            "manifest",
            format!(
                "generated from s3://{}/{}*{}",
                text(&generator, "source_bucket"),
                text(&generator, "prefix"),
                if classes.is_empty() {
                    String::new()
                } else {
                    format!(" ({classes})")
                }
            ),
        );
    }
    let generated = sub(job, "generated_manifest");
    if !generated.is_empty() {
        line(
            "generated",
            format!(
                "s3://{}/{}",
                text(&generated, "bucket"),
                text(&generated, "key")
            ),
        );
    }
    let report = sub(job, "report");
    if !report.is_empty() {
        let prefix = text(&report, "prefix");
        line(
            "report",
            format!(
                "s3://{}/{} ({})",
                text(&report, "bucket"),
                prefix,
                text(&report, "scope")
            ),
        );
    }
    line("description", text(job, "description"));
    line("reason", text(job, "status_update_reason"));
    if let Some(reasons) = job
        .get("failure_reasons")
        .and_then(|r| r.read_lock::<Array>().map(|a| a.clone()))
    {
        for reason in reasons {
            if let Some(r) = reason.read_lock::<Map>() {
                line(
                    "failure",
                    format!("{}: {}", text(&r, "code"), text(&r, "reason")),
                );
            }
        }
    }
    let tags = sub(job, "tags");
    if !tags.is_empty() {
        let list: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        line("tags", list.join(", "));
    }
    out.trim_end().to_string()
}

/// The house style, as psql draws its tables: a line under the header, nothing else.
const STYLE: TableStyle =
    TableStyle::new().header_separator(LineStyle::none().fill('─').junction('─'));

/// A table as text, without the padding comfy-table leaves at the end of lines.
pub fn table_text(t: &Table) -> String {
    t.lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A value on one line, cut to `width` characters with `…`.
pub fn one_line(value: &Dynamic, width: usize) -> String {
    let text = literal(value, 0)
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .replace(", }", " }")
        .replace(",]", "]")
        .replace("[ ", "[");
    if text.chars().count() > width {
        text.chars()
            .take(width.saturating_sub(1))
            .collect::<String>()
            + "…"
    } else {
        text
    }
}

/// A table in the house style; as wide as the terminal when stdout is one.
pub fn table() -> Table {
    let mut table = Table::new();
    table.load_style(STYLE);
    if std::io::stdout().is_terminal() {
        table.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table.force_no_tty();
        table.set_content_arrangement(ContentArrangement::Disabled);
    }
    table
}

/// "… 12 more (32 in all)" under a list cut at [`MAX_ROWS`].
fn more(total: usize) -> String {
    if total > MAX_ROWS {
        format!("\n… {} more ({total} in all)", total - MAX_ROWS)
    } else {
        String::new()
    }
}

/// The width tables are fitted to: the terminal's, else `COLUMNS`, else 80.
pub fn screen_width() -> usize {
    if std::io::stdout().is_terminal()
        && let Some(w) = Table::new().width()
    {
        return usize::from(w);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|w: &usize| *w >= 20)
        .unwrap_or(80)
}

/// Cuts `text` to `width` characters with `…`.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    text.chars()
        .take(width.saturating_sub(1))
        .collect::<String>()
        + "…"
}

/// Jobs as a table, newest first as `batch::list` returns them. Fitted to the screen (80
/// columns when there is none): ids cut to the 8 characters every command accepts, times to
/// the minute, the description cut to what is left or dropped; `wide` shows everything whole.
pub fn jobs_table(jobs: &[Map], wide: bool) -> String {
    if jobs.is_empty() {
        return "No jobs.".into();
    }
    let rows: Vec<[String; 6]> = jobs
        .iter()
        .take(MAX_ROWS)
        .map(|job| {
            let p = sub(job, "progress");
            let failed = int(&p, "failed");
            let tasks = if wide || failed > 0 {
                format!(
                    "{}/{} ok, {} failed",
                    count(int(&p, "succeeded")),
                    count(int(&p, "total")),
                    count(failed)
                )
            } else {
                format!(
                    "{}/{} ok",
                    count(int(&p, "succeeded")),
                    count(int(&p, "total"))
                )
            };
            let id = text(job, "id");
            let created = text(job, "creation_time");
            [
                if wide {
                    id
                } else {
                    id.chars().take(8).collect()
                },
                text(job, "status"),
                int(job, "priority").to_string(),
                tasks,
                if wide {
                    created
                } else {
                    created
                        .chars()
                        .take(16)
                        .collect::<String>()
                        .replace('T', " ")
                },
                text(job, "description"),
            ]
        })
        .collect();
    let header = ["id", "status", "pri", "tasks", "created", "description"];
    // Each column is its widest cell; columns are 3 apart, with a space at either end.
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let fixed: usize = widths[..5].iter().sum::<usize>() + 3 * 5 + 2;
    let room = screen_width().saturating_sub(fixed);
    let show_description = wide || room >= 12;
    let mut t = table();
    if show_description {
        t.set_header(header);
    } else {
        t.set_header(&header[..5]);
    }
    for r in rows {
        let mut cells: Vec<String> = r[..5].to_vec();
        if show_description {
            cells.push(if wide { r[5].clone() } else { cut(&r[5], room) });
        }
        t.add_row(cells);
    }
    // Ids are copied whole into the next command: never wrap them.
    if let Some(id) = t.column_mut(0) {
        id.set_constraint(ColumnConstraint::ContentWidth);
    }
    let mut out = format!("{}{}", table_text(&t), more(jobs.len()));
    if !wide {
        out.push_str(
            "\n(ids cut to 8 characters, which every command accepts; --wide shows them whole)",
        );
    }
    out
}

/// The columns a list of maps is shown with: the keys people look for first, then the rest.
fn columns(items: &[Map]) -> Vec<String> {
    const FIRST: &[&str] = &["name", "bucket", "key", "size", "storage_class", "status"];
    let mut keys: Vec<String> = Vec::new();
    for item in items.iter().take(MAX_ROWS) {
        for k in item.keys() {
            if !keys.iter().any(|c| c == k.as_str()) {
                keys.push(k.to_string());
            }
        }
    }
    keys.sort_by_key(|k| FIRST.iter().position(|f| f == k).unwrap_or(FIRST.len()));
    keys
}

/// Maps of one shape (objects, buckets, rows) as a table.
pub fn records_table(items: &[Map]) -> String {
    let cols = columns(items);
    let mut t = table();
    t.set_header(cols.clone());
    for item in items.iter().take(MAX_ROWS) {
        t.add_row(cols.iter().map(|c| match item.get(c.as_str()) {
            None => String::new(),
            Some(v) if v.is_unit() => String::new(),
            Some(v) if v.is_string() => v.to_string(),
            Some(v) => literal(v, 0),
        }));
    }
    format!("{}{}", table_text(&t), more(items.len()))
}

/// An array: jobs and other maps of one shape as tables, the rest as a literal.
fn list_text(items: &Array) -> String {
    if items.is_empty() {
        return "[]".into();
    }
    let maps: Option<Vec<Map>> = items
        .iter()
        .map(|v| v.read_lock::<Map>().map(|m| m.clone()))
        .collect();
    if let Some(maps) = maps {
        if maps.iter().all(is_job) {
            return jobs_table(&maps, true);
        }
        let first: Vec<&str> = maps[0].keys().map(|k| k.as_str()).collect();
        let uniform = maps
            .iter()
            .all(|m| m.len() == first.len() && m.keys().all(|k| first.contains(&k.as_str())));
        let flat = maps
            .iter()
            .all(|m| m.values().all(|v| !v.is_map() && !v.is_array()));
        if uniform && flat {
            return records_table(&maps);
        }
    }
    literal(&Dynamic::from_array(items.clone()), 0)
}

fn blob_text(blob: &[u8]) -> String {
    let preview: String = match std::str::from_utf8(blob) {
        Ok(text) => format!("{:?}", text.chars().take(60).collect::<String>()),
        Err(_) => blob.iter().take(24).map(|b| format!("{b:02x}")).collect(),
    };
    format!(
        "blob of {} bytes: {preview}{}",
        blob.len(),
        if blob.len() > 60 { "…" } else { "" }
    )
}

/// A key of a map literal: bare when it is an identifier.
fn key_literal(key: &str) -> String {
    let ident = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// A value as Rhai literal syntax, indented, one line when short; long arrays are cut.
pub fn literal(value: &Dynamic, indent: usize) -> String {
    if value.is_unit() {
        return "()".into();
    }
    if value.is_string() {
        return format!("{:?}", value.to_string());
    }
    if let Some(map) = value.read_lock::<Map>() {
        if map.is_empty() {
            return "#{}".into();
        }
        let parts: Vec<String> = map
            .iter()
            .map(|(k, v)| format!("{}: {}", key_literal(k), literal(v, indent + 2)))
            .collect();
        return block("#{", "}", &parts, indent, None);
    }
    if let Some(items) = value.read_lock::<Array>() {
        if items.is_empty() {
            return "[]".into();
        }
        let parts: Vec<String> = items
            .iter()
            .take(MAX_ROWS * 5)
            .map(|v| literal(v, indent + 2))
            .collect();
        let cut = (items.len() > parts.len()).then(|| items.len());
        return block("[", "]", &parts, indent, cut);
    }
    if let Some(report) = value.read_lock::<Report>() {
        return report
            .summary()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
    }
    if let Some(manifest) = value.read_lock::<Manifest>() {
        return format!("a manifest of {}", manifest.describe());
    }
    if let Some(blob) = value.read_lock::<rhai::Blob>() {
        return blob_text(&blob);
    }
    value.to_string()
}

fn block(open: &str, close: &str, parts: &[String], indent: usize, cut: Option<usize>) -> String {
    let one_line = format!(
        "{open}{}{close}",
        if open == "#{" {
            format!(" {} ", parts.join(", "))
        } else {
            parts.join(", ")
        }
    );
    if cut.is_none() && one_line.len() + indent <= INLINE_WIDTH && !one_line.contains('\n') {
        return one_line;
    }
    let pad = " ".repeat(indent + 2);
    let mut out = format!("{open}\n");
    for p in parts {
        let _ = writeln!(out, "{pad}{p},");
    }
    if let Some(total) = cut {
        let _ = writeln!(
            out,
            "{pad}// … {} more ({total} in all)",
            total - parts.len()
        );
    }
    out.push_str(&" ".repeat(indent));
    out.push_str(close);
    out
}

/// A completion report: counts, failures by error code with a hint each, and the first failed
/// tasks. `role_arn` (the job's role) makes the permission hints exact; `cli` words the hints
/// as commands to type (`s3thaw report`) instead of script calls.
pub fn report_text(report: &Report, role_arn: Option<&str>, cli: bool) -> String {
    let mut out = report
        .summary()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let by_error = report.by_error();
    if by_error.is_empty() {
        return out;
    }
    let mut t = table();
    t.set_header(["error code", "tasks", "hint"]);
    for (code, count) in &by_error {
        let bucket = report.first_bucket_of(code).unwrap_or_default();
        t.add_row([
            code.clone(),
            count.to_string(),
            if cli {
                crate::hints::for_task_cli(code, bucket, role_arn, report.job_id().unwrap_or("JOB"))
            } else {
                crate::hints::for_task(code, bucket, role_arn)
            }
            .unwrap_or_default(),
        ]);
    }
    let _ = write!(out, "\n\n{}", table_text(&t));
    let mut rows = table();
    rows.set_header(["bucket", "key", "error code", "message"]);
    // The first failed tasks, streamed from the report (which keeps no parsed rows).
    let failed = match report.rows(Some(TaskStatus::Failed), MAX_ROWS) {
        Ok(rows) => rows,
        Err(e) => {
            let _ = write!(out, "\n\nFailed tasks: cannot read them again: {e}");
            return out;
        }
    };
    for r in &failed {
        rows.add_row([
            r.bucket.clone(),
            r.key.clone(),
            r.error_code.clone().unwrap_or_default(),
            r.message.clone(),
        ]);
    }
    let _ = write!(
        out,
        "\n\nFailed tasks:\n{}{}",
        table_text(&rows),
        more(report.count(TaskStatus::Failed))
    );
    out
}

pub use crate::pricing::usd;

/// Hours as a range people plan with: `5-12 h`, `1 min-5 h`, `24-48 h`.
fn window_text(low: std::time::Duration, high: std::time::Duration) -> String {
    let part = |d: std::time::Duration| {
        let s = d.as_secs();
        if s < 3600 {
            format!("{} min", s / 60)
        } else {
            format!("{} h", s / 3600)
        }
    };
    let (l, h) = (part(low), part(high));
    match (l.strip_suffix(" h"), h.strip_suffix(" h")) {
        (Some(l), Some(h)) => format!("{l}-{h} h"),
        _ => format!("{l}-{h}"),
    }
}

/// An estimate as a table, one line per archive class plus the fees, the total and the notes;
/// it answers "by when" too: how long each class takes to be readable with this tier (the
/// restore windows of `backend::restore_window`) and when the restored copies expire.
pub fn estimate_text(e: &RestoreEstimate) -> String {
    let from_batch = e.method == crate::ops::cost::Method::Batch;
    let mut table = table();
    table.set_header([
        "",
        "objects",
        "GB",
        "retrieval",
        "requests",
        "restored copy",
        "readable in",
    ]);
    let mut slowest = std::time::Duration::ZERO;
    for (class, c) in &e.by_class {
        let deep = class.contains("DEEP_ARCHIVE");
        let (low, high) = crate::backend::restore_window(deep, e.tier, from_batch);
        slowest = slowest.max(high);
        table.add_row([
            class.clone(),
            crate::readiness::thousands(c.objects),
            format!("{:.2}", c.bytes as f64 / (1u64 << 30) as f64),
            usd(c.retrieval_usd),
            usd(c.request_usd),
            usd(c.restored_storage_usd),
            window_text(low, high),
        ]);
    }
    let mut text = format!(
        "Restore estimate, {} tier, {} day(s), {}:\n{table}\n",
        e.tier,
        e.days,
        objects_text(e.objects)
    );
    if e.batch_usd > 0.0 {
        text.push_str(&format!("Batch Operations fees: {}\n", usd(e.batch_usd)));
    }
    if let Some(c) = &e.copy {
        text.push_str(&format!(
            "Copy to {} (kept once the restored copies expire): {} requests{}, then {} a month of storage\n",
            c.storage_class,
            usd(c.request_usd),
            if c.batch_usd > 0.0 {
                format!(" and {} job fees", usd(c.batch_usd))
            } else {
                String::new()
            },
            usd(c.storage_usd_per_month)
        ));
        text.push_str(&format!(
            "Total: {} (the restore {}, the copy and its first month {})\n",
            usd(e.total_usd),
            usd(e.total_usd - c.total_usd()),
            usd(c.total_usd())
        ));
    } else {
        text.push_str(&format!("Total: {}\n", usd(e.total_usd)));
    }
    if !e.by_class.is_empty() {
        let within = window_text(slowest, slowest);
        let within = within.split('-').next_back().unwrap_or_default();
        text.push_str(&format!(
            "By when: every object readable within {within} of the start; each restored copy then lives {} day(s), so the last copies expire about {} after the start.\n",
            e.days,
            crate::timefmt::human_duration((slowest.as_secs() + u64::from(e.days) * 86_400) as f64),
        ));
    }
    if let Some(t) = &e.tracking {
        text.push_str(&format!(
            "Tracking until readable (restore::wait): about {} LIST requests ({} a pass, a pass an hour for {} h, a page a poll between), {}; no HEAD per object.\n",
            crate::readiness::thousands(t.list_requests),
            crate::readiness::thousands(t.pages_per_pass),
            t.passes.saturating_sub(1),
            usd(t.usd)
        ));
    }
    for note in &e.notes {
        text.push_str(&format!("  - {note}\n"));
    }
    text
}

fn objects_text(n: u64) -> String {
    format!(
        "{} object{}",
        crate::readiness::thousands(n),
        if n == 1 { "" } else { "s" }
    )
}

/// Estimates of the same objects with different tiers, side by side in one table: per tier
/// the cost, how long each archive class takes to be readable, and when the restored copies
/// expire (from the start), then the notes they share.
pub fn tiers_text(estimates: &[RestoreEstimate]) -> String {
    let mut classes: Vec<&String> = estimates.iter().flat_map(|e| e.by_class.keys()).collect();
    classes.sort();
    classes.dedup();
    let mut t = table();
    let mut header = vec!["tier".to_string(), "cost".to_string()];
    header.extend(classes.iter().map(|c| format!("{c} readable in")));
    header.push("copies expire after".into());
    t.set_header(header);
    for e in estimates {
        let mut row = vec![e.tier.to_string(), usd(e.total_usd)];
        for class in &classes {
            row.push(match e.by_class.get(*class) {
                Some(_) => {
                    let (low, high) = crate::backend::restore_window(
                        class.contains("DEEP_ARCHIVE"),
                        e.tier,
                        e.method == crate::ops::cost::Method::Batch,
                    );
                    window_text(low, high)
                }
                None if class.contains("DEEP_ARCHIVE")
                    && e.tier == crate::backend::Tier::Expedited =>
                {
                    "not possible".into()
                }
                None => "-".into(),
            });
        }
        let slowest = e.slowest();
        row.push(if e.by_class.is_empty() {
            "-".into()
        } else {
            let first = crate::timefmt::human_duration((u64::from(e.days) * 86_400) as f64);
            let last = crate::timefmt::human_duration(
                (slowest.as_secs() + u64::from(e.days) * 86_400) as f64,
            );
            if first == last {
                first
            } else {
                format!("{first}-{last}")
            }
        });
        t.add_row(row);
    }
    let mut out = table_text(&t);
    out.push('\n');
    if let Some(first) = estimates.first() {
        if first.method == crate::ops::cost::Method::Batch
            || estimates
                .iter()
                .any(|e| e.method == crate::ops::cost::Method::Batch)
        {
            out.push_str("Costs include Batch Operations fees where a job restores (not EXPEDITED: client-side restores).\n");
        }
        for note in &first.notes {
            if note.contains("cannot be restored with EXPEDITED") {
                continue;
            }
            out.push_str(&format!("  - {note}\n"));
        }
    }
    out
}

/// A manifest: its size and first rows.
pub fn manifest_text(m: &Manifest) -> String {
    let mut out = format!("A manifest of {}", m.describe());
    if m.is_empty() {
        return out;
    }
    let mut t = table();
    if m.has_versions() {
        t.set_header(["bucket", "key", "version_id"]);
    } else {
        t.set_header(["bucket", "key"]);
    }
    for row in m.iter().take(MAX_ROWS) {
        let mut cells = vec![row.bucket.to_string(), row.key.to_string()];
        if let Some(v) = row.version_id {
            cells.push(v.to_string());
        }
        t.add_row(cells);
    }
    let _ = write!(out, "\n{}{}", table_text(&t), more(m.len()));
    out
}

/// Any script value as JSON: maps and arrays as they are, `()` as null, blobs as byte arrays,
/// `Report` and `Manifest` as their counts.
pub fn to_json(value: &Dynamic) -> Json {
    if value.is_unit() {
        return Json::Null;
    }
    if let Ok(b) = value.as_bool() {
        return Json::Bool(b);
    }
    if let Ok(i) = value.as_int() {
        return Json::from(i);
    }
    if let Ok(f) = value.as_float() {
        return serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number);
    }
    if value.is_string() {
        return Json::String(value.to_string());
    }
    if let Some(map) = value.read_lock::<Map>() {
        return Json::Object(
            map.iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        );
    }
    if let Some(items) = value.read_lock::<Array>() {
        return Json::Array(items.iter().map(to_json).collect());
    }
    if let Some(blob) = value.read_lock::<rhai::Blob>() {
        return Json::Array(blob.iter().map(|b| Json::from(*b)).collect());
    }
    if let Some(report) = value.read_lock::<Report>() {
        return serde_json::json!({
            "job_id": report.job_id(),
            "total": report.total(),
            "succeeded": report.count(TaskStatus::Succeeded),
            "failed": report.count(TaskStatus::Failed),
            "by_error": report.by_error(),
        });
    }
    if let Some(manifest) = value.read_lock::<Manifest>() {
        return serde_json::json!({
            "objects": manifest.len(),
            "has_versions": manifest.has_versions(),
        });
    }
    Json::String(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(script: &str) -> Dynamic {
        let engine = crate::engine::new_engine();
        engine.eval::<Dynamic>(script).expect("script")
    }

    #[test]
    fn short_values_stay_on_one_line_and_long_ones_are_indented() {
        assert_eq!(
            show(&eval(r#"#{ a: 1, b: "x", c: () }"#)),
            r#"#{ a: 1, b: "x", c: () }"#
        );
        let long = show(&eval(
            r#"#{ bucket: "a-rather-long-bucket-name", key: "a/long/key/name.txt", restore: #{ ongoing: true, expiry: () } }"#,
        ));
        assert_eq!(
            long,
            "#{\n  bucket: \"a-rather-long-bucket-name\",\n  key: \"a/long/key/name.txt\",\n  restore: #{ expiry: (), ongoing: true },\n}"
        );
        assert_eq!(
            show(&eval(r#"#{ "with space": 1 }"#)),
            r#"#{ "with space": 1 }"#
        );
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let text = show(&eval("let a = []; for i in 0..250 { a.push(i); } a"));
        assert!(text.contains("// … 150 more (250 in all)"), "{text}");
        let rows = show(&eval(
            r#"let a = []; for i in 0..25 { a.push(#{ key: `k${i}`, size: i }); } a"#,
        ));
        assert!(rows.contains("k19") && !rows.contains("k20"), "{rows}");
        assert!(rows.ends_with("… 5 more (25 in all)"), "{rows}");
    }

    #[test]
    fn a_generator_jobs_card_says_where_its_manifest_comes_from() {
        let job = eval(
            r#"#{ id: "j", status: "Complete", priority: 10, manifest: (),
                manifest_generator: #{ source_bucket: "arch", prefix: "2019/", storage_classes: ["GLACIER", "DEEP_ARCHIVE"] },
                generated_manifest: #{ bucket: "out", key: "gen/job-j/manifest.json" } }"#,
        )
        .cast::<Map>();
        let card = job_card(&job);
        assert!(
            card.contains("manifest    generated from s3://arch/2019/* (GLACIER, DEEP_ARCHIVE)"),
            "{card}"
        );
        assert!(
            card.contains("generated   s3://out/gen/job-j/manifest.json"),
            "{card}"
        );
    }

    #[test]
    fn json_keeps_types() {
        let v = to_json(&eval(r#"#{ n: 1, f: 0.5, s: "x", u: (), l: [true] }"#));
        assert_eq!(
            v.to_string(),
            r#"{"f":0.5,"l":[true],"n":1,"s":"x","u":null}"#
        );
    }
}
