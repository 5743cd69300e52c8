//! The script engine on big inputs (issue 13 item 11): an array grown by 400,000 `push`es,
//! and compiling generated scripts of many `let` statements. Prints wall times; asserts
//! nothing (numbers go to BENCHMARKS.md).
//!
//!     cargo bench --bench script                                  # release
//!     cargo test --bench script                                   # the dev build, quicker to build
//!     S3THAW_BENCH_PUSHES=1000000 S3THAW_BENCH_LETS=80000 cargo test --bench script

mod common;

use std::time::Instant;

use common::{env_count, peak_rss_mb, session};

/// A script of `n` distinct `let` statements, as a generator writes them.
fn lets(n: u64) -> String {
    let mut text = String::with_capacity(n as usize * 24);
    for i in 0..n {
        text.push_str(&format!("let value_{i} = {i};\n"));
    }
    text
}

fn main() {
    let pushes = env_count("S3THAW_BENCH_PUSHES", 400_000);
    let most_lets = env_count("S3THAW_BENCH_LETS", 40_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut session = session(dir.path(), &[]);
    println!("s3thaw script benchmark");
    for n in [pushes / 4, pushes / 2, pushes] {
        common::step(
            &mut session,
            &format!("push {n} items"),
            &format!("let a = []; for i in 0..{n} {{ a.push(i); }} a.len()"),
        );
    }
    let engine = s3thaw::engine::new_engine();
    for n in [most_lets / 4, most_lets / 2, most_lets] {
        let text = lets(n);
        let start = Instant::now();
        let ast = s3thaw::engine::compile_all_errors(&engine, &text).expect("compiles");
        println!(
            "{:<44} {:>8.2} s   {} statements, {:.1} MB",
            format!("compile {n} lets"),
            start.elapsed().as_secs_f64(),
            ast.statements().len(),
            text.len() as f64 / 1e6
        );
    }
    println!("peak RSS {:.0} MB", peak_rss_mb());
}
