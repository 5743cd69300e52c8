//! What s3thaw shows on stderr while it works: progress bars (indicatif) when stderr is a
//! terminal and `--quiet` was not given, and tracing logs with `-v` or `RUST_LOG`.
//!
//! Script output (`print`) goes to stdout through [`print_line`], which lifts the active bar
//! out of the way first, so bars and prints never garble each other. Nothing here decides what
//! a script does: the API calls these helpers and ignores them when they are off.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use time::OffsetDateTime;

thread_local! {
    /// The bar on screen, so prints can suspend it.
    static ACTIVE: RefCell<Option<ProgressBar>> = const { RefCell::new(None) };
}

/// Writes to stdout. A reader that went away (`s3thaw jobs | head -1`) ends the process as
/// SIGPIPE would, instead of a panic.
pub fn write_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: cannot write to stdout: {e}");
    }
}

static PRINTS_TO_STDERR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sends script output (`print`, tables) to stderr from now on: `run --json` keeps stdout for
/// the one JSON document.
pub fn prints_to_stderr(on: bool) {
    PRINTS_TO_STDERR.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Prints a line of script output on stdout (stderr under `run --json`), around the progress
/// bar if one is drawn.
pub fn print_line(text: &str) {
    let line = format!("{text}\n");
    let write = |line: &str| {
        if PRINTS_TO_STDERR.load(std::sync::atomic::Ordering::Relaxed) {
            eprint!("{line}");
        } else {
            write_stdout(line);
        }
    };
    let bar = ACTIVE.with(|a| a.borrow().clone());
    match bar {
        Some(bar) if !bar.is_finished() => bar.suspend(|| write(&line)),
        _ => write(&line),
    }
}

fn activate(bar: &ProgressBar) {
    ACTIVE.with(|a| *a.borrow_mut() = Some(bar.clone()));
}

fn deactivate(bar: &ProgressBar) {
    bar.finish_and_clear();
    ACTIVE.with(|a| {
        let mut active = a.borrow_mut();
        if active.as_ref().is_some_and(|b| b.is_finished()) {
            *active = None;
        }
    });
}

/// The bar of `batch::wait`: the job's status, its tasks done of total, and the rate and time
/// left measured on the backend's clock (the simulator's virtual one, or AWS's real one).
pub struct JobBar {
    bar: ProgressBar,
    /// When tasks were first seen running, and how many were done then.
    start: Option<(OffsetDateTime, u64)>,
}

impl JobBar {
    /// A bar for `job_id`, or `None` when progress is off (`quiet`).
    pub fn new(quiet: bool, job_id: &str) -> Option<JobBar> {
        if quiet {
            return None;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let short: String = job_id.chars().take(8).collect();
        bar.set_prefix(format!("job {short}"));
        bar.enable_steady_tick(Duration::from_millis(120));
        activate(&bar);
        Some(JobBar { bar, start: None })
    }

    /// Shows the job as described at `now` on the backend's clock.
    pub fn update(
        &mut self,
        status: &str,
        total: u64,
        succeeded: u64,
        failed: u64,
        now: Option<OffsetDateTime>,
    ) {
        let done = succeeded + failed;
        if total > 0 && self.bar.length().is_none() {
            self.bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            self.bar.set_length(total);
        }
        self.bar.set_position(done);
        if status == "Active"
            && let Some(now) = now
        {
            self.start.get_or_insert((now, done));
        }
        let msg = job_message(status, total, succeeded, failed, self.start, now);
        self.bar.set_message(msg);
        self.bar.tick();
    }
}

impl Drop for JobBar {
    fn drop(&mut self) {
        deactivate(&self.bar);
    }
}

/// A counter for long listings and bulk calls: shown once the work turns out to be long.
pub struct Counter {
    bar: Option<ProgressBar>,
    quiet: bool,
    what: String,
}

impl Counter {
    /// A counter of `what` (e.g. "objects listed in s3://bucket"); drawn from the first
    /// [`Counter::set`] on, so one-page answers show nothing.
    pub fn new(quiet: bool, what: impl Into<String>) -> Counter {
        Counter {
            bar: None,
            quiet,
            what: what.into(),
        }
    }

    /// Shows `count` so far.
    pub fn set(&mut self, count: u64) {
        if self.quiet {
            return;
        }
        let what = &self.what;
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {human_pos} {msg} ({per_sec})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(what.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            activate(&bar);
            bar
        });
        bar.set_position(count);
    }
}

impl crate::ops::Progress for Counter {
    fn set(&mut self, done: u64) {
        Counter::set(self, done);
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            deactivate(bar);
        }
    }
}

/// "Active: 1200 succeeded, 3 failed, 1000 tasks/s, ETA 8s": the rate and the time left are
/// measured from `start` (when tasks were first seen running, and how many were done then)
/// to `now`, on the backend's clock.
fn job_message(
    status: &str,
    total: u64,
    succeeded: u64,
    failed: u64,
    start: Option<(OffsetDateTime, u64)>,
    now: Option<OffsetDateTime>,
) -> String {
    let done = succeeded + failed;
    let mut msg = format!("{status}: {succeeded} succeeded, {failed} failed");
    if let (Some((t0, done0)), Some(now)) = (start, now) {
        let seconds = (now - t0).as_seconds_f64();
        if status == "Active" && seconds > 0.0 && done > done0 {
            let rate = (done - done0) as f64 / seconds;
            let left = total.saturating_sub(done) as f64 / rate;
            msg.push_str(&format!(
                ", {} tasks/s, ETA {}",
                human_rate(rate),
                crate::timefmt::human_duration(left)
            ));
        }
    }
    msg
}

/// A bar of work with a known size (objects restored of a manifest, objects deleted): shown
/// with the count, the total and a detail message.
pub struct Tally {
    bar: Option<ProgressBar>,
}

impl Tally {
    /// A bar of `total` items named by `what`, or nothing when `quiet`.
    pub fn new(quiet: bool, what: &str, total: u64) -> Tally {
        if quiet {
            return Tally { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix} [{bar:30}] {human_pos}/{human_len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        activate(&bar);
        Tally { bar: Some(bar) }
    }

    /// Shows `done` of the total, with a detail (e.g. "2 in progress").
    pub fn set(&self, done: u64, detail: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(detail.into());
        }
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            deactivate(bar);
        }
    }
}

/// Uploads from this size on show a spinner while the request runs.
pub const LONG_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

/// A spinner with the time elapsed, for one long call that reports no progress of its own.
pub struct Spinner {
    bar: Option<ProgressBar>,
}

impl Spinner {
    pub fn new(quiet: bool, what: String) -> Spinner {
        if quiet {
            return Spinner { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(what);
        bar.enable_steady_tick(Duration::from_millis(120));
        activate(&bar);
        Spinner { bar: Some(bar) }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            deactivate(bar);
        }
    }
}

fn human_rate(rate: f64) -> String {
    if rate >= 100.0 {
        format!("{:.0}", rate)
    } else if rate >= 1.0 {
        format!("{rate:.1}")
    } else {
        format!("{rate:.3}")
    }
}

/// Turns on tracing logs on stderr: `RUST_LOG` when set (e.g. `RUST_LOG=s3thaw=trace`), else
/// `-v` (s3thaw's debug events), `-vv` (trace, and the AWS SDK's debug events).
pub fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::new(spec),
        _ => match verbose {
            0 => return,
            1 => EnvFilter::new("s3thaw=debug"),
            2 => EnvFilter::new("s3thaw=trace,aws=debug"),
            _ => EnvFilter::new("trace"),
        },
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(crate::timefmt::human_duration(0.4), "0s");
        assert_eq!(crate::timefmt::human_duration(59.0), "59s");
        assert_eq!(crate::timefmt::human_duration(61.0), "1m01s");
        assert_eq!(
            crate::timefmt::human_duration(3.0 * 3600.0 + 20.0 * 60.0),
            "3h20m"
        );
        assert_eq!(
            crate::timefmt::human_duration(2.0 * 86_400.0 + 4.0 * 3600.0),
            "2d4h"
        );
    }

    #[test]
    fn rate_and_eta_come_from_the_backend_clock() {
        let t0 = time::macros::datetime!(2026-11-25 10:00 UTC);
        let start = Some((t0, 1_000));
        let later = Some(t0 + time::Duration::seconds(10));
        assert_eq!(
            job_message("Active", 100_000, 10_990, 10, start, later),
            "Active: 10990 succeeded, 10 failed, 1000 tasks/s, ETA 1m29s"
        );
        // No rate before tasks ran, or outside Active.
        assert_eq!(
            job_message("Active", 100, 0, 0, start, Some(t0)),
            "Active: 0 succeeded, 0 failed"
        );
        assert_eq!(
            job_message("Complete", 100, 100, 0, start, later),
            "Complete: 100 succeeded, 0 failed"
        );
    }

    #[test]
    fn quiet_means_no_bar() {
        assert!(JobBar::new(true, "job").is_none());
        let mut counter = Counter::new(true, "objects");
        counter.set(5);
        assert!(counter.bar.is_none());
        let tally = Tally::new(true, "restored", 10);
        tally.set(3, "7 in progress");
        assert!(tally.bar.is_none());
        assert!(Spinner::new(true, "uploading".into()).bar.is_none());
    }
}
