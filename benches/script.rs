//! The script engine on big inputs (issue 13 item 11): an array grown by 400,000 `push`es,
//! and generated scripts of many `let` statements, compiled and run. Prints wall and CPU times;
//! asserts nothing about them (numbers go to BENCHMARKS.md).
//!
//!     cargo bench --bench script                                  # release
//!     cargo test --bench script                                   # the dev build, quicker to build
//!     S3THAW_BENCH_PUSHES=1000000 S3THAW_BENCH_LETS=80000 cargo test --bench script
//!     S3THAW_BENCH_PUSHES=0 S3THAW_BENCH_LETS=450000 cargo bench --bench script   # a 10 MB script

mod common;

use std::time::Instant;

use common::{cpu_seconds, env_count, peak_rss_mb, session};

/// A script of `n` distinct `let` statements, as a generator writes them.
fn lets(n: u64) -> String {
    let mut text = String::with_capacity(n as usize * 24);
    for i in 0..n {
        text.push_str(&format!("let value_{i} = {i};\n"));
    }
    text
}

/// A script of `n` `let` statements that each read the one before (a running total), ending
/// with the last one's value: every line is a variable reference as well as a declaration.
fn chained_lets(n: u64) -> String {
    let mut text = String::with_capacity(n as usize * 40);
    text.push_str("let total_0 = 0;\n");
    for i in 1..n {
        text.push_str(&format!("let total_{i} = total_{} + {i};\n", i - 1));
    }
    text.push_str(&format!("total_{}\n", n.saturating_sub(1)));
    text
}

/// Compiles `text` with the engine `s3thaw check` uses, then runs it; prints both times.
fn compile_and_run(engine: &rhai::Engine, what: &str, text: &str) {
    let start = Instant::now();
    let cpu = cpu_seconds();
    let ast = s3thaw::engine::compile_all_errors(engine, text).expect("compiles");
    println!(
        "{:<44} {:>8.2} s  (cpu {:>6.2} s)   {} statements, {:.1} MB",
        format!("compile {what}"),
        start.elapsed().as_secs_f64(),
        cpu_seconds() - cpu,
        ast.statements().len(),
        text.len() as f64 / 1e6
    );
    let start = Instant::now();
    let cpu = cpu_seconds();
    let value = engine
        .eval_ast::<rhai::Dynamic>(&ast)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    println!(
        "{:<44} {:>8.2} s  (cpu {:>6.2} s)   {value}",
        format!("run {what}"),
        start.elapsed().as_secs_f64(),
        cpu_seconds() - cpu,
    );
}

fn main() {
    let pushes = env_count("S3THAW_BENCH_PUSHES", 400_000);
    let most_lets = env_count("S3THAW_BENCH_LETS", 40_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut session = session(dir.path(), &[]);
    println!("s3thaw script benchmark");
    if pushes > 0 {
        for n in [pushes / 4, pushes / 2, pushes] {
            common::step(
                &mut session,
                &format!("push {n} items"),
                &format!("let a = []; for i in 0..{n} {{ a.push(i); }} a.len()"),
            );
        }
    }
    let engine = s3thaw::engine::new_engine();
    for n in [most_lets / 4, most_lets / 2, most_lets] {
        compile_and_run(&engine, &format!("{n} lets"), &lets(n));
    }
    for n in [most_lets / 4, most_lets / 2, most_lets] {
        compile_and_run(&engine, &format!("{n} chained lets"), &chained_lets(n));
    }
    println!("peak RSS {:.0} MB", peak_rss_mb());
}
