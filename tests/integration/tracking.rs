//! "Is my data back?": restore tracking in the world users live in — faults, mixed classes and
//! tiers, restores already running, copies expiring during the wait, kill -9 and re-run.
//!
//! The invariant every test here checks in its own way: a successful `restore::wait` (and an
//! exit 0 of `restore-prefix`) means every archived object is readable at that moment, checked
//! afterwards with faults off; and no count ever loses an object.

use crate::common::*;

fn playbook(name: &str) -> String {
    std::fs::read_to_string(project_root().join("scripts").join(name)).unwrap()
}

/// Reads the truth with faults off: how many archived objects of the listing are readable
/// (a GET of each succeeds) and how many are not.
fn truth(world: &World, bucket: &str, prefix: &str) -> (i64, i64) {
    let r = world.map(&format!(
        r#"sim::set_faults(#{{}});
        let readable = 0; let not = 0;
        for o in s3::list_objects("{bucket}", #{{ prefix: "{prefix}", storage_classes: ["GLACIER", "DEEP_ARCHIVE"] }}) {{
            try {{ s3::get_object("{bucket}", o.key); readable += 1; }} catch (e) {{ not += 1; }}
        }}
        #{{ readable: readable, not: not }}"#
    ));
    (i(&r, "readable"), i(&r, "not"))
}

fn sum_of_counts(status: &rhai::Map) -> i64 {
    [
        "restored",
        "in_progress",
        "not_requested",
        "not_archived",
        "missing",
        "unknown",
    ]
    .iter()
    .map(|k| i(status, k))
    .sum()
}

/// Defect 1: failed reads were dropped from the pending set, and the playbook said "Done" with
/// half the objects unknown. Now: under faults every object is counted, and the playbook's
/// exit 0 means all are readable.
#[test]
fn faults_during_the_wait_never_drop_an_object() {
    let world = World::new();
    world.run(
        r#"s3::create_bucket("faulty");
        sim::seed_objects("faulty", 1000, #{ prefix: "2019/", storage_class: "GLACIER" });"#,
    );
    // Heavy faults: even after the client's 8 tries some reads fail, and are counted unknown.
    let status = world.map(
        r#"let m = manifest::from_listing("faulty", #{ prefix: "2019/" });
        restore::direct(m, #{ days: 5, tier: "BULK" });
        sim::set_faults(#{ throttle_rate: 0.3, error_rate: 0.3, seed: 11 });
        let s = restore::status(m, #{ via: "head" });
        sim::set_faults(#{});
        s"#,
    );
    assert_eq!(i(&status, "total"), 1000);
    assert_eq!(sum_of_counts(&status), 1000, "{status:?}");

    // The issue's reproduction: the playbook under the faults it rehearses.
    let world = World::new();
    world.run(
        r#"s3::create_bucket("faulty");
        sim::seed_objects("faulty", 1000, #{ prefix: "2019/", storage_class: "GLACIER" });
        sim::set_faults(#{ throttle_rate: 0.05, error_rate: 0.02, seed: 5 });"#,
    );
    let result = world.eval_with(
        &playbook("restore-prefix.rhai"),
        &[("bucket", "faulty"), ("prefix", "2019/"), ("days", "5")],
    );
    let result = result
        .unwrap_or_else(|e| panic!("{e:?}"))
        .try_cast::<rhai::Map>()
        .unwrap();
    assert_eq!(i(&result, "restored"), 1000);
    assert_eq!(truth(&world, "faulty", "2019/"), (1000, 0));

    // And a wait under faults heavy enough that reads fail after the client's retries.
    let world = World::new();
    let status = world.map(
        r#"s3::create_bucket("flaky");
        sim::seed_objects("flaky", 500, #{ storage_class: "DEEP_ARCHIVE" });
        let m = manifest::from_listing("flaky");
        restore::direct(m, #{ days: 5, tier: "STANDARD" });
        sim::set_faults(#{ throttle_rate: 0.25, error_rate: 0.25, seed: 9 });
        let s = restore::wait(m, #{ poll: "30m" });
        sim::set_faults(#{});
        s"#,
    );
    assert!(b(&status, "complete"));
    assert_eq!(i(&status, "restored"), 500);
    assert_eq!(truth(&world, "flaky", ""), (500, 0));
}

/// Defect 2: objects whose restore another client had started were written off ("Waiting for
/// 0 restores"). Now they are waited for.
#[test]
fn restores_already_running_are_waited_for() {
    let world = World::new();
    world.run(
        r#"s3::create_bucket("shared");
        sim::seed_objects("shared", 300, #{ prefix: "a/", storage_class: "GLACIER" });
        sim::seed_objects("shared", 200, #{ prefix: "a/deep/", storage_class: "DEEP_ARCHIVE" });
        // Another client (the AWS CLI, another job) restores half of them first.
        let other = manifest::new();
        for o in s3::list_objects("shared", #{ prefix: "a/" }).filter(|o| o.key.len() % 2 == 0) {
            other.add("shared", o.key);
        }
        restore::direct(other, #{ days: 4, tier: "BULK" });"#,
    );
    let result = world
        .eval_with(
            &playbook("restore-prefix.rhai"),
            &[("bucket", "shared"), ("prefix", "a/"), ("days", "4")],
        )
        .unwrap_or_else(|e| panic!("{e:?}"))
        .try_cast::<rhai::Map>()
        .unwrap();
    assert_eq!(i(&result, "restored"), 500);
    assert_eq!(truth(&world, "shared", "a/"), (500, 0));
}

/// Most of a big prefix already being restored by another client: a job over all of it would
/// fail its tasks with RestoreAlreadyInProgress past AWS's 50% threshold (the playbook said
/// JobFailed while the data was on its way). The job requests only what nothing restores, the
/// rest is waited for, and a second run makes no job at all.
#[test]
fn a_prefix_mostly_restored_by_someone_else_gets_a_job_for_the_rest() {
    let world = World::new();
    world.run(
        r#"s3::create_bucket("busy");
        sim::seed_objects("busy", 1500, #{ prefix: "a/g/", storage_class: "GLACIER" });
        sim::seed_objects("busy", 1000, #{ prefix: "a/d/", storage_class: "DEEP_ARCHIVE" });
        restore::direct(manifest::from_listing("busy", #{ prefix: "a/g/" }), #{ days: 5, tier: "BULK" });
        restore::direct(manifest::from_keys("busy", ["a/d/000000", "a/d/000001"]), #{ days: 5, tier: "STANDARD" });"#,
    );
    let vars = [("bucket", "busy"), ("prefix", "a/"), ("days", "5")];
    let run = || {
        world
            .eval_with(&playbook("restore-prefix.rhai"), &vars)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .try_cast::<rhai::Map>()
            .unwrap()
    };
    let first = run();
    assert_eq!(i(&first, "restored"), 2500);
    assert_eq!(truth(&world, "busy", "a/"), (2500, 0));
    let jobs = world.map(
        r#"let l = batch::list();
        #{ count: l.len(), tasks: batch::describe(l[0].id).progress.total, failed: batch::describe(l[0].id).progress.failed }"#,
    );
    assert_eq!(i(&jobs, "count"), 1, "{jobs:?}");
    assert_eq!(
        i(&jobs, "tasks"),
        998,
        "only what nothing restored: {jobs:?}"
    );
    assert_eq!(i(&jobs, "failed"), 0, "{jobs:?}");
    let second = run();
    assert_eq!(s(&second, "job"), s(&first, "job"));
    assert_eq!(
        i(&world.map("#{ n: batch::list().len() }"), "n"),
        1,
        "no second job"
    );
}

/// Defect 3: with days=1, GLACIER copies expired while DEEP_ARCHIVE ones were still coming,
/// and the playbook counted them readable. Now the wait sees the expiry, the playbook fails
/// with the counts, and the estimate warned before anything started.
#[test]
fn copies_that_expire_before_the_campaign_ends_are_not_counted_readable() {
    let world = World::new();
    world.run(
        r#"s3::create_bucket("mixed");
        sim::seed_objects("mixed", 60, #{ prefix: "g/", storage_class: "GLACIER" });
        sim::seed_objects("mixed", 40, #{ prefix: "d/", storage_class: "DEEP_ARCHIVE" });"#,
    );
    let e = world
        .eval_with(
            &playbook("restore-prefix.rhai"),
            &[("bucket", "mixed"), ("days", "1"), ("tier", "BULK")],
        )
        .unwrap_err();
    assert_eq!(e.code, "RestoreIncomplete", "{e:?}");
    assert!(e.message.contains("not requested"), "{}", e.message);
    // The estimate and preflight warned before anything was spent.
    let r = world.map(
        r#"let m = manifest::from_listing("mixed");
        let notes = cost::estimate(m, #{ tier: "BULK", days: 1 }).notes;
        let role = iam::get_role("s3thaw-restore-prefix");
        let spec = #{ manifest: manifest::upload(m, "mixed", "check.csv"),
            operation: batch::restore_operation(#{ tier: "BULK", days: 1 }), role_arn: role.arn,
            priority: 1, report: false };
        let findings = batch::preflight(spec).filter(|f| f.code == "DaysShorterThanRestore");
        let ok = batch::preflight(spec + #{ operation: batch::restore_operation(#{ tier: "BULK", days: 3 }) })
            .filter(|f| f.code == "DaysShorterThanRestore");
        #{ notes: notes.filter(|n| n.contains("shorter than the slowest restore window")),
           findings: findings.map(|f| f.level), ok: ok.len() }"#,
    );
    let notes = a(&r, "notes");
    assert_eq!(notes.len(), 1, "{r:?}");
    assert!(
        notes[0]
            .to_string()
            .contains("48h for DEEP_ARCHIVE with BULK")
    );
    assert_eq!(a(&r, "findings").len(), 1, "{r:?}");
    assert_eq!(a(&r, "findings")[0].to_string(), "warning");
    assert_eq!(i(&r, "ok"), 0);
    // The wait itself: RestoreNotRequested names the counts.
    let e = world.error(
        r#"let m = manifest::from_listing("mixed");
        restore::wait(m)"#,
    );
    assert_eq!(e.code, "RestoreNotRequested");
    assert!(e.message.contains("not requested"), "{}", e.message);
    // With request_missing the wait requests the expired ones again and ends complete, and then
    // every object is readable.
    let status = world.map(
        r#"let m = manifest::from_listing("mixed");
        restore::wait(m, #{ request_missing: #{ days: 3, tier: "STANDARD" } })"#,
    );
    assert!(b(&status, "complete"), "{status:?}");
    assert_eq!(truth(&world, "mixed", ""), (100, 0));
}

/// A status read never counts an expired copy as restored, and `earliest_expiry` is the first
/// copy to go.
#[test]
fn status_follows_expiry_and_reports_the_earliest() {
    let world = World::new();
    let r = world.map(
        r#"sim::set_clock(#{ time: "2027-03-02T10:30:00Z", frozen: true });
        s3::create_bucket("exp");
        sim::seed_objects("exp", 10, #{ prefix: "a/", storage_class: "GLACIER" });
        sim::seed_objects("exp", 10, #{ prefix: "b/", storage_class: "GLACIER" });
        restore::direct(manifest::from_listing("exp", #{ prefix: "a/" }), #{ days: 1, tier: "EXPEDITED" });
        restore::direct(manifest::from_listing("exp", #{ prefix: "b/" }), #{ days: 3, tier: "EXPEDITED" });
        let m = manifest::from_listing("exp");
        sleep("1h");
        let first = restore::status(m);
        sleep("2d");
        let later = restore::status(m, #{ detail: true });
        #{ first: first, later: later }"#,
    );
    let first = m(&r, "first");
    assert_eq!(i(&first, "restored"), 20);
    assert_eq!(s(&first, "earliest_expiry"), "2027-03-04T00:00:00Z");
    let later = m(&r, "later");
    assert_eq!(
        (i(&later, "restored"), i(&later, "not_requested")),
        (10, 10)
    );
    assert_eq!(s(&later, "earliest_expiry"), "2027-03-06T00:00:00Z");
    let objects = a(&later, "objects");
    assert_eq!(objects.len(), 20);
    let first_row = objects[0].clone().try_cast::<rhai::Map>().unwrap();
    assert_eq!(s(&first_row, "state"), "not_requested");
}

/// Defect 4: every prefix wrote the same manifest key, so a second prefix overwrote the first
/// job's manifest.
#[test]
fn each_prefix_gets_its_own_manifest() {
    let world = World::new();
    world.run(
        r#"s3::create_bucket("years");
        sim::seed_objects("years", 20, #{ prefix: "2019/", storage_class: "GLACIER" });
        sim::seed_objects("years", 30, #{ prefix: "2020/", storage_class: "GLACIER" });"#,
    );
    for prefix in ["2019/", "2020/"] {
        if let Err(e) = world.eval_with(
            &playbook("restore-prefix.rhai"),
            &[("bucket", "years"), ("prefix", prefix), ("days", "3")],
        ) {
            panic!("{prefix}: {e:?}");
        }
    }
    let r = world.map(
        r#"let keys = s3::list_objects("years", #{ prefix: "s3thaw/manifests/" }).map(|o| o.key);
        let lens = keys.map(|k| manifest::from_keys("x", s3::get_text("years", k).split("\n").filter(|l| l != "")).len());
        #{ keys: keys, lens: lens, jobs: batch::list().len() }"#,
    );
    let keys: Vec<String> = a(&r, "keys").into_iter().map(|k| k.to_string()).collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_ne!(keys[0], keys[1]);
    let lens: Vec<i64> = a(&r, "lens")
        .into_iter()
        .map(|l| l.as_int().unwrap())
        .collect();
    assert_eq!(lens, vec![20, 30]);
    assert_eq!(i(&r, "jobs"), 2);
}

/// Defect 5: the simulator now retries injected faults as the SDK does, so a listing under
/// faults succeeds in a rehearsal as it would on AWS.
#[test]
fn listings_ride_out_faults_as_the_sdk_would() {
    let world = World::new();
    let r = world.map(
        r#"s3::create_bucket("big");
        sim::seed_objects("big", 5000, #{ storage_class: "GLACIER" });
        sim::set_faults(#{ throttle_rate: 0.05, error_rate: 0.02, seed: 1 });
        let m = manifest::from_listing("big");
        let listed = s3::list_objects("big", #{ restore_status: true }).len();
        #{ manifest: m.len(), listed: listed }"#,
    );
    assert_eq!((i(&r, "manifest"), i(&r, "listed")), (5000, 5000));
}

/// Tiers that listings cannot tell apart: Intelligent-Tiering objects are HEADed; STANDARD and
/// GLACIER_IR count as not archived; deleted objects as missing; versioned rows by HEAD.
#[test]
fn mixed_classes_tiers_and_missing_objects_are_each_counted() {
    let world = World::new();
    let r = world.map(
        r#"s3::create_bucket("zoo");
        sim::seed_objects("zoo", 30, #{ prefix: "g/", storage_class: "GLACIER" });
        sim::seed_objects("zoo", 20, #{ prefix: "s/", storage_class: "STANDARD" });
        sim::seed_objects("zoo", 10, #{ prefix: "ir/", storage_class: "GLACIER_IR" });
        sim::seed_objects("zoo", 10, #{ prefix: "it/", storage_class: "INTELLIGENT_TIERING" });
        for i in 0..5 { sim::set_access_tier("zoo", `it/00000${i}`, "ARCHIVE_ACCESS"); }
        let m = manifest::from_listing("zoo");
        m.add("zoo", "gone/never-was");
        let s = restore::status(m);
        restore::direct(manifest::from_listing("zoo", #{ prefix: "g/" }), #{ days: 2, tier: "STANDARD" });
        let it = manifest::new();
        for i in 0..5 { it.add("zoo", `it/00000${i}`); }
        restore::direct(it, #{ tier: "STANDARD" });
        let done = restore::wait(m);
        #{ s: s, done: done }"#,
    );
    let s0 = m(&r, "s");
    assert_eq!(i(&s0, "total"), 71);
    assert_eq!(
        (
            i(&s0, "not_requested"),
            i(&s0, "not_archived"),
            i(&s0, "missing"),
            i(&s0, "unknown")
        ),
        (35, 35, 1, 0),
        "{s0:?}"
    );
    // The 10 Intelligent-Tiering objects needed a HEAD each; the rest came from listings.
    let requests = m(&s0, "requests");
    assert_eq!(i(&requests, "head"), 10, "{requests:?}");
    let done = m(&r, "done");
    assert!(b(&done, "complete"));
    assert_eq!(
        (
            i(&done, "restored"),
            i(&done, "not_archived"),
            i(&done, "missing")
        ),
        (35, 35, 1)
    );
}

/// Listings where the manifest is dense, HEAD where it is sparse, and each `via` does what it
/// says; all three agree.
#[test]
fn status_reads_listings_where_dense_and_heads_where_sparse() {
    let world = World::new();
    let r = world.map(
        r#"s3::create_bucket("dense");
        sim::seed_objects("dense", 20000, #{ storage_class: "GLACIER" });
        let all = manifest::from_listing("dense");
        let sparse = manifest::new();
        for i in range(0, 20000, 500) { sparse.add("dense", all.rows(20000)[i].key); }
        #{ dense: restore::status(all), sparse: restore::status(sparse),
           head: restore::status(sparse, #{ via: "head" }), list: restore::status(sparse, #{ via: "list" }) }"#,
    );
    let dense = m(&m(&r, "dense"), "requests");
    assert_eq!((i(&dense, "list"), i(&dense, "head")), (20, 0));
    let sparse = m(&r, "sparse");
    assert_eq!(i(&sparse, "not_requested"), 40);
    let req = m(&sparse, "requests");
    assert!(
        i(&req, "list") + i(&req, "head") <= 45,
        "sparse manifests cost about one request per object: {req:?}"
    );
    let head = m(&m(&r, "head"), "requests");
    assert_eq!((i(&head, "list"), i(&head, "head")), (0, 40));
    let list = m(&r, "list");
    assert_eq!(i(&list, "not_requested"), 40);
    assert_eq!(i(&m(&list, "requests"), "head"), 0);
}

/// kill -9 at any point of `restore-prefix`, then the same command again: one job, no
/// duplicate restore request, the same final truth.
#[test]
fn restore_prefix_survives_kill_9_and_rerun() {
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let world = World::new();
    world.run(
        r#"s3::create_bucket("crash");
        sim::seed_objects("crash", 3000, #{ prefix: "p/", storage_class: "GLACIER" });
        sim::seed_objects("crash", 1000, #{ prefix: "p/d/", storage_class: "DEEP_ARCHIVE" });"#,
    );
    let args = |cmd: &mut Command| {
        cmd.args([
            "run",
            "scripts/restore-prefix.rhai",
            "--var",
            "bucket=crash",
            "--var",
            "prefix=p/",
            "--var",
            "days=5",
            "--yes",
            "--state",
        ])
        .arg(world.state())
        .current_dir(project_root())
        .env("XDG_STATE_HOME", world.state());
    };
    for delay_ms in [60u64, 150, 300, 500, 800] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3thaw"));
        args(&mut cmd);
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3thaw"));
    args(&mut cmd);
    let out = cmd.output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("Done: all 4,000 archived objects are readable"),
        "{stdout}"
    );
    let r = world.map(
        r#"let jobs = batch::list().filter(|j| !j.description.contains("retry"));
        let total = 0;
        for j in jobs { total += batch::describe(j.id).progress.total; }
        #{ jobs: jobs.len(), tasks: total }"#,
    );
    assert_eq!(
        i(&r, "jobs"),
        1,
        "one job, however often the run was killed"
    );
    assert_eq!(i(&r, "tasks"), 4000, "each object requested once");
    assert_eq!(truth(&world, "crash", "p/"), (4000, 0));
}

/// `s3thaw status`: a prefix, a job and a local manifest at a glance; exit 3 until every
/// archived object is readable, 0 then; `--csv` and `--json` give one row per object.
#[test]
fn status_command_shows_readiness_of_a_prefix_a_job_and_a_file() {
    let world = World::new();
    let job = world.map(
        r#"sim::set_clock(#{ time: "2027-01-04T10:00:00Z", frozen: true });
        s3::create_bucket("arch");
        sim::seed_objects("arch", 300, #{ prefix: "2019/g/", storage_class: "GLACIER" });
        sim::seed_objects("arch", 100, #{ prefix: "2019/d/", storage_class: "DEEP_ARCHIVE" });
        sim::seed_objects("arch", 50, #{ prefix: "2019/s/", storage_class: "STANDARD" });
        let m = manifest::from_listing("arch", #{ prefix: "2019/g/" });
        m.write(`${arg("dir", "")}/g.csv`);
        let role = iam::create_role("r", iam::batch_trust_policy());
        iam::put_role_policy("r", "p", iam::restore_policy(#{ targets: ["arch"], manifest_bucket: "arch", report_bucket: "arch" }));
        let job = batch::create_job(#{ manifest: manifest::upload(m, "arch", "m.csv"),
            operation: batch::restore_operation(#{ days: 3, tier: "BULK" }), role_arn: role.arn,
            priority: 1, confirmation_required: false, report: false });
        batch::wait(job.id);
        restore::direct(manifest::from_listing("arch", #{ prefix: "2019/d/" }), #{ days: 3, tier: "BULK" });
        sleep("6h");
        #{ id: job.id }"#
            .replace(r#"arg("dir", "")"#, &format!("{:?}", world.state().display().to_string()))
            .as_str(),
    );
    let state = world.state().display().to_string();
    let status = |args: &[&str]| {
        let mut all = vec!["status"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--state", &state]);
        world.cli(&all)
    };
    let out = status(&["s3://arch/2019/"]);
    let text_out = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{text_out}{}",
        text(&out.stderr)
    );
    assert!(
        text_out.starts_with("s3://arch/2019/: 400 objects at 2027-01-04T"),
        "{text_out}"
    );
    assert!(text_out.contains("DEEP_ARCHIVE"), "{text_out}");
    assert!(text_out.contains("100 in progress"), "{text_out}");
    assert!(text_out.contains("Not ready:"), "{text_out}");
    assert!(text_out.contains("next change"), "{text_out}");

    // The job's own manifest: only its 300 GLACIER objects.
    let id = s(&job, "id");
    let out = status(&[&id[..8], "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["total"], 300);
    assert_eq!(json["objects"].as_array().unwrap().len(), 300);
    assert_eq!(json["by_class"]["GLACIER"]["total"], 300);

    // A local manifest, as CSV rows.
    let file = world.state().join("g.csv").display().to_string();
    let out = status(&[&file, "--csv"]);
    let rows = text(&out.stdout);
    assert_eq!(rows.lines().count(), 301, "{rows}");
    assert!(rows.starts_with("bucket,key,version_id,state,storage_class,expiry\n"));

    // Later, every archived object is readable: exit 0.
    world.run(r#"sleep("3d");"#);
    let out = status(&[
        "s3://arch/2019/",
        "--class",
        "GLACIER",
        "--class",
        "DEEP_ARCHIVE",
    ]);
    let text_out = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text_out}");
    assert!(
        text_out.contains("Ready: every archived object is readable (400 restored)"),
        "{text_out}"
    );
    assert!(
        text_out.contains("earliest expiry 2027-01-08T00:00:00Z"),
        "{text_out}"
    );
    // A day later the first copies have expired: not ready again, and said so.
    world.run(r#"sleep("1d");"#);
    let out = status(&["s3://arch/2019/", "--class", "GLACIER"]);
    let text_out = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text_out}");
    assert!(text_out.contains("300 not requested"), "{text_out}");

    // Bad input: a clear error, exit 2 for usage.
    let out = status(&["s3://arch/", "--via", "telepathy"]);
    assert_eq!(out.status.code(), Some(2));
    let out = status(&["no-such-thing"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("s3thaw jobs"));
}
