//! How a restore's readiness looks to people and to programs: the terminal view of
//! `s3thaw status` (counts per storage class with bars, the earliest expiry, the next expected
//! completion on a virtual clock), and its JSON and CSV forms.
//!
//! It renders an [`ops::restore::Status`](crate::ops::restore::Status); it reads nothing itself.

use std::fmt::Write as _;

use serde_json::{Value as Json, json};
use time::OffsetDateTime;

use crate::ops::manifest::Manifest;
use crate::ops::restore::{Counts, State, Status};
use crate::timefmt::rfc3339;

/// Width of a bar, in cells.
const BAR: usize = 24;

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "1,313 restored, 1,687 in progress": the non-zero counts, as people read them.
fn describe(c: &Counts) -> String {
    c.describe()
}

/// A bar of `total` cells: readable objects `█`, in progress `▒`, the rest `·`.
fn bar(c: &Counts) -> String {
    let total = c.total.max(1) as f64;
    let cells = |n: u64| ((n as f64 / total) * BAR as f64).round() as usize;
    let readable = cells(c.restored + c.not_archived).min(BAR);
    let progress = cells(c.in_progress).min(BAR - readable);
    format!(
        "{}{}{}",
        "█".repeat(readable),
        "▒".repeat(progress),
        "·".repeat(BAR - readable - progress)
    )
}

/// "in 2d 4h" / "3h ago": how far `t` is from `now`.
fn relative(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let d = t - now;
    let text = crate::timefmt::human_duration(d.abs().as_seconds_f64());
    if d.is_negative() {
        format!("{text} ago")
    } else {
        format!("in {text}")
    }
}

/// Days the expiry calendar shows before it sums up the rest.
const CALENDAR_DAYS: usize = 14;

/// The expiry calendar: restored copies by the UTC day they expire, one bar per day scaled to
/// the busiest day, with the count per storage class. Empty when nothing has an expiry.
pub fn expiry_calendar(status: &Status) -> String {
    use std::collections::BTreeMap;
    let mut days: BTreeMap<time::Date, BTreeMap<&'static str, u64>> = BTreeMap::new();
    for (i, expiry) in status.expiries.iter().enumerate() {
        let Some(expiry) = expiry else { continue };
        if status.states.get(i) != Some(&State::Restored) {
            continue;
        }
        let class = status
            .classes
            .get(i)
            .copied()
            .flatten()
            .map_or("?", |c| c.as_str());
        *days
            .entry(expiry.date())
            .or_default()
            .entry(class)
            .or_default() += 1;
    }
    if days.is_empty() {
        return String::new();
    }
    let busiest = days
        .values()
        .map(|c| c.values().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let mut out =
        String::from("  expiry calendar (restored copies by the day they expire, UTC):\n");
    for (date, classes) in days.iter().take(CALENDAR_DAYS) {
        let n: u64 = classes.values().sum();
        let cells = ((n as f64 / busiest as f64) * BAR as f64).ceil() as usize;
        let by_class: Vec<String> = classes
            .iter()
            .map(|(c, k)| format!("{c} {}", thousands(*k)))
            .collect();
        let _ = writeln!(
            out,
            "    {date} {:<3}  {:<BAR$}  {:>9}  {}",
            &date.weekday().to_string()[..3],
            "█".repeat(cells.clamp(1, BAR)),
            thousands(n),
            by_class.join(", ")
        );
    }
    if days.len() > CALENDAR_DAYS {
        let rest: u64 = days
            .values()
            .skip(CALENDAR_DAYS)
            .map(|c| c.values().sum::<u64>())
            .sum();
        let _ = writeln!(
            out,
            "    … {} more on {} later days",
            thousands(rest),
            days.len() - CALENDAR_DAYS
        );
    }
    out
}

/// What is known of the restores still running: when the job that started them began, and
/// its tier. With it the readiness chart draws when the rest is expected (SEMANTICS.md's
/// windows, `backend::restore_window`).
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    pub start: OffsetDateTime,
    pub tier: crate::backend::Tier,
    pub from_batch: bool,
}

/// Cells of the readiness chart's time axis.
const CHART: usize = 24;

/// The share of a class readable by a time: ' ' for none, then eighths.
fn level(share: f64) -> char {
    const LEVELS: [char; 9] = ['·', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if share <= 0.0 {
        return LEVELS[0];
    }
    LEVELS[((share * 8.0).ceil() as usize).clamp(1, 8)]
}

/// Readiness over time per storage class: one row per class, the share of its objects
/// readable at each step from the first read (or the job's start) to now, from when each
/// object was first seen readable (`Status::readable_at`), and, with `expected`, on to when
/// the restores still running are due at the latest. Empty when there is no time to show
/// (one read and nothing expected).
pub fn readiness_chart(status: &Status, expected: Option<&Expected>) -> String {
    use std::collections::BTreeMap;
    struct Class {
        total: u64,
        always: u64,
        readable: Vec<OffsetDateTime>,
        in_progress: u64,
        deep: bool,
    }
    let mut classes: BTreeMap<&'static str, Class> = BTreeMap::new();
    for (i, state) in status.states.iter().enumerate() {
        let class = status.classes.get(i).copied().flatten();
        let entry = classes
            .entry(class.map_or("unknown", |c| c.as_str()))
            .or_insert(Class {
                total: 0,
                always: 0,
                readable: Vec::new(),
                in_progress: 0,
                deep: false,
            });
        entry.total += 1;
        entry.deep |= class.is_some_and(|c| crate::backend::is_deep(c, None));
        match state {
            State::NotArchived => entry.always += 1,
            State::Restored => entry
                .readable
                .push(status.readable_at[i].unwrap_or(status.at).min(status.at)),
            State::InProgress => entry.in_progress += 1,
            _ => {}
        }
    }
    // Each running restore is due within its class's window from the job's start.
    let window = |c: &Class| {
        expected.map(|e| {
            let (low, high) = crate::backend::restore_window(c.deep, e.tier, e.from_batch);
            (e.start + low, e.start + high)
        })
    };
    let mut t0 = status.at;
    let mut t1 = status.at;
    for c in classes.values() {
        if let Some(first) = c.readable.iter().min() {
            t0 = t0.min(*first);
        }
        if c.in_progress > 0
            && let Some((_, high)) = window(c)
        {
            t1 = t1.max(high);
        }
    }
    if let Some(e) = expected {
        t0 = t0.min(e.start);
    }
    let span = (t1 - t0).as_seconds_f64();
    if span < 60.0 || classes.is_empty() {
        return String::new();
    }
    let step = span / CHART as f64;
    let at_cell = (((status.at - t0).as_seconds_f64() / step).round() as usize).min(CHART);
    let width = classes.keys().map(|k| k.len()).max().unwrap_or(7).max(7);
    let mut out = format!(
        "  readiness over time (share of each class readable), {} to {}:\n",
        rfc3339(t0),
        rfc3339(t1),
    );
    if let Some(e) = expected
        && t1 > status.at
    {
        let _ = writeln!(
            out,
            "  (│ is now; after it, the restores still running, due within the {} window)",
            e.tier
        );
    }
    // Before the first read nothing was seen: blank, not "none readable".
    let first_read = classes
        .values()
        .filter_map(|c| c.readable.iter().min())
        .min()
        .copied()
        .unwrap_or(status.at);
    for (name, c) in &classes {
        let total = c.total.max(1) as f64;
        let mut row = String::new();
        for cell in 0..CHART {
            if cell == at_cell && at_cell < CHART && t1 > status.at {
                row.push('│');
            }
            let t = t0 + time::Duration::seconds_f64(step * (cell + 1) as f64);
            if t < first_read && c.always == 0 {
                row.push(' ');
                continue;
            }
            let seen = c
                .readable
                .iter()
                .filter(|r| **r <= t.min(status.at))
                .count() as u64;
            let mut readable = (c.always + seen) as f64;
            if t > status.at
                && c.in_progress > 0
                && let Some((low, high)) = window(c)
            {
                let from = low.max(status.at);
                let share = if t >= high {
                    1.0
                } else if t <= from || high <= from {
                    0.0
                } else {
                    (t - from).as_seconds_f64() / (high - from).as_seconds_f64()
                };
                readable += c.in_progress as f64 * share;
            }
            row.push(level(readable / total));
        }
        let now_share = 100.0 * (c.always + c.readable.len() as u64) as f64 / total;
        let due = match window(c) {
            Some((_, high)) if c.in_progress > 0 => {
                format!("  due {}", rfc3339(high))
            }
            _ if c.in_progress > 0 => {
                format!("  {} still being restored", thousands(c.in_progress))
            }
            _ => String::new(),
        };
        let _ = writeln!(out, "    {name:<width$}  {row}  {now_share:>5.1}% now{due}");
    }
    out
}

/// The terminal view: a header, one line per storage class, the earliest expiry, the next
/// expected change (`next`, on a virtual clock), and a verdict line.
pub fn text(what: &str, status: &Status, next: Option<OffsetDateTime>) -> String {
    text_expecting(what, status, next, None)
}

/// [`text`], with the readiness chart drawn on to when the restores still running are due.
pub fn text_expecting(
    what: &str,
    status: &Status,
    next: Option<OffsetDateTime>,
    expected: Option<&Expected>,
) -> String {
    let c = &status.counts;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{what}: {} objects at {}",
        thousands(c.total),
        rfc3339(status.at)
    );
    let by_class = status.by_class();
    let width = by_class.keys().map(|k| k.len()).max().unwrap_or(7).max(7);
    for (class, counts) in &by_class {
        let readable = counts.restored + counts.not_archived;
        let pct = if counts.total == 0 {
            0.0
        } else {
            100.0 * readable as f64 / counts.total as f64
        };
        let _ = writeln!(
            out,
            "  {class:<width$} {:>11}  {}  {pct:>5.1}% readable  ({})",
            thousands(counts.total),
            bar(counts),
            describe(counts)
        );
    }
    match status.earliest_expiry {
        Some(e) => {
            let _ = writeln!(
                out,
                "  earliest expiry {} ({})",
                rfc3339(e),
                relative(e, status.at)
            );
        }
        None if c.restored > 0 => {
            let _ = writeln!(out, "  restored copies do not expire (Intelligent-Tiering)");
        }
        None => {}
    }
    out.push_str(&readiness_chart(status, expected));
    out.push_str(&expiry_calendar(status));
    if let Some(n) = next
        && c.in_progress > 0
    {
        let _ = writeln!(
            out,
            "  next change {} ({}, simulated clock)",
            rfc3339(n),
            relative(n, status.at)
        );
    }
    let _ = writeln!(
        out,
        "  requests: {} listing, {} HEAD",
        thousands(status.requests.list),
        thousands(status.requests.head)
    );
    let verdict = if status.complete() {
        format!(
            "Ready: every archived object is readable ({}).",
            describe(c)
        )
    } else {
        format!("Not ready: {}.", describe(c))
    };
    let _ = writeln!(out, "{verdict}");
    out
}

fn counts_json(c: &Counts) -> Json {
    let mut map = serde_json::Map::new();
    map.insert("total".into(), c.total.into());
    for s in State::ALL {
        map.insert(s.name().into(), c.get(s).into());
    }
    Json::Object(map)
}

/// The status as JSON: the counts, `by_class`, `earliest_expiry`, `requests`, `complete`,
/// `at`, `next_change` and, with `detail`, `objects` (one per manifest row).
pub fn json(m: &Manifest, status: &Status, next: Option<OffsetDateTime>, detail: bool) -> Json {
    let mut out = counts_json(&status.counts);
    let by_class: serde_json::Map<String, Json> = status
        .by_class()
        .iter()
        .map(|(k, v)| (k.clone(), counts_json(v)))
        .collect();
    let obj = out.as_object_mut().expect("an object");
    obj.insert("by_class".into(), Json::Object(by_class));
    obj.insert(
        "earliest_expiry".into(),
        status.earliest_expiry.map(rfc3339).into(),
    );
    obj.insert(
        "requests".into(),
        json!({ "list": status.requests.list, "head": status.requests.head }),
    );
    obj.insert("complete".into(), status.complete().into());
    obj.insert("at".into(), rfc3339(status.at).into());
    obj.insert("next_change".into(), next.map(rfc3339).into());
    if detail {
        let rows: Vec<Json> = (0..m.len())
            .map(|i| {
                let row = m.row(i);
                json!({
                    "bucket": row.bucket,
                    "key": row.key,
                    "version_id": row.version_id,
                    "state": status.states[i].name(),
                    "storage_class": status.classes[i].map(|c| c.as_str()),
                    "expiry": status.expiries[i].map(rfc3339),
                })
            })
            .collect();
        obj.insert("objects".into(), rows.into());
    }
    out
}

/// One CSV row per manifest row: `bucket,key,version_id,state,storage_class,expiry`, with a
/// header line; fields quoted as CSV needs.
pub fn csv(m: &Manifest, status: &Status) -> crate::errors::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| crate::errors::Error::internal(format!("writing CSV: {e}"));
    w.write_record([
        "bucket",
        "key",
        "version_id",
        "state",
        "storage_class",
        "expiry",
    ])
    .map_err(fail)?;
    for i in 0..m.len() {
        let row = m.row(i);
        let expiry = status.expiries[i].map(rfc3339).unwrap_or_default();
        w.write_record([
            row.bucket,
            row.key,
            row.version_id.unwrap_or(""),
            status.states[i].name(),
            status.classes[i].map_or("", |c| c.as_str()),
            expiry.as_str(),
        ])
        .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| crate::errors::Error::internal(format!("writing CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn bars_show_readable_progress_and_the_rest() {
        let mut c = Counts::default();
        for _ in 0..50 {
            c.add(State::Restored);
        }
        for _ in 0..25 {
            c.add(State::InProgress);
        }
        for _ in 0..25 {
            c.add(State::NotRequested);
        }
        let b = bar(&c);
        assert_eq!(b.chars().count(), BAR);
        assert_eq!(b.chars().filter(|c| *c == '█').count(), 12);
        assert_eq!(b.chars().filter(|c| *c == '▒').count(), 6);
    }

    #[test]
    fn the_expiry_calendar_counts_restored_copies_by_day_and_class() {
        use crate::backend::StorageClass;
        use time::macros::datetime;
        let at = datetime!(2026-12-01 10:00 UTC);
        let status = Status {
            counts: Counts::default(),
            earliest_expiry: None,
            requests: Default::default(),
            at,
            states: vec![
                State::Restored,
                State::Restored,
                State::Restored,
                State::InProgress,
            ],
            expiries: vec![
                Some(datetime!(2026-12-03 00:00 UTC)),
                Some(datetime!(2026-12-03 00:00 UTC)),
                Some(datetime!(2026-12-05 00:00 UTC)),
                None,
            ],
            classes: vec![
                Some(StorageClass::Glacier),
                Some(StorageClass::DeepArchive),
                Some(StorageClass::Glacier),
                Some(StorageClass::Glacier),
            ],
            readable_at: vec![None; 4],
        };
        let cal = expiry_calendar(&status);
        let lines: Vec<&str> = cal.lines().collect();
        assert_eq!(lines.len(), 3, "{cal}");
        assert!(
            lines[1].contains("2026-12-03 Thu") && lines[1].contains("DEEP_ARCHIVE 1, GLACIER 1"),
            "{cal}"
        );
        assert_eq!(lines[1].matches('█').count(), BAR, "{cal}");
        assert_eq!(lines[2].matches('█').count(), BAR / 2, "{cal}");
        assert!(
            expiry_calendar(&Status {
                states: vec![State::InProgress; 4],
                ..status
            })
            .is_empty()
        );
    }

    #[test]
    fn the_readiness_chart_draws_what_was_seen_and_what_is_due() {
        use crate::backend::{StorageClass, Tier};
        use time::macros::datetime;
        let start = datetime!(2026-12-01 00:00 UTC);
        let at = datetime!(2026-12-01 12:00 UTC);
        // Four GLACIER objects seen readable at 6h, 6h, 12h and 12h; two DEEP_ARCHIVE ones
        // still being restored by a BULK job started at 0h (due by 48h).
        let status = Status {
            counts: Counts::default(),
            earliest_expiry: None,
            requests: Default::default(),
            at,
            states: vec![
                State::Restored,
                State::Restored,
                State::Restored,
                State::Restored,
                State::InProgress,
                State::InProgress,
            ],
            expiries: vec![None; 6],
            classes: [StorageClass::Glacier; 4]
                .into_iter()
                .chain([StorageClass::DeepArchive; 2])
                .map(Some)
                .collect(),
            readable_at: vec![
                Some(datetime!(2026-12-01 06:00 UTC)),
                Some(datetime!(2026-12-01 06:00 UTC)),
                Some(at),
                Some(at),
                None,
                None,
            ],
        };
        // Without the job: only what was seen, from 6h to 12h.
        let seen = readiness_chart(&status, None);
        let lines: Vec<&str> = seen.lines().collect();
        assert_eq!(lines.len(), 3, "{seen}");
        assert!(
            lines[0].contains("2026-12-01T06:00:00Z to 2026-12-01T12:00:00Z"),
            "{seen}"
        );
        let glacier = lines.iter().find(|l| l.contains("GLACIER")).unwrap();
        assert!(
            glacier.contains("▄▄▄"),
            "half readable from the start: {seen}"
        );
        assert!(glacier.contains("█  100.0% now"), "{seen}");
        let deep = lines.iter().find(|l| l.contains("DEEP_ARCHIVE")).unwrap();
        assert!(deep.contains("0.0% now  2 still being restored"), "{seen}");
        assert!(
            !seen.contains('│'),
            "nothing expected: no now marker: {seen}"
        );

        // With the job: from its start to 48h, with the now marker at a quarter.
        let expected = Expected {
            start,
            tier: Tier::Bulk,
            from_batch: true,
        };
        let chart = readiness_chart(&status, Some(&expected));
        let lines: Vec<&str> = chart.lines().collect();
        assert!(
            lines[0].contains("2026-12-01T00:00:00Z to 2026-12-03T00:00:00Z"),
            "{chart}"
        );
        assert!(lines[1].contains("BULK window"), "{chart}");
        let deep = lines.iter().find(|l| l.contains("DEEP_ARCHIVE")).unwrap();
        let cells: String = deep["    DEEP_ARCHIVE  ".len()..]
            .chars()
            .take(CHART + 1)
            .collect();
        assert_eq!(
            cells.chars().position(|c| c == '│'),
            Some(CHART / 4),
            "{chart}"
        );
        // Not seen before the first read (6h), nothing before 24h (the window's start), all
        // by 48h.
        assert!(cells.starts_with("  ·"), "{chart}");
        assert!(cells.contains(&"·".repeat(CHART / 4)), "{chart}");
        assert!(cells.ends_with('█'), "{chart}");
        assert!(deep.contains("due 2026-12-03T00:00:00Z"), "{chart}");
        // One read and nothing expected: nothing to draw.
        let once = Status {
            readable_at: vec![Some(at); 6],
            ..status
        };
        assert_eq!(readiness_chart(&once, None), "");
    }
}
