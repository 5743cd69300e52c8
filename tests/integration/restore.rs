//! Knowing when the data is back, retrying what failed, knowing what it costs: the restore::,
//! cost:: and preflight parts of the API and the playbooks built on them.

use crate::common::*;

fn playbook(name: &str) -> String {
    std::fs::read_to_string(project_root().join("scripts").join(name)).unwrap()
}

#[test]
fn a_prefix_of_5000_mixed_class_objects_restores_end_to_end() {
    let world = World::new();
    world.run(
        r#"
            s3::create_bucket("mixed");
            sim::seed_objects("mixed", 2000, #{ prefix: "data/g/", storage_class: "GLACIER" });
            sim::seed_objects("mixed", 1500, #{ prefix: "data/d/", storage_class: "DEEP_ARCHIVE" });
            sim::seed_objects("mixed", 1000, #{ prefix: "data/s/", storage_class: "STANDARD" });
            sim::seed_objects("mixed", 500, #{ prefix: "data/ir/", storage_class: "GLACIER_IR" });
            sim::seed_objects("mixed", 300, #{ prefix: "other/", storage_class: "GLACIER" });"#,
    );
    let result = world
        .eval_with(
            &playbook("restore-prefix.rhai"),
            &[
                ("bucket", "mixed"),
                ("prefix", "data/"),
                ("tier", "BULK"),
                ("days", "3"),
                ("copy_to_standard", "true"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e:?}"))
        .try_cast::<rhai::Map>()
        .unwrap();
    assert_eq!(i(&result, "restored"), 3500);
    assert_eq!(i(&result, "permanent_failures"), 0);
    let after = world
        .map(&format!(
            r#"let job = batch::describe("{}");
            let g = manifest::from_listing("mixed", #{{ prefix: "data/", storage_classes: ["GLACIER", "DEEP_ARCHIVE"] }});
            let other = restore::status(manifest::from_listing("mixed", #{{ prefix: "other/" }}));
            #{{ progress: job.progress, archived_left: g.len(), standard: manifest::from_listing("mixed", #{{ prefix: "data/", storage_classes: ["STANDARD"] }}).len(),
               other: other, text: s3::get_text("mixed", "data/d/000042") }}"#,
            s(&result, "job")
        ));
    let progress = m(&after, "progress");
    assert_eq!(
        (
            i(&progress, "total"),
            i(&progress, "succeeded"),
            i(&progress, "failed")
        ),
        (3500, 3500, 0)
    );
    // copy_to_standard made the 3,500 restored objects permanent STANDARD copies.
    assert_eq!(i(&after, "archived_left"), 0);
    assert_eq!(i(&after, "standard"), 4500);
    // Objects outside the prefix were left alone.
    let other = m(&after, "other");
    assert_eq!((i(&other, "total"), i(&other, "not_requested")), (300, 300));
    assert_eq!(
        s(&after, "text"),
        "data/d/000042\n".repeat(79)[..1024].to_string()
    );
}

#[test]
fn direct_restores_under_throttling_lose_and_duplicate_nothing() {
    let world = World::new();
    let r = world.map(
        r#"
        sim::set_clock(#{ time: "2027-01-05T08:00:00Z", frozen: true });
        s3::create_bucket("throttled");
        sim::seed_objects("throttled", 3000, #{ prefix: "x/", storage_class: "GLACIER" });
        sim::seed_objects("throttled", 200, #{ prefix: "x/s", storage_class: "STANDARD" });
        let m = manifest::from_listing("throttled", #{ prefix: "x/" });
        sim::set_faults(#{ throttle_rate: 0.3, error_rate: 0.05, seed: 3 });
        let r = restore::direct(m, #{ days: 1, tier: "EXPEDITED", concurrency: 32 });
        sim::set_faults(#{});
        let again = restore::direct(manifest::from_listing("throttled", #{ prefix: "x/0" }), #{ days: 1, tier: "EXPEDITED" });
        #{ r: r, status: restore::status(m), again: again, waited: restore::wait(manifest::from_listing("throttled", #{ prefix: "x/0" })) }"#,
    );
    let direct = m(&r, "r");
    assert_eq!(i(&direct, "requested"), 3000);
    assert_eq!(
        i(&direct, "already_restored") + i(&direct, "in_progress"),
        0
    );
    let failed = direct["failed"].clone().into_array().unwrap();
    assert_eq!(failed.len(), 200, "only the STANDARD objects fail");
    assert!(
        failed
            .iter()
            .all(|f| f.to_string().contains("InvalidObjectState"))
    );
    assert!(i(&direct, "throttled") > 100, "{direct:?}");
    let rate = direct["rate"].as_float().unwrap();
    assert!(rate > 50.0 && rate <= 1000.0, "achieved {rate}/s");
    let status = m(&r, "status");
    assert_eq!(i(&status, "in_progress") + i(&status, "restored"), 3000);
    assert_eq!(i(&status, "not_archived"), 200);
    // Asking again: every object is counted as in progress or restored, none restarted.
    let again = m(&r, "again");
    assert_eq!(i(&again, "requested"), 0);
    assert_eq!(
        i(&again, "in_progress") + i(&again, "already_restored"),
        3000
    );
    let waited = m(&r, "waited");
    assert_eq!(i(&waited, "restored"), 3000);
}

#[test]
fn restore_wait_refuses_objects_nobody_asked_for() {
    let world = World::new();
    let e = world.error(
        r#"s3::create_bucket("idle");
        s3::put_object("idle", "a", "a", #{ storage_class: "GLACIER" });
        restore::wait(manifest::from_keys("idle", ["a"]))"#,
    );
    assert_eq!(e.code, "RestoreNotRequested");
}

#[test]
fn cost_of_the_tutorial_objects_matches_the_hand_computation() {
    let world = World::new();
    let e = world.map(&format!(
        r#"{SETUP}
        let m = manifest::from_keys(cfg.bucket, t::sample_keys(cfg));
        let e = cost::estimate(m, #{{ tier: "STANDARD", days: 1 }});
        e.bulk = cost::estimate(m, #{{ tier: "BULK", days: 1 }}).total_usd;
        e.expedited = cost::estimate(m, #{{ tier: "EXPEDITED", days: 1 }});
        e.early = cost::early_deletion(m);
        e.text = cost::breakdown(e);
        e"#
    ));
    // Three GLACIER objects of 65 + 67 + 63 = 195 bytes, Standard tier, one day, one job:
    // retrieval 195 B x $0.01/GB ~ $0; requests 3 x $0.05/1000 = $0.00015;
    // job $0.25 + 3 x $1/1M = $0.250003; restored copy 195 B x $0.023 x 1/30 ~ $0.
    assert_eq!(i(&e, "objects"), 3);
    assert_eq!(i(&e, "bytes"), 195);
    assert_eq!(e["request_usd"].as_float().unwrap(), 0.00015);
    assert_eq!(e["batch_usd"].as_float().unwrap(), 0.250003);
    assert_eq!(e["total_usd"].as_float().unwrap(), 0.250153);
    // Bulk is free to retrieve from GLACIER: only the job fee.
    assert_eq!(e["bulk"].as_float().unwrap(), 0.250003);
    // Expedited: no job (direct), $10 per 1,000 requests.
    let x = m(&e, "expedited");
    assert_eq!(
        (s(&x, "method"), x["batch_usd"].as_float().unwrap()),
        ("direct".into(), 0.0)
    );
    assert_eq!(x["request_usd"].as_float().unwrap(), 0.03);
    // Deleting them at once: 90 days of (195 B + 3 x 32 KB) at $0.0036/GB-month, pro rata.
    let early = m(&e, "early");
    assert_eq!(i(&early, "objects"), 3);
    let expected = (195.0 + 3.0 * 32768.0) / 1073741824.0 * 0.0036 * 3.0;
    assert!((early["usd"].as_float().unwrap() - expected).abs() < 1e-6);
    assert!(s(&e, "text").contains("GLACIER"), "{}", s(&e, "text"));
}

/// A baseline spec that passes preflight, and a way to break it.
const PREFLIGHT: &str = r#"
import "tutorial" as t;
let cfg = t::config("STANDARD", 1);
t::create_bucket(cfg);
t::upload_samples(cfg);
let location = t::upload_manifest(cfg);
let role = t::create_role(cfg);
let spec = #{ manifest: location, operation: batch::restore_operation(#{ days: 1 }), role_arn: role.arn,
    report: #{ bucket: cfg.bucket, prefix: "reports", scope: "AllTasks" } };
let codes = |findings| findings.filter(|f| f.level == "error").map(|f| f.code);
"#;

#[test]
fn preflight_passes_a_good_spec_and_catches_each_misconfiguration() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{PREFLIGHT}
        let out = #{{}};
        out.good = batch::preflight(spec);

        // The role does not trust Batch Operations.
        iam::create_role("untrusting", #{{ Version: "2012-10-17", Statement: [#{{ Effect: "Allow", Principal: #{{ Service: "ec2.amazonaws.com" }}, Action: "sts:AssumeRole" }}] }});
        iam::attach_role_policy("untrusting", role.policy_arn);
        let s = spec; s.role_arn = iam::get_role("untrusting").arn;
        out.trust = codes.call(batch::preflight(s));

        // The role may read the manifest and write the report, not restore.
        iam::create_role("no-restore", iam::batch_trust_policy());
        iam::put_role_policy("no-restore", "p", #{{ Version: "2012-10-17", Statement: [
            #{{ Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: `arn:aws:s3:::${{cfg.bucket}}/*` }}] }});
        s = spec; s.role_arn = iam::get_role("no-restore").arn;
        out.restore = codes.call(batch::preflight(s));

        // The role may restore but not read the manifest, nor write the report.
        iam::create_role("no-read", iam::batch_trust_policy());
        iam::put_role_policy("no-read", "p", iam::restore_policy(#{{ targets: [cfg.bucket] }}));
        s = spec; s.role_arn = iam::get_role("no-read").arn;
        out.read = codes.call(batch::preflight(s));

        // A report prefix the role may not write.
        iam::create_role("narrow-report", iam::batch_trust_policy());
        iam::put_role_policy("narrow-report", "p", #{{ Version: "2012-10-17", Statement: [
            #{{ Effect: "Allow", Action: ["s3:RestoreObject", "s3:GetObject"], Resource: `arn:aws:s3:::${{cfg.bucket}}/*` }},
            #{{ Effect: "Allow", Action: "s3:PutObject", Resource: `arn:aws:s3:::${{cfg.bucket}}/reports/*` }}] }});
        s = spec; s.role_arn = iam::get_role("narrow-report").arn;
        out.narrow_ok = codes.call(batch::preflight(s));
        s.report.prefix = "elsewhere";
        out.report = codes.call(batch::preflight(s));

        // An unreadable manifest, and a stale one.
        s = spec; s.manifest = #{{ bucket: cfg.bucket, key: "manifests/missing.csv", etag: "\"00\"" }};
        out.unreadable = codes.call(batch::preflight(s));
        s3::put_object(cfg.bucket, cfg.manifest_key, cfg.bucket + ",tutorial/testfile-1.txt\n");
        out.stale = codes.call(batch::preflight(spec));
        let fresh = manifest::upload(manifest::from_keys(cfg.bucket, t::sample_keys(cfg)), cfg.bucket, cfg.manifest_key);
        spec.manifest = fresh;

        // Expedited in a job.
        s = spec; s.operation = #{{ operation: "S3InitiateRestoreObject", tier: "EXPEDITED", days: 1 }};
        out.expedited = codes.call(batch::preflight(s));

        // Days on Intelligent-Tiering archive objects; no days on GLACIER ones.
        s3::put_object(cfg.bucket, "it/cold.bin", "x", #{{ storage_class: "INTELLIGENT_TIERING" }});
        sim::set_access_tier(cfg.bucket, "it/cold.bin", "ARCHIVE_ACCESS");
        s = spec; s.manifest = manifest::upload(manifest::from_keys(cfg.bucket, ["it/cold.bin"]), cfg.bucket, "manifests/it.csv");
        out.it_days = codes.call(batch::preflight(s));
        s = spec; s.operation = batch::restore_operation(#{{ tier: "BULK" }});
        out.no_days = codes.call(batch::preflight(s));

        // Warnings: objects not archived, missing, already being restored.
        s3::put_object(cfg.bucket, "plain.txt", "p");
        s3::restore_object(cfg.bucket, t::sample_keys(cfg)[0], #{{ days: 1 }});
        s = spec; s.manifest = manifest::upload(manifest::from_keys(cfg.bucket, ["plain.txt", "gone.txt", t::sample_keys(cfg)[0]]), cfg.bucket, "manifests/w.csv");
        out.warnings = batch::preflight(s).map(|f| `${{f.level}}:${{f.code}}`);
        out"#
    ));
    assert!(
        r["good"].clone().into_array().unwrap().is_empty(),
        "{:?}",
        r["good"]
    );
    let codes = |k: &str| r[k].to_string();
    assert_eq!(codes("trust"), r#"["RoleTrust"]"#);
    assert_eq!(codes("restore"), r#"["TargetPermission"]"#);
    assert_eq!(
        codes("read"),
        r#"["ManifestPermission", "ReportPermission"]"#
    );
    assert_eq!(codes("narrow_ok"), "[]");
    assert_eq!(codes("report"), r#"["ReportPermission"]"#);
    assert!(
        codes("unreadable").contains("ManifestUnreadable"),
        "{}",
        codes("unreadable")
    );
    assert_eq!(codes("stale"), r#"["ManifestEtagStale"]"#);
    assert_eq!(codes("expedited"), r#"["ExpeditedInJob"]"#);
    assert_eq!(codes("it_days"), r#"["DaysOnIntelligentTiering"]"#);
    assert_eq!(codes("no_days"), r#"["DaysRequired"]"#);
    let warnings = codes("warnings");
    for w in [
        "warning:NotArchived",
        "warning:MissingObjects",
        "warning:RestoreInProgress",
    ] {
        assert!(warnings.contains(w), "{warnings}");
    }
}

#[test]
fn retry_failed_playbook_retries_transient_failures_and_lists_permanent_ones() {
    let world = World::new();
    let job = world
        .eval(
            r#"
            s3::create_bucket("flaky");
            sim::seed_objects("flaky", 400, #{ prefix: "ok/" });
            sim::seed_objects("flaky", 5, #{ prefix: "locked/" });
            let role = iam::create_role("flaky-role", iam::batch_trust_policy());
            iam::put_role_policy("flaky-role", "p", #{ Version: "2012-10-17", Statement: [
                #{ Effect: "Allow", Action: "s3:RestoreObject", Resource: "arn:aws:s3:::flaky/ok/*" },
                #{ Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: "arn:aws:s3:::flaky/*" }] });
            let loc = manifest::upload(manifest::from_listing("flaky"), "flaky", "m.csv");
            sim::set_faults(#{ throttle_rate: 0.05, error_rate: 0.05, seed: 11 });
            let job = batch::wait(batch::create_job(#{ manifest: loc, operation: batch::restore_operation(#{ days: 1 }),
                role_arn: role.arn, confirmation_required: false, report: #{ bucket: "flaky", prefix: "r", scope: "AllTasks" } }).id);
            sim::set_faults(#{});
            job.id"#,
        )
        .unwrap()
        .to_string();
    let result = world
        .eval_with(&playbook("retry-failed.rhai"), &[("job", &job)])
        .unwrap_or_else(|e| panic!("{e:?}"))
        .try_cast::<rhai::Map>()
        .unwrap();
    let retried = i(&result, "retried");
    assert!(retried > 10, "{result:?}");
    assert_eq!(i(&result, "succeeded"), retried);
    assert_eq!(i(&result, "permanent"), 5);
    let plan = world.map(&format!(
        r#"let plan = report::load("{job}").retry_plan(); #{{ fix: plan.permanent[0].fix, code: plan.permanent[0].error_code }}"#
    ));
    assert_eq!(s(&plan, "code"), "AccessDenied");
    assert!(s(&plan, "fix").contains("s3:RestoreObject"), "{plan:?}");
}

#[test]
fn estimate_playbook_prices_every_tier() {
    let world = World::new();
    world.run(
            r#"s3::create_bucket("priced");
            sim::seed_objects("priced", 1000, #{ prefix: "a/", storage_class: "DEEP_ARCHIVE", size: 1073741824 });"#,
    );
    let totals = world
        .eval_with(
            &playbook("estimate.rhai"),
            &[("bucket", "priced"), ("days", "30")],
        )
        .unwrap()
        .try_cast::<rhai::Map>()
        .unwrap();
    // 1,000 GB of DEEP_ARCHIVE for 30 days; Bulk: $2.5 + $0.025 requests + $0.251 job + $23 copy.
    let bulk = totals["BULK"].as_float().unwrap();
    assert!((bulk - (2.5 + 0.025 + 0.251 + 23.0)).abs() < 1e-6, "{bulk}");
    let standard = totals["STANDARD"].as_float().unwrap();
    assert!(
        (standard - (20.0 + 0.1 + 0.251 + 23.0)).abs() < 1e-6,
        "{standard}"
    );
    // Expedited does not exist for Deep Archive: nothing is priced but the restored copy.
    assert_eq!(totals["EXPEDITED"].as_float().unwrap(), 0.0);
}

#[test]
fn direct_restores_approach_but_respect_the_account_rate_limit() {
    let world = World::new();
    let r = world.map(
        r#"
        sim::set_clock(#{ time: "2027-01-05T08:00:00Z", frozen: true });
        s3::create_bucket("fast");
        sim::seed_objects("fast", 6000);
        restore::direct(manifest::from_listing("fast"), #{ days: 1 })"#,
    );
    assert_eq!(i(&r, "requested"), 6000);
    let rate = r["rate"].as_float().unwrap();
    assert!((700.0..=1000.0).contains(&rate), "achieved {rate}/s");
    assert_eq!(i(&r, "throttled"), 0, "{r:?}");
}

/// `--var generate=true`: the job lists the prefix itself (manifest generator), no manifest is
/// uploaded, and a second run finds the same job.
#[test]
fn restore_prefix_with_a_manifest_generator_restores_and_reruns_into_the_same_job() {
    let world = World::new();
    world.run(
        r#"
            s3::create_bucket("gen");
            sim::seed_objects("gen", 300, #{ prefix: "data/g/", storage_class: "GLACIER" });
            sim::seed_objects("gen", 200, #{ prefix: "data/d/", storage_class: "DEEP_ARCHIVE" });
            sim::seed_objects("gen", 100, #{ prefix: "data/s/", storage_class: "STANDARD" });
            sim::seed_objects("gen", 50, #{ prefix: "other/", storage_class: "GLACIER" });"#,
    );
    let vars = [
        ("bucket", "gen"),
        ("prefix", "data/"),
        ("days", "3"),
        ("generate", "true"),
    ];
    let run = || {
        world
            .eval_with(&playbook("restore-prefix.rhai"), &vars)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .try_cast::<rhai::Map>()
            .unwrap()
    };
    let first = run();
    assert_eq!(i(&first, "restored"), 500);
    let second = run();
    assert_eq!(s(&second, "job"), s(&first, "job"));
    let job = world.map(&format!(
        r#"let job = batch::describe("{}");
        #{{ total: job.progress.total, source: job.manifest_generator.source_bucket,
           manifests: manifest::from_listing("gen", #{{ prefix: "s3thaw/manifests/" }}).len() }}"#,
        s(&first, "job")
    ));
    assert_eq!(i(&job, "total"), 500);
    assert_eq!(s(&job, "source"), "gen");
    assert_eq!(i(&job, "manifests"), 0, "no manifest was uploaded");
}

/// restore-and-copy with `--var generate=true`: the restore job is a generator job and every
/// object is kept.
#[test]
fn restore_and_copy_with_a_manifest_generator_keeps_every_object() {
    let world = World::new();
    world.run(
        r#"
            s3::create_bucket("gcopy");
            s3::create_bucket("gkept");
            sim::seed_objects("gcopy", 120, #{ prefix: "data/g/", storage_class: "GLACIER" });
            sim::seed_objects("gcopy", 80, #{ prefix: "data/d/", storage_class: "DEEP_ARCHIVE" });"#,
    );
    let result = world
        .eval_with(
            &playbook("restore-and-copy.rhai"),
            &[
                ("bucket", "gcopy"),
                ("prefix", "data/"),
                ("target_bucket", "gkept"),
                ("days", "3"),
                ("generate", "true"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e:?}"))
        .try_cast::<rhai::Map>()
        .unwrap();
    assert_eq!(i(&result, "verified"), 200);
    let job = world.map(&format!(
        r#"let job = batch::describe("{}");
        #{{ total: job.progress.total, prefix: job.manifest_generator.prefix }}"#,
        s(&result, "restore_job")
    ));
    assert_eq!(i(&job, "total"), 200);
    assert_eq!(s(&job, "prefix"), "data/");
}
