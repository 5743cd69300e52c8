//! `s3thaw repl`: explore S3 and restore jobs one statement at a time.
//!
//! One persistent scope (variables and `fn` definitions survive from line to line), `import`
//! kept for the rest of the session, unfinished statements continued on the next line, tab
//! completion and `:help` built from the engine's own metadata ([`crate::docs::ApiDoc`]), results
//! printed readably ([`crate::output::show`]), Ctrl-C stopping the running statement, and a
//! history file under the user's state directory.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rhai::{AST, Dynamic, Position};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::{FileHistory, History};
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Editor, Helper};

use crate::app::{BackendArgs, EXIT_USAGE, ScriptArgs, open_backend, settings};
use crate::docs::{ApiDoc, FnKind};
use crate::engine::{ScriptFailure, Session, compile_all_errors, render};

/// The name errors give the REPL's input.
const SOURCE: &str = "<repl>";
const PROMPT: &str = "s3thaw> ";
const CONTINUE: &str = "   ...> ";

/// Rhai's keywords, offered by completion at the start of a word.
const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "while", "loop", "for", "in", "do", "until", "break",
    "continue", "return", "throw", "try", "catch", "import", "as", "switch", "true", "false",
];

/// The REPL's commands and what they do, for `:help` and completion.
const COMMANDS: &[(&str, &str)] = &[
    (
        ":help",
        "`:help` lists modules; `:help s3`, `:help s3::restore_object` explain one",
    ),
    (
        ":load",
        "`:load FILE` runs a script into this session (its variables and functions stay)",
    ),
    (":vars", "lists the variables in scope"),
    (
        ":reset",
        "forgets variables, functions and imports (the simulator's state is kept)",
    ),
    (":quit", "leaves (so does Ctrl-D)"),
];

/// The history file: `$XDG_STATE_HOME/s3thaw/history` (or `~/.local/state/s3thaw/history`).
pub fn history_path() -> PathBuf {
    crate::app::default_state_dir().with_file_name("history")
}

/// Where a piece of input stands: the brackets open before the cursor, and whether it is
/// inside a string or comment.
#[derive(Debug, Default)]
struct Scan {
    /// Open brackets, innermost last: the bracket, its byte offset and, for `(`, the name
    /// called (`s3::restore_object`, `r.rows`).
    open: Vec<(char, usize, Option<String>)>,
    /// Inside a string: its quote and the offset of its first character.
    string: Option<(char, usize)>,
    /// Inside a `/* */` comment.
    comment: bool,
}

/// The name immediately before `end` (a call's callee): identifier characters, `::` and `.`.
fn name_before(text: &str, end: usize) -> String {
    let head = text[..end].trim_end();
    let start = head
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.'))
        .last()
        .map_or(head.len(), |(i, _)| i);
    head[start..].to_string()
}

fn scan(text: &str) -> Scan {
    let mut s = Scan::default();
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < bytes.len() {
        let (at, c) = bytes[i];
        let next = bytes.get(i + 1).map(|(_, c)| *c);
        if s.comment {
            if c == '*' && next == Some('/') {
                s.comment = false;
                i += 1;
            }
        } else if let Some((quote, _)) = s.string {
            // A "string" ends at the end of its line (Rhai continues one only after a `\`);
            // a `backtick` string runs on.
            if c == '\\' {
                i += 1;
            } else if c == quote || (c == '\n' && quote == '"') {
                s.string = None;
            }
        } else {
            match c {
                '/' if next == Some('/') => {
                    while i < bytes.len() && bytes[i].1 != '\n' {
                        i += 1;
                    }
                    continue;
                }
                '/' if next == Some('*') => {
                    s.comment = true;
                    i += 1;
                }
                '"' | '`' => s.string = Some((c, at + 1)),
                '\'' => {
                    // A character literal: 'a' or '\n'.
                    i += if next == Some('\\') { 3 } else { 2 };
                }
                '(' => s.open.push(('(', at, Some(name_before(text, at)))),
                '[' => s.open.push(('[', at, None)),
                '{' => s.open.push(('{', at, None)),
                ')' | ']' | '}' => {
                    s.open.pop();
                }
                _ => {}
            }
        }
        i += 1;
    }
    s
}

/// Whether `input` stops in the middle of a statement: an open bracket or string.
pub fn is_unfinished(input: &str) -> bool {
    let s = scan(input);
    !s.open.is_empty() || s.string.is_some() || s.comment
}

/// Whether the parser ran out of input (`let total = 1 +`): the statement goes on.
fn ends_early(session: &Session, input: &str) -> bool {
    matches!(
        session.engine.compile_with_scope(&session.scope, input),
        Err(e) if matches!(*e.0, rhai::ParseErrorType::UnexpectedEOF)
    )
}

/// The `import PATH as NAME` statements at the top level of `input`: (path expression, name).
fn imports(input: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut statements = Vec::new();
    let mut string: Option<char> = None;
    let mut escaped = false;
    for (i, c) in input.char_indices() {
        if let Some(q) = string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                string = None;
            }
            continue;
        }
        match c {
            '"' | '`' => string = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => {
                statements.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    statements.push(&input[start..]);
    for statement in statements {
        let statement = statement.trim();
        let Some(rest) = statement.strip_prefix("import") else {
            continue;
        };
        if !rest.starts_with(char::is_whitespace) && !rest.starts_with('"') {
            continue;
        }
        if let Some((path, name)) = rest.rsplit_once(" as ") {
            let name = name.trim();
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                out.push((path.trim().to_string(), name.to_string()));
            }
        }
    }
    out
}

/// The state completion reads: the session, the API's metadata, and the lines typed so far of
/// an unfinished statement.
struct Shared {
    session: RefCell<Session>,
    api: RefCell<ApiDoc>,
    pending: RefCell<String>,
}

struct ReplHelper {
    shared: Rc<Shared>,
    files: FilenameCompleter,
}

fn pair(display: impl Into<String>, replacement: impl Into<String>) -> Pair {
    Pair {
        display: display.into(),
        replacement: replacement.into(),
    }
}

impl ReplHelper {
    /// Job ids from `batch::list()`, newest first.
    fn job_ids(&self) -> Vec<(String, String)> {
        let session = self.shared.session.borrow();
        let Ok(jobs) = session.engine.eval::<rhai::Array>("batch::list()") else {
            return Vec::new();
        };
        jobs.iter()
            .filter_map(|j| j.read_lock::<rhai::Map>().map(|m| m.clone()))
            .map(|m| {
                let get = |k: &str| m.get(k).map(|v| v.to_string()).unwrap_or_default();
                (get("id"), format!("{} {}", get("id"), get("status")))
            })
            .collect()
    }

    /// Whether `callee` takes a job (its first parameter is named `job`).
    fn takes_job(&self, callee: &str) -> bool {
        self.shared.api.borrow().overloads(callee).iter().any(|f| {
            f.params
                .first()
                .is_some_and(|p| p.name == "job" || p.name == "job_id")
        })
    }

    fn complete_command(&self, line: &str, pos: usize) -> (usize, Vec<Pair>) {
        let head = &line[..pos];
        if let Some(arg) = head.strip_prefix(":help ") {
            let start = pos - arg.len();
            let api = self.shared.api.borrow();
            let mut names: Vec<String> = api.modules.iter().map(|m| m.name.clone()).collect();
            names.extend(api.globals.iter().map(|f| f.qualified()));
            names.extend(
                api.modules
                    .iter()
                    .flat_map(|m| m.functions.iter().map(|f| f.qualified())),
            );
            names.extend(api.types.keys().cloned());
            names.extend(api.types.values().flatten().map(|f| f.qualified()));
            names.sort();
            names.dedup();
            let found = names
                .into_iter()
                .filter(|n| n.starts_with(arg))
                .map(|n| pair(n.clone(), n))
                .collect();
            return (start, found);
        }
        if head.starts_with(":load ") {
            let history = FileHistory::new();
            let ctx = rustyline::Context::new(&history);
            return self
                .files
                .complete(line, pos, &ctx)
                .unwrap_or((pos, Vec::new()));
        }
        let found = COMMANDS
            .iter()
            .filter(|(c, _)| c.starts_with(head.trim_start()))
            .map(|(c, _)| pair(*c, format!("{c} ")))
            .collect();
        (line.len() - line.trim_start().len(), found)
    }

    fn complete_code(&self, line: &str, pos: usize) -> (usize, Vec<Pair>) {
        let pending = self.shared.pending.borrow().clone();
        let context = format!("{pending}{}", &line[..pos]);
        let offset = pending.len();
        let s = scan(&context);
        let api = self.shared.api.borrow();

        // Inside a string given to a function taking a job: job ids.
        if let Some((_, start)) = s.string {
            if let Some(('(', _, Some(callee))) = s.open.last()
                && start >= offset
                && self.takes_job(callee)
            {
                let typed = &context[start..];
                let found = self
                    .job_ids()
                    .into_iter()
                    .filter(|(id, _)| id.starts_with(typed))
                    .map(|(id, shown)| pair(shown, format!("{id}\"")))
                    .collect();
                return (start - offset, found);
            }
            return (pos, Vec::new());
        }

        let word_start = context
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.'))
            .last()
            .map_or(context.len(), |(i, _)| i);
        let word = &context[word_start..];
        let start = word_start.saturating_sub(offset);

        // `module::fun` → `module::function(`
        if let Some((module, prefix)) = word.rsplit_once("::") {
            let found = api
                .module(module)
                .map(|m| {
                    let mut seen = Vec::new();
                    m.functions
                        .iter()
                        .rev()
                        .filter(|f| f.name.starts_with(prefix))
                        .filter(|f| {
                            let new = !seen.contains(&f.name);
                            seen.push(f.name.clone());
                            new
                        })
                        .map(|f| pair(f.signature(), format!("{module}::{}(", f.name)))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let mut found = found;
            found.sort_by(|a, b| a.replacement.cmp(&b.replacement));
            return (start, found);
        }

        // `value.pro` → a map's keys, a host type's methods and properties.
        if let Some((var, prefix)) = word.rsplit_once('.') {
            return (start, self.members(var, prefix));
        }

        // A key of an options map: `f(.., #{ ti` → `tier: `.
        let before = context[..word_start].trim_end();
        if let [.., ('(', _, Some(callee)), ('{', brace, None)] = s.open.as_slice()
            && context[..*brace].ends_with('#')
            && (before.ends_with('{') || before.ends_with(','))
        {
            let written = &context[*brace..];
            let found = api
                .options_of(callee)
                .into_iter()
                .filter(|k| k.starts_with(word))
                .filter(|k| !written.contains(&format!("{k}:")))
                .map(|k| pair(k.clone(), format!("{k}: ")))
                .collect();
            return (start, found);
        }

        // A job argument not yet quoted: `batch::describe(` → `"ID"`.
        if word.is_empty()
            && let Some(('(', _, Some(callee))) = s.open.last()
            && before.ends_with('(')
            && self.takes_job(callee)
        {
            let found = self
                .job_ids()
                .into_iter()
                .map(|(id, shown)| pair(shown, format!("\"{id}\"")))
                .collect();
            return (start, found);
        }

        if word.is_empty() {
            return (pos, Vec::new());
        }
        // A name: variables, global functions, modules, keywords.
        let session = self.shared.session.borrow();
        let mut found: Vec<Pair> = Vec::new();
        let mut push = |display: String, replacement: String| {
            if replacement.starts_with(word) && !found.iter().any(|p| p.replacement == replacement)
            {
                found.push(pair(display, replacement));
            }
        };
        for (name, _, value) in session.scope.iter() {
            push(
                format!("{name} ({})", crate::output::type_name(&value)),
                name.to_string(),
            );
        }
        for f in api.globals.iter().rev() {
            push(f.signature(), format!("{}(", f.name));
        }
        for m in &api.modules {
            push(format!("{}::", m.name), format!("{}::", m.name));
        }
        for k in KEYWORDS {
            push(k.to_string(), k.to_string());
        }
        found.sort_by(|a, b| a.replacement.cmp(&b.replacement));
        (start, found)
    }

    /// The members of the variable `var` starting with `prefix`.
    fn members(&self, var: &str, prefix: &str) -> Vec<Pair> {
        let session = self.shared.session.borrow();
        let api = self.shared.api.borrow();
        let Some(value) = session.scope.get_value::<Dynamic>(var) else {
            return Vec::new();
        };
        let mut found: Vec<Pair> = Vec::new();
        if let Some(map) = value.read_lock::<rhai::Map>() {
            for key in map.keys().filter(|k| k.starts_with(prefix)) {
                found.push(pair(key.to_string(), format!("{var}.{key}")));
            }
        }
        let type_name = value.type_name();
        let short = type_name.rsplit("::").next().unwrap_or(type_name);
        if let Some(methods) = api.types.get(short) {
            for f in methods.iter().filter(|f| f.name.starts_with(prefix)) {
                let replacement = match f.kind {
                    FnKind::Property(_) => format!("{var}.{}", f.name),
                    _ => format!("{var}.{}(", f.name),
                };
                if !found.iter().any(|p| p.replacement == replacement) {
                    found.push(pair(f.signature(), replacement));
                }
            }
        }
        found
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        if self.shared.pending.borrow().is_empty() && line.trim_start().starts_with(':') {
            return Ok(self.complete_command(line, pos));
        }
        Ok(self.complete_code(line, pos))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}
impl Highlighter for ReplHelper {}
impl Validator for ReplHelper {}
impl Helper for ReplHelper {}

/// The session loop's state besides the editor.
/// Where the Ctrl-C handler finds the flag of the session running now.
type InterruptSlot = Arc<Mutex<Arc<AtomicBool>>>;

struct Repl {
    shared: Rc<Shared>,
    interrupt: InterruptSlot,
    backend_args: BackendArgs,
    script_args: ScriptArgs,
    /// Functions defined so far; statements are dropped after each run.
    functions: AST,
}

impl Repl {
    fn new_session(&self) -> Result<Session, String> {
        new_session(&self.backend_args, &self.script_args)
    }

    /// Runs one complete entry and prints its value or its error.
    fn evaluate(&mut self, entry: &str, source: &str, text: &str) {
        let shared = self.shared.clone();
        let mut session = shared.session.borrow_mut();
        let ast = if source == SOURCE {
            session
                .engine
                .compile_with_scope(&session.scope, entry)
                .map_err(|e| vec![e])
        } else {
            compile_all_errors(&session.engine, entry)
        };
        let mut ast = match ast {
            Ok(ast) => ast,
            Err(errors) => {
                eprint!("{}", render(&ScriptFailure::Compile(errors), source, text));
                return;
            }
        };
        if source != SOURCE {
            ast.set_source(source);
        }
        let started = std::time::Instant::now();
        self.functions = self.functions.merge(&ast);
        let session_ref = &mut *session;
        let result = session_ref
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut session_ref.scope, &self.functions);
        self.functions.clear_statements();
        // Re-declared variables shadow the old ones: keep only what a script can still see.
        session_ref.scope = session_ref.scope.clone_visible();
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "statement ran"
        );
        match result {
            Ok(value) => {
                let mut registered = false;
                for (path, name) in imports(entry) {
                    registered |= register_import(session_ref, &path, &name);
                }
                if registered {
                    *shared.api.borrow_mut() = ApiDoc::from_engine(&session_ref.engine);
                }
                let text = crate::output::show(&value);
                if !text.is_empty() {
                    crate::progress::print_line(&text);
                }
            }
            Err(e) => eprint!("{}", render(&ScriptFailure::Runtime(e), source, text)),
        }
    }

    /// Runs a `:` command; `false` means leave.
    fn command(&mut self, line: &str) -> bool {
        let line = line.trim();
        let (name, arg) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let arg = arg.trim();
        match name {
            ":quit" | ":q" | ":exit" => return false,
            ":help" | ":h" | ":?" => println!("{}", for_terminal(&self.help(arg))),
            ":vars" => println!("{}", self.vars()),
            ":reset" => match self.new_session() {
                Ok(session) => {
                    if let Ok(mut slot) = self.interrupt.lock() {
                        *slot = session.interrupt_flag();
                    }
                    *self.shared.session.borrow_mut() = session;
                    *self.shared.api.borrow_mut() =
                        ApiDoc::from_engine(&self.shared.session.borrow().engine);
                    self.functions = AST::empty();
                    println!(
                        "Session reset: variables, functions and imports are gone. The simulator's state is kept (sim::reset() empties it)."
                    );
                }
                Err(e) => eprintln!("error: {e}"),
            },
            ":load" if arg.is_empty() => {
                eprintln!("error: :load needs a file, like :load scripts/restore.rhai")
            }
            ":load" => match std::fs::read_to_string(arg) {
                Ok(text) => self.evaluate(&text, arg, &text),
                Err(e) => eprintln!("error: cannot read {arg}: {e}"),
            },
            _ => eprintln!("error: unknown command {name}; :help lists the commands"),
        }
        true
    }

    fn help(&self, topic: &str) -> String {
        let api = self.shared.api.borrow();
        if topic.is_empty() {
            let mut out = String::from(
                "Type a statement to run it; unfinished statements continue on the next line.\nTab completes names, option keys and job ids.\n\nCommands:\n",
            );
            for (c, what) in COMMANDS {
                out.push_str(&format!("  {c:<8} {what}\n"));
            }
            out.push_str("\nModules (:help NAME):\n");
            for m in &api.modules {
                let about = m.doc.lines().next().unwrap_or_default();
                out.push_str(&format!("  {:<10} {about}\n", format!("{}::", m.name)));
            }
            let globals: Vec<String> = {
                let mut names: Vec<String> = api.globals.iter().map(|f| f.name.clone()).collect();
                names.dedup();
                names
            };
            out.push_str(&format!("\nGlobal functions: {}\n", globals.join(", ")));
            if !api.types.is_empty() {
                let types: Vec<&str> = api.types.keys().map(String::as_str).collect();
                out.push_str(&format!("Types with methods: {}\n", types.join(", ")));
            }
            out.push_str("\nThe tutorial, step by step: import \"tutorial\" as t; then :help t\n");
            return out;
        }
        if let Some(m) = api.module(topic.trim_end_matches("::")) {
            return api.module_section(m, false);
        }
        if let Some(methods) = api.types.get(topic) {
            let mut out = format!("## {topic} methods\n\n");
            for f in methods {
                out.push_str(&format!("- `{}`: {}\n", f.signature(), f.summary()));
            }
            return out;
        }
        let overloads = api.overloads(topic);
        if !overloads.is_empty() {
            let mut names: Vec<String> = overloads.iter().map(|f| f.qualified()).collect();
            names.dedup();
            return names
                .iter()
                .map(|n| api.function_section(n))
                .collect::<Vec<_>>()
                .join("\n");
        }
        format!("No help for `{topic}`: :help lists the modules.")
    }

    fn vars(&self) -> String {
        let session = self.shared.session.borrow();
        let functions: Vec<String> = self
            .functions
            .iter_functions()
            .map(|f| format!("{}({})", f.name, f.params.join(", ")))
            .collect();
        let functions = if functions.is_empty() {
            String::new()
        } else {
            format!("\nFunctions: {}", functions.join(", "))
        };
        if session.scope.is_empty() {
            return format!("No variables yet.{functions}");
        }
        let mut t = crate::output::table();
        t.set_header(["name", "type", "value"]);
        let mut vars: Vec<(String, bool, Dynamic)> = session
            .scope
            .iter()
            .map(|(n, c, v)| (n.to_string(), c, v))
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, constant, value) in vars {
            t.add_row([
                format!("{name}{}", if constant { " (const)" } else { "" }),
                crate::output::type_name(&value),
                crate::output::one_line(&value, 60),
            ]);
        }
        format!("{}{functions}", crate::output::table_text(&t))
    }
}

/// Markdown as a terminal shows it: code blocks indented instead of fenced.
fn for_terminal(markdown: &str) -> String {
    let mut out = Vec::new();
    let mut code = false;
    for line in markdown.trim_end().lines() {
        if line.starts_with("```") {
            code = !code;
            continue;
        }
        out.push(if code {
            format!("    {line}")
        } else {
            line.to_string()
        });
    }
    out.join("\n")
}

/// Registers the module `import PATH as NAME` brought in, so later lines (and completion)
/// see it. Returns whether it did.
fn register_import(session: &mut Session, path: &str, name: &str) -> bool {
    let path = if let Some(literal) = path
        .strip_prefix('"')
        .and_then(|p| p.strip_suffix('"'))
        .filter(|p| !p.contains('"'))
    {
        literal.to_string()
    } else {
        match session
            .engine
            .eval_expression_with_scope::<String>(&mut session.scope, path)
        {
            Ok(p) => p,
            Err(_) => return false,
        }
    };
    let resolved =
        session
            .engine
            .module_resolver()
            .resolve(&session.engine, None, &path, Position::NONE);
    match resolved {
        Ok(module) => {
            tracing::debug!(path, name, "import kept for the session");
            session.engine.register_static_module(name, module);
            true
        }
        Err(_) => false,
    }
}

fn new_session(backend: &BackendArgs, script: &ScriptArgs) -> Result<Session, String> {
    let backend = open_backend(backend).map_err(|e| e.message)?;
    let cwd = std::env::current_dir().ok();
    Ok(Session::new(backend, settings(script), cwd.as_deref()))
}

/// Runs the REPL; returns the exit code.
pub fn run(backend: &BackendArgs, script: &ScriptArgs) -> u8 {
    let session = match new_session(backend, script) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    // Ctrl-C while a statement runs stops it at its next step; a second one while it still
    // runs (a native call that cannot stop) leaves s3thaw.
    // The flag of the current session (`:reset` makes a new one): the handler is set once.
    let interrupt: InterruptSlot = Arc::new(Mutex::new(session.interrupt_flag()));
    let slot = interrupt.clone();
    let _ = ctrlc::set_handler(move || {
        let flag = match slot.lock() {
            Ok(flag) => flag.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if flag.swap(true, Ordering::Relaxed) {
            eprintln!("\nInterrupted twice: leaving s3thaw.");
            std::process::exit(130);
        }
    });
    let api = ApiDoc::from_engine(&session.engine);
    let banner = {
        let host = &session.host;
        // A simulator knows its account; asking AWS (STS) would delay the first prompt.
        let account = if host.backend.sim_controls().is_some() {
            host.backend
                .account_id()
                .map(|a| format!(", account {a}"))
                .unwrap_or_default()
        } else {
            String::new()
        };
        format!(
            "s3thaw {} on the {} backend{account}, {}. :help for help, :quit or Ctrl-D to leave.",
            env!("CARGO_PKG_VERSION"),
            host.backend.kind(),
            host.backend.region()
        )
    };
    let shared = Rc::new(Shared {
        session: RefCell::new(session),
        api: RefCell::new(api),
        pending: RefCell::new(String::new()),
    });
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .history_ignore_dups(true)
        .and_then(|c| c.max_history_size(5_000))
        .map(|c| c.build());
    let editor = config.and_then(Editor::<ReplHelper, FileHistory>::with_config);
    let mut editor = match editor {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!("error: cannot start the line editor: {e}");
            return EXIT_USAGE;
        }
    };
    editor.set_helper(Some(ReplHelper {
        shared: shared.clone(),
        files: FilenameCompleter::new(),
    }));
    let history = history_path();
    let _ = editor.load_history(&history);
    if let Some(dir) = history.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    println!("{banner}");
    let mut repl = Repl {
        shared: shared.clone(),
        backend_args: backend.clone(),
        script_args: script.clone(),
        functions: AST::empty(),
        interrupt,
    };
    loop {
        // A Ctrl-C from now on (once the line is read and the terminal is back in cooked
        // mode) stops what this line runs.
        shared
            .session
            .borrow()
            .host
            .interrupted
            .store(false, Ordering::Relaxed);
        let prompt = if shared.pending.borrow().is_empty() {
            PROMPT
        } else {
            CONTINUE
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                shared.pending.borrow_mut().clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                break;
            }
        };
        let line = match habit(&line) {
            Some(command) if shared.pending.borrow().is_empty() => command,
            _ => line,
        };
        if shared.pending.borrow().is_empty() && line.trim_start().starts_with(':') {
            let _ = editor.add_history_entry(line.trim());
            let _ = editor.save_history(&history);
            if !repl.command(&line) {
                break;
            }
            continue;
        }
        let entry = {
            let mut pending = shared.pending.borrow_mut();
            pending.push_str(&line);
            pending.push('\n');
            if pending.trim().is_empty() {
                pending.clear();
                continue;
            }
            if is_unfinished(&pending) || ends_early(&shared.session.borrow(), &pending) {
                continue;
            }
            std::mem::take(&mut *pending)
        };
        let _ = editor.add_history_entry(entry.trim_end());
        if editor.history().len() > 0 {
            let _ = editor.save_history(&history);
        }
        repl.evaluate(&entry, SOURCE, &entry);
    }
    let _ = editor.save_history(&history);
    0
}

/// What people type out of habit from other REPLs (Python's `exit` and `help`, psql's `\q`,
/// IPython's `?name`): the `:` command it means, if any.
fn habit(line: &str) -> Option<String> {
    let t = line.trim().trim_end_matches(';').trim();
    match t {
        "help" | "help()" => Some(":help".to_string()),
        "exit" | "quit" | "exit()" | "quit()" | "\\q" => Some(":quit".to_string()),
        _ => t
            .strip_prefix('?')
            .or_else(|| t.strip_prefix("help "))
            .map(str::trim)
            .filter(|name| !name.is_empty() && !name.contains(char::is_whitespace))
            .map(|name| format!(":help {name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_input_is_recognised() {
        assert!(is_unfinished("fn add(a, b) {\n"));
        assert!(is_unfinished("let m = #{\n  a: 1,\n"));
        assert!(is_unfinished("let s = \"abc\\\n"));
        assert!(!is_unfinished("let s = \"abc\n"));
        assert!(is_unfinished("let t = `multi\nline"));
        assert!(!is_unfinished("let s = \"a { b\";\n"));
        assert!(!is_unfinished("// an open { in a comment\n"));
        assert!(!is_unfinished("let c = '{';\n"));
        assert!(!is_unfinished("fn add(a, b) { a + b }\n"));
    }

    #[test]
    fn callee_of_the_open_call_is_found() {
        let s = scan("s3::restore_object(\"b\", \"k\", #{ ti");
        let callees: Vec<_> = s.open.iter().map(|(c, _, n)| (*c, n.clone())).collect();
        assert_eq!(
            callees,
            [('(', Some("s3::restore_object".into())), ('{', None)]
        );
        let s = scan("r.rows(#{ st");
        assert_eq!(s.open[0].2.as_deref(), Some("r.rows"));
    }

    #[test]
    fn imports_are_found_at_the_top_level_only() {
        assert_eq!(
            imports("import \"tutorial\" as t; let x = 1;\nimport \"a;b\" as ab"),
            [
                ("\"tutorial\"".to_string(), "t".to_string()),
                ("\"a;b\"".to_string(), "ab".to_string())
            ]
        );
        assert!(imports("fn f() { import \"x\" as y; }").is_empty());
        assert!(imports("let important = 1;").is_empty());
    }
}

#[cfg(test)]
mod habit_tests {
    use super::habit;

    #[test]
    fn habits_from_other_repls_are_commands() {
        for quit in ["exit", "quit", "exit()", "quit();", "\\q", "  quit  "] {
            assert_eq!(habit(quit).as_deref(), Some(":quit"), "{quit}");
        }
        assert_eq!(habit("help").as_deref(), Some(":help"));
        assert_eq!(
            habit("?s3::head_object").as_deref(),
            Some(":help s3::head_object")
        );
        assert_eq!(habit("help batch").as_deref(), Some(":help batch"));
        assert_eq!(habit("let help = 1;"), None);
        assert_eq!(habit("exit_code + 1"), None);
    }
}
