//! `cost::` — the bindings of `crate::ops::cost`: restore estimates and early-deletion charges
//! as maps, and the breakdown table.

use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};

use crate::api::object;
use crate::backend::{StorageClass, Tier};
use crate::errors::{Error, Result};
use crate::ops::cost::{Already, ClassCost, CopyCost, Method, RestoreEstimate, Tracking};

fn int(n: u64) -> Dynamic {
    (n as i64).into()
}

/// The estimate map scripts see.
pub fn estimate_map(e: &RestoreEstimate) -> Map {
    let by_class: Map = e
        .by_class
        .iter()
        .map(|(class, c)| {
            let entry = object([
                ("objects", int(c.objects)),
                ("bytes", int(c.bytes)),
                ("retrieval_usd", c.retrieval_usd.into()),
                ("request_usd", c.request_usd.into()),
                ("restored_storage_usd", c.restored_storage_usd.into()),
            ]);
            (class.as_str().into(), Dynamic::from_map(entry))
        })
        .collect();
    let notes: Array = e.notes.iter().map(|n| n.clone().into()).collect();
    let mut map = object([
        ("objects", int(e.objects)),
        ("bytes", int(e.bytes)),
        ("retrieval_usd", e.retrieval_usd.into()),
        ("request_usd", e.request_usd.into()),
        ("batch_usd", e.batch_usd.into()),
        ("restored_storage_usd", e.restored_storage_usd.into()),
        ("total_usd", e.total_usd.into()),
        (
            "archive_overhead_usd_per_month",
            e.archive_overhead_usd_per_month.into(),
        ),
        ("by_class", by_class.into()),
        ("not_archived", int(e.not_archived)),
        ("unavailable", int(e.unavailable)),
        ("missing", int(e.missing)),
        ("tier", e.tier.as_str().into()),
        ("days", (e.days as i64).into()),
        ("method", e.method.as_str().into()),
        ("prices", e.prices.clone().into()),
        ("notes", notes.into()),
    ]);
    if let Some(a) = &e.already {
        map.insert(
            "already".into(),
            Dynamic::from_map(object([
                ("restored", int(a.restored)),
                ("in_progress", int(a.in_progress)),
                ("of", int(a.of)),
            ])),
        );
    }
    if let Some(c) = &e.copy {
        map.insert(
            "copy".into(),
            Dynamic::from_map(object([
                ("storage_class", c.storage_class.as_str().into()),
                ("request_usd", c.request_usd.into()),
                ("batch_usd", c.batch_usd.into()),
                ("storage_usd_per_month", c.storage_usd_per_month.into()),
                ("total_usd", c.total_usd().into()),
            ])),
        );
    }
    if let Some(t) = &e.tracking {
        map.insert(
            "tracking".into(),
            Dynamic::from_map(object([
                ("pages_per_pass", int(t.pages_per_pass)),
                ("passes", int(t.passes)),
                ("list_requests", int(t.list_requests)),
                ("head_requests", int(0)),
                ("usd", t.usd.into()),
            ])),
        );
    }
    map
}

/// Reads an estimate map back (a script may have changed it): amounts and counts that are
/// missing or of another type count as zero, as the table always showed them; the tier must be
/// one.
pub fn estimate_of_map(e: &Map) -> Result<RestoreEstimate> {
    let num = |m: &Map, k: &str| m.get(k).and_then(|v| v.as_float().ok()).unwrap_or(0.0);
    let count = |m: &Map, k: &str| {
        m.get(k)
            .and_then(|v| v.as_int().ok())
            .map_or(0, |n| n.max(0) as u64)
    };
    let by_class = e
        .get("by_class")
        .and_then(|v| v.read_lock::<Map>().map(|m| m.clone()))
        .unwrap_or_default()
        .into_iter()
        .map(|(class, c)| {
            let c = c.read_lock::<Map>().map(|m| m.clone()).unwrap_or_default();
            let cost = ClassCost {
                objects: count(&c, "objects"),
                bytes: count(&c, "bytes"),
                retrieval_usd: num(&c, "retrieval_usd"),
                request_usd: num(&c, "request_usd"),
                restored_storage_usd: num(&c, "restored_storage_usd"),
            };
            (class.to_string(), cost)
        })
        .collect();
    let tier = e
        .get("tier")
        .map(|v| v.to_string())
        .unwrap_or_default()
        .parse::<Tier>()
        .map_err(|err| Error::invalid_argument(format!("cost::breakdown: {}", err.message)))?;
    let days = e
        .get("days")
        .and_then(|v| v.as_int().ok())
        .map_or(0, |d| u32::try_from(d).unwrap_or(0));
    let method = match e.get("method").map(|v| v.to_string()).as_deref() {
        Some("direct") => Method::Direct,
        _ => Method::Batch,
    };
    let sub = |k: &str| {
        e.get(k)
            .and_then(|v| v.read_lock::<Map>().map(|m| m.clone()))
    };
    let already = sub("already").map(|a| Already {
        restored: count(&a, "restored"),
        in_progress: count(&a, "in_progress"),
        of: count(&a, "of"),
    });
    let copy = match sub("copy") {
        None => None,
        Some(c) => Some(CopyCost {
            storage_class: c
                .get("storage_class")
                .map(|v| v.to_string())
                .unwrap_or_else(|| "STANDARD".into())
                .parse::<StorageClass>()
                .map_err(|err| {
                    Error::invalid_argument(format!("cost::breakdown: copy: {}", err.message))
                })?,
            request_usd: num(&c, "request_usd"),
            batch_usd: num(&c, "batch_usd"),
            storage_usd_per_month: num(&c, "storage_usd_per_month"),
        }),
    };
    let tracking = sub("tracking").map(|t| Tracking {
        pages_per_pass: count(&t, "pages_per_pass"),
        passes: count(&t, "passes"),
        list_requests: count(&t, "list_requests"),
        usd: num(&t, "usd"),
    });
    let notes = e
        .get("notes")
        .and_then(|v| v.read_lock::<Array>().map(|a| a.clone()))
        .unwrap_or_default()
        .into_iter()
        .map(|n| n.to_string())
        .collect();
    Ok(RestoreEstimate {
        objects: count(e, "objects"),
        bytes: count(e, "bytes"),
        retrieval_usd: num(e, "retrieval_usd"),
        request_usd: num(e, "request_usd"),
        batch_usd: num(e, "batch_usd"),
        restored_storage_usd: num(e, "restored_storage_usd"),
        total_usd: num(e, "total_usd"),
        archive_overhead_usd_per_month: num(e, "archive_overhead_usd_per_month"),
        by_class,
        not_archived: count(e, "not_archived"),
        unavailable: count(e, "unavailable"),
        missing: count(e, "missing"),
        tier,
        days,
        method,
        prices: e.get("prices").map(|v| v.to_string()).unwrap_or_default(),
        notes,
        already,
        copy,
        tracking,
    })
}

#[export_module]
pub mod cost_api {
    use rhai::{Dynamic, Map, NativeCallContext};

    use super::{estimate_map, estimate_of_map};
    use crate::api::manifest::Manifest;
    use crate::api::{Opts, RhaiResult, dynamic_of, object, support};
    use crate::backend::{StorageClass, Tier};
    use crate::errors::{Error, Result};
    use crate::ops::cost::{self as ops, EstimateRequest, Method};
    use crate::pricing::PriceTable;
    use crate::progress::Counter;

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
    /// `cost::prices()`), `region` (only us-east-1 prices are known; others are noted),
    /// `copy: #{ storage_class?, via? }` (also price keeping the objects: a copy of each into
    /// `storage_class`, default `"STANDARD"`, by a job (`via: "job"`, default, adds its fees)
    /// or `"direct"`; the map then has `copy: #{ storage_class, request_usd, batch_usd,
    /// storage_usd_per_month, total_usd }` and `total_usd` includes the copy's requests, fees
    /// and first month of storage), `skip_restored` (default `false`; `true` first reads where
    /// each object's restore stands, by listing pages, and prices only the objects that need
    /// one: the map then has `already: #{ restored, in_progress, of }` and a note says how
    /// many were not counted). The map's `tracking: #{ pages_per_pass, passes, list_requests,
    /// head_requests, usd }` is what following the restore with `restore::wait` requests: a
    /// pass of LIST pages at the start and each hour until the slowest class is readable, and
    /// a page at each 15-minute poll between.
    ///
    /// ```rhai
    /// let e = cost::estimate(m, #{ tier: "BULK", days: 7 });
    /// print(cost::breakdown(e));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn estimate(ctx: NativeCallContext, m: Manifest, options: Map) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("cost::estimate", options);
            let tier = o.parse::<Tier>("tier")?.unwrap_or(Tier::DEFAULT);
            let days = o.int("days")?.unwrap_or(1);
            let method = o.string("method")?;
            let prices_given = o.map("prices")?;
            let region = o.string("region")?;
            let copy = o.map("copy")?;
            let skip_restored = o.bool("skip_restored")?.unwrap_or(false);
            o.finish()?;
            let copy = copy
                .map(|c| -> Result<(StorageClass, bool)> {
                    let mut c = Opts::new("cost::estimate: copy", c);
                    let class = c
                        .parse::<StorageClass>("storage_class")?
                        .unwrap_or(StorageClass::Standard);
                    let via = c.string("via")?.unwrap_or_else(|| "job".into());
                    c.finish()?;
                    match via.as_str() {
                        "job" => Ok((class, true)),
                        "direct" => Ok((class, false)),
                        other => Err(Error::invalid_argument(format!(
                            "cost::estimate: copy.via is \"job\" or \"direct\", not \"{other}\""
                        ))),
                    }
                })
                .transpose()?;
            let days = u32::try_from(days)
                .ok()
                .filter(|d| *d >= 1)
                .ok_or_else(|| {
                    Error::invalid_argument(format!(
                        "cost::estimate: `days` must be 1 or more, not {days}"
                    ))
                })?;
            let method = match method.as_deref() {
                None => None,
                Some("batch") => Some(Method::Batch),
                Some("direct") => Some(Method::Direct),
                Some(other) => {
                    return Err(Error::invalid_argument(format!(
                        "cost::estimate: `method` is \"batch\" or \"direct\", not \"{other}\""
                    ))
                    .into());
                }
            };
            let prices: PriceTable = match prices_given {
                None => PriceTable::default(),
                Some(map) => rhai::serde::from_dynamic(&Dynamic::from_map(map)).map_err(|e| {
                    Error::invalid_argument(format!("cost::estimate: `prices`: {e}"))
                })?,
            };
            let request = EstimateRequest {
                tier,
                days,
                method,
                prices,
                region,
                skip_restored,
                copy,
            };
            let mut progress = Counter::new(host.quiet, "objects priced");
            let estimate = ops::estimate(host.backend.as_ref(), &m, &request, &mut progress)?;
            Ok(estimate_map(&estimate))
        })
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
    /// print(`deleting now costs ${usd(c.usd)} for ${c.objects} objects`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn early_deletion(ctx: NativeCallContext, m: Manifest) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let mut progress = Counter::new(host.quiet, "objects priced");
            let charge = ops::early_deletion(host.backend.as_ref(), &m, &mut progress)?;
            Ok(object([
                ("usd", charge.usd.into()),
                ("objects", (charge.objects as i64).into()),
            ]))
        })
    }

    /// Estimates of the same objects with different tiers in one table: per tier its cost,
    /// how long each archive class takes to be readable and when the restored copies expire.
    ///
    /// ```rhai
    /// let tiers = ["BULK", "STANDARD"].map(|t| cost::estimate(m, #{ tier: t, days: 7 }));
    /// print(cost::compare(tiers));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn compare(ctx: NativeCallContext, estimates: rhai::Array) -> RhaiResult<String> {
        support::pure(&ctx, || {
            let estimates = estimates
                .iter()
                .map(|e| {
                    let map = e.read_lock::<Map>().map(|m| m.clone()).ok_or_else(|| {
                        Error::invalid_argument(
                            "cost::compare: give an array of cost::estimate maps",
                        )
                    })?;
                    estimate_of_map(&map)
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(crate::output::tiers_text(&estimates))
        })
    }

    /// A cost estimate as a table, one line per archive class plus the fees and the total.
    ///
    /// ```rhai
    /// print(cost::breakdown(cost::estimate(m, #{ tier: "BULK" })));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn breakdown(ctx: NativeCallContext, estimate: Map) -> RhaiResult<String> {
        support::pure(&ctx, || {
            Ok(crate::output::estimate_text(&estimate_of_map(&estimate)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_map_reads_back_as_the_same_estimate() {
        let mut by_class = std::collections::BTreeMap::new();
        by_class.insert(
            "GLACIER".to_string(),
            ClassCost {
                objects: 3,
                bytes: 3 << 30,
                retrieval_usd: 0.0075,
                request_usd: 0.000075,
                restored_storage_usd: 0.002301,
            },
        );
        let estimate = RestoreEstimate {
            objects: 4,
            bytes: (3 << 30) + 10,
            retrieval_usd: 0.0075,
            request_usd: 0.000075,
            batch_usd: 0.25,
            restored_storage_usd: 0.002301,
            total_usd: 0.259876,
            archive_overhead_usd_per_month: 0.000001,
            by_class,
            not_archived: 1,
            unavailable: 0,
            missing: 2,
            tier: Tier::Bulk,
            days: 3,
            method: Method::Batch,
            prices: "us-east-1 (2024)".into(),
            notes: vec!["a note".into()],
            already: Some(Already {
                restored: 5,
                in_progress: 1,
                of: 10,
            }),
            copy: Some(crate::ops::cost::copy_cost(
                4,
                3 << 30,
                StorageClass::Standard,
                false,
                &crate::pricing::PriceTable::default(),
            )),
            tracking: Some(Tracking::new(4, 12)),
        };
        let read = estimate_of_map(&estimate_map(&estimate)).expect("an estimate");
        assert_eq!(read, estimate);
        let text = crate::output::estimate_text(&read);
        assert!(
            text.starts_with("Restore estimate, BULK tier, 3 day(s), 4 objects:"),
            "{text}"
        );
        assert!(
            text.contains("Total: $0.26 (the restore $0.19, the copy and its first month $0.07)\n"),
            "{text}"
        );
        assert!(
            text.contains("Copy to STANDARD (kept once the restored copies expire): <$0.01 requests, then $0.07 a month of storage\n"),
            "{text}"
        );
        assert!(
            text.contains("about 49 LIST requests (1 a pass, a pass an hour for 12 h, a page a poll between), <$0.01; no HEAD per object"),
            "{text}"
        );
        assert!(
            text.contains("By when: every object readable within 12 h"),
            "{text}"
        );
        assert!(text.ends_with("  - a note\n"), "{text}");
        let mut wrong = estimate_map(&estimate);
        wrong.insert("tier".into(), "FAST".into());
        assert!(estimate_of_map(&wrong).is_err());
    }
}
