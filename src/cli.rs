//! The command line: flag definitions (clap derive) and what each subcommand does.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::backend::Backend;
use crate::backend::aws::{AwsBackend, AwsOptions};
use crate::backend::sim::Simulator;
use crate::engine::{RunSettings, ScriptFailure, Session, compile_all_errors, error_of, render};
use crate::errors::Error;

/// Exit codes: 0 success, 1 a runtime error in the script, 2 usage or compile errors.
pub const EXIT_RUNTIME: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "s3thaw",
    version,
    about = "Restore archived Amazon S3 objects in bulk with scriptable Batch Operations playbooks",
    after_help = "Examples:\n  s3thaw run scripts/restore.rhai\n  s3thaw run scripts/restore.rhai --var tier=BULK --var days=3\n  s3thaw check scripts/*.rhai\n  s3thaw repl"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a playbook non-interactively.
    Run {
        /// The .rhai script to run.
        script: PathBuf,
        #[command(flatten)]
        backend: BackendArgs,
        #[command(flatten)]
        run: ScriptArgs,
    },
    /// Compile scripts without running them and report every syntax error.
    Check {
        /// The .rhai scripts to check.
        #[arg(required = true)]
        scripts: Vec<PathBuf>,
    },
    /// Explore interactively: one statement at a time, in one persistent scope.
    Repl {
        #[command(flatten)]
        backend: BackendArgs,
        #[command(flatten)]
        run: ScriptArgs,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// The embedded offline simulator (default).
    Sim,
    /// Real AWS through the AWS SDK.
    Aws,
}

/// Where the script runs.
#[derive(Args, Debug, Clone)]
pub struct BackendArgs {
    /// Which backend to run against.
    #[arg(long, value_enum, default_value = "sim", env = "S3THAW_BACKEND")]
    pub backend: BackendKind,
    /// The simulator's state directory [default: $XDG_STATE_HOME/s3thaw/sim or ~/.local/state/s3thaw/sim].
    #[arg(long, env = "S3THAW_STATE")]
    pub state: Option<PathBuf>,
    /// Seed for the simulator's restore durations (kept in its state).
    #[arg(long)]
    pub seed: Option<u64>,
    /// AWS region (aws backend).
    #[arg(long)]
    pub region: Option<String>,
    /// AWS profile (aws backend).
    #[arg(long)]
    pub profile: Option<String>,
    /// Endpoint URL for every AWS service (aws backend).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// AWS account id (aws backend; default: from STS).
    #[arg(long)]
    pub account_id: Option<String>,
}

/// How the script runs.
#[derive(Args, Debug, Clone)]
pub struct ScriptArgs {
    /// A value for `arg("NAME", default)` in the script; repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Answer yes to every confirm() question.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// No progress output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))?;
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !valid {
        return Err(format!("`{name}` is not a valid variable name"));
    }
    Ok((name.to_string(), value.to_string()))
}

/// The default simulator state directory.
pub fn default_state_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from(".s3thaw-state"));
    base.join("s3thaw").join("sim")
}

/// Opens the backend the flags name.
pub fn open_backend(args: &BackendArgs) -> Result<Box<dyn Backend>, Error> {
    match args.backend {
        BackendKind::Sim => {
            let dir = args.state.clone().unwrap_or_else(default_state_dir);
            let sim = Simulator::open(&dir)?;
            if let Some(seed) = args.seed {
                sim.set_seed(seed)?;
            }
            Ok(Box::new(sim))
        }
        BackendKind::Aws => Ok(Box::new(AwsBackend::new(AwsOptions {
            region: args.region.clone(),
            profile: args.profile.clone(),
            endpoint_url: args.endpoint_url.clone(),
            account_id: args.account_id.clone(),
        })?)),
    }
}

fn settings(run: &ScriptArgs) -> RunSettings {
    RunSettings {
        vars: run.vars.iter().cloned().collect::<BTreeMap<_, _>>(),
        yes: run.yes,
        quiet: run.quiet || !std::io::stderr().is_terminal(),
    }
}

fn usage_error(message: String) -> u8 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

/// Runs one script file; returns the exit code.
pub fn run(script: &Path, backend: &BackendArgs, run: &ScriptArgs) -> u8 {
    let text = match std::fs::read_to_string(script) {
        Ok(text) => text,
        Err(e) => return usage_error(format!("cannot read {}: {e}", script.display())),
    };
    let backend = match open_backend(backend) {
        Ok(b) => b,
        Err(e) => return usage_error(e.message),
    };
    let name = script.display().to_string();
    let mut session = Session::new(backend, settings(run), script.parent());
    let flag = session.interrupt_flag();
    // The first Ctrl-C stops the script at its next step; the simulator's state stays whole
    // because every change is one transaction.
    let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed));
    let mut ast = match compile_all_errors(&session.engine, &text) {
        Ok(ast) => ast,
        Err(errors) => {
            eprint!("{}", render(&ScriptFailure::Compile(errors), &name, &text));
            return EXIT_USAGE;
        }
    };
    ast.set_source(name.as_str());
    let result = session.engine.run_ast_with_scope(&mut session.scope, &ast);
    for var in session.unused_vars() {
        eprintln!(
            "warning: --var {var} was given but the script never asked for it with arg(\"{var}\", ..)"
        );
    }
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprint!("{}", render(&ScriptFailure::Runtime(e), &name, &text));
            EXIT_RUNTIME
        }
    }
}

/// Compiles scripts and reports every syntax error; returns the exit code.
pub fn check(scripts: &[PathBuf]) -> u8 {
    let engine = {
        let mut engine = rhai::Engine::new();
        crate::api::register(&mut engine);
        engine
    };
    let mut code = 0;
    for script in scripts {
        let name = script.display().to_string();
        match std::fs::read_to_string(script) {
            Err(e) => code = usage_error(format!("cannot read {name}: {e}")),
            Ok(text) => match compile_all_errors(&engine, &text) {
                Ok(_) => println!("{name}: ok"),
                Err(errors) => {
                    eprint!("{}", render(&ScriptFailure::Compile(errors), &name, &text));
                    code = EXIT_USAGE;
                }
            },
        }
    }
    code
}

/// A basic REPL: one persistent scope, functions kept across lines.
pub fn repl(backend: &BackendArgs, run: &ScriptArgs) -> u8 {
    let backend = match open_backend(backend) {
        Ok(b) => b,
        Err(e) => return usage_error(e.message),
    };
    let cwd = std::env::current_dir().ok();
    let mut session = Session::new(backend, settings(run), cwd.as_deref());
    let mut editor = match rustyline::DefaultEditor::new() {
        Ok(editor) => editor,
        Err(e) => return usage_error(format!("cannot start the line editor: {e}")),
    };
    let history = default_state_dir().with_file_name("history");
    let _ = editor.load_history(&history);
    println!(
        "s3thaw {} on the {} backend. Type :quit or Ctrl-D to leave.",
        env!("CARGO_PKG_VERSION"),
        session.host.backend.kind()
    );
    let mut functions = rhai::AST::empty();
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() {
            "s3thaw> "
        } else {
            "   ...> "
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(rustyline::error::ReadlineError::Interrupted) => {
                pending.clear();
                continue;
            }
            Err(_) => break,
        };
        if pending.is_empty() && matches!(line.trim(), ":quit" | ":q" | ":exit") {
            break;
        }
        pending.push_str(&line);
        pending.push('\n');
        let ast = match session.engine.compile_with_scope(&session.scope, &pending) {
            Ok(ast) => ast,
            Err(e) if matches!(*e.0, rhai::ParseErrorType::UnexpectedEOF) => continue,
            Err(e) => {
                eprint!(
                    "{}",
                    render(&ScriptFailure::Compile(vec![e]), "repl", &pending)
                );
                pending.clear();
                continue;
            }
        };
        let _ = editor.add_history_entry(pending.trim_end());
        pending.clear();
        functions = functions.merge(&ast);
        match session
            .engine
            .eval_ast_with_scope::<rhai::Dynamic>(&mut session.scope, &functions)
        {
            Ok(value) if !value.is_unit() => println!("{value:?}"),
            Ok(_) => {}
            Err(e) => {
                let error = error_of(&e);
                eprintln!("error[{}]: {}", error.code, error.message);
                if let Some(hint) = error.hint {
                    eprintln!("  = hint: {hint}");
                }
            }
        }
        functions.clear_statements();
    }
    if let Some(dir) = history.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = editor.save_history(&history);
    0
}

/// Parses the command line and runs it; returns the exit code.
pub fn main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match &cli.command {
        Command::Run {
            script,
            backend,
            run: args,
        } => run(script, backend, args),
        Command::Check { scripts } => check(scripts),
        Command::Repl { backend, run: args } => repl(backend, args),
    }
}
