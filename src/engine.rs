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

/// The most items one call may make an array or BLOB, or characters a string, grow to at once
/// (`pad`, `blob(n)`): a larger request is refused with an error instead of an allocation that
/// would abort the process.
pub const MAX_ONE_ALLOCATION: usize = 256 * 1024 * 1024;

/// The memory (resident set, in MiB) past which a running script is stopped with
/// `ScriptTooLarge`, unless `S3THAW_SCRIPT_MEMORY_MB` says otherwise.
pub const DEFAULT_MEMORY_MB: u64 = 4096;

/// How many Rhai operations pass between two looks at the process's memory.
const MEMORY_CHECK_EVERY: u64 = 16_384;

/// An engine with the script API registered and its limits set, bound to no host: what
/// compiling (`check`) and the API reference (`docs`) need.
///
/// Rhai's own size limits (`set_max_array_size` and its string and map siblings) are left
/// off on purpose: with any of them set, Rhai re-measures a container after every call that
/// may change it (`calc_data_sizes` walks the whole array), so 400,000 `push`es took 46 s.
/// Data is bounded instead by the functions that allocate a size in one call (`pad`,
/// `blob(n)`, refused past [`MAX_ONE_ALLOCATION`]) and by the memory guard of
/// [`Session::new`], which stops a script whose process passes its memory bound.
pub fn new_engine() -> Engine {
    let mut engine = Engine::new();
    // Limits chosen on purpose: deep enough for any playbook, shallow enough to stop a
    // runaway recursion with an error instead of a stack overflow.
    engine.set_max_call_levels(64);
    engine.set_max_expr_depths(128, 64);
    engine.set_max_modules(64);
    register_bounded_allocations(&mut engine);
    crate::api::register(&mut engine);
    engine
}

fn too_large(what: &str, len: rhai::INT) -> Box<EvalAltResult> {
    Error::new(
        "ScriptTooLarge",
        format!("{what} of {len} asked for in one call; at most {MAX_ONE_ALLOCATION} are allowed"),
    )
    .into()
}

/// The length a growing call asks for, refused past [`MAX_ONE_ALLOCATION`] or when it would
/// take the process past the memory bound (the guard between operations could not see one big
/// allocation coming); `None`: nothing to do (zero or negative, as Rhai treats them).
fn bounded(what: &str, len: rhai::INT) -> Result<Option<usize>, Box<EvalAltResult>> {
    if len <= 0 {
        return Ok(None);
    }
    let n = match usize::try_from(len) {
        Ok(n) if n <= MAX_ONE_ALLOCATION => n,
        _ => return Err(too_large(what, len)),
    };
    if let Some(used) = resident_bytes() {
        // At least a byte an item (BLOBs); array items and characters take more.
        let after = used.saturating_add(n as u64);
        if after > memory_bound() {
            return Err(memory_error(after, memory_bound()).into());
        }
    }
    Ok(Some(n))
}

/// `ScriptTooLarge` for a process past (or about to pass) its memory bound.
fn memory_error(used: u64, bound: u64) -> Error {
    Error::new(
        "ScriptTooLarge",
        format!(
            "the script's data passed the memory bound ({} MiB resident, bound {} MiB)",
            used / (1024 * 1024),
            bound / (1024 * 1024)
        ),
    )
    .hint("set S3THAW_SCRIPT_MEMORY_MB to allow more, or keep less in arrays and maps")
}

/// Rhai's standard functions that [`new_engine`] registers again with a bound (left out of
/// docs/API.md: the Rhai book documents them).
pub const STANDARD_OVERRIDES: &[&str] = &["pad", "blob"];

/// Rhai's `pad` (arrays, BLOBs, strings) and `blob(n)`, with the size bounded: without Rhai's
/// size limits its own versions would try any allocation they are asked for.
fn register_bounded_allocations(engine: &mut Engine) {
    engine.register_fn(
        "pad",
        |array: &mut rhai::Array,
         len: rhai::INT,
         item: Dynamic|
         -> Result<(), Box<EvalAltResult>> {
            if let Some(n) = bounded("an array", len)?
                && n > array.len()
            {
                array.resize(n, item);
            }
            Ok(())
        },
    );
    engine.register_fn(
        "pad",
        |blob: &mut rhai::Blob,
         len: rhai::INT,
         value: rhai::INT|
         -> Result<(), Box<EvalAltResult>> {
            if let Some(n) = bounded("a BLOB", len)?
                && n > blob.len()
            {
                blob.resize(n, (value & 0xff) as u8);
            }
            Ok(())
        },
    );
    engine.register_fn(
        "blob",
        |len: rhai::INT| -> Result<rhai::Blob, Box<EvalAltResult>> {
            Ok(vec![0; bounded("a BLOB", len)?.unwrap_or(0)])
        },
    );
    engine.register_fn(
        "blob",
        |len: rhai::INT, value: rhai::INT| -> Result<rhai::Blob, Box<EvalAltResult>> {
            Ok(vec![
                (value & 0xff) as u8;
                bounded("a BLOB", len)?.unwrap_or(0)
            ])
        },
    );
    engine.register_fn(
        "pad",
        |s: &mut rhai::ImmutableString,
         len: rhai::INT,
         c: char|
         -> Result<(), Box<EvalAltResult>> {
            if let Some(n) = bounded("a string", len)? {
                let have = s.chars().count();
                if n > have {
                    let p = s.make_mut();
                    p.extend(std::iter::repeat_n(c, n - have));
                }
            }
            Ok(())
        },
    );
    engine.register_fn(
        "pad",
        |s: &mut rhai::ImmutableString,
         len: rhai::INT,
         padding: &str|
         -> Result<(), Box<EvalAltResult>> {
            let Some(n) = bounded("a string", len)? else {
                return Ok(());
            };
            let mut have = s.chars().count();
            if padding.is_empty() || n <= have {
                return Ok(());
            }
            let p = s.make_mut();
            while have < n {
                let room = n - have;
                let take: String = padding.chars().take(room).collect();
                have += take.chars().count();
                p.push_str(&take);
            }
            Ok(())
        },
    );
}

/// The memory bound of a running script, in bytes (`S3THAW_SCRIPT_MEMORY_MB`, else
/// [`DEFAULT_MEMORY_MB`]).
fn memory_bound() -> u64 {
    static BOUND: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BOUND.get_or_init(|| {
        std::env::var("S3THAW_SCRIPT_MEMORY_MB")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|mb| *mb > 0)
            .unwrap_or(DEFAULT_MEMORY_MB)
            .saturating_mul(1024 * 1024)
    })
}

/// This process's resident set in bytes, where the system tells it (`/proc/self/status`).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
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
        let bound = memory_bound();
        engine.on_progress(move |operations| {
            if interrupted.load(Ordering::Relaxed) {
                return Some(Dynamic::from("interrupted"));
            }
            // The memory guard: a runaway script (a `push` in an endless loop) is stopped with
            // an error while the process can still report it, not by the allocator's abort.
            if operations.is_multiple_of(MEMORY_CHECK_EVERY)
                && let Some(used) = resident_bytes()
                && used > bound
            {
                return Some(Dynamic::from_map(memory_error(used, bound).to_map()));
            }
            None
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
        EvalAltResult::ErrorTerminated(value, _) => value
            .read_lock::<rhai::Map>()
            .and_then(|map| Error::from_map(&map))
            .unwrap_or_else(|| Error::new("Interrupted", "stopped by Ctrl-C")),
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
