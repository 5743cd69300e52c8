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

/// The CPU time (user + system) this process has used so far, in seconds: on a machine
/// shared with other work the wall time of a step says little, its CPU time does.
pub(crate) fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) : utime is the 14th field of the
    // line, stime the 15th, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `script` in `session`, prints its wall time, its CPU time and its value, and returns
/// the wall seconds.
pub(crate) fn step(session: &mut Session, name: &str, script: &str) -> f64 {
    let start = Instant::now();
    let cpu = cpu_seconds();
    let value = session
        .engine
        .eval_with_scope::<rhai::Dynamic>(&mut session.scope, script)
        .unwrap_or_else(|e| panic!("{name}: {:?}", error_of(&e)));
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    println!("{name:<44} {seconds:>8.2} s  (cpu {cpu:>6.2} s)   {value}");
    seconds
}
