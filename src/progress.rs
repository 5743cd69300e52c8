//! What s3thaw shows on stderr while it works: progress bars (indicatif) when stderr is a
//! terminal and `--quiet` was not given, and tracing logs with `-v` or `RUST_LOG`.
//!
//! Script output (`print`) goes to stdout through [`print_line`], which lifts the active bar
//! out of the way first, so bars and prints never garble each other. Nothing here decides what
//! a script does: the API calls these helpers and ignores them when they are off.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use time::OffsetDateTime;

/// The lines of the one display, top to bottom. Each kind of progress has one line: a
/// second piece of work of the same kind (a read inside a wait, a wait inside a job's
/// `on_change`) takes over that line instead of stacking a new bar under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Line {
    /// A batch job: its status and tasks done of total.
    Job,
    /// Objects: read, listed, priced or readable (by storage class).
    Objects,
    /// The backend's clock (virtual on the simulator), the rate and the time left.
    Clock,
    /// One long call (an upload).
    Call,
}

/// All bars on stderr, in one `MultiProgress`; `None` when nothing is shown.
struct Display {
    multi: MultiProgress,
    /// Each line's bar and how many pieces of work use it.
    lines: Vec<(Line, ProgressBar, usize)>,
}

thread_local! {
    static DISPLAY: RefCell<Option<Display>> = const { RefCell::new(None) };
    /// Where a new display draws: stderr (hidden by indicatif when it is not a terminal), or,
    /// in tests, nowhere.
    static HIDDEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The bar of line `which`, created (in its place among the lines) or shared.
fn acquire(which: Line) -> ProgressBar {
    DISPLAY.with(|d| {
        let mut d = d.borrow_mut();
        let display = d.get_or_insert_with(|| {
            let target = if HIDDEN.with(|h| h.get()) {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            };
            Display {
                multi: MultiProgress::with_draw_target(target),
                lines: Vec::new(),
            }
        });
        if let Some((_, bar, users)) = display.lines.iter_mut().find(|(l, _, _)| *l == which) {
            *users += 1;
            return bar.clone();
        }
        let at = display
            .lines
            .iter()
            .position(|(l, _, _)| *l > which)
            .unwrap_or(display.lines.len());
        let bar = display.multi.insert(at, ProgressBar::new_spinner());
        bar.enable_steady_tick(Duration::from_millis(120));
        display.lines.insert(at, (which, bar.clone(), 1));
        bar
    })
}

/// One piece of work is done with line `which`: the line goes when nothing uses it, and the
/// display when no line is left.
fn release(which: Line) {
    DISPLAY.with(|d| {
        let mut d = d.borrow_mut();
        let Some(display) = d.as_mut() else { return };
        if let Some(i) = display.lines.iter().position(|(l, _, _)| *l == which) {
            display.lines[i].2 -= 1;
            if display.lines[i].2 == 0 {
                let (_, bar, _) = display.lines.remove(i);
                bar.finish_and_clear();
                display.multi.remove(&bar);
            }
        }
        if display.lines.is_empty() {
            let _ = display.multi.clear();
            *d = None;
        }
    });
}

/// The lines on display, top to bottom (for tests).
#[cfg(test)]
fn lines() -> Vec<Line> {
    DISPLAY.with(|d| {
        d.borrow()
            .as_ref()
            .map(|d| d.lines.iter().map(|(l, _, _)| *l).collect())
            .unwrap_or_default()
    })
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .progress_chars("=> ")
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

/// Prints a line of script output on stdout (stderr under `run --json`), above the progress
/// lines if they are drawn.
pub fn print_line(text: &str) {
    let line = format!("{text}\n");
    let write = |line: &str| {
        if PRINTS_TO_STDERR.load(std::sync::atomic::Ordering::Relaxed) {
            eprint!("{line}");
        } else {
            write_stdout(line);
        }
    };
    let multi = DISPLAY.with(|d| d.borrow().as_ref().map(|d| d.multi.clone()));
    match multi {
        Some(multi) => multi.suspend(|| write(&line)),
        None => write(&line),
    }
}

/// The job line of `batch::wait` (status, tasks done of total) and the clock line (the
/// backend's time, the rate and the time left, measured on that clock: the simulator's
/// virtual one, or AWS's real one).
pub struct JobBar {
    job: ProgressBar,
    clock: ProgressBar,
    short: String,
    /// When tasks were first seen running, and how many were done then.
    start: Option<(OffsetDateTime, u64)>,
}

impl JobBar {
    /// The lines for `job_id`, or `None` when progress is off (`quiet`).
    pub fn new(quiet: bool, job_id: &str) -> Option<JobBar> {
        if quiet {
            return None;
        }
        let job = acquire(Line::Job);
        let clock = acquire(Line::Clock);
        let short: String = job_id.chars().take(8).collect();
        job.set_style(style("{spinner} job {prefix} {msg}"));
        job.set_prefix(short.clone());
        Some(JobBar {
            job,
            clock,
            short,
            start: None,
        })
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
        if total > 0 {
            self.job.set_style(style(
                "{spinner} job {prefix} [{bar:24}] {human_pos}/{human_len} {msg}",
            ));
            self.job.set_length(total);
        }
        self.job.set_prefix(self.short.clone());
        self.job.set_position(done);
        if status == "Active"
            && let Some(now) = now
        {
            self.start.get_or_insert((now, done));
        }
        self.job.set_message(job_message(status, succeeded, failed));
        self.clock.set_style(style("  {msg}"));
        self.clock
            .set_message(clock_message(status, total, done, self.start, now));
        self.job.tick();
    }
}

impl Drop for JobBar {
    fn drop(&mut self) {
        release(Line::Clock);
        release(Line::Job);
    }
}

/// A counter for long listings and bulk calls, on the objects line: shown once the work turns
/// out to be long.
pub struct Counter {
    bar: Option<ProgressBar>,
    quiet: bool,
    what: String,
    started: std::time::Instant,
}

impl Counter {
    /// A counter of `what` (e.g. "objects listed in s3://bucket"); drawn from the first
    /// [`Counter::set`] on, so one-page answers show nothing.
    pub fn new(quiet: bool, what: impl Into<String>) -> Counter {
        Counter {
            bar: None,
            quiet,
            what: what.into(),
            started: std::time::Instant::now(),
        }
    }

    /// Shows `count` so far, with the rate.
    pub fn set(&mut self, count: u64) {
        if self.quiet {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| acquire(Line::Objects));
        bar.set_style(style("{spinner} {msg}"));
        let seconds = self.started.elapsed().as_secs_f64();
        let rate = if seconds > 0.5 {
            format!(" ({}/s)", human_rate(count as f64 / seconds))
        } else {
            String::new()
        };
        bar.set_message(format!(
            "{} {}{rate}",
            crate::readiness::thousands(count),
            self.what
        ));
    }
}

impl crate::ops::Progress for Counter {
    fn set(&mut self, done: u64) {
        Counter::set(self, done);
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        if self.bar.is_some() {
            release(Line::Objects);
        }
    }
}

/// "Active: 1,200 succeeded, 3 failed".
fn job_message(status: &str, succeeded: u64, failed: u64) -> String {
    format!(
        "{status}: {} succeeded, {} failed",
        crate::readiness::thousands(succeeded),
        crate::readiness::thousands(failed)
    )
}

/// "clock 2026-11-25T10:00:10Z · 1.0k tasks/s · ETA 1m29s": the rate and the time left are
/// measured from `start` (when tasks were first seen running, and how many were done then)
/// to `now`, on the backend's clock.
fn clock_message(
    status: &str,
    total: u64,
    done: u64,
    start: Option<(OffsetDateTime, u64)>,
    now: Option<OffsetDateTime>,
) -> String {
    let Some(now) = now else {
        return String::new();
    };
    let mut msg = format!("clock {}", crate::timefmt::rfc3339(now));
    if let Some((t0, done0)) = start {
        let seconds = (now - t0).as_seconds_f64();
        if status == "Active" && seconds > 0.0 && done > done0 {
            let rate = (done - done0) as f64 / seconds;
            let left = total.saturating_sub(done) as f64 / rate;
            msg.push_str(&format!(
                " · {} tasks/s · ETA {}",
                human_rate(rate),
                crate::timefmt::human_duration(left)
            ));
        }
    }
    msg
}

/// A bar of work with a known size (objects readable of a manifest, by storage class), on the
/// objects line, with the clock line for when the next step is due.
pub struct Tally {
    bar: Option<ProgressBar>,
    clock: Option<ProgressBar>,
    what: String,
    /// Whether the first detail was drawn: a wait can end within indicatif's refresh interval,
    /// so the first state of the line is drawn at once rather than left to the rate limit.
    shown: std::cell::Cell<bool>,
}

impl Tally {
    /// A bar of `total` items named by `what`, or nothing when `quiet`.
    pub fn new(quiet: bool, what: &str, total: u64) -> Tally {
        if quiet {
            return Tally {
                bar: None,
                clock: None,
                what: what.into(),
                shown: Default::default(),
            };
        }
        let bar = acquire(Line::Objects);
        bar.set_length(total);
        Tally {
            bar: Some(bar),
            clock: None,
            what: what.into(),
            shown: Default::default(),
        }
    }

    /// Shows `done` of the total, with a detail (e.g. "GLACIER 800/1,000").
    pub fn set(&self, done: u64, detail: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.set_style(style(
                "{spinner} [{bar:24}] {human_pos}/{human_len} {prefix} {msg}",
            ));
            bar.set_prefix(self.what.clone());
            bar.set_position(done);
            bar.set_message(detail.into());
            if !self.shown.replace(true) {
                bar.force_draw();
            }
        }
    }

    /// Shows the clock line (e.g. "clock 2026-12-01T10:00:00Z · next read 10:15").
    pub fn clock(&mut self, text: impl Into<String>) {
        if self.bar.is_none() {
            return;
        }
        let clock = self.clock.get_or_insert_with(|| acquire(Line::Clock));
        clock.set_style(style("  {msg}"));
        clock.set_message(text.into());
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        if self.clock.is_some() {
            release(Line::Clock);
        }
        if self.bar.is_some() {
            release(Line::Objects);
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
        let bar = acquire(Line::Call);
        bar.set_style(style("{spinner} {msg} ({elapsed})"));
        bar.set_message(what);
        Spinner { bar: Some(bar) }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if self.bar.is_some() {
            release(Line::Call);
        }
    }
}

/// A rate as people read it: `0.5`, `12`, `850`, `1.2k`, `3.4M`.
pub fn human_rate(rate: f64) -> String {
    if rate < 10.0 {
        format!("{rate:.1}")
    } else if rate < 1_000.0 {
        format!("{rate:.0}")
    } else if rate < 1_000_000.0 {
        format!("{:.1}k", rate / 1_000.0)
    } else {
        format!("{:.1}M", rate / 1_000_000.0)
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
            job_message("Active", 10_990, 10),
            "Active: 10,990 succeeded, 10 failed"
        );
        assert_eq!(
            clock_message("Active", 100_000, 11_000, start, later),
            "clock 2026-11-25T10:00:10Z · 1.0k tasks/s · ETA 1m29s"
        );
        // No rate before tasks ran, or outside Active.
        assert_eq!(
            clock_message("Active", 100, 0, start, Some(t0)),
            "clock 2026-11-25T10:00:00Z"
        );
        assert_eq!(
            clock_message("Complete", 100, 100, start, later),
            "clock 2026-11-25T10:00:10Z"
        );
        assert_eq!(clock_message("Active", 100, 0, None, None), "");
    }

    #[test]
    fn rates_read_at_a_glance() {
        assert_eq!(human_rate(0.25), "0.2");
        assert_eq!(human_rate(12.4), "12");
        assert_eq!(human_rate(850.0), "850");
        assert_eq!(human_rate(1_234.0), "1.2k");
        assert_eq!(human_rate(3_400_000.0), "3.4M");
    }

    /// A wait inside a job (`restore::wait` in `batch::wait`'s `on_change`), a read inside
    /// the wait, a job inside a job: each kind keeps its one line, in order, and the display
    /// goes when the last piece of work ends.
    #[test]
    fn bars_never_stack() {
        HIDDEN.with(|h| h.set(true));
        {
            let mut job = JobBar::new(false, "6f0c2a52-aaaa").expect("a bar");
            job.update("Active", 100, 10, 0, None);
            assert_eq!(lines(), [Line::Job, Line::Clock]);
            let mut wait = Tally::new(false, "objects readable", 50);
            wait.set(5, "GLACIER 5/50");
            wait.clock("clock 2026-12-01T10:00:00Z");
            assert_eq!(lines(), [Line::Job, Line::Objects, Line::Clock]);
            {
                let mut read = Counter::new(false, "objects checked");
                read.set(1_000);
                let mut inner = JobBar::new(false, "7a1b2c3d-bbbb").expect("a bar");
                inner.update("Preparing", 0, 0, 0, None);
                let _upload = Spinner::new(false, "uploading".into());
                assert_eq!(lines(), [Line::Job, Line::Objects, Line::Clock, Line::Call]);
            }
            // The outer work keeps its lines.
            assert_eq!(lines(), [Line::Job, Line::Objects, Line::Clock]);
            drop(wait);
            assert_eq!(lines(), [Line::Job, Line::Clock]);
        }
        assert!(lines().is_empty());
        assert!(DISPLAY.with(|d| d.borrow().is_none()));
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
