//! The REPL as a person meets it: the real binary in a pseudo-terminal (expectrl), typing,
//! pressing Tab, Ctrl-C and the arrow keys, reading what the screen shows.
//!
//! Each test has its own state folder (simulator and history). Waits are for output with a
//! generous timeout, never for a fixed time.

#![cfg(unix)]

use std::process::Command;
use std::time::Duration;

use expectrl::{ControlCode, Expect, Session};

use crate::common::*;

type Pty = expectrl::session::OsSession;

const PROMPT: &str = "s3thaw> ";

/// Starts `s3thaw repl` in a pseudo-terminal with this world's state.
fn repl(world: &World) -> Pty {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3thaw"));
    cmd.arg("repl")
        .current_dir(project_root())
        .env("S3THAW_STATE", world.state())
        .env("XDG_STATE_HOME", world.state())
        .env("TERM", "xterm")
        .env_remove("RUST_LOG");
    let mut p = Session::spawn(cmd).expect("spawn s3thaw repl in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(30)));
    p.get_process_mut()
        .set_window_size(160, 50)
        .expect("window size");
    p.expect("Ctrl-D to leave").expect("banner");
    p.expect(PROMPT).expect("first prompt");
    p
}

/// Types a line and waits for the next prompt; returns what was printed in between.
fn line(p: &mut Pty, text: &str) -> String {
    p.send_line(text).expect("send");
    let found = p.expect(PROMPT).expect("prompt after the line");
    String::from_utf8_lossy(found.before()).into_owned()
}

fn quit(mut p: Pty) {
    p.send_line(":quit").expect("send :quit");
    p.expect(expectrl::Eof).expect("the REPL exits");
}

#[test]
fn tab_completes_functions_option_keys_variables_and_job_ids() {
    let world = World::new();
    // A job to complete: created by a script in the same state.
    let out = world.cli(&["run", "tests/golden/scripts/make-jobs.rhai"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let jobs = text(
        &world
            .cli(&[
                "jobs",
                "--json",
                "--state",
                &world.state().display().to_string(),
            ])
            .stdout,
    );
    let ids: Vec<String> = serde_json::from_str::<serde_json::Value>(&jobs)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{jobs}");

    let mut p = repl(&world);
    // A module function: `s3::he` -> `s3::head_object(`.
    p.send("s3::he").unwrap();
    p.send("\t").unwrap();
    p.expect("s3::head_object(").expect("function completed");
    // An option key of the function being called, from its doc comment.
    p.send("\"golden-archive\", \"a.txt\", #{ vers").unwrap();
    p.send("\t").unwrap();
    p.expect("#{ version_id: ").expect("option key completed");
    p.send("() })").unwrap();
    p.send("\r").unwrap();
    p.expect("storage_class: \"GLACIER\"")
        .expect("the completed call ran");
    p.expect(PROMPT).unwrap();

    // A variable in scope.
    line(&mut p, "let restore_window_days = 3;");
    p.send("restore_win").unwrap();
    p.send("\t").unwrap();
    p.expect("restore_window_days").expect("variable completed");
    p.send(" * 2\r").unwrap();
    p.expect("\n6").expect("the completed variable evaluated");
    p.expect(PROMPT).unwrap();

    // A job id from batch::list(): the newest job starts with a different character than
    // the other one unless they collide; complete from a prefix unique to it.
    let (newest, other) = (&ids[0], &ids[1]);
    let unique = (1..=36)
        .map(|n| &newest[..n])
        .find(|prefix| !other.starts_with(prefix))
        .unwrap();
    p.send(format!("batch::describe(\"{unique}")).unwrap();
    p.send("\t").unwrap();
    p.expect(format!("{newest}\"")).expect("job id completed");
    p.send(").status\r").unwrap();
    p.expect("Suspended")
        .expect("the newest job is waiting for confirmation");
    p.expect(PROMPT).unwrap();

    // Members of a map in scope.
    line(&mut p, "let job = batch::describe(batch::list()[0].id);");
    p.send("job.prog").unwrap();
    p.send("\t").unwrap();
    p.expect("job.progress").expect("map key completed");
    p.send(".total\r").unwrap();
    p.expect("\n3").unwrap();
    p.expect(PROMPT).unwrap();
    quit(p);
}

#[test]
fn unfinished_statements_continue_on_the_next_line() {
    let world = World::new();
    let mut p = repl(&world);
    p.send_line("fn restore_cost(objects, per_thousand) {")
        .unwrap();
    p.expect("...> ")
        .expect("continuation prompt after an open brace");
    p.send_line("    objects * per_thousand / 1000").unwrap();
    p.expect("...> ").unwrap();
    p.send_line("}").unwrap();
    p.expect(PROMPT).unwrap();
    let out = line(&mut p, "restore_cost(250000, 2)");
    assert!(out.contains("500"), "{out}");
    // An open string and an open bracket continue too.
    p.send_line("let keys = [\"a.txt\",").unwrap();
    p.expect("...> ").unwrap();
    p.send_line("\"b.txt\"];").unwrap();
    p.expect(PROMPT).unwrap();
    p.send_line("let note = `two").unwrap();
    p.expect("...> ").unwrap();
    p.send_line("lines`;").unwrap();
    p.expect(PROMPT).unwrap();
    let out = line(&mut p, "`${keys.len()} ${note.len()}`");
    assert!(out.contains("2 9"), "{out}");
    // Ctrl-C on a continuation line drops the unfinished statement.
    p.send_line("let dropped = #{").unwrap();
    p.expect("...> ").unwrap();
    p.send(ControlCode::EndOfText).unwrap();
    p.expect(PROMPT).unwrap();
    let out = line(&mut p, "1 + 1");
    assert!(out.contains('2') && !out.contains("error"), "{out}");
    quit(p);
}

#[test]
fn help_prints_the_api_reference_text() {
    let world = World::new();
    let mut p = repl(&world);
    let out = line(&mut p, ":help");
    assert!(
        out.contains(":load") && out.contains("s3::") && out.contains("batch::"),
        "{out}"
    );
    let out = line(&mut p, ":help s3");
    assert!(
        out.contains("s3::restore_object(bucket: string, key: string, options: map) -> map"),
        "{out}"
    );
    let out = line(&mut p, ":help s3::restore_object");
    // The same text as docs/API.md's section, line for line (code blocks indented instead
    // of fenced).
    let reference = std::fs::read_to_string(project_root().join("docs/API.md")).unwrap();
    let start = reference
        .find("### s3::restore_object\n")
        .expect("section in docs/API.md");
    let section = &reference[start..];
    let end = section[4..].find("\n### ").map_or(section.len(), |e| e + 4);
    let lines = section[..end]
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("```"));
    for text_line in lines {
        assert!(
            out.contains(text_line),
            "`{text_line}` missing from :help output:\n{out}"
        );
    }
    // Help for the stdlib once imported.
    line(&mut p, "import \"tutorial\" as t;");
    let out = line(&mut p, ":help t::create_job");
    assert!(out.contains("t::create_job(cfg, location, role)"), "{out}");
    assert!(out.contains("Step 5"), "{out}");
    quit(p);
}

#[test]
fn ctrl_c_stops_a_long_wait_and_keeps_the_session() {
    let world = World::new();
    let out = world.cli(&["run", "tests/golden/scripts/make-jobs.rhai"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut p = repl(&world);
    line(&mut p, "let id = batch::list()[0].id;");
    line(&mut p, "let polls = 0;");
    // The job waits for a confirmation nobody gives: this loop would poll forever.
    p.send_line(
        "while batch::describe(id).status != \"Complete\" { polls += 1; if polls == 2 { print(`polled ${polls} times`); } sleep(\"10m\"); }",
    )
    .unwrap();
    // Once it is visibly running, press Ctrl-C.
    p.expect("polled 2 times").unwrap();
    p.send(ControlCode::EndOfText).unwrap();
    p.expect("error[Interrupted]")
        .expect("the statement stopped");
    p.expect(PROMPT).expect("back at the prompt");
    let out = line(&mut p, "polls > 0");
    assert!(out.contains("true"), "{out}");
    let out = line(&mut p, "batch::describe(id).status");
    assert!(out.contains("Suspended"), "{out}");
    // After :reset (a new session), Ctrl-C still reaches the running statement.
    line(&mut p, ":reset");
    p.send_line(
        "let n = 0; loop { n += 1; if n == 3 { print(`looped ${n} times`); } sleep(\"1h\"); }",
    )
    .unwrap();
    p.expect("looped 3 times").unwrap();
    p.send(ControlCode::EndOfText).unwrap();
    p.expect("error[Interrupted]")
        .expect("stopped after :reset too");
    p.expect(PROMPT).unwrap();
    quit(p);
}

#[test]
fn history_is_kept_across_sessions() {
    let world = World::new();
    let mut p = repl(&world);
    line(&mut p, "let history_marker = 4242;");
    quit(p);
    let history = world.state().join("s3thaw/history");
    let saved = std::fs::read_to_string(&history).expect("history file under the state dir");
    assert!(saved.contains("let history_marker = 4242;"), "{saved}");

    let mut p = repl(&world);
    // Arrow up brings back the lines of the previous session, newest first.
    p.send("\x1b[A").unwrap();
    p.expect(":quit").expect("the last line recalled");
    p.send("\x1b[A").unwrap();
    p.expect("let history_marker = 4242;")
        .expect("the line before it recalled");
    p.send("\r").unwrap();
    p.expect(PROMPT).unwrap();
    let out = line(&mut p, "history_marker + 1");
    assert!(out.contains("4243"), "{out}");
    // Ctrl-D leaves.
    p.send(ControlCode::EndOfTransmission).unwrap();
    p.expect(expectrl::Eof).expect("Ctrl-D exits");
}

#[test]
fn batch_wait_draws_a_progress_bar_on_a_terminal_only() {
    let world = World::new();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3thaw"));
    cmd.args(["run", "tests/golden/scripts/big-job.rhai"])
        .current_dir(project_root())
        .env("S3THAW_STATE", world.state())
        .env("TERM", "xterm");
    let mut p = Session::spawn(cmd).expect("spawn s3thaw run in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(120)));
    // The bar: the job, its status and its tasks done of total, up to the end. (How often it
    // moves depends on the simulator's steps; its rate and time left are tested in
    // src/progress.rs.)
    p.expect("/20,000 Active: ")
        .expect("a bar counting tasks while the job runs");
    p.expect("clock 20").expect("the clock line under the job");
    p.expect("20,000/20,000").expect("the bar at the end");
    p.expect("job Complete").expect("the script's own output");
    p.expect(expectrl::Eof).unwrap();

    // The same run with stderr not a terminal: no bar at all.
    let world = World::new();
    let out = world.cli(&["run", "tests/golden/scripts/big-job.rhai"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "job Complete\n");
    assert_eq!(text(&out.stderr), "", "progress must not reach a pipe");
}

/// Issue 15 item 7: a wait inside a job's wait joins the job's display (the objects line by
/// storage class and the clock line under the job line) instead of a second bar; piped, none
/// of it is drawn. (That each kind keeps one line is tested in src/progress.rs.)
#[test]
fn a_wait_inside_a_job_shares_one_display() {
    let world = World::new();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3thaw"));
    cmd.args(["run", "tests/golden/scripts/nested-wait.rhai"])
        .current_dir(project_root())
        .env("S3THAW_STATE", world.state())
        .env("TERM", "xterm");
    let mut p = Session::spawn(cmd).expect("spawn s3thaw run in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(120)));
    p.get_process_mut()
        .set_window_size(160, 50)
        .expect("window size");
    p.expect("/5,000 Active: ").expect("the job line");
    p.expect("readable DEEP_ARCHIVE ")
        .expect("the objects line, by storage class, while the job line is up");
    p.expect("next read").expect("the clock line");
    p.expect("job Complete, 5000 readable")
        .expect("the script's own output");
    p.expect(expectrl::Eof).unwrap();

    let world = World::new();
    let out = world.cli(&["run", "tests/golden/scripts/nested-wait.rhai"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "job Complete, 5000 readable\n");
    assert_eq!(text(&out.stderr), "", "progress must not reach a pipe");
}
