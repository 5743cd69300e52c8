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
    let parts: Vec<String> = State::ALL
        .iter()
        .filter(|s| c.get(**s) > 0)
        .map(|s| format!("{} {}", thousands(c.get(*s)), s.name().replace('_', " ")))
        .collect();
    if parts.is_empty() {
        "no objects".into()
    } else {
        parts.join(", ")
    }
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

/// The terminal view: a header, one line per storage class, the earliest expiry, the next
/// expected change (`next`, on a virtual clock), and a verdict line.
pub fn text(what: &str, status: &Status, next: Option<OffsetDateTime>) -> String {
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
}
