//! The tutorial playbook and its variations, end to end on the simulator.

use crate::common::*;

#[test]
fn tutorial_playbook_runs_end_to_end() {
    let world = World::new();
    let out = world.cli(&["run", "scripts/restore.rhai"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    for line in [
        "Created bucket s3thaw-tutorial-111122223333-us-east-1",
        ": Suspended: 0 succeeded, 0 failed of 3",
        ": Complete: 3 succeeded, 0 failed of 3",
        "restore in progress",
        "now fails: InvalidObjectState",
        "tutorial/testfile-3.txt: restored, readable until",
        "identical to the upload",
        "3 tasks, 3 succeeded, 0 failed",
        "testfile-2.txt: succeeded (202 Successful)",
        "early-deletion charge",
        "Done.",
    ] {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
    // The playbook cleans up after itself: a second run starts from scratch and passes again.
    let again = world.cli(&["run", "scripts/restore.rhai"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
}

#[test]
fn report_has_one_succeeded_row_per_object_and_objects_read_back() {
    let world = World::new();
    let result = world.map(&format!(
        r#"{SETUP}
        let job = t::create_job(cfg, location, role);
        job = t::run_job(job);
        t::verify_restore(cfg);
        let r = report::load(job);
        let rows = r.rows();
        let bodies = [];
        for key in t::sample_keys(cfg) {{ bodies.push(s3::get_text(cfg.bucket, key) == cfg.samples[key]); }}
        #{{ total: r.total, succeeded: r.succeeded, failed: r.failed, rows: rows, bodies: bodies,
            job: batch::describe(job.id) }}"#
    ));
    assert_eq!(
        (
            i(&result, "total"),
            i(&result, "succeeded"),
            i(&result, "failed")
        ),
        (3, 3, 0)
    );
    let rows = result["rows"].clone().into_array().unwrap();
    let mut keys: Vec<String> = Vec::new();
    for row in rows {
        let row = row.try_cast::<rhai::Map>().unwrap();
        assert_eq!(s(&row, "status"), "succeeded");
        assert_eq!(i(&row, "http_status"), 202);
        assert_eq!(s(&row, "message"), "Successful");
        keys.push(s(&row, "key"));
    }
    keys.sort();
    assert_eq!(
        keys,
        [
            "tutorial/testfile-1.txt",
            "tutorial/testfile-2.txt",
            "tutorial/testfile-3.txt"
        ]
    );
    assert_eq!(result["bodies"].to_string(), "[true, true, true]");
    let job = m(&result, "job");
    assert_eq!(s(&job, "status"), "Complete");
    assert_eq!(s(&m(&job, "tags"), "project"), "s3thaw-tutorial");
    assert!(!job["termination_date"].is_unit());
}

#[test]
fn tier_and_days_come_from_vars_and_expiry_rounds_up_to_midnight() {
    let world = World::new();
    let script = format!(
        r#"{SETUP}
        let job = t::create_job(cfg, location, role);
        job = t::run_job(job);
        let key = t::sample_keys(cfg)[0];
        let h = t::wait_restored(cfg.bucket, key);
        #{{ job: job, expiry: h.restore.expiry, now: now() }}"#
    );
    let result = match world.eval_with(&script, &[("tier", "BULK"), ("days", "3")]) {
        Ok(v) => v.try_cast::<rhai::Map>().unwrap(),
        Err(e) => panic!("{e:?}"),
    };
    let job = m(&result, "job");
    let op = m(&job, "operation");
    assert_eq!(s(&op, "tier"), "BULK");
    assert_eq!(i(&op, "days"), 3);
    // Expiry = request time + 3 days, rounded up to the next midnight UTC. The request was
    // made today (the job ran within seconds of virtual time), so the expiry is midnight
    // starting the 4th day after it, and the restore (5-12 h for BULK) finished before it.
    let expiry = time::OffsetDateTime::parse(
        &s(&result, "expiry"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!((expiry.hour(), expiry.minute(), expiry.second()), (0, 0, 0));
    let created = time::OffsetDateTime::parse(
        &s(&job, "creation_time"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let days = (expiry.date() - created.date()).whole_days();
    assert!(
        days == 4 || (days == 5 && created.hour() == 23),
        "expiry {expiry} for a job created {created}"
    );
}

#[test]
fn standard_tier_restores_finish_sooner_than_bulk() {
    // Same seed, two worlds: the tier decides how long the restore takes.
    let hours = |tier: &str| {
        let world = World::new();
        let script = format!(
            r#"{SETUP}
            let job = t::run_job(t::create_job(cfg, location, role));
            let start = now();
            t::wait_restored(cfg.bucket, t::sample_keys(cfg)[0]);
            #{{ start: start, end: now() }}"#
        );
        let result = world
            .eval_with(&script, &[("tier", tier)])
            .unwrap()
            .try_cast::<rhai::Map>()
            .unwrap();
        let parse = |k: &str| {
            time::OffsetDateTime::parse(
                &s(&result, k),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        };
        (parse("end") - parse("start")).as_seconds_f64() / 3600.0
    };
    let standard = hours("STANDARD");
    let bulk = hours("BULK");
    assert!(standard <= 5.25, "standard took {standard}h");
    assert!((5.0..=12.25).contains(&bulk), "bulk took {bulk}h");
}
