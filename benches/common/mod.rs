//! What the benchmarks share: a session on a fresh (or given) simulator state, a timed script
//! step, the environment's object counts and the peak RSS.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use s3thaw::backend::sim::Simulator;
use s3thaw::engine::{RunSettings, Session, error_of};

/// The simulator's peak resident set so far, in MB (`VmHWM`).
pub(crate) fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A count from the environment variable `name`, or `default`.
pub(crate) fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A quiet, non-interactive session on the simulator state in `dir`, with `--var`s.
pub(crate) fn session(dir: &Path, vars: &[(&str, String)]) -> Session {
    let sim = Simulator::open(dir).expect("simulator");
    let settings = RunSettings {
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
        yes: true,
        quiet: true,
    };
    Session::new(Box::new(sim), settings, None)
}

/// Runs `script` in `session`, prints its wall time and value, and returns the seconds.
pub(crate) fn step(session: &mut Session, name: &str, script: &str) -> f64 {
    let start = Instant::now();
    let value = session
        .engine
        .eval_with_scope::<rhai::Dynamic>(&mut session.scope, script)
        .unwrap_or_else(|e| panic!("{name}: {:?}", error_of(&e)));
    let seconds = start.elapsed().as_secs_f64();
    println!("{name:<44} {seconds:>8.2} s   {value}");
    seconds
}
