//! Restore tracking at scale, through the real script API and engine:
//! - one `restore::status` pass over N objects under one prefix (default 1,000,000): time and
//!   requests made (listings where the manifest is dense);
//! - the prefix rehearsal: M objects (3/4 GLACIER, 1/4 DEEP_ARCHIVE; default 400,000) restored
//!   by `scripts/restore-prefix.rhai` with BULK for 14 days, from listing to the last object
//!   readable.
//!
//! ```sh
//! cargo bench --bench tracking
//! S3THAW_BENCH_OBJECTS=100000 S3THAW_BENCH_PREFIX_OBJECTS=40000 cargo bench --bench tracking
//! ```

mod common;

use common::{env_count, session, step};

fn main() {
    let objects = env_count("S3THAW_BENCH_OBJECTS", 1_000_000);
    let prefix_objects = env_count("S3THAW_BENCH_PREFIX_OBJECTS", 400_000);

    println!("restore::status over {objects} objects under one prefix");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = session(dir.path(), &[]);
    step(
        &mut s,
        "seed (GLACIER)",
        &format!(
            r#"s3::create_bucket("track");
            sim::seed_objects("track", {objects}, #{{ prefix: "data/obj-", storage_class: "GLACIER" }})"#
        ),
    );
    step(
        &mut s,
        "manifest::from_listing",
        r#"let m = manifest::from_listing("track", #{ prefix: "data/" }); m.len()"#,
    );
    step(
        &mut s,
        "restore::status (one pass)",
        r#"let st = restore::status(m); `${st.not_requested} not requested; ${st.requests.list} list + ${st.requests.head} head requests`"#,
    );
    drop(s);
    drop(dir);

    println!();
    let glacier = prefix_objects * 3 / 4;
    let deep = prefix_objects - glacier;
    println!("restore-prefix rehearsal: {glacier} GLACIER + {deep} DEEP_ARCHIVE, BULK, 14 days");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = session(dir.path(), &[]);
    step(
        &mut s,
        "seed",
        &format!(
            r#"s3::create_bucket("campaign");
            sim::seed_objects("campaign", {glacier}, #{{ prefix: "2019/g/", storage_class: "GLACIER" }});
            sim::seed_objects("campaign", {deep}, #{{ prefix: "2019/d/", storage_class: "DEEP_ARCHIVE" }})"#
        ),
    );
    drop(s);
    let playbook = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/restore-prefix.rhai"),
    )
    .expect("playbook");
    let mut s = session(
        dir.path(),
        &[
            ("bucket", "campaign".into()),
            ("prefix", "2019/".into()),
            ("tier", "BULK".into()),
            ("days", "14".into()),
        ],
    );
    step(&mut s, "scripts/restore-prefix.rhai (whole run)", &playbook);
}
