//! The simulator's fidelity to AWS's documented behaviour (see docs/simulator.md, which names
//! these tests): restores, Intelligent-Tiering, jobs, manifests, versioning, IAM and faults.

use crate::common::*;
use s3thaw::backend::sim::Simulator;

/// A frozen clock at a fixed instant, so expiry dates and rates do not depend on the machine.
const FROZEN: &str = r#"sim::set_clock(#{ time: "2027-03-10T10:30:00Z", frozen: true });"#;

#[test]
fn restore_rules_for_one_object() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{FROZEN}
        s3::create_bucket("rules");
        s3::put_object("rules", "g", "glacier", #{{ storage_class: "GLACIER" }});
        let first = s3::restore_object("rules", "g", #{{ days: 2, tier: "BULK" }}).status;
        let busy = ""; try {{ s3::restore_object("rules", "g", #{{ days: 2, tier: "BULK" }}); }} catch (e) {{ busy = e.code; }}
        let other_days = ""; try {{ s3::restore_object("rules", "g", #{{ days: 5, tier: "STANDARD" }}); }} catch (e) {{ other_days = e.code; }}
        // Same days, faster tier: an upgrade, accepted; it finishes within the Standard window.
        let upgrade = s3::restore_object("rules", "g", #{{ days: 2, tier: "STANDARD" }}).status;
        sim::advance("5h");
        let done = s3::head_object("rules", "g").restore;
        let again = s3::restore_object("rules", "g", #{{ days: 7 }}).status;
        let extended = s3::head_object("rules", "g").restore.expiry;
        sim::advance("8d");
        let gone = s3::head_object("rules", "g").restore;
        let unreadable = ""; try {{ s3::get_object("rules", "g"); }} catch (e) {{ unreadable = e.code; }}
        #{{ first: first, busy: busy, other_days: other_days, upgrade: upgrade, done: done,
           again: again, extended: extended, gone: gone, unreadable: unreadable }}"#
    ));
    assert_eq!(i(&r, "first"), 202);
    assert_eq!(s(&r, "busy"), "RestoreAlreadyInProgress");
    assert_eq!(s(&r, "other_days"), "RestoreAlreadyInProgress");
    assert_eq!(i(&r, "upgrade"), 202);
    let done = m(&r, "done");
    assert!(!done["ongoing"].as_bool().unwrap());
    // Requested 2027-03-10 10:30 + 2 days, rounded up to midnight UTC.
    assert_eq!(s(&done, "expiry"), "2027-03-13T00:00:00Z");
    // 200 on a restored copy, with the expiry recomputed from now (15:30 + 7 days).
    assert_eq!(i(&r, "again"), 200);
    assert_eq!(s(&r, "extended"), "2027-03-18T00:00:00Z");
    // After expiry the copy is gone: no x-amz-restore, GET refused again.
    assert!(r["gone"].is_unit());
    assert_eq!(s(&r, "unreadable"), "InvalidObjectState");
}

#[test]
fn deep_archive_refuses_expedited_and_glacier_ir_is_readable_not_restorable() {
    let world = World::new();
    let r = world.map(
        r#"
        s3::create_bucket("classes");
        s3::put_object("classes", "deep", "d", #{ storage_class: "DEEP_ARCHIVE" });
        s3::put_object("classes", "ir", "instant", #{ storage_class: "GLACIER_IR" });
        s3::put_object("classes", "std", "standard");
        let codes = [];
        try { s3::restore_object("classes", "deep", #{ days: 1, tier: "EXPEDITED" }); } catch (e) { codes.push(e.code); }
        try { s3::restore_object("classes", "ir", #{ days: 1 }); } catch (e) { codes.push(e.code); codes.push(e.message); }
        try { s3::restore_object("classes", "std", #{ days: 1 }); } catch (e) { codes.push(e.code); }
        #{ codes: codes, ir: s3::get_text("classes", "ir"), deep_ok: s3::restore_object("classes", "deep", #{ days: 1, tier: "BULK" }).status }"#,
    );
    assert_eq!(
        strings(&r["codes"]),
        [
            "InvalidArgument",
            "InvalidObjectState",
            "Restore is not allowed for the object's current storage class, \"GLACIER_IR\"",
            "InvalidObjectState"
        ]
    );
    assert_eq!(s(&r, "ir"), "instant");
    assert_eq!(i(&r, "deep_ok"), 202);
}

#[test]
fn intelligent_tiering_archive_tiers() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{FROZEN}
        s3::create_bucket("it-bucket");
        s3::put_object("it-bucket", "cold", "warm again", #{{ storage_class: "INTELLIGENT_TIERING" }});
        let frequent = ""; try {{ s3::restore_object("it-bucket", "cold"); }} catch (e) {{ frequent = e.code; }}
        sim::set_access_tier("it-bucket", "cold", "ARCHIVE_ACCESS");
        let archived = s3::head_object("it-bucket", "cold");
        let get = ""; try {{ s3::get_object("it-bucket", "cold"); }} catch (e) {{ get = e.code; }}
        let with_days = ""; try {{ s3::restore_object("it-bucket", "cold", #{{ days: 1 }}); }} catch (e) {{ with_days = e.code; }}
        let started = s3::restore_object("it-bucket", "cold", #{{ tier: "STANDARD" }}).status;
        sim::advance("5h");
        let back = s3::head_object("it-bucket", "cold");
        #{{ frequent: frequent, archive_status: archived.archive_status, get: get, with_days: with_days,
           started: started, back: back, text: s3::get_text("it-bucket", "cold") }}"#
    ));
    assert_eq!(s(&r, "frequent"), "ObjectAlreadyInActiveTierError");
    assert_eq!(s(&r, "archive_status"), "ARCHIVE_ACCESS");
    assert_eq!(s(&r, "get"), "InvalidObjectState");
    assert_eq!(s(&r, "with_days"), "InvalidArgument");
    assert_eq!(i(&r, "started"), 202);
    let back = m(&r, "back");
    assert!(back["archive_status"].is_unit(), "{back:?}");
    assert_eq!(s(&back, "storage_class"), "INTELLIGENT_TIERING");
    assert!(m(&back, "restore")["expiry"].is_unit());
    assert_eq!(s(&r, "text"), "warm again");
}

/// Creates bucket `jobs`, a role allowed everything the jobs need, and a `run(keys, op, opts)`
/// helper (as a closure in scope) that runs a job over `keys` and returns `#{ job, rows }`.
const JOBS: &str = r#"
s3::create_bucket("jobs");
let role = iam::create_role("jobs-role", iam::batch_trust_policy());
iam::put_role_policy("jobs-role", "all", iam::restore_policy(#{ targets: ["jobs"], manifest_bucket: "jobs", report_bucket: "jobs" }));
let n = 0;
fn job_over(keys, op, role_arn, name) {
    let loc = manifest::upload(manifest::from_keys("jobs", keys), "jobs", `manifests/${name}.csv`);
    batch::create_job(#{ manifest: loc, operation: op, role_arn: role_arn, confirmation_required: false,
        report: #{ bucket: "jobs", prefix: "reports", scope: "AllTasks" } })
}
"#;

#[test]
fn a_job_serves_glacier_or_intelligent_tiering_not_both() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{JOBS}
        s3::put_object("jobs", "g1", "1", #{{ storage_class: "GLACIER" }});
        s3::put_object("jobs", "i1", "2", #{{ storage_class: "INTELLIGENT_TIERING" }});
        sim::set_access_tier("jobs", "i1", "DEEP_ARCHIVE_ACCESS");
        let with_days = batch::wait(job_over(["g1", "i1"], batch::restore_operation(#{{ days: 1, tier: "BULK" }}), role.arn, "a").id);
        let without = batch::wait(job_over(["g1", "i1"], batch::restore_operation(#{{ tier: "BULK" }}), role.arn, "b").id);
        #{{ a: report::load(with_days).rows(#{{ status: "failed" }}), b: report::load(without).rows(#{{ status: "failed" }}) }}"#
    ));
    let failed = |k: &str| -> Vec<(String, String)> {
        r[k].clone()
            .into_array()
            .unwrap()
            .into_iter()
            .map(|row| {
                let row = row.try_cast::<rhai::Map>().unwrap();
                (s(&row, "key"), s(&row, "error_code"))
            })
            .collect()
    };
    // Days given: the Intelligent-Tiering task fails; no days: the GLACIER task fails.
    assert_eq!(
        failed("a"),
        [("i1".to_string(), "InvalidArgument".to_string())]
    );
    assert_eq!(
        failed("b"),
        [("g1".to_string(), "InvalidArgument".to_string())]
    );
}

#[test]
fn overlapping_restores_inside_a_job() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{FROZEN}
        {JOBS}
        for k in ["same-days", "other-days", "slower", "done"] {{ s3::put_object("jobs", k, k, #{{ storage_class: "GLACIER" }}); }}
        s3::restore_object("jobs", "same-days", #{{ days: 3, tier: "BULK" }});
        s3::restore_object("jobs", "other-days", #{{ days: 9, tier: "BULK" }});
        s3::restore_object("jobs", "slower", #{{ days: 3, tier: "STANDARD" }});
        s3::restore_object("jobs", "done", #{{ days: 1, tier: "EXPEDITED" }});
        sim::advance("10m");
        let job = batch::wait(job_over(["same-days", "other-days", "slower", "done"],
            batch::restore_operation(#{{ days: 3, tier: "STANDARD" }}), role.arn, "overlap").id);
        let rows = #{{}};
        for row in report::load(job).rows() {{ rows[row.key] = `${{row.http_status}} ${{row.error_code}}`; }}
        rows"#
    ));
    // Faster tier, same expiration: accepted. Different expiration, or same/slower tier: 409.
    // A completed restore: 200 with the expiry updated.
    assert_eq!(s(&r, "same-days"), "202 ");
    assert_eq!(s(&r, "other-days"), "409 RestoreAlreadyInProgress");
    assert_eq!(s(&r, "slower"), "409 RestoreAlreadyInProgress");
    assert_eq!(s(&r, "done"), "200 ");
}

#[test]
fn failure_threshold_fails_the_job_after_1000_tasks() {
    let world = World::new();
    // A frozen clock moves only by the wait's jumps, so the one second the job is `Failing` is
    // seen however long a loaded machine takes to run its tasks.
    let r = world.map(&format!(
        r#"{FROZEN}
        {JOBS}
        sim::seed_objects("jobs", 1500, #{{ prefix: "std/", storage_class: "STANDARD" }});
        let m = manifest::from_listing("jobs", #{{ prefix: "std/" }});
        let loc = manifest::upload(m, "jobs", "manifests/std.csv");
        let seen = [];
        let job = batch::create_job(#{{ manifest: loc, operation: batch::restore_operation(#{{ days: 1 }}),
            role_arn: role.arn, confirmation_required: false, report: #{{ bucket: "jobs", prefix: "reports", scope: "FailedTasksOnly" }} }});
        job = batch::wait(job.id, #{{ on_change: |j| seen.push(j.status) }});
        #{{ job: job, seen: seen, reported: report::load(job).total }}"#
    ));
    let job = m(&r, "job");
    assert_eq!(s(&job, "status"), "Failed");
    let progress = m(&job, "progress");
    assert_eq!(
        (
            i(&progress, "failed"),
            i(&progress, "succeeded"),
            i(&progress, "total")
        ),
        (1000, 0, 1500)
    );
    assert!(
        strings(&r["seen"]).contains(&"Failing".to_string()),
        "{:?}",
        r["seen"]
    );
    let reason = job["failure_reasons"].to_string();
    assert!(reason.contains("TaskFailureThresholdExceeded"), "{reason}");
    assert_eq!(i(&r, "reported"), 1000);
}

#[test]
fn cancelling_an_active_job_reports_the_tasks_that_ran() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{FROZEN}
        {JOBS}
        sim::seed_objects("jobs", 5000, #{{ prefix: "many/" }});
        let loc = manifest::upload(manifest::from_listing("jobs", #{{ prefix: "many/" }}), "jobs", "manifests/many.csv");
        let job = batch::create_job(#{{ manifest: loc, operation: batch::restore_operation(#{{ days: 1 }}),
            role_arn: role.arn, confirmation_required: false, report: #{{ bucket: "jobs", prefix: "reports", scope: "AllTasks" }} }});
        job = batch::wait(job.id, #{{ statuses: ["Active"] }});
        sim::advance("2s");
        let cancelling = batch::cancel(job.id, "wrong prefix");
        job = batch::wait(job.id);
        #{{ cancelling: cancelling.status, job: job, reported: report::load(job).total }}"#
    ));
    assert_eq!(s(&r, "cancelling"), "Cancelling");
    let job = m(&r, "job");
    assert_eq!(s(&job, "status"), "Cancelled");
    let ran = i(&m(&job, "progress"), "succeeded");
    assert!((1000..5000).contains(&ran), "{ran}");
    assert_eq!(i(&r, "reported"), ran);
}

#[test]
fn a_higher_priority_job_pauses_a_lower_one_which_resumes_after() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{FROZEN}
        {JOBS}
        sim::set_capacity(1);
        sim::seed_objects("jobs", 20000, #{{ prefix: "low/" }});
        sim::seed_objects("jobs", 100, #{{ prefix: "high/" }});
        let low_loc = manifest::upload(manifest::from_listing("jobs", #{{ prefix: "low/" }}), "jobs", "manifests/low.csv");
        let high_loc = manifest::upload(manifest::from_listing("jobs", #{{ prefix: "high/" }}), "jobs", "manifests/high.csv");
        let op = batch::restore_operation(#{{ days: 1, tier: "BULK" }});
        let low = batch::create_job(#{{ manifest: low_loc, operation: op, role_arn: role.arn, priority: 1, confirmation_required: false }});
        batch::wait(low.id, #{{ statuses: ["Active"] }});
        sim::advance("1s");
        let high = batch::create_job(#{{ manifest: high_loc, operation: op, role_arn: role.arn, priority: 100, confirmation_required: false }});
        let low_seen = [];
        let paused = batch::wait(low.id, #{{ statuses: ["Paused"], on_change: |j| low_seen.push(j.status) }});
        let high_done = batch::wait(high.id);
        let after_high = batch::describe(low.id).status;
        let low_done = batch::wait(low.id);
        #{{ low_seen: low_seen, paused: paused, high_done: high_done, after_high: after_high, low_done: low_done }}"#
    ));
    assert!(
        strings(&r["low_seen"]).starts_with(&["Active".into(), "Pausing".into()]),
        "{:?}",
        r["low_seen"]
    );
    let paused = m(&r, "paused");
    assert!(i(&m(&paused, "progress"), "succeeded") < 20000);
    assert!(s(&paused, "status_update_reason").contains("higher priority"));
    assert_eq!(s(&m(&r, "high_done"), "status"), "Complete");
    assert_eq!(s(&r, "after_high"), "Active");
    let low = m(&r, "low_done");
    assert_eq!(s(&low, "status"), "Complete");
    assert_eq!(i(&m(&low, "progress"), "succeeded"), 20000);
}

#[test]
fn list_jobs_filters_by_status_and_pages_past_1000() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{JOBS}
        s3::put_object("jobs", "one", "1", #{{ storage_class: "GLACIER" }});
        let loc = manifest::upload(manifest::from_keys("jobs", ["one"]), "jobs", "manifests/one.csv");
        let op = batch::restore_operation(#{{ days: 1 }});
        for i in 0..1005 {{ batch::create_job(#{{ manifest: loc, operation: op, role_arn: role.arn, description: `job ${{i}}` }}); }}
        let cancelled = batch::create_job(#{{ manifest: loc, operation: op, role_arn: role.arn }});
        batch::cancel(cancelled.id);
        sim::advance("1m");
        let all = batch::list();
        #{{ all: all.len(), newest: all[0].id == cancelled.id, suspended: batch::list(#{{ statuses: ["Suspended"] }}).len(),
           cancelled: batch::list(#{{ statuses: ["Cancelled"] }}).len(), tags: batch::get_tags(cancelled.id) }}"#
    ));
    assert_eq!(i(&r, "all"), 1006);
    assert!(r["newest"].as_bool().unwrap());
    assert_eq!(i(&r, "suspended"), 1005);
    assert_eq!(i(&r, "cancelled"), 1);
}

#[test]
fn job_tags_and_no_report_when_no_task_ran() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{JOBS}
        s3::put_object("jobs", "one", "1", #{{ storage_class: "GLACIER" }});
        let loc = manifest::upload(manifest::from_keys("jobs", ["one"]), "jobs", "manifests/one.csv");
        let job = batch::create_job(#{{ manifest: loc, operation: batch::restore_operation(#{{ days: 1 }}), role_arn: role.arn,
            tags: #{{ team: "data" }}, report: #{{ bucket: "jobs", scope: "AllTasks" }} }});
        batch::put_tags(job.id, #{{ team: "archive", ticket: "OPS-1" }});
        let tags = batch::get_tags(job.id);
        batch::wait(job.id, #{{ statuses: ["Suspended"] }});
        batch::cancel(job.id);
        let err = #{{}};
        try {{ report::load(job.id); }} catch (e) {{ err = e; }}
        #{{ tags: tags, err: err, reports: s3::list_objects("jobs", #{{ prefix: "job-" }}).len() }}"#
    ));
    let tags = m(&r, "tags");
    assert_eq!(
        (s(&tags, "team"), s(&tags, "ticket")),
        ("archive".into(), "OPS-1".into())
    );
    let err = m(&r, "err");
    assert_eq!(s(&err, "code"), "ReportInvalid");
    assert!(s(&err, "hint").contains("at least one task ran"));
    assert_eq!(i(&r, "reports"), 0);
}

#[test]
fn versioned_manifests_act_on_the_named_version() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{JOBS}
        s3::create_bucket("versions", #{{ versioning: true }});
        iam::put_role_policy("jobs-role", "versions", iam::restore_policy(#{{ targets: ["versions"] }}));
        let v1 = s3::put_object("versions", "doc", "first", #{{ storage_class: "GLACIER" }});
        let v2 = s3::put_object("versions", "doc", "second", #{{ storage_class: "GLACIER" }});
        let m = manifest::new();
        m.add("versions", "doc", v1.version_id);
        let loc = manifest::upload(m, "jobs", "manifests/versioned.csv");
        let job = batch::wait(batch::create_job(#{{ manifest: loc, operation: batch::restore_operation(#{{ days: 1 }}),
            role_arn: role.arn, confirmation_required: false }}).id);
        let listed = manifest::from_listing("versions", #{{ versions: true }});
        #{{ job: job, fields: loc.fields, v1: s3::head_object("versions", "doc", #{{ version_id: v1.version_id }}).restore,
           v2: s3::head_object("versions", "doc").restore, listed: listed.len(), listed_versions: listed.has_versions() }}"#
    ));
    assert_eq!(s(&m(&r, "job"), "status"), "Complete");
    assert_eq!(strings(&r["fields"]), ["Bucket", "Key", "VersionId"]);
    assert!(m(&r, "v1")["ongoing"].as_bool().is_ok());
    assert!(r["v2"].is_unit());
    assert_eq!(i(&r, "listed"), 2);
    assert!(r["listed_versions"].as_bool().unwrap());
    // All rows or none carry a version id.
    let e = world.error(r#"let m = manifest::new(); m.add("b", "k1", "v1"); m.add("b", "k2"); m"#);
    assert_eq!(e.code, "ManifestInvalid");
}

#[test]
fn inventory_reports_work_as_manifests() {
    let world = World::new();
    let manifest_json = std::fs::read_to_string(fixture("inventory/manifest.json")).unwrap();
    let data = fixture("inventory/data/7a1c2f0e-5d1b-4a8e-9c0d-3f1e2b4a5c6d.csv.gz");
    let r = world.map(&format!(
        r#"{JOBS}
        s3::create_bucket("example-source-bucket");
        s3::create_bucket("example-inventory-destination-bucket");
        iam::put_role_policy("jobs-role", "inventory", #{{ Version: "2012-10-17", Statement: [
            #{{ Effect: "Allow", Action: "s3:RestoreObject", Resource: "arn:aws:s3:::example-source-bucket/*" }},
            #{{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::example-inventory-destination-bucket/*" }} ] }});
        for o in [["2019/01/scan-0001.tif", "GLACIER"], ["2019/01/scan 0002.tif", "GLACIER"], ["2019/02/café.tif", "GLACIER"],
                  ["2018/old/archive.tar", "DEEP_ARCHIVE"], ["index.html", "STANDARD"], ["robots.txt", "STANDARD"]] {{
            s3::put_object("example-source-bucket", o[0], o[0], #{{ storage_class: o[1] }});
        }}
        s3::upload_file("example-inventory-destination-bucket", "inventory/example-source-bucket/daily/data/7a1c2f0e-5d1b-4a8e-9c0d-3f1e2b4a5c6d.csv.gz", "{data}");
        s3::put_object("example-inventory-destination-bucket", "inventory/example-source-bucket/daily/manifest.json", {manifest_json:?});
        let loc = manifest::inventory("example-inventory-destination-bucket", "inventory/example-source-bucket/daily/manifest.json");
        let job = batch::wait(batch::create_job(#{{ manifest: loc, operation: batch::restore_operation(#{{ days: 1, tier: "BULK" }}),
            role_arn: role.arn, confirmation_required: false, report: #{{ bucket: "jobs", scope: "AllTasks" }} }}).id);
        let r = report::load(job);
        #{{ format: loc.format, job: job, by_error: r.by_error(), keys: r.rows(#{{ status: "succeeded" }}).map(|x| x.key) }}"#
    ));
    assert_eq!(s(&r, "format"), "S3InventoryReport_CSV_20161130");
    let progress = m(&m(&r, "job"), "progress");
    assert_eq!(
        (
            i(&progress, "total"),
            i(&progress, "succeeded"),
            i(&progress, "failed")
        ),
        (6, 4, 2)
    );
    assert_eq!(i(&m(&r, "by_error"), "InvalidObjectState"), 2);
    assert!(strings(&r["keys"]).contains(&"2019/01/scan 0002.tif".to_string()));
    assert!(strings(&r["keys"]).contains(&"2019/02/café.tif".to_string()));
}

#[test]
fn versioning_delete_markers_and_empty_bucket_with_early_deletion() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{FROZEN}
        s3::create_bucket("vers", #{{ versioning: true }});
        s3::put_object("vers", "a", "1", #{{ storage_class: "GLACIER" }});
        s3::put_object("vers", "a", "2", #{{ storage_class: "GLACIER" }});
        s3::delete_object("vers", "a");
        let hidden = ""; try {{ s3::head_object("vers", "a"); }} catch (e) {{ hidden = e.code; }}
        let notempty = ""; try {{ s3::delete_bucket("vers"); }} catch (e) {{ notempty = e.code; }}
        let emptied = s3::empty_bucket("vers");
        s3::delete_bucket("vers");
        // Early deletion: 10 objects of 1 GiB in GLACIER deleted after 60 of their 90 days, and
        // 10 in DEEP_ARCHIVE after 60 of their 180.
        s3::create_bucket("aged");
        sim::seed_objects("aged", 10, #{{ prefix: "g/", storage_class: "GLACIER", size: 1073741824 }});
        sim::seed_objects("aged", 10, #{{ prefix: "d/", storage_class: "DEEP_ARCHIVE", size: 1073741824 }});
        sim::seed_objects("aged", 10, #{{ prefix: "s/", storage_class: "STANDARD", size: 1073741824 }});
        sim::advance("60d");
        #{{ hidden: hidden, notempty: notempty, emptied: emptied, aged: s3::empty_bucket("aged") }}"#
    ));
    assert_eq!(s(&r, "hidden"), "NoSuchKey");
    assert_eq!(s(&r, "notempty"), "BucketNotEmpty");
    // Two versions and a delete marker.
    assert_eq!(i(&m(&r, "emptied"), "deleted"), 3);
    let aged = m(&r, "aged");
    assert_eq!(i(&aged, "deleted"), 30);
    let gib_with_overhead = (1073741824.0 + 32768.0) / 1073741824.0;
    let expected = 10.0 * gib_with_overhead * (0.0036 * 30.0 / 30.0 + 0.00099 * 120.0 / 30.0);
    let charged = aged["early_deletion_usd"].as_float().unwrap();
    assert!((charged - expected).abs() < 1e-6, "{charged} vs {expected}");
}

#[test]
fn iam_rules_conflicts_and_malformed_documents() {
    let world = World::new();
    let r = world.map(
        r#"
        let role = iam::create_role("r", iam::batch_trust_policy());
        let p = iam::create_policy("managed", #{ Version: "2012-10-17", Statement: [
            #{ Effect: "Allow", Action: "s3:Get?bject*", Resource: "arn:aws:s3:::data-*/*" }] });
        iam::attach_role_policy("r", p.arn);
        iam::put_role_policy("r", "inline", #{ Version: "2012-10-17", Statement: [
            #{ Effect: "Allow", Action: "S3:RESTOREOBJECT", Resource: "arn:aws:s3:::data-1/*" },
            #{ Effect: "Deny", Action: "s3:*", Resource: "arn:aws:s3:::data-1/secret/*" }] });
        let arn = role.arn;
        let decisions = [
            iam::simulate(arn, "s3:GetObjectVersion", "arn:aws:s3:::data-2/x"),
            iam::simulate(arn, "s3:RestoreObject", "arn:aws:s3:::data-1/x"),
            iam::simulate(arn, "s3:RestoreObject", "arn:aws:s3:::data-2/x"),
            iam::simulate(arn, "s3:GetObject", "arn:aws:s3:::data-1/secret/x"),
        ];
        let conflicts = [];
        try { iam::delete_role("r"); } catch (e) { conflicts.push(e.code); }
        try { iam::delete_policy(p.arn); } catch (e) { conflicts.push(e.code); }
        iam::detach_role_policy("r", p.arn);
        try { iam::delete_role("r"); } catch (e) { conflicts.push(e.message); }
        iam::delete_role_policy("r", "inline");
        iam::delete_role("r");
        iam::delete_policy(p.arn);
        let malformed = [];
        try { iam::create_policy("bad", "{ not json"); } catch (e) { malformed.push(e.code); }
        try { iam::create_policy("bad", #{ Version: "2012-10-17", Statement: [#{ Effect: "Permit", Action: "s3:*", Resource: "*" }] }); } catch (e) { malformed.push(e.code); }
        #{ decisions: decisions, conflicts: conflicts, malformed: malformed }"#,
    );
    assert_eq!(
        strings(&r["decisions"]),
        ["allowed", "allowed", "implicitDeny", "explicitDeny"]
    );
    assert_eq!(
        strings(&r["conflicts"]),
        [
            "DeleteConflict",
            "DeleteConflict",
            "Cannot delete entity, must delete policies first."
        ]
    );
    assert_eq!(
        strings(&r["malformed"]),
        ["MalformedPolicyDocument", "MalformedPolicyDocument"]
    );
}

#[test]
fn faults_throttle_and_fail_some_requests_and_restores_are_rate_limited() {
    // Scripts on the simulator see injected faults as a program on AWS does: through the
    // SDK's retries (8 tries, exponential backoff with jitter), rehearsed on the virtual
    // clock. What the retries cannot absorb reaches the script; restore::direct, which paces
    // itself, sees every throttle raw.
    let world = World::new();
    let r = world.map(&format!(
        r#"{FROZEN}
        s3::create_bucket("faulty");
        sim::seed_objects("faulty", 1500);
        sim::set_faults(#{{ throttle_rate: 0.2, error_rate: 0.1, seed: 7 }});
        let before = now();
        let codes = #{{}};
        for i in 0..200 {{
            try {{ s3::head_object("faulty", "obj-000001"); codes.ok = (codes.ok ?? 0) + 1; }}
            catch (e) {{ codes[e.code] = (codes[e.code] ?? 0) + 1; }}
        }}
        let retried_for = now();
        sim::set_faults(#{{ throttle_rate: 1.0, seed: 7 }});
        let hopeless = "";
        try {{ s3::head_object("faulty", "obj-000001"); }} catch (e) {{ hopeless = e.code; }}
        sim::set_faults(#{{}});
        let m = manifest::from_listing("faulty");
        // restore::direct sends RestoreObject without the client's retries: it counts each
        // throttle, slows down and comes back for the object.
        sim::set_faults(#{{ throttle_rate: 0.05, seed: 3 }});
        let d = restore::direct(m, #{{ days: 1 }});
        #{{ codes: codes, before: before, retried_for: retried_for, hopeless: hopeless,
           requested: d.requested, throttled: d.throttled, failed: d.failed.len() }}"#
    ));
    let codes = m(&r, "codes");
    assert_eq!(i(&codes, "ok"), 200, "{codes:?}");
    assert!(
        s(&r, "retried_for") > s(&r, "before"),
        "backoff moved the clock"
    );
    assert_eq!(s(&r, "hopeless"), "SlowDown");
    assert_eq!((i(&r, "requested"), i(&r, "failed")), (1500, 0));
    assert!((30..150).contains(&i(&r, "throttled")), "{r:?}");
}

#[test]
fn version_listings_page_through_every_version_once() {
    let world = World::new();
    let r = world.map(
        r#"
        s3::create_bucket("many-versions", #{ versioning: true });
        for k in ["a", "b", "c"] { for i in 0..700 { s3::put_object("many-versions", k, `${k}${i}`); } }
        s3::delete_object("many-versions", "b");
        let all = manifest::from_listing("many-versions", #{ versions: true });
        let rows = all.rows(all.len());
        let distinct = #{};
        for row in rows { distinct[row.key + "/" + row.version_id] = true; }
        #{ versions: all.len(), distinct: distinct.len(), current: manifest::from_listing("many-versions").len(),
           emptied: s3::empty_bucket("many-versions").deleted }"#,
    );
    // 2,100 versions (the delete marker is skipped) over three pages, none twice.
    assert_eq!((i(&r, "versions"), i(&r, "distinct")), (2100, 2100));
    assert_eq!(i(&r, "current"), 2);
    assert_eq!(i(&r, "emptied"), 2101);
}

#[test]
fn conditional_reads_and_writes_follow_http_preconditions() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{FROZEN}
        s3::create_bucket("conds");
        let etag = s3::put_object("conds", "k", "one").etag;
        fn code(f) {{ try {{ f.call(); return "ok"; }} catch (e) {{ return `${{e.code}} ${{e.status}}`; }} }}
        #{{
            match_ok: code(|| s3::get_object("conds", "k", #{{ if_match: etag }})),
            match_bad: code(|| s3::get_object("conds", "k", #{{ if_match: "\"nope\"" }})),
            none_match_same: code(|| s3::get_object("conds", "k", #{{ if_none_match: etag }})),
            none_match_other: code(|| s3::get_object("conds", "k", #{{ if_none_match: "nope" }})),
            modified_since_later: code(|| s3::get_object("conds", "k", #{{ if_modified_since: "2027-03-11T00:00:00Z" }})),
            modified_since_earlier: code(|| s3::get_object("conds", "k", #{{ if_modified_since: "2027-03-09T00:00:00Z" }})),
            unmodified_since_earlier: code(|| s3::get_object("conds", "k", #{{ if_unmodified_since: "1994-10-29T19:43:31Z" }})),
            // If-Match holds, so If-Unmodified-Since is not consulted (RFC 7232).
            match_wins: code(|| s3::get_object("conds", "k", #{{ if_match: etag, if_unmodified_since: "1994-10-29T19:43:31Z" }})),
            create_only_exists: code(|| s3::put_object("conds", "k", "two", #{{ if_none_match: "*" }})),
            create_only_new: code(|| s3::put_object("conds", "new", "two", #{{ if_none_match: "*" }})),
            replace_if_bad: code(|| s3::put_object("conds", "k", "two", #{{ if_match: "\"nope\"" }})),
            replace_if_missing: code(|| s3::put_object("conds", "gone", "two", #{{ if_match: "*" }})),
            replace_if_ok: code(|| s3::put_object("conds", "k", "two", #{{ if_match: etag }})),
            after: s3::get_text("conds", "k", #{{}}),
        }}"#
    ));
    assert_eq!(s(&r, "match_ok"), "ok");
    assert_eq!(s(&r, "match_bad"), "PreconditionFailed 412");
    assert_eq!(s(&r, "none_match_same"), "NotModified 304");
    assert_eq!(s(&r, "none_match_other"), "ok");
    assert_eq!(s(&r, "modified_since_later"), "NotModified 304");
    assert_eq!(s(&r, "modified_since_earlier"), "ok");
    assert_eq!(s(&r, "unmodified_since_earlier"), "PreconditionFailed 412");
    assert_eq!(s(&r, "match_wins"), "ok");
    assert_eq!(s(&r, "create_only_exists"), "PreconditionFailed 412");
    assert_eq!(s(&r, "create_only_new"), "ok");
    assert_eq!(s(&r, "replace_if_bad"), "PreconditionFailed 412");
    assert_eq!(s(&r, "replace_if_missing"), "NoSuchKey 404");
    assert_eq!(s(&r, "replace_if_ok"), "ok");
    assert_eq!(s(&r, "after"), "two");
}

#[test]
fn copy_in_place_must_change_something_and_us_east_1_recreates_buckets() {
    let world = World::new();
    let r = world.map(
        r#"
        s3::create_bucket("copies");
        s3::put_object("copies", "k", "body");
        let same = ""; try { s3::copy_object("copies", "k", "copies", "k"); } catch (e) { same = `${e.code} ${e.status}`; }
        // Changing the storage class in place is how objects move between classes.
        let to_glacier = s3::copy_object("copies", "k", "copies", "k", #{ storage_class: "GLACIER" }).storage_class;
        let again = s3::create_bucket("copies").name;
        s3::create_bucket("eu-copies", #{ region: "eu-west-1" });
        let eu = ""; try { s3::create_bucket("eu-copies", #{ region: "eu-west-1" }); } catch (e) { eu = `${e.code} ${e.status}`; }
        #{ same: same, to_glacier: to_glacier, again: again, eu: eu, kept: s3::list_objects("copies").len() }"#,
    );
    assert_eq!(s(&r, "same"), "InvalidRequest 400");
    assert_eq!(s(&r, "to_glacier"), "GLACIER");
    assert_eq!(s(&r, "again"), "copies");
    assert_eq!(s(&r, "eu"), "BucketAlreadyOwnedByYou 409");
    assert_eq!(i(&r, "kept"), 1);
}

#[test]
fn suspended_versioning_and_delete_markers() {
    use s3thaw::backend::{Backend, PutObject, VersioningStatus, sim::Simulator};
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::open(dir.path()).unwrap();
    sim.create_bucket("susp", None).unwrap();
    assert_eq!(sim.get_bucket_versioning("susp").unwrap(), None);
    // Suspending a never-versioned bucket is allowed and reported.
    sim.put_bucket_versioning("susp", false).unwrap();
    assert_eq!(
        sim.get_bucket_versioning("susp").unwrap(),
        Some(VersioningStatus::Suspended)
    );
    let put = |body: &str| {
        sim.put_object(PutObject {
            bucket: "susp".into(),
            key: "k".into(),
            body: body.as_bytes().to_vec(),
            ..PutObject::default()
        })
        .unwrap()
    };
    assert_eq!(put("one").version_id, None);
    // A delete on a suspended bucket leaves a `null` delete marker in place of the null version.
    let deleted = sim.delete_object("susp", "k", None).unwrap();
    assert!(deleted.delete_marker);
    assert_eq!(deleted.version_id.as_deref(), Some("null"));
    let e = sim.get_object("susp", "k", None).unwrap_err();
    assert_eq!((e.code.as_str(), e.delete_marker), ("NoSuchKey", true));
    assert_eq!(e.version_id.as_deref(), Some("null"));
    let e = sim.head_object("susp", "k", Some("null")).unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("MethodNotAllowed", Some(405)));
    let versions = sim.list_object_versions("susp", None, None).unwrap().items;
    assert_eq!(versions.len(), 1);
    assert!(versions[0].is_delete_marker);
    // Enabled again: new versions get ids, the null marker stays as an older version.
    sim.put_bucket_versioning("susp", true).unwrap();
    assert!(put("two").version_id.is_some());
    assert_eq!(
        sim.list_object_versions("susp", None, None)
            .unwrap()
            .items
            .len(),
        2
    );
}

/// A job of `n` GLACIER objects with a completion report, created and not yet run: returns its id.
fn job_of(world: &World, n: u64) -> String {
    world
        .eval(&format!(
            // The clock stands still between calls: what a test's `advance` runs does not
            // depend on how slow the machine was in between.
            r#"sim::set_clock(#{{ frozen: true }});
            s3::create_bucket("slices");
            sim::seed_objects("slices", {n}, #{{ prefix: "o/", storage_class: "GLACIER" }});
            let role = iam::create_role("slices-role", iam::batch_trust_policy());
            iam::put_role_policy("slices-role", "restore", iam::restore_policy(#{{
                targets: ["slices"], manifest_bucket: "slices", report_bucket: "slices" }}));
            let m = manifest::from_listing("slices", #{{ prefix: "o/" }});
            let loc = manifest::upload(m, "slices", "manifest.csv");
            let job = batch::create_job(#{{ manifest: loc,
                operation: batch::restore_operation(#{{ days: 1, tier: "BULK" }}),
                role_arn: role.arn, confirmation_required: false,
                report: #{{ bucket: "slices", prefix: "reports", scope: "AllTasks" }} }});
            job.id"#
        ))
        .expect("job set up")
        .to_string()
}

/// The raw row of a job (looking through the API is a call, which would carry the job on):
/// status, tasks counted as run, tasks recorded (failed rows and runs of successes).
fn raw_job(world: &World, id: &str) -> (String, i64, i64) {
    let conn = rusqlite::Connection::open(world.state().join("sim.sqlite3")).unwrap();
    conn.query_row(
        "SELECT status, succeeded + failed,
             (SELECT COUNT(*) FROM tasks WHERE job_id = ?1 AND status IS NOT NULL)
             + (SELECT COALESCE(SUM(seq_end - seq_start), 0) FROM task_runs WHERE job_id = ?1)
         FROM jobs WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

/// Ctrl-C between two slices of a long catch-up: the call stops with `Interrupted`, what ran is
/// saved (whole chunks of tasks, counted), and the next call carries on to the same end as an
/// uninterrupted run: every task once, the report complete.
#[test]
fn ctrl_c_stops_long_work_between_slices_and_the_next_call_carries_on() {
    use s3thaw::backend::Backend;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    let world = World::new();
    let id = job_of(&world, 5_000);
    // Slices of 1,000 tasks. The job gets Active and runs some of its tasks first.
    let open = || {
        Simulator::open(world.state())
            .unwrap()
            .with_slices(Duration::from_secs(3600), 1_000)
    };
    open().advance(Duration::from_secs(5)).unwrap();
    let (status, before, _) = raw_job(&world, &id);
    assert_eq!(status, "Active");
    assert!(before < 4_000, "{before} tasks ran in the first seconds");
    // Ctrl-C pressed: one slice runs, then the call stops.
    let sim = open();
    sim.watch_interrupt(Arc::new(AtomicBool::new(true)));
    let e = sim.advance(Duration::from_secs(3600)).unwrap_err();
    assert_eq!(e.code, "Interrupted", "{e:?}");
    drop(sim);
    let (status, ran, recorded) = raw_job(&world, &id);
    assert_eq!(status, "Active");
    assert_eq!(
        (ran, recorded),
        (before + 1_000, before + 1_000),
        "one slice ran"
    );
    // The next call carries on.
    let job = open().describe_job(&id).unwrap();
    assert_eq!(job.status.as_str(), "Complete");
    assert_eq!((job.progress.succeeded, job.progress.total), (5_000, 5_000));
    let r = world.map(&format!(
        r#"let r = report::read("slices", "reports/job-{id}/manifest.json"); #{{ total: r.total, succeeded: r.succeeded }}"#
    ));
    assert_eq!((i(&r, "total"), i(&r, "succeeded")), (5_000, 5_000));
}

/// A state written by older builds: a row of `tasks` per task instead of blocks, tasks
/// recorded as succeeded in their own rows (not as runs), indexes of restores by instant and by
/// minute instead of `restore_events`. When the state is opened its tasks go into blocks and
/// runs and the old indexes give way to `restore_events`, whose counts are those of the
/// objects' rows; the job carries on and its report lists every task once.
#[test]
fn a_job_begun_by_an_older_build_finishes_with_a_whole_report() {
    use s3thaw::backend::Backend;
    use std::time::Duration;

    let world = World::new();
    let id = job_of(&world, 3_000);
    Simulator::open(world.state())
        .unwrap()
        .advance(Duration::from_secs(5))
        .unwrap();
    let (status, before, recorded) = raw_job(&world, &id);
    assert_eq!(status, "Active");
    assert!(before > 0 && before < 3_000, "{before} tasks ran");
    assert_eq!(recorded, before);
    let conn = rusqlite::Connection::open(world.state().join("sim.sqlite3")).unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO tasks (job_id, seq, bucket, key, version_id)
             SELECT b.job_id, b.seq + j.key, j.value ->> 0, j.value ->> 1, j.value ->> 2
             FROM task_blocks b, json_each(b.tasks) j WHERE true
             ON CONFLICT DO NOTHING;
         DELETE FROM task_blocks;
         DELETE FROM meta WHERE name = 'tasks_in_blocks';
         UPDATE tasks SET status = 'succeeded', error_code = NULL, message = 'Successful',
             http_status = (SELECT http_status FROM task_runs r WHERE r.job_id = tasks.job_id
                            AND tasks.seq >= r.seq_start AND tasks.seq < r.seq_end)
         WHERE job_id = '{id}' AND EXISTS (SELECT 1 FROM task_runs r WHERE r.job_id = tasks.job_id
                            AND tasks.seq >= r.seq_start AND tasks.seq < r.seq_end);
         DELETE FROM task_runs;
         ALTER TABLE objects ADD COLUMN restore_tier TEXT;
         ALTER TABLE objects ADD COLUMN restore_days INTEGER;
         ALTER TABLE objects ADD COLUMN restore_requested INTEGER;
         ALTER TABLE objects ADD COLUMN restore_done INTEGER;
         ALTER TABLE objects ADD COLUMN restore_expiry INTEGER;
         ALTER TABLE objects ADD COLUMN restore_minute INTEGER;
         UPDATE objects SET (restore_tier, restore_days, restore_requested, restore_done,
                 restore_expiry, restore_minute)
             = (SELECT tier, days, requested, done, expiry, done / 60000 FROM restores
                WHERE object_id = objects.id);
         DROP TRIGGER objects_restores_follow;
         DROP TRIGGER restores_events_follow;
         DROP TABLE restores;
         DROP TABLE restore_events;
         CREATE INDEX objects_restore_done ON objects (restore_done) WHERE restore_done IS NOT NULL;
         CREATE INDEX objects_restore_due ON objects (restore_minute, id, restore_done)
             WHERE restore_done IS NOT NULL;
         CREATE INDEX objects_restore_expiry ON objects (restore_expiry)
             WHERE restore_expiry IS NOT NULL;"
    ))
    .unwrap();
    drop(conn);
    assert_eq!(raw_job(&world, &id).2, before);
    let sim = Simulator::open(world.state()).unwrap();
    sim.advance(Duration::from_secs(3600)).unwrap();
    let job = sim.describe_job(&id).unwrap();
    drop(sim);
    assert_eq!(job.status.as_str(), "Complete");
    assert_eq!((job.progress.succeeded, job.progress.total), (3_000, 3_000));
    let r = world.map(&format!(
        r#"let r = report::read("slices", "reports/job-{id}/manifest.json"); #{{ total: r.total, succeeded: r.succeeded }}"#
    ));
    assert_eq!((i(&r, "total"), i(&r, "succeeded")), (3_000, 3_000));
    let conn = rusqlite::Connection::open(world.state().join("sim.sqlite3")).unwrap();
    let indexes: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'objects_restore%'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(indexes.is_empty(), "{indexes:?}");
    let counts = |sql: &str| -> Vec<(i64, i64)> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    // The restores of the old columns came over (the first `before` tasks'), the rest were
    // added since: every object of the job has one, counted in `restore_events`.
    let finishing = counts("SELECT done, COUNT(*) FROM restores GROUP BY done ORDER BY 1");
    assert_eq!(finishing.iter().map(|c| c.1).sum::<i64>(), 3_000);
    assert_eq!(
        counts(
            "SELECT COUNT(*), COUNT(*) FROM objects o JOIN restores r ON r.object_id = o.id
             WHERE o.restore_done IS NOT NULL AND o.restore_done = r.done
                 AND o.restore_requested = r.requested AND o.restore_tier = r.tier"
        ),
        [(before, before)]
    );
    assert_eq!(
        counts("SELECT at, finishing FROM restore_events WHERE finishing > 0 ORDER BY at"),
        finishing
    );
    assert_eq!(
        counts("SELECT at, expiring FROM restore_events WHERE expiring > 0 ORDER BY at"),
        counts(
            "SELECT expiry, COUNT(*) FROM restores WHERE expiry IS NOT NULL
             GROUP BY expiry ORDER BY 1"
        )
    );
}

/// Ctrl-C while a job's manifest is read into tasks (one step, one transaction): the step rolls
/// back whole, no task is left behind, and the next call prepares and runs the job.
#[test]
fn ctrl_c_during_preparation_rolls_it_back_whole() {
    use s3thaw::backend::Backend;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    let world = World::new();
    let id = job_of(&world, 3_000);
    let sim = Simulator::open(world.state()).unwrap();
    sim.watch_interrupt(Arc::new(AtomicBool::new(true)));
    let e = sim.advance(Duration::from_secs(3600)).unwrap_err();
    assert_eq!(e.code, "Interrupted", "{e:?}");
    drop(sim);
    let conn = rusqlite::Connection::open(world.state().join("sim.sqlite3")).unwrap();
    let tasks: i64 = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM tasks WHERE job_id = ?1)
                 + (SELECT COUNT(*) FROM task_blocks WHERE job_id = ?1)",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    assert_eq!((raw_job(&world, &id).0, tasks), ("New".to_string(), 0));
    let sim = Simulator::open(world.state()).unwrap();
    sim.advance(Duration::from_secs(3600)).unwrap();
    let job = sim.describe_job(&id).unwrap();
    assert_eq!(job.status.as_str(), "Complete");
    assert_eq!((job.progress.succeeded, job.progress.total), (3_000, 3_000));
}

/// A job of many slices gives the same world as one run in a single slice: the same counts,
/// report and restore instants (slices are a matter of transactions, never of simulated time).
#[test]
fn slices_do_not_change_what_a_job_does() {
    use s3thaw::backend::Backend;
    use std::time::Duration;

    let run = |tasks_per_slice: u64| {
        let world = World::new();
        let id = job_of(&world, 3_000);
        let sim = Simulator::open(world.state())
            .unwrap()
            .with_slices(Duration::from_secs(3600), tasks_per_slice);
        sim.advance(Duration::from_secs(60)).unwrap();
        let job = sim.describe_job(&id).unwrap();
        let conn = rusqlite::Connection::open(world.state().join("sim.sqlite3")).unwrap();
        let restores: Vec<(String, i64, bool)> = conn
            .prepare(
                "SELECT key, r.requested, r.done IS NOT NULL
                 FROM objects LEFT JOIN restores r ON r.object_id = objects.id
                 WHERE key LIKE 'o/%' ORDER BY key",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, bool>(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let start = restores[0].1;
        (
            job.status.as_str().to_string(),
            job.progress.succeeded,
            restores
                .into_iter()
                .map(|(k, at, takes)| (k, at - start, takes))
                .collect::<Vec<_>>(),
        )
    };
    let sliced = run(250);
    let whole = run(1_000_000);
    assert_eq!(sliced.0, "Complete");
    assert_eq!(sliced.1, 3_000);
    // Compared without printing 3,000 rows.
    assert!(sliced == whole, "the sliced run differs from the whole one");
}

/// A completion report bigger than one results file (200,000 rows; 1,000 here through the
/// state's `report_file_rows`) is written as several files per status, every one listed in
/// manifest.json, and read back whole, in task order.
#[test]
fn big_reports_are_written_in_several_results_files() {
    let world = World::new();
    let id = job_of(&world, 2_500);
    let conn = rusqlite::Connection::open(world.state().join("sim.sqlite3")).unwrap();
    conn.execute(
        "INSERT INTO meta (name, value) VALUES ('report_file_rows', '1000')",
        [],
    )
    .unwrap();
    drop(conn);
    let r = world.map(&format!(
        r#"let job = batch::wait("{id}");
        let files = s3::list_objects("slices", #{{ prefix: "reports/job-{id}/results/" }});
        let manifest = parse_json(s3::get_text("slices", "reports/job-{id}/manifest.json"));
        let r = report::read("slices", "reports/job-{id}/manifest.json");
        let rows = r.rows();
        #{{ status: job.status, files: files.len(), listed: manifest.Results.len(),
           total: r.total, succeeded: r.succeeded,
           first: rows[0].key, last: rows[rows.len() - 1].key }}"#
    ));
    assert_eq!(s(&r, "status"), "Complete");
    assert_eq!((i(&r, "files"), i(&r, "listed")), (3, 3), "{r:?}");
    assert_eq!((i(&r, "total"), i(&r, "succeeded")), (2_500, 2_500));
    assert_eq!(
        (s(&r, "first"), s(&r, "last")),
        ("o/000000".into(), "o/002499".into())
    );
}

/// A chunk of restore tasks over sorted keys looks its objects up with one range query; an
/// unsorted manifest looks each one up. Both give every task the same outcome: restored,
/// missing, behind a delete marker, not archived, a non-current version left alone.
#[test]
fn sorted_and_unsorted_manifests_give_each_task_the_same_outcome() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{}
        s3::put_object("jobs", "a", "1", #{{ storage_class: "GLACIER" }});
        s3::put_object("jobs", "b", "2", #{{ storage_class: "GLACIER" }});
        s3::delete_object("jobs", "b");
        s3::put_object("jobs", "d", "4", #{{ storage_class: "STANDARD" }});
        s3::put_object("jobs", "e", "5", #{{ storage_class: "DEEP_ARCHIVE" }});
        s3::put_object("jobs", "f", "6", #{{ storage_class: "GLACIER" }});
        s3::put_object("jobs", "f", "7", #{{ storage_class: "STANDARD" }});
        let op = batch::restore_operation(#{{ days: 1, tier: "BULK" }});
        let sorted = batch::wait(job_over(["a", "b", "c", "d", "e", "f"], op, role.arn, "sorted").id);
        let op = batch::restore_operation(#{{ days: 2, tier: "BULK" }});
        let unsorted = batch::wait(job_over(["f", "e", "d", "c", "b", "a"], op, role.arn, "unsorted").id);
        #{{ sorted: report::load(sorted).rows(), unsorted: report::load(unsorted).rows() }}"#,
        JOBS.replace(
            r#"s3::create_bucket("jobs");"#,
            r#"s3::create_bucket("jobs", #{ versioning: true });"#
        )
    ));
    let outcomes = |k: &str| -> Vec<(String, String, String)> {
        let mut rows: Vec<_> = r[k]
            .clone()
            .into_array()
            .unwrap()
            .into_iter()
            .map(|row| {
                let row = row.try_cast::<rhai::Map>().unwrap();
                let code = row["error_code"].clone();
                let code = if code.is_unit() {
                    String::new()
                } else {
                    code.to_string()
                };
                (s(&row, "key"), s(&row, "http_status"), code)
            })
            .collect();
        rows.sort();
        rows
    };
    let expected: Vec<(String, String, String)> = [
        ("a", "202", ""),
        ("b", "404", "NoSuchKey"),
        ("c", "404", "NoSuchKey"),
        ("d", "403", "InvalidObjectState"),
        ("e", "202", ""),
        ("f", "403", "InvalidObjectState"),
    ]
    .iter()
    .map(|(k, h, c)| (k.to_string(), h.to_string(), c.to_string()))
    .collect();
    assert_eq!(outcomes("sorted"), expected);
    // The second job finds a and e already being restored.
    let mut again = expected.clone();
    again[0] = ("a".into(), "409".into(), "RestoreAlreadyInProgress".into());
    again[4] = ("e".into(), "409".into(), "RestoreAlreadyInProgress".into());
    assert_eq!(outcomes("unsorted"), again);
}

/// ACLs with grants to named accounts: READ lets another account read and copy an object,
/// READ_ACP/WRITE_ACP its ACL, WRITE on a bucket write into it; an ACL set by grants is exactly
/// those grants (the owner keeps its ACL, not its READ); unknown ids are refused as AWS does.
#[test]
fn grants_to_named_accounts() {
    use s3thaw::backend::sim::{Acl, Caller, Grant, Grantee, Permission, Simulator};
    use s3thaw::backend::{
        Backend, CannedAcl, CopyObject, ListObjects, ObjectRef, Owner, PutObject,
    };
    let dir = tempfile::tempdir().unwrap();
    let world = Simulator::open(dir.path()).unwrap();
    let owner = |id: &str, name: &str| Owner {
        id: id.into(),
        display_name: name.into(),
    };
    world
        .register_accounts(&[owner("alice-id", "Alice"), owner("bob-id", "Bob")])
        .unwrap();
    let alice = world.acting_as(Some(Caller::Account(owner("alice-id", "Alice"))));
    let bob = world.acting_as(Some(Caller::Account(owner("bob-id", "Bob"))));
    let grant = |id: &str, permission| Grant {
        grantee: Grantee::user(id),
        permission,
    };
    let put = |sim: &Simulator, bucket: &str, key: &str| {
        sim.put_object(PutObject {
            bucket: bucket.into(),
            key: key.into(),
            body: b"body".to_vec(),
            ..PutObject::default()
        })
        .map(|_| ())
        .map_err(|e| e.code)
    };
    let copy = |sim: &Simulator, bucket: &str, key: &str| {
        sim.copy_object_with(&CopyObject {
            source: ObjectRef {
                bucket: "alices".into(),
                key: "k".into(),
                version_id: None,
            },
            bucket: bucket.into(),
            key: key.into(),
            ..CopyObject::default()
        })
        .map(|_| ())
        .map_err(|e| e.code)
    };
    fn code<T>(r: s3thaw::errors::Result<T>) -> Result<(), String> {
        r.map(|_| ()).map_err(|e| e.code)
    }
    let listing = || ListObjects {
        bucket: "alices".into(),
        ..ListObjects::default()
    };
    alice.create_bucket("alices", None).unwrap();
    bob.create_bucket("bobs", None).unwrap();
    put(&alice, "alices", "k").unwrap();
    assert_eq!(
        code(bob.get_object("alices", "k", None)),
        Err("AccessDenied".into())
    );

    // READ for Bob: he reads and copies it into his bucket, not into Alice's, nor its ACL.
    alice
        .put_object_acl(
            "alices",
            "k",
            None,
            Acl::Grants(vec![
                grant("alice-id", Permission::FullControl),
                grant("bob-id", Permission::Read),
            ]),
        )
        .unwrap();
    assert_eq!(bob.get_object("alices", "k", None).unwrap(), b"body");
    assert!(bob.head_object("alices", "k", None).is_ok());
    assert!(copy(&bob, "bobs", "c").is_ok());
    assert_eq!((copy(&bob, "alices", "c")), Err("AccessDenied".into()));
    assert_eq!(
        code(bob.get_object_acl("alices", "k", None)),
        Err("AccessDenied".into())
    );
    // Listed back with display names, in the order set.
    let (acl_owner, grants) = alice.get_object_acl("alices", "k", None).unwrap();
    assert_eq!(acl_owner.id, "alice-id");
    let listed: Vec<(String, String, &str)> = grants
        .iter()
        .map(|g| match &g.grantee {
            Grantee::User { id, display_name } => {
                (id.clone(), display_name.clone(), g.permission.as_str())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("alice-id".into(), "Alice".into(), "FULL_CONTROL"),
            ("bob-id".into(), "Bob".into(), "READ")
        ]
    );

    // WRITE on the bucket lets Bob write into it (not list it); READ_ACP/WRITE_ACP its ACL.
    alice
        .put_bucket_acl(
            "alices",
            Acl::Grants(vec![
                grant("bob-id", Permission::Write),
                grant("bob-id", Permission::ReadAcp),
            ]),
        )
        .unwrap();
    assert!(copy(&bob, "alices", "c").is_ok());
    assert!(put(&bob, "alices", "mine").is_ok());
    assert_eq!(
        code(bob.list_objects(&listing())),
        Err("AccessDenied".into())
    );
    assert_eq!(bob.get_bucket_acl("alices").unwrap().1.len(), 2);
    assert_eq!(
        code(bob.put_bucket_acl("alices", CannedAcl::Private)),
        Err("AccessDenied".into())
    );
    // The bucket owner may do anything to its bucket, grants or not.
    assert!(alice.list_objects(&listing()).is_ok());
    alice.put_bucket_acl("alices", CannedAcl::Private).unwrap();
    assert_eq!((put(&bob, "alices", "more")), Err("AccessDenied".into()));

    // An object ACL without the owner's grant: the owner keeps READ_ACP/WRITE_ACP, not READ.
    alice
        .put_object_acl(
            "alices",
            "k",
            None,
            Acl::Grants(vec![grant("bob-id", Permission::FullControl)]),
        )
        .unwrap();
    assert_eq!(
        code(alice.get_object("alices", "k", None)),
        Err("AccessDenied".into())
    );
    assert!(alice.get_object_acl("alices", "k", None).is_ok());
    // FULL_CONTROL lets Bob change the ACL of Alice's object.
    bob.put_object_acl("alices", "k", None, CannedAcl::Private)
        .unwrap();
    assert!(alice.get_object("alices", "k", None).is_ok());
    assert_eq!(
        code(bob.get_object("alices", "k", None)),
        Err("AccessDenied".into())
    );

    // Grantees S3 would not resolve: nothing changes.
    let e = alice
        .put_object_acl(
            "alices",
            "k",
            None,
            Acl::Grants(vec![grant("nobody", Permission::Read)]),
        )
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str(), e.status),
        ("InvalidArgument", "Invalid id", Some(400))
    );
    let refused = [
        (
            Grantee::Email("x@example.com".into()),
            "UnresolvableGrantByEmailAddress",
            None,
        ),
        (
            Grantee::Group("http://acs.amazonaws.com/groups/global/Nobody".into()),
            "InvalidArgument",
            Some("Invalid group uri"),
        ),
    ];
    for (grantee, code, message) in refused {
        let grant = Grant {
            grantee,
            permission: Permission::Read,
        };
        let e = alice
            .put_bucket_acl("alices", Acl::Grants(vec![grant]))
            .unwrap_err();
        assert_eq!(e.code, code);
        if let Some(message) = message {
            assert_eq!(e.message, message);
        }
    }
    // The world's own account is always a known grantee.
    let own = world.caller().unwrap().owner().id;
    alice
        .put_object_acl(
            "alices",
            "k",
            None,
            Acl::Grants(vec![grant(&own, Permission::Read)]),
        )
        .unwrap();
    assert!(world.get_object("alices", "k", None).is_ok());
}
