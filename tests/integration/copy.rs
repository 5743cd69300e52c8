//! Copy-back: `S3PutObjectCopy` jobs on the simulator (CopyObject's rules task by task, the
//! role's permissions, completion reports), `iam::copy_policy` and `batch::preflight` for copies.

use crate::common::*;

/// A bucket `arch` with a STANDARD object, a restored GLACIER object, a GLACIER object never
/// restored and a seeded 6 GB STANDARD object; a bucket `kept`; a role `copier` with
/// `iam::copy_policy`; the manifest of all four; `copy` (a function) making a copy job spec.
const COPY_SETUP: &str = r#"
s3::create_bucket("arch");
s3::create_bucket("kept");
s3::put_object("arch", "a/1.txt", "one", #{ content_type: "text/plain", metadata: #{ owner: "ops" } });
s3::put_object("arch", "a/2.txt", "two", #{ storage_class: "GLACIER" });
s3::put_object("arch", "a/3.txt", "three", #{ storage_class: "GLACIER" });
s3::restore_object("arch", "a/2.txt", #{ days: 2, tier: "EXPEDITED" });
sim::advance("1h");
sim::seed_objects("arch", 1, #{ prefix: "big/", storage_class: "STANDARD", size: 6 * 1024 * 1024 * 1024 });
let role = iam::create_role("copier", iam::batch_trust_policy());
iam::put_role_policy("copier", "copy", iam::copy_policy(#{
    sources: ["arch"], target_bucket: "kept", manifest_bucket: "arch", report_bucket: "arch" }));
let location = manifest::upload(
    manifest::from_keys("arch", ["a/1.txt", "a/2.txt", "a/3.txt", "big/000000"]),
    "arch", "manifests/copy.csv");
let spec_of = |operation| #{
    manifest: location, operation: operation, role_arn: role.arn, priority: 1,
    confirmation_required: false,
    report: #{ bucket: "arch", prefix: "reports", scope: "AllTasks" } };
let outcome_of = |job| {
    let by_key = #{};
    for row in report::load(job).rows() {
        by_key[row.key] = `${row.status} ${row.http_status} ${row.error_code}`;
    }
    by_key
};
"#;

#[test]
fn a_copy_job_copies_what_is_readable_and_fails_the_rest_with_aws_codes() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{COPY_SETUP}
        let op = batch::copy_operation(#{{ target_bucket: "kept", target_prefix: "k/", storage_class: "STANDARD_IA" }});
        let job = batch::wait(batch::create_job(spec_of.call(op)).id);
        let copied = s3::head_object("kept", "k/a/1.txt");
        let source = s3::head_object("arch", "a/1.txt");
        #{{ job: job, rows: outcome_of.call(job), copied: copied, source: source,
            restored_copy: s3::get_text("kept", "k/a/2.txt"),
            missing: s3::list_objects("kept", #{{ prefix: "k/a/3" }}).len() }}"#
    ));
    let job = m(&r, "job");
    assert_eq!(s(&job, "status"), "Complete");
    assert_eq!(s(&m(&job, "operation"), "operation"), "S3PutObjectCopy");
    let progress = m(&job, "progress");
    assert_eq!(
        (
            i(&progress, "total"),
            i(&progress, "succeeded"),
            i(&progress, "failed")
        ),
        (4, 2, 2)
    );
    let rows = m(&r, "rows");
    assert_eq!(s(&rows, "a/1.txt"), "succeeded 200 ");
    assert_eq!(s(&rows, "a/2.txt"), "succeeded 200 ");
    assert_eq!(s(&rows, "a/3.txt"), "failed 403 InvalidObjectState");
    assert_eq!(s(&rows, "big/000000"), "failed 400 InvalidRequest");
    let copied = m(&r, "copied");
    let source = m(&r, "source");
    assert_eq!(s(&copied, "storage_class"), "STANDARD_IA");
    assert_eq!(s(&copied, "etag"), s(&source, "etag"));
    assert_eq!(i(&copied, "size"), 3);
    assert_eq!(s(&r, "restored_copy"), "two");
    assert_eq!(i(&r, "missing"), 0);
}

#[test]
fn a_copy_in_place_must_change_the_class_or_the_metadata() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{COPY_SETUP}
        iam::put_role_policy("copier", "in-place", iam::copy_policy(#{{ sources: ["arch"], target_bucket: "arch" }}));
        let location = manifest::upload(manifest::from_keys("arch", ["a/1.txt"]), "arch", "manifests/one.csv");
        let same = spec_of.call(batch::copy_operation(#{{ target_bucket: "arch" }}));
        same.manifest = location;
        let same = batch::wait(batch::create_job(same).id);
        let ia = spec_of.call(batch::copy_operation(#{{ target_bucket: "arch", storage_class: "STANDARD_IA", metadata_directive: "REPLACE" }}));
        ia.manifest = location;
        let ia = batch::wait(batch::create_job(ia).id);
        #{{ same: outcome_of.call(same), ia: outcome_of.call(ia), head: s3::head_object("arch", "a/1.txt") }}"#
    ));
    assert_eq!(s(&m(&r, "same"), "a/1.txt"), "failed 400 InvalidRequest");
    assert_eq!(s(&m(&r, "ia"), "a/1.txt"), "succeeded 200 ");
    let head = m(&r, "head");
    assert_eq!(s(&head, "storage_class"), "STANDARD_IA");
    // REPLACE without new metadata leaves none.
    assert!(m(&head, "metadata").is_empty(), "{head:?}");
}

#[test]
fn a_role_without_put_on_the_target_fails_each_task_access_denied() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{COPY_SETUP}
        // Copies may go to `kept` only, not to `elsewhere`.
        s3::create_bucket("elsewhere");
        let job = batch::wait(batch::create_job(spec_of.call(
            batch::copy_operation(#{{ target_bucket: "elsewhere" }}))).id);
        #{{ rows: outcome_of.call(job), findings: batch::preflight(spec_of.call(
            batch::copy_operation(#{{ target_bucket: "elsewhere" }}))).map(|f| f.code) }}"#
    ));
    let rows = m(&r, "rows");
    for key in ["a/1.txt", "a/2.txt", "a/3.txt", "big/000000"] {
        assert_eq!(s(&rows, key), "failed 403 AccessDenied", "{key}");
    }
    let findings: Vec<String> = a(&r, "findings").iter().map(|f| f.to_string()).collect();
    assert!(
        findings.contains(&"CopyTargetPermission".to_string()),
        "{findings:?}"
    );
}

#[test]
fn preflight_finds_what_a_copy_job_would_fail() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{COPY_SETUP}
        let good = spec_of.call(batch::copy_operation(#{{ target_bucket: "kept" }}));
        let missing = spec_of.call(batch::copy_operation(#{{ target_bucket: "no-such-bucket" }}));
        #{{ good: batch::preflight(good).map(|f| `${{f.level}}:${{f.code}}`),
            missing: batch::preflight(missing).map(|f| `${{f.level}}:${{f.code}}`) }}"#
    ));
    let good: Vec<String> = a(&r, "good").iter().map(|f| f.to_string()).collect();
    assert_eq!(
        good,
        ["warning:NotReadable", "error:TooLargeForCopyJob"],
        "{good:?}"
    );
    let missing: Vec<String> = a(&r, "missing").iter().map(|f| f.to_string()).collect();
    assert!(
        missing.contains(&"error:TargetBucketMissing".to_string()),
        "{missing:?}"
    );
}

#[test]
fn create_job_refuses_a_copy_without_a_target_bucket() {
    let world = World::new();
    let e = world.error(&format!(
        r#"{COPY_SETUP}
        batch::create_job(spec_of.call(batch::copy_operation(#{{ storage_class: "STANDARD" }})))"#
    ));
    assert_eq!(e.code, "InvalidRequest", "{e:?}");
    assert!(e.message.contains("TargetResource"), "{e:?}");
}

#[test]
fn restore_copy_direct_copies_the_readable_skips_on_a_rerun_and_counts_the_rest() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{COPY_SETUP}
        sim::seed_objects("arch", 300, #{{ prefix: "s/", storage_class: "STANDARD", size: 100 }});
        let m = manifest::from_listing("arch", #{{ prefix: "a/" }});
        for k in manifest::from_listing("arch", #{{ prefix: "s/" }}).rows(1000) {{ m.add(k.bucket, k.key); }}
        m.add("arch", "gone");
        let first = restore::copy(m, #{{ bucket: "kept", prefix: "k/", storage_class: "STANDARD_IA", concurrency: 8 }});
        let second = restore::copy(m, #{{ bucket: "kept", prefix: "k/", storage_class: "STANDARD_IA" }});
        // One copy lost: only it is copied again.
        s3::delete_object("kept", "k/s/000042");
        let third = restore::copy(m, #{{ bucket: "kept", prefix: "k/", storage_class: "STANDARD_IA" }});
        let in_place = restore::copy(manifest::from_keys("arch", ["a/2.txt"]));
        #{{ first: first, second: second, third: third, in_place: in_place,
            head: s3::head_object("kept", "k/s/000007"), src: s3::head_object("arch", "s/000007"),
            moved: s3::head_object("arch", "a/2.txt").storage_class }}"#
    ));
    let first = m(&r, "first");
    assert_eq!(
        (
            i(&first, "copied"),
            i(&first, "skipped"),
            i(&first, "not_readable")
        ),
        (302, 0, 1),
        "{first:?}"
    );
    assert_eq!(i(&first, "bytes"), 300 * 100 + 3 + 3);
    let failed = a(&first, "failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    let gone = failed[0].clone().try_cast::<rhai::Map>().unwrap();
    assert_eq!(
        (s(&gone, "key"), s(&gone, "code")),
        ("gone".into(), "NoSuchKey".into())
    );
    let second = m(&r, "second");
    assert_eq!(
        (i(&second, "copied"), i(&second, "skipped")),
        (0, 302),
        "{second:?}"
    );
    let third = m(&r, "third");
    assert_eq!(
        (i(&third, "copied"), i(&third, "skipped")),
        (1, 301),
        "{third:?}"
    );
    assert_eq!(s(&m(&r, "head"), "etag"), s(&m(&r, "src"), "etag"));
    assert_eq!(s(&m(&r, "head"), "storage_class"), "STANDARD_IA");
    assert_eq!(i(&m(&r, "in_place"), "copied"), 1);
    assert_eq!(s(&r, "moved"), "STANDARD");
}

#[test]
fn restore_copy_via_job_runs_one_copy_job_and_a_rerun_finds_nothing_to_do() {
    let world = World::new();
    let r = world.map(&format!(
        r#"{COPY_SETUP}
        iam::put_role_policy("copier", "files", iam::copy_policy(#{{ sources: ["arch", "kept"], target_bucket: "kept",
            manifest_bucket: "kept", report_bucket: "kept" }}));
        let m = manifest::from_keys("arch", ["a/1.txt", "a/2.txt", "a/3.txt", "big/000000"]);
        let first = restore::copy(m, #{{ via: "job", bucket: "kept", role_arn: role.arn }});
        let job = batch::describe(first.job_id);
        let second = restore::copy(m, #{{ via: "job", bucket: "kept", role_arn: role.arn }});
        #{{ first: first, second: second, job: job }}"#
    ));
    let first = m(&r, "first");
    assert_eq!(
        (i(&first, "copied"), i(&first, "not_readable")),
        (2, 1),
        "{first:?}"
    );
    let failed = a(&first, "failed");
    let big = failed[0].clone().try_cast::<rhai::Map>().unwrap();
    assert_eq!(
        (s(&big, "key"), s(&big, "code")),
        ("big/000000".into(), "InvalidRequest".into())
    );
    let job = m(&r, "job");
    assert_eq!(s(&m(&job, "operation"), "operation"), "S3PutObjectCopy");
    assert_eq!(i(&m(&job, "progress"), "total"), 3);
    let second = m(&r, "second");
    assert_eq!(
        (i(&second, "copied"), i(&second, "skipped")),
        (0, 2),
        "{second:?}"
    );
}

#[test]
fn copy_as_ready_copies_in_waves_while_restores_complete() {
    let world = World::new();
    let r = world.map(
        r#"s3::create_bucket("arch");
        sim::seed_objects("arch", 20, #{ prefix: "g/", storage_class: "GLACIER", size: 10 });
        sim::seed_objects("arch", 20, #{ prefix: "d/", storage_class: "DEEP_ARCHIVE", size: 10 });
        s3::put_object("arch", "never", "x", #{ storage_class: "GLACIER" });
        let m = manifest::from_listing("arch", #{ prefix: "g/" });
        for k in manifest::from_listing("arch", #{ prefix: "d/" }).rows(1000) { m.add(k.bucket, k.key); }
        restore::direct(m, #{ days: 3, tier: "STANDARD" });
        m.add("arch", "never");
        let r = restore::copy(m, #{ as_ready: true, poll: "10m" });
        r.class = s3::head_object("arch", "d/000003").storage_class;
        r"#,
    );
    assert_eq!(i(&r, "copied"), 40, "{r:?}");
    assert_eq!(i(&r, "not_readable"), 1, "{r:?}");
    // GLACIER (3-5 h) and DEEP_ARCHIVE (12 h) come back apart: at least two waves.
    assert!(i(&r, "waves") >= 2, "{r:?}");
    assert_eq!(s(&r, "class"), "STANDARD");
}

/// Runs `scripts/restore-and-copy.rhai` in `world` with `vars`.
fn playbook(world: &World, vars: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_s3thaw"));
    cmd.args(["run", "scripts/restore-and-copy.rhai", "--yes", "--state"])
        .arg(world.state())
        .current_dir(project_root())
        .env("XDG_STATE_HOME", world.state());
    for var in vars {
        cmd.args(["--var", var]);
    }
    cmd
}

#[test]
fn restore_and_copy_playbook_keeps_every_object_in_another_bucket() {
    let world = World::new();
    world.run(
        r#"s3::create_bucket("vault");
        s3::create_bucket("kept");
        sim::seed_objects("vault", 200, #{ prefix: "2019/g/", storage_class: "GLACIER", size: 2048 });
        sim::seed_objects("vault", 100, #{ prefix: "2019/d/", storage_class: "DEEP_ARCHIVE", size: 4096 });"#,
    );
    let out = playbook(
        &world,
        &[
            "bucket=vault",
            "prefix=2019/",
            "target_bucket=kept",
            "target_prefix=copy/",
            "storage_class=STANDARD_IA",
            "days=3",
        ],
    )
    .output()
    .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for line in [
        "Listed 300 objects, 300 of them archived.",
        "Copy to STANDARD_IA (kept once the restored copies expire): <$0.01 requests and $0.25 job fees",
        "Copied 300 objects (819200 bytes) by job",
        "Verified 300 of 300 copies (size and class).",
        "Done: all 300 objects are kept to s3://kept/copy/ as STANDARD_IA.",
    ] {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
    // The sources stay archived; the copies are readable.
    let r = world.map(
        r#"#{ source: s3::head_object("vault", "2019/d/000007").storage_class,
             copy: s3::head_object("kept", "copy/2019/d/000007").storage_class,
             body: s3::get_object("kept", "copy/2019/d/000007").len() }"#,
    );
    assert_eq!(s(&r, "source"), "DEEP_ARCHIVE");
    assert_eq!(s(&r, "copy"), "STANDARD_IA");
    assert_eq!(i(&r, "body"), 4096);
}

#[test]
fn restore_and_copy_playbook_fails_unless_every_object_is_copied() {
    let world = World::new();
    world.run(
        r#"s3::create_bucket("vault");
        sim::seed_objects("vault", 10, #{ prefix: "p/", storage_class: "GLACIER", size: 10 });
        sim::seed_objects("vault", 1, #{ prefix: "p/big-", storage_class: "GLACIER", size: 6 * 1024 * 1024 * 1024 });"#,
    );
    // A copy job fails objects over 5 GB, as AWS's S3PutObjectCopy does.
    let out = playbook(&world, &["bucket=vault", "prefix=p/", "via=job"])
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("Copied 10 objects") && stdout.contains("1 failed"),
        "{stdout}"
    );
    assert!(stdout.contains("Verified 10 of 11 copies"), "{stdout}");
    assert!(stderr.contains("CopyIncomplete"), "{stderr}");
    // Direct copies take it by multipart upload: the re-run copies only it, and succeeds.
    let out = playbook(&world, &["bucket=vault", "prefix=p/", "via=direct"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("Verified 11 of 11 copies"), "{stdout}");
}

/// kill -9 at any point, then the same command again: every object kept, in place, each
/// restored once, one restore job.
#[test]
fn restore_and_copy_playbook_survives_kill_9_and_rerun() {
    use std::process::Stdio;
    use std::time::Duration;

    let world = World::new();
    world.run(
        r#"s3::create_bucket("crash");
        sim::seed_objects("crash", 2000, #{ prefix: "p/", storage_class: "GLACIER", size: 100 });
        sim::seed_objects("crash", 500, #{ prefix: "p/d/", storage_class: "DEEP_ARCHIVE", size: 100 });"#,
    );
    let vars = [
        "bucket=crash",
        "prefix=p/",
        "days=3",
        "via=direct",
        "as_ready=true",
    ];
    for delay_ms in [80u64, 200, 400, 700, 1000] {
        let mut child = playbook(&world, &vars)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    let out = playbook(&world, &vars).output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("Done: all 2500 objects are kept in place as STANDARD."),
        "{stdout}"
    );
    let r = world.map(
        r#"let m = manifest::from_listing("crash", #{ prefix: "p/", storage_classes: ["STANDARD"] });
        let restores = 0;
        for j in batch::list() { restores += batch::describe(j.id).progress.total; }
        #{ standard: m.len(), restore_tasks: restores }"#,
    );
    assert_eq!(i(&r, "standard"), 2500);
    assert!(
        i(&r, "restore_tasks") <= 2500,
        "no object restored twice by jobs: {r:?}"
    );
}
