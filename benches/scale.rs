//! The simulator at AWS's scale: seed N archived objects, list them into a manifest, run a
//! restore job over all of them to `Complete` with its completion report, through the real
//! script API. Prints the time of each phase and the peak RSS.
//!
//!     cargo bench --bench scale                       # 1,000,000 objects
//!     S3THAW_BENCH_OBJECTS=100000 cargo bench --bench scale
//!     taskset -c 0 /usr/bin/time -v target/release/deps/scale-*   # one core, with RSS

mod common;

use common::{env_count, peak_rss_mb, session};

fn main() {
    let objects = env_count("S3THAW_BENCH_OBJECTS", 1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut session = session(dir.path(), &[]);
    let mut step = |name: &str, script: &str| common::step(&mut session, name, script);
    println!("s3thaw scale benchmark: {objects} objects");
    step(
        "setup (bucket, role)",
        r#"
        s3::create_bucket("scale");
        let role = iam::create_role("scale-role", iam::batch_trust_policy());
        iam::put_role_policy("scale-role", "restore", iam::restore_policy(#{
            targets: ["scale"], manifest_bucket: "scale", report_bucket: "scale" }));
        role.arn"#,
    );
    let seed = step(
        "seed archived objects",
        &format!(
            r#"sim::seed_objects("scale", {objects}, #{{ prefix: "archive/obj-", storage_class: "GLACIER" }})"#
        ),
    );
    let list = step(
        "manifest::from_listing",
        r#"let m = manifest::from_listing("scale", #{ prefix: "archive/" }); m.len()"#,
    );
    let upload = step(
        "manifest::upload",
        r#"let loc = manifest::upload(m, "scale", "manifests/all.csv"); m = (); loc.etag"#,
    );
    let job = step(
        "create job .. Complete (report written)",
        r#"
        let job = batch::create_job(#{ manifest: loc, operation: batch::restore_operation(#{ days: 1, tier: "BULK" }),
            role_arn: role.arn, confirmation_required: false,
            report: #{ bucket: "scale", prefix: "reports", scope: "AllTasks" } });
        job = batch::wait(job.id);
        `${job.status} ${job.progress.succeeded}/${job.progress.total}`"#,
    );
    step(
        "report size",
        r#"s3::list_objects("scale", #{ prefix: "reports/" }).map(|o| o.size)"#,
    );
    println!(
        "{:<40} {:>8.2} s",
        "total (seed + list + upload + job)",
        seed + list + upload + job
    );
    println!("{:<40} {:>8.0} MB", "peak RSS", peak_rss_mb());
}
