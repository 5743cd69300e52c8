//! The simulator's copy jobs at a million objects: seed N STANDARD objects, list them into a
//! manifest, run an `S3PutObjectCopy` job over all of them to another bucket (STANDARD_IA) to
//! `Complete` with its completion report, through the real script API. Prints the time of each
//! phase and the peak RSS.
//!
//!     cargo bench --bench copy_job                    # 1,000,000 objects
//!     S3THAW_BENCH_OBJECTS=100000 cargo bench --bench copy_job
//!     S3THAW_BENCH_GENERATOR=1 cargo bench --bench copy_job   # then the same copy by a
//!                                                             # manifest generator

mod common;

use common::{env_count, peak_rss_mb, session};

fn main() {
    let objects = env_count("S3THAW_BENCH_OBJECTS", 1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut session = session(dir.path(), &[]);
    let mut step = |name: &str, script: &str| common::step(&mut session, name, script);
    println!("s3thaw copy-job benchmark: {objects} objects");
    step(
        "setup (buckets, role)",
        r#"
        s3::create_bucket("scale");
        s3::create_bucket("kept");
        let role = iam::create_role("copy-role", iam::batch_trust_policy());
        iam::put_role_policy("copy-role", "copy", iam::copy_policy(#{
            sources: ["scale"], target_bucket: "kept", manifest_bucket: "scale", report_bucket: "scale" }));
        role.arn"#,
    );
    let seed = step(
        "seed objects",
        &format!(
            r#"sim::seed_objects("scale", {objects}, #{{ prefix: "archive/obj-", storage_class: "STANDARD" }})"#
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
        "create copy job .. Complete (report)",
        r#"
        let job = batch::create_job(#{ manifest: loc,
            operation: batch::copy_operation(#{ target_bucket: "kept", storage_class: "STANDARD_IA" }),
            role_arn: role.arn, confirmation_required: false,
            report: #{ bucket: "scale", prefix: "reports", scope: "AllTasks" } });
        job = batch::wait(job.id);
        `${job.status} ${job.progress.succeeded}/${job.progress.total}`"#,
    );
    step(
        "copies in the target bucket",
        r#"manifest::from_listing("kept", #{ prefix: "archive/" }).len()"#,
    );
    if env_count("S3THAW_BENCH_GENERATOR", 0) == 1 {
        // The same copy without a manifest: the job lists the bucket when it is prepared and
        // writes the manifest it generated.
        step(
            "generator copy job .. Complete (report)",
            r#"
            s3::create_bucket("kept-gen");
            let gen = #{ source_bucket: "scale", prefix: "archive/", output: #{ bucket: "scale", prefix: "generated" } };
            iam::put_role_policy("copy-role", "copy-gen", iam::copy_policy(#{
                manifest_generator: gen, target_bucket: "kept-gen", report_bucket: "scale" }));
            let job = batch::create_job(#{ manifest_generator: gen,
                operation: batch::copy_operation(#{ target_bucket: "kept-gen", storage_class: "STANDARD_IA" }),
                role_arn: role.arn, confirmation_required: false,
                report: #{ bucket: "scale", prefix: "reports", scope: "AllTasks" } });
            job = batch::wait(job.id);
            `${job.status} ${job.progress.succeeded}/${job.progress.total} generated ${job.generated_manifest.key}`"#,
        );
    }
    println!(
        "{:<40} {:>8.2} s",
        "total (seed + list + upload + job)",
        seed + list + upload + job
    );
    println!("{:<40} {:>8.0} MB", "peak RSS", peak_rss_mb());
}
