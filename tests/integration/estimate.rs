//! The estimate answers "what next" (issue 15, item 9): objects already restored or being
//! restored are left out before the question is asked, and said so; the copy to STANDARD and
//! the requests of tracking are priced; the tiers compare in one table; money in cents.

use crate::common::*;

/// 3,000 GLACIER and 2,000 DEEP_ARCHIVE objects under `p/`; 1,000 GLACIER copies restored
/// and 200 DEEP_ARCHIVE restores running when the estimate is made.
fn bucket_with_restores(world: &World) {
    world.run(
        r#"s3::create_bucket("est");
        sim::seed_objects("est", 3000, #{ prefix: "p/g/", storage_class: "GLACIER", size: 1048576 });
        sim::seed_objects("est", 2000, #{ prefix: "p/d/", storage_class: "DEEP_ARCHIVE", size: 1048576 });
        let g = manifest::from_listing("est", #{ prefix: "p/g/" });
        let first = manifest::new();
        for row in g.rows(1000) { first.add(row.bucket, row.key); }
        restore::direct(first, #{ tier: "EXPEDITED", days: 5 });
        sim::advance("1h");
        let d = manifest::from_listing("est", #{ prefix: "p/d/" });
        let running = manifest::new();
        for row in d.rows(200) { running.add(row.bucket, row.key); }
        restore::direct(running, #{ tier: "BULK", days: 5 });"#,
    );
}

#[test]
fn restored_and_running_objects_are_not_priced_and_the_estimate_says_so() {
    let world = World::new();
    bucket_with_restores(&world);
    let r = world.map(
        r#"let m = manifest::from_listing("est", #{ prefix: "p/" });
        let all = cost::estimate(m, #{ tier: "BULK", days: 7 });
        let left = cost::estimate(m, #{ tier: "BULK", days: 7, skip_restored: true,
            copy: #{ storage_class: "STANDARD", via: "direct" } });
        #{ all: all, left: left, text: cost::breakdown(left),
           table: cost::compare(["BULK", "STANDARD"].map(|t| cost::estimate(m, #{ tier: t, days: 7, skip_restored: true }))) }"#,
    );
    let all = m(&r, "all");
    let left = m(&r, "left");
    assert_eq!(i(&all, "objects"), 5000);
    assert!(!all.contains_key("already"), "{all:?}");
    // 1,000 readable and 200 running are not priced.
    assert_eq!(i(&left, "objects"), 3800, "{left:?}");
    let already = m(&left, "already");
    assert_eq!(
        (
            i(&already, "restored"),
            i(&already, "in_progress"),
            i(&already, "of")
        ),
        (1000, 200, 5000)
    );
    let by_class = m(&left, "by_class");
    assert_eq!(i(&m(&by_class, "GLACIER"), "objects"), 2000);
    assert_eq!(i(&m(&by_class, "DEEP_ARCHIVE"), "objects"), 1800);
    // The copy covers every object, restored or not: 5,000 MiB in STANDARD.
    let copy = m(&left, "copy");
    assert_eq!(s(&copy, "storage_class"), "STANDARD");
    let month = copy["storage_usd_per_month"].as_float().unwrap();
    assert!((month - 5000.0 / 1024.0 * 0.023).abs() < 0.001, "{copy:?}");
    // Tracking: 4 LIST pages a pass (3,800 objects), a pass at the start and each hour of
    // Deep Archive's 48 h, a page at the 3 polls an hour between: 196 + 144 requests, no HEAD.
    let tracking = m(&left, "tracking");
    assert_eq!(i(&tracking, "pages_per_pass"), 4);
    assert_eq!(i(&tracking, "passes"), 49);
    assert_eq!(i(&tracking, "list_requests"), 340);
    assert_eq!(i(&tracking, "head_requests"), 0);

    let text = s(&r, "text");
    assert!(
        text.starts_with("Restore estimate, BULK tier, 7 day(s), 3,800 objects:"),
        "{text}"
    );
    assert!(
        text.contains("  - 1,200 of 5,000 already restored or in progress: not counted\n"),
        "{text}"
    );
    assert!(
        text.contains("Copy to STANDARD (kept once the restored copies expire): $0.03 requests, then $0.11 a month of storage\n"),
        "{text}"
    );
    assert!(
        text.contains("Tracking until readable (restore::wait): about 340 LIST requests (4 a pass, a pass an hour for 48 h, a page a poll between), <$0.01; no HEAD per object.\n"),
        "{text}"
    );
    // Every amount in the text is in cents.
    for amount in text.split('$').skip(1) {
        let digits: String = amount
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
            .collect();
        let cents = digits
            .trim_end_matches(['.', ','])
            .split('.')
            .nth(1)
            .unwrap_or("00");
        assert_eq!(cents.len(), 2, "not in cents: ${amount} in {text}");
    }

    // The tiers side by side: one row each, with each class's window and the expiry.
    let table = s(&r, "table");
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].contains("DEEP_ARCHIVE readable in") && lines[0].contains("GLACIER readable in"),
        "{table}"
    );
    let bulk = lines
        .iter()
        .find(|l| l.trim_start().starts_with("BULK"))
        .unwrap();
    assert!(
        bulk.contains("24-48 h") && bulk.contains("5-12 h") && bulk.contains("7d0h-9d0h"),
        "{table}"
    );
    let standard = lines
        .iter()
        .find(|l| l.trim_start().starts_with("STANDARD"))
        .unwrap();
    assert!(
        standard.contains("6-12 h") && standard.contains("1 min-5 h"),
        "{table}"
    );
    assert!(
        table.contains("1,200 of 5,000 already restored or in progress: not counted"),
        "{table}"
    );
}

#[test]
fn the_estimate_playbook_compares_the_tiers_in_one_table() {
    let world = World::new();
    bucket_with_restores(&world);
    let out = world.cli(&[
        "run",
        "estimate",
        "--var",
        "bucket=est",
        "--var",
        "prefix=p/",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            l.contains('$')
                && ["BULK", "STANDARD", "EXPEDITED"]
                    .iter()
                    .any(|t| l.trim_start().starts_with(t))
        })
        .collect();
    assert_eq!(rows.len(), 3, "{stdout}");
    assert!(
        rows[2].contains("not possible"),
        "Deep Archive has no Expedited: {stdout}"
    );
    assert!(
        stdout.contains("1,200 of 5,000 already restored or in progress: not counted"),
        "{stdout}"
    );
    assert!(stdout.contains("LIST page(s) a pass"), "{stdout}");
}

/// Issue 15 item 8: `s3thaw status JOB` draws readiness over time per storage class, on to
/// when the job's restores are due; the end of restore-prefix draws what its wait saw.
#[test]
fn status_and_restore_prefix_draw_readiness_over_time() {
    let world = World::new();
    world.run(
        r#"s3::create_bucket("pics");
        sim::seed_objects("pics", 40, #{ prefix: "g/", storage_class: "GLACIER" });
        sim::seed_objects("pics", 20, #{ prefix: "d/", storage_class: "DEEP_ARCHIVE" });"#,
    );
    // A BULK job over both classes, looked at while it runs: GLACIER due within 12 h of its
    // start, DEEP_ARCHIVE within 48 h.
    let job = world.map(
        r#"let m = manifest::from_listing("pics");
        let role = iam::create_role("pics-role", iam::batch_trust_policy());
        iam::put_role_policy("pics-role", "restore", iam::restore_policy(#{
            targets: ["pics"], manifest_bucket: "pics", report_bucket: "pics" }));
        let job = batch::create_job(#{ manifest: manifest::upload(m, "pics", "m.csv"),
            operation: batch::restore_operation(#{ tier: "BULK", days: 3 }), role_arn: role.arn,
            priority: 1, report: false, confirmation_required: false });
        batch::wait(job.id);
        #{ id: job.id }"#,
    );
    let id = s(&job, "id");
    let status = |world: &World| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3thaw"))
            .args(["status", &id[..8]])
            .env("S3THAW_STATE", world.state())
            .output()
            .unwrap();
        text(&out.stdout)
    };
    let stdout = status(&world);
    assert!(stdout.contains("readiness over time"), "{stdout}");
    assert!(stdout.contains("BULK window"), "{stdout}");
    let row = |stdout: &str, class: &str| -> String {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(class) && l.contains("% now"))
            .unwrap_or_else(|| panic!("no chart row for {class}: {stdout}"))
            .to_string()
    };
    let deep = row(&stdout, "DEEP_ARCHIVE");
    assert!(deep.contains('│') && deep.contains("due 20"), "{stdout}");
    assert!(row(&stdout, "GLACIER").contains('█'), "{stdout}");

    // restore-prefix over the same objects: its wait saw them become readable.
    let out = world.cli(&[
        "run",
        "restore-prefix",
        "--var",
        "bucket=pics",
        "--var",
        "days=3",
        "--yes",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("readiness over time"), "{stdout}");
    let glacier = row(&stdout, "GLACIER");
    let deep = row(&stdout, "DEEP_ARCHIVE");
    assert!(
        glacier.contains("100.0% now") && deep.contains("100.0% now"),
        "{stdout}"
    );
    // GLACIER was readable before DEEP_ARCHIVE: more full cells on its row.
    let full = |r: &str| r.matches('█').count();
    assert!(full(&glacier) > full(&deep), "{stdout}");
    assert!(stdout.contains("expiry calendar"), "{stdout}");
}
