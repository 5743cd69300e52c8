//! The Rhai engine of s3thaw: the API registered, limits set on purpose, modules resolved from
//! the script's folder and the embedded stdlib, and errors printed like a compiler's.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rhai::module_resolvers::{FileModuleResolver, ModuleResolversCollection};
use rhai::{
    AST, Dynamic, Engine, EvalAltResult, Module, ModuleResolver, ParseError, Position, Scope,
    Shared,
};

use crate::api::{Host, HostRef};
use crate::backend::Backend;
use crate::errors::Error;

/// The Rhai standard library of s3thaw, compiled into the binary: `import "tutorial" as t;`.
pub const STDLIB: &[(&str, &str)] = &[("tutorial", include_str!("../stdlib/tutorial.rhai"))];

/// Serves the embedded stdlib to `import`.
#[derive(Default)]
struct StdlibResolver {
    cache: RefCell<HashMap<String, Shared<Module>>>,
}

impl ModuleResolver for StdlibResolver {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let name = path.trim_end_matches(".rhai");
        if let Some(module) = self.cache.borrow().get(name) {
            return Ok(module.clone());
        }
        let Some((_, text)) = STDLIB.iter().find(|(n, _)| *n == name) else {
            return Err(EvalAltResult::ErrorModuleNotFound(path.to_string(), pos).into());
        };
        let mut ast = engine
            .compile(text)
            .map_err(|e| EvalAltResult::ErrorInModule(path.to_string(), e.into(), pos))?;
        ast.set_source(name);
        let module: Shared<Module> = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| EvalAltResult::ErrorInModule(path.to_string(), e, pos))?
            .into();
        self.cache
            .borrow_mut()
            .insert(name.to_string(), module.clone());
        Ok(module)
    }
}

/// Everything a run needs besides the script.
pub struct RunSettings {
    pub vars: BTreeMap<String, String>,
    pub yes: bool,
    pub quiet: bool,
}

/// An engine with the script API registered and its limits set, bound to no host: what
/// compiling (`check`) and the API reference (`docs`) need.
pub fn new_engine() -> Engine {
    let mut engine = Engine::new();
    // Limits chosen on purpose: deep enough for any playbook, shallow enough to stop a
    // runaway recursion with an error instead of a stack overflow.
    engine.set_max_call_levels(64);
    engine.set_max_expr_depths(128, 64);
    engine.set_max_string_size(256 * 1024 * 1024);
    engine.set_max_array_size(10_000_000);
    engine.set_max_map_size(1_000_000);
    engine.set_max_modules(64);
    crate::api::register(&mut engine);
    engine
}

/// An engine bound to a host, with the scope a script (or a REPL session) runs in.
pub struct Session {
    pub engine: Engine,
    pub scope: Scope<'static>,
    pub host: Rc<Host>,
}

impl Session {
    /// Builds the engine; `script_dir` is where `import` looks first.
    pub fn new(
        backend: Box<dyn Backend>,
        settings: RunSettings,
        script_dir: Option<&Path>,
    ) -> Session {
        let interrupted = Arc::new(AtomicBool::new(false));
        backend.watch_interrupt(interrupted.clone());
        let host = Rc::new(Host {
            backend,
            vars: settings.vars,
            used_vars: RefCell::new(Default::default()),
            yes: settings.yes,
            quiet: settings.quiet,
            interrupted: interrupted.clone(),
        });
        let mut engine = new_engine();
        engine.on_progress(move |_| {
            interrupted
                .load(Ordering::Relaxed)
                .then(|| Dynamic::from("interrupted"))
        });
        // Around the progress bar, if one is drawn.
        engine.on_print(crate::progress::print_line);
        engine.on_debug(|text, source, pos| match source {
            Some(source) => eprintln!("[{source}:{pos}] {text}"),
            None => eprintln!("[{pos}] {text}"),
        });
        engine.set_default_tag(Dynamic::from(HostRef(host.clone())));
        let mut resolvers = ModuleResolversCollection::new();
        let folder = script_dir.map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        resolvers.push(FileModuleResolver::new_with_path(folder));
        resolvers.push(StdlibResolver::default());
        engine.set_module_resolver(resolvers);
        Session {
            engine,
            scope: Scope::new(),
            host,
        }
    }

    /// The flag Ctrl-C sets to stop the running statement.
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.host.interrupted.clone()
    }

    /// `--var`s that no `arg()` asked for: probably typos.
    pub fn unused_vars(&self) -> Vec<String> {
        let used = self.host.used_vars.borrow();
        self.host
            .vars
            .keys()
            .filter(|k| !used.contains(*k))
            .cloned()
            .collect()
    }
}

/// A failure of a script, ready to print.
pub enum ScriptFailure {
    /// Syntax errors (exit code 2).
    Compile(Vec<ParseError>),
    /// A runtime error (exit code 1).
    Runtime(Box<EvalAltResult>),
}

/// Compiles `text`, finding as many syntax errors as it can: Rhai stops at the first, so each
/// erroneous line is blanked out and the rest compiled again.
pub fn compile_all_errors(engine: &Engine, text: &str) -> Result<AST, Vec<ParseError>> {
    let mut errors: Vec<ParseError> = Vec::new();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    loop {
        let attempt = lines.join("\n");
        match engine.compile(&attempt) {
            Ok(ast) if errors.is_empty() => return Ok(ast),
            Ok(_) => return Err(errors),
            Err(e) => {
                let line = e.1.line();
                let repeat = errors.iter().any(|old| old.1 == e.1);
                let end = matches!(*e.0, rhai::ParseErrorType::UnexpectedEOF);
                if !repeat {
                    errors.push(e);
                }
                match line {
                    Some(n)
                        if !repeat && !end && n >= 1 && n <= lines.len() && errors.len() < 50 =>
                    {
                        lines[n - 1].clear();
                    }
                    _ => return Err(errors),
                }
            }
        }
    }
}

/// The innermost error of a chain, with the call sites it came through (outermost first).
fn unwind(error: &EvalAltResult) -> (&EvalAltResult, Vec<(String, Position)>) {
    let mut frames = Vec::new();
    let mut current = error;
    loop {
        match current {
            EvalAltResult::ErrorInFunctionCall(name, source, inner, pos) => {
                frames.push((
                    format!(
                        "{name}{}",
                        if source.is_empty() {
                            String::new()
                        } else {
                            format!(" in {source}")
                        }
                    ),
                    *pos,
                ));
                current = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                frames.push((format!("module {name}"), *pos));
                current = inner;
            }
            _ => return (current, frames),
        }
    }
}

/// The code, message and hint of a runtime error as a script author should read them.
pub fn error_of(error: &EvalAltResult) -> Error {
    let (inner, _) = unwind(error);
    match inner {
        EvalAltResult::ErrorRuntime(value, _) => {
            if let Some(map) = value.read_lock::<rhai::Map>()
                && let Some(error) = Error::from_map(&map)
            {
                return error;
            }
            Error::new("Thrown", value.to_string())
        }
        EvalAltResult::ErrorTerminated(..) => Error::new("Interrupted", "stopped by Ctrl-C"),
        EvalAltResult::ErrorFunctionNotFound(signature, _) => function_not_found(signature),
        other => {
            let mut text = other.to_string();
            if let Some(cut) = text.rfind(" (line ") {
                text.truncate(cut);
            }
            Error::new("ScriptError", text)
        }
    }
}

/// A type in Rhai's "function not found" signature as a script author reads it.
fn script_type(rust: &str) -> &'static str {
    // `&str | ImmutableString | String` are the spellings of one string argument.
    let first = rust.split('|').next().unwrap_or(rust).trim();
    let bare = first.trim_start_matches("&mut ").trim_start_matches('&');
    match bare.rsplit("::").next().unwrap_or(bare) {
        "str" | "String" | "ImmutableString" => "string",
        "i64" | "i32" | "INT" | "u64" | "usize" => "int",
        "f64" | "f32" | "FLOAT" => "float",
        "bool" => "bool",
        "char" => "char",
        "Map" | "BTreeMap<SmartString, Dynamic>" => "map",
        "Array" | "Vec<Dynamic>" => "array",
        "Blob" | "Vec<u8>" => "blob",
        "()" => "()",
        "FnPtr" => "fn",
        "Manifest" => "Manifest",
        "Report" => "Report",
        _ => "value",
    }
}

/// The call shape of a function from its overloads: `(bucket, key, options?)`.
pub fn call_shape(overloads: &[&crate::docs::FnDoc]) -> String {
    let Some(longest) = overloads.iter().max_by_key(|f| f.params.len()) else {
        return "()".to_string();
    };
    let fewest = overloads.iter().map(|f| f.params.len()).min().unwrap_or(0);
    let params: Vec<String> = longest
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i >= fewest {
                format!("{}?", p.name)
            } else {
                p.name.clone()
            }
        })
        .collect();
    format!("({})", params.join(", "))
}

/// Rhai's `Function not found: s3::head_objet (&str | ImmutableString | String)` as people
/// read it: no Rust types; a did-you-mean with the call's shape for an unknown name; the
/// signatures for a known name called with the wrong arguments.
fn function_not_found(signature: &str) -> Error {
    let (name, args) = match signature.split_once(" (") {
        Some((name, args)) => (name.trim(), args.trim_end().trim_end_matches(')')),
        None => (signature.trim(), ""),
    };
    let given: Vec<&str> = if args.trim().is_empty() {
        Vec::new()
    } else {
        args.split(", ").map(script_type).collect()
    };
    let called = format!("({})", given.join(", "));
    if !name.chars().any(|c| c.is_alphanumeric() || c == '_') {
        return Error::new(
            "FunctionNotFound",
            format!("no operator {name} for {called}"),
        );
    }
    let api = crate::docs::ApiDoc::reference();
    let overloads = api.overloads(name);
    if !overloads.is_empty() {
        let mut message = format!(
            "{name} cannot be called with {} argument{} {called}; it takes:",
            given.len(),
            if given.len() == 1 { "" } else { "s" }
        );
        let mut seen = Vec::new();
        for f in &overloads {
            let sig = f.signature();
            if !seen.contains(&sig) {
                message.push_str(&format!("\n    {sig}"));
                seen.push(sig);
            }
        }
        return Error::new("FunctionNotFound", message).hint(format!(
            "`:help {name}` in the REPL, or docs/API.md, shows examples"
        ));
    }
    let candidates: Vec<String> = api
        .globals
        .iter()
        .chain(api.modules.iter().flat_map(|m| m.functions.iter()))
        .map(crate::docs::FnDoc::qualified)
        .collect();
    let mut message = format!("no function {name}");
    let close =
        crate::hints::did_you_mean(name, candidates.iter().map(String::as_str)).or_else(|| {
            // The right function in the wrong module (`s3::describe`), or a bare name.
            let short = name.rsplit("::").next().unwrap_or(name);
            candidates
                .iter()
                .map(String::as_str)
                .find(|c| c.rsplit("::").next() == Some(short))
        });
    if let Some(close) = close {
        message.push_str(&format!(
            "; did you mean {close}{}?",
            call_shape(&api.overloads(close))
        ));
    }
    let module = name.split_once("::").map(|(m, _)| m);
    let hint = match module {
        Some(m) if api.module(m).is_some() => {
            format!("`:help {m}` in the REPL lists the functions of {m}::")
        }
        _ => "`:help` in the REPL lists the modules and global functions; a function of your own must be defined (fn NAME(..) { .. }) before it is called".to_string(),
    };
    Error::new("FunctionNotFound", message).hint(hint)
}

/// Renders `file:line:col`, the source line and a caret.
fn snippet(out: &mut String, file: &str, text: Option<&str>, pos: Position) {
    let (Some(line), col) = (pos.line(), pos.position().unwrap_or(1)) else {
        out.push_str(&format!("  --> {file}\n"));
        return;
    };
    out.push_str(&format!("  --> {file}:{line}:{col}\n"));
    if let Some(source_line) = text.and_then(|t| t.lines().nth(line - 1)) {
        let gutter = " ".repeat(line.to_string().len());
        out.push_str(&format!(
            "{gutter} |\n{line} | {source_line}\n{gutter} | {}^\n",
            " ".repeat(col.saturating_sub(1))
        ));
    }
}

fn source_text<'a>(source: &str, main_file: &str, main_text: &'a str) -> Option<&'a str> {
    if source.is_empty() || source == main_file {
        Some(main_text)
    } else {
        STDLIB.iter().find(|(n, _)| *n == source).map(|(_, t)| *t)
    }
}

/// Formats a failure like a compiler: code and message, where, the line with a caret, a hint.
pub fn render(failure: &ScriptFailure, file: &str, text: &str) -> String {
    let mut out = String::new();
    match failure {
        ScriptFailure::Compile(errors) => {
            for e in errors {
                out.push_str(&format!("error[SyntaxError]: {}\n", e.0));
                snippet(&mut out, file, Some(text), e.1);
            }
            out.push_str(&format!(
                "{} syntax error{} in {file}\n",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            ));
        }
        ScriptFailure::Runtime(error) => {
            let e = error_of(error);
            let (inner, frames) = unwind(error);
            out.push_str(&format!("error[{}]: {}\n", e.code, e.message));
            // Where it happened: the innermost position, in the file or stdlib module it is in.
            let inner_source = frames
                .last()
                .and_then(|_| match error.as_ref() {
                    EvalAltResult::ErrorInFunctionCall(..) => Some(innermost_source(error)),
                    _ => None,
                })
                .unwrap_or_default();
            let shown = if inner_source.is_empty() {
                file.to_string()
            } else {
                inner_source.clone()
            };
            snippet(
                &mut out,
                &shown,
                source_text(&inner_source, file, text),
                inner.position(),
            );
            for (name, pos) in frames.iter().rev() {
                if let Some(line) = pos.line() {
                    out.push_str(&format!(
                        "  = called from {name} at {file}:{line}:{}\n",
                        pos.position().unwrap_or(1)
                    ));
                }
            }
            out.push_str(&error_details(&e));
        }
    }
    out
}

/// The details under an error's first line, one `  = name: value` line each (status, bucket,
/// key, version id, job id), then its hint or the one `crate::hints` knows. The one renderer
/// of error details: uncaught script errors and the `jobs`/`report` commands both use it.
pub fn error_details(e: &Error) -> String {
    let mut out = String::new();
    let details = [
        ("status", e.status.map(|s| s.to_string())),
        ("bucket", e.bucket.clone()),
        ("key", e.key.clone()),
        ("version_id", e.version_id.clone()),
        ("job_id", e.job_id.clone()),
    ];
    for (name, value) in details {
        if let Some(value) = value {
            out.push_str(&format!("  = {name}: {value}\n"));
        }
    }
    if let Some(hint) = e.hint.clone().or_else(|| crate::hints::for_error(e)) {
        out.push_str(&format!("  = hint: {hint}\n"));
    }
    out
}

/// The source (module) name of the innermost function call of a chain.
fn innermost_source(error: &EvalAltResult) -> String {
    let mut current = error;
    let mut source = String::new();
    while let EvalAltResult::ErrorInFunctionCall(_, src, inner, _) = current {
        source = src.clone();
        current = inner;
    }
    source
}
