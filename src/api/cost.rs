//! `cost::` — what a restore will cost before it runs, and what deleting archived objects early
//! costs, from the one price table in `crate::pricing`.

use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};

use crate::api::manifest::Manifest;
use crate::api::{Host, object};
use crate::backend::{ArchiveAccessTier, ObjectRef, StorageClass};
use crate::errors::Result;
use crate::pricing::{Estimate, Source, round_usd};

const CHUNK: usize = 1_000;

/// What we know of each row: class, Intelligent-Tiering access tier, size, last modified.
/// Listing data is used where the manifest has it; otherwise (or for Intelligent-Tiering,
/// whose access tier listings do not show) each object is asked with HEAD.
pub struct ObjectFacts {
    pub class: StorageClass,
    pub access_tier: Option<ArchiveAccessTier>,
    pub size: u64,
    pub last_modified: time::OffsetDateTime,
}

/// Calls `f` with the facts of every row that exists (missing objects are counted apart).
pub fn for_each_object(host: &Host, m: &Manifest, mut f: impl FnMut(&ObjectFacts)) -> Result<u64> {
    let mut missing = 0;
    let indices: Vec<usize> = (0..m.len()).collect();
    for chunk in indices.chunks(CHUNK) {
        let mut ask = Vec::new();
        for &i in chunk {
            match m.listed(i) {
                Some(l) if l.storage_class != StorageClass::IntelligentTiering => f(&ObjectFacts {
                    class: l.storage_class,
                    access_tier: None,
                    size: l.size,
                    last_modified: l.last_modified,
                }),
                _ => {
                    let row = m.row(i);
                    ask.push(ObjectRef {
                        bucket: row.bucket.to_string(),
                        key: row.key.to_string(),
                        version_id: row.version_id.map(str::to_string),
                    });
                }
            }
        }
        for head in host.backend.head_objects(&ask, 64) {
            match head {
                Ok(h) => f(&ObjectFacts {
                    class: h.storage_class,
                    access_tier: h.archive_status,
                    size: h.size,
                    last_modified: h.last_modified,
                }),
                Err(e)
                    if matches!(
                        e.code.as_str(),
                        "NoSuchKey" | "NoSuchVersion" | "NoSuchBucket"
                    ) =>
                {
                    missing += 1
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(missing)
}

fn source_of(facts: &ObjectFacts) -> Option<Source> {
    match (facts.class, facts.access_tier) {
        (StorageClass::Glacier, _) => Some(Source::Glacier),
        (StorageClass::DeepArchive, _) => Some(Source::DeepArchive),
        (StorageClass::IntelligentTiering, Some(ArchiveAccessTier::ArchiveAccess)) => {
            Some(Source::ArchiveAccess)
        }
        (StorageClass::IntelligentTiering, Some(ArchiveAccessTier::DeepArchiveAccess)) => {
            Some(Source::DeepArchiveAccess)
        }
        _ => None,
    }
}

fn usd(x: f64) -> Dynamic {
    round_usd(x).into()
}

fn estimate_map(
    e: &Estimate,
    tier: &str,
    days: u32,
    batch: bool,
    missing: u64,
    notes: Array,
    prices: &crate::pricing::PriceTable,
) -> Map {
    let by_class: Map = e
        .by_source
        .iter()
        .map(|(source, c)| {
            let entry = object([
                ("objects", (c.objects as i64).into()),
                ("bytes", (c.bytes as i64).into()),
                ("retrieval_usd", usd(c.retrieval_usd)),
                ("request_usd", usd(c.request_usd)),
                ("restored_storage_usd", usd(c.restored_storage_usd)),
            ]);
            (source.name().into(), Dynamic::from_map(entry))
        })
        .collect();
    object([
        ("objects", (e.objects as i64).into()),
        ("bytes", (e.bytes as i64).into()),
        ("retrieval_usd", usd(e.retrieval_usd)),
        ("request_usd", usd(e.request_usd)),
        ("batch_usd", usd(e.batch_usd)),
        ("restored_storage_usd", usd(e.restored_storage_usd)),
        ("total_usd", usd(e.total_usd())),
        (
            "archive_overhead_usd_per_month",
            usd(e.archive_overhead_usd_per_month),
        ),
        ("by_class", by_class.into()),
        ("not_archived", (e.not_archived as i64).into()),
        ("unavailable", (e.unavailable as i64).into()),
        ("missing", (missing as i64).into()),
        ("tier", tier.into()),
        ("days", (days as i64).into()),
        ("method", if batch { "batch" } else { "direct" }.into()),
        (
            "prices",
            format!("{} ({})", prices.region, prices.as_of).into(),
        ),
        ("notes", notes.into()),
    ])
}

#[export_module]
pub mod cost_api {
    use rhai::{Array, Dynamic, Map, NativeCallContext};

    use super::{estimate_map, for_each_object, source_of};
    use crate::api::located;
    use crate::api::manifest::Manifest;
    use crate::api::{Opts, RhaiResult, dynamic_of, host, object};
    use crate::backend::Tier;
    use crate::errors::Error;
    use crate::pricing::{PriceTable, early_deletion_usd, estimate as price, round_usd};

    /// The price table estimates use: us-east-1 list prices (2023-2024). Change fields and
    /// pass it back as `cost::estimate(m, #{ prices: p })`.
    ///
    /// ```rhai
    /// let p = cost::prices();
    /// p.batch_per_job = 0.30;
    /// ```
    pub fn prices() -> Dynamic {
        dynamic_of(&serde_json::to_value(PriceTable::default()).unwrap_or_default())
    }

    /// What restoring a manifest's objects would cost: `#{ objects, bytes, retrieval_usd,
    /// request_usd, batch_usd, restored_storage_usd, total_usd, archive_overhead_usd_per_month,
    /// by_class, not_archived, unavailable, missing, notes }`. Options: `tier` (default
    /// `"STANDARD"`), `days` (default 1), `method` (`"batch"`, the default, adds the job fees;
    /// `"direct"` for client-side restores, which Expedited always is), `prices` (a changed
    /// `cost::prices()`), `region` (only us-east-1 prices are known; others are noted).
    ///
    /// ```rhai
    /// let e = cost::estimate(m, #{ tier: "BULK", days: 7 });
    /// print(cost::breakdown(e));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn estimate(ctx: NativeCallContext, m: Manifest, options: Map) -> RhaiResult<Map> {
        let pos = ctx.call_position();
        located(
            pos,
            (move || -> RhaiResult<Map> {
                let mut o = Opts::new("cost::estimate", options);
                let tier = o.parse::<Tier>("tier")?.unwrap_or(Tier::Standard);
                let days = o.int("days")?.unwrap_or(1);
                let method = o.string("method")?;
                let prices_given = o.map("prices")?;
                let region = o.string("region")?;
                o.finish()?;
                let days = u32::try_from(days)
                    .ok()
                    .filter(|d| *d >= 1)
                    .ok_or_else(|| {
                        Error::invalid_argument(format!(
                            "cost::estimate: `days` must be 1 or more, not {days}"
                        ))
                    })?;
                let batch = match method.as_deref() {
                    None => tier != Tier::Expedited,
                    Some("batch") if tier == Tier::Expedited => {
                        return Err(Error::invalid_request("Batch Operations jobs cannot use the EXPEDITED tier: use method \"direct\"").into());
                    }
                    Some("batch") => true,
                    Some("direct") => false,
                    Some(other) => {
                        return Err(Error::invalid_argument(format!(
                            "cost::estimate: `method` is \"batch\" or \"direct\", not \"{other}\""
                        ))
                        .into());
                    }
                };
                let prices: PriceTable = match prices_given {
                    None => PriceTable::default(),
                    Some(map) => {
                        rhai::serde::from_dynamic(&Dynamic::from_map(map)).map_err(|e| {
                            Error::invalid_argument(format!("cost::estimate: `prices`: {e}"))
                        })?
                    }
                };
                let host = host(&ctx)?;
                let mut objects = Vec::new();
                let missing = for_each_object(&host, &m, |facts| {
                    objects.push((source_of(facts), facts.size))
                })?;
                let e = price(objects, tier, days, batch, &prices);
                let mut notes = Array::new();
                if let Some(region) = region.filter(|r| *r != prices.region) {
                    notes.push(
                        format!("prices are {}'s; {region} may differ", prices.region).into(),
                    );
                }
                if e.not_archived > 0 {
                    notes.push(format!("{} objects are not archived: they need no restore (a job's task on them fails with InvalidObjectState)", e.not_archived).into());
                }
                if e.unavailable > 0 {
                    notes.push(
                        format!(
                            "{} Deep Archive objects cannot be restored with EXPEDITED: not priced",
                            e.unavailable
                        )
                        .into(),
                    );
                }
                if missing > 0 {
                    notes.push(format!("{missing} objects of the manifest do not exist").into());
                }
                notes.push(format!(
                "while archived, each GLACIER/DEEP_ARCHIVE object also bills 32 KB at the archive rate and 8 KB at Standard: ${:.4} per month for these",
                round_usd(e.archive_overhead_usd_per_month)
            ).into());
                Ok(estimate_map(
                    &e,
                    tier.as_str(),
                    days,
                    batch,
                    missing,
                    notes,
                    &prices,
                ))
            })(),
        )
    }

    /// What a Standard restore of a manifest's objects for one day would cost.
    ///
    /// ```rhai
    /// print(cost::estimate(m).total_usd);
    /// ```
    #[rhai_fn(name = "estimate", return_raw)]
    pub fn estimate_default(ctx: NativeCallContext, m: Manifest) -> RhaiResult<Map> {
        estimate(ctx, m, Map::new())
    }

    /// The early-deletion charge of deleting a manifest's objects now: the rest of each
    /// object's minimum storage duration (GLACIER 90 days, DEEP_ARCHIVE 180, ...), pro rata.
    /// Returns `#{ usd, objects }` (objects that would be charged).
    ///
    /// ```rhai
    /// let c = cost::early_deletion(m);
    /// print(`deleting now costs $${c.usd} for ${c.objects} objects`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn early_deletion(ctx: NativeCallContext, m: Manifest) -> RhaiResult<Map> {
        let pos = ctx.call_position();
        located(
            pos,
            (move || -> RhaiResult<Map> {
                let host = host(&ctx)?;
                let now = host.backend.now()?;
                let (mut usd, mut charged) = (0.0, 0i64);
                for_each_object(&host, &m, |facts| {
                    let age = (now - facts.last_modified).as_seconds_f64() / 86_400.0;
                    let charge = early_deletion_usd(facts.class, facts.size, age);
                    if charge > 0.0 {
                        usd += charge;
                        charged += 1;
                    }
                })?;
                Ok(object([
                    ("usd", round_usd(usd).into()),
                    ("objects", charged.into()),
                ]))
            })(),
        )
    }

    /// A cost estimate as a table, one line per archive class plus the fees and the total.
    ///
    /// ```rhai
    /// print(cost::breakdown(cost::estimate(m, #{ tier: "BULK" })));
    /// ```
    pub fn breakdown(estimate: Map) -> String {
        super::breakdown_text(&estimate)
    }
}

/// Renders an estimate map as a table.
pub fn breakdown_text(e: &Map) -> String {
    let num = |m: &Map, k: &str| m.get(k).and_then(|v| v.as_float().ok()).unwrap_or(0.0);
    let int = |m: &Map, k: &str| m.get(k).and_then(|v| v.as_int().ok()).unwrap_or(0);
    let mut table = crate::output::table();
    table.set_header([
        "",
        "objects",
        "GB",
        "retrieval",
        "requests",
        "restored copy",
    ]);
    if let Some(by_class) = e
        .get("by_class")
        .and_then(|v| v.read_lock::<Map>().map(|m| m.clone()))
    {
        for (class, c) in by_class {
            let c = c.read_lock::<Map>().map(|m| m.clone()).unwrap_or_default();
            table.add_row([
                class.to_string(),
                int(&c, "objects").to_string(),
                format!("{:.2}", int(&c, "bytes") as f64 / (1u64 << 30) as f64),
                format!("${:.4}", num(&c, "retrieval_usd")),
                format!("${:.4}", num(&c, "request_usd")),
                format!("${:.4}", num(&c, "restored_storage_usd")),
            ]);
        }
    }
    let tier = e.get("tier").map(|v| v.to_string()).unwrap_or_default();
    let days = int(e, "days");
    let mut text = format!("Restore estimate, {tier} tier, {days} day(s):\n{table}\n");
    text.push_str(&format!(
        "Batch Operations fees: ${:.4}\n",
        num(e, "batch_usd")
    ));
    text.push_str(&format!("Total: ${:.4}\n", num(e, "total_usd")));
    if let Some(notes) = e
        .get("notes")
        .and_then(|v| v.read_lock::<Array>().map(|a| a.clone()))
    {
        for note in notes {
            text.push_str(&format!("  - {note}\n"));
        }
    }
    text
}
