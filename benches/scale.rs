//! The simulator at AWS's scale: seed N archived objects, list them into a manifest, run a
//! restore job over all of them to `Complete` with its completion report, through the real
//! script API. Prints the time of each phase and the peak RSS.
//!
//!     cargo bench --bench scale                                  # 1,000,000 objects
//!     S3THAW_BENCH_OBJECTS=10000000 cargo bench --bench scale    # the 10M mode
//!     S3THAW_BENCH_OBJECTS=100000 cargo bench --bench scale
//!     taskset -c 0 /usr/bin/time -v target/release/deps/scale-*  # one core, with RSS
//!
//! The phases can run in separate processes on one kept state, so each has its own peak RSS
//! (the manifest a script builds with `manifest::from_listing` holds every key in memory by
//! design, about 25 bytes a key; the job itself should not grow with N):
//!
//!     S3THAW_BENCH_STATE=/tmp/scale S3THAW_BENCH_PHASE=setup target/release/deps/scale-*
//!     S3THAW_BENCH_STATE=/tmp/scale S3THAW_BENCH_PHASE=job   target/release/deps/scale-*

mod common;

use common::{env_count, peak_rss_mb, session};

fn main() {
    let objects = env_count("S3THAW_BENCH_OBJECTS", 1_000_000);
    let phase = std::env::var("S3THAW_BENCH_PHASE").unwrap_or_else(|_| "all".into());
    let (setup, job) = match phase.as_str() {
        "all" => (true, true),
        "setup" => (true, false),
        "job" => (false, true),
        other => panic!("S3THAW_BENCH_PHASE is all, setup or job, not `{other}`"),
    };
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var_os("S3THAW_BENCH_STATE")
        .map_or_else(|| temp.path().to_path_buf(), std::path::PathBuf::from);
    let mut session = session(&dir, &[]);
    // Wall time per phase (printed by `common::step`) and the process's CPU time, which is the
    // figure to compare on a shared machine.
    let mut step = |name: &str, script: &str| {
        let cpu = cpu_seconds();
        let wall = common::step(&mut session, name, script);
        println!("{:<44} {:>8.2} s CPU", "", cpu_seconds() - cpu);
        wall
    };
    println!("s3thaw scale benchmark: {objects} objects, phase {phase}");
    let mut total = 0.0;
    if setup {
        step(
            "setup (bucket, role)",
            r#"
            s3::create_bucket("scale");
            let role = iam::create_role("scale-role", iam::batch_trust_policy());
            iam::put_role_policy("scale-role", "restore", iam::restore_policy(#{
                targets: ["scale"], manifest_bucket: "scale", report_bucket: "scale" }));
            role.arn"#,
        );
        total += step(
            "seed archived objects",
            &format!(
                r#"sim::seed_objects("scale", {objects}, #{{ prefix: "archive/obj-", storage_class: "GLACIER" }})"#
            ),
        );
        total += step(
            "manifest::from_listing",
            r#"let m = manifest::from_listing("scale", #{ prefix: "archive/" }); m.len()"#,
        );
        total += step(
            "manifest::upload",
            r#"let loc = manifest::upload(m, "scale", "manifests/all.csv"); m = (); loc.etag"#,
        );
        println!("{:<44} {:>8.0} MB", "peak RSS after setup", peak_rss_mb());
    }
    if job {
        if !setup {
            step(
                "manifest location, role",
                r#"
                let role = iam::get_role("scale-role");
                let head = s3::head_object("scale", "manifests/all.csv");
                let loc = #{ bucket: "scale", key: "manifests/all.csv", etag: head.etag };
                loc.etag"#,
            );
        }
        total += step(
            "create job .. Complete (report written)",
            r#"
            let job = batch::create_job(#{ manifest: loc, operation: batch::restore_operation(#{ days: 1, tier: "BULK" }),
                role_arn: role.arn, confirmation_required: false,
                report: #{ bucket: "scale", prefix: "reports", scope: "AllTasks" } });
            job = batch::wait(job.id);
            `${job.status} ${job.progress.succeeded}/${job.progress.total}`"#,
        );
        step(
            "report files (bytes)",
            r#"s3::list_objects("scale", #{ prefix: "reports/" }).map(|o| o.size)"#,
        );
    }
    println!("{:<44} {:>8.2} s", "total of the timed phases", total);
    println!("{:<44} {:>8.0} MB", "peak RSS", peak_rss_mb());
}

/// User + system CPU time of this process so far (`/proc/self/stat`, in clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}
