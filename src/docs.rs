//! The script API reference, generated from the engine's own metadata: the functions registered
//! (their names, parameters and return types) and the `///` doc comments of `src/api/` and
//! `stdlib/`. `s3thaw docs` writes it as Markdown (committed as `docs/API.md`), and the REPL's
//! `:help` and tab completion read the same [`ApiDoc`], so nothing is written twice.
//!
//! This module only reads metadata; it never evaluates scripts or touches a backend.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rhai::Engine;
use serde::Deserialize;

/// The order modules appear in the reference: the order of a restore. Modules not listed
/// (added later) follow in alphabetical order.
const MODULE_ORDER: &[&str] = &[
    "s3", "manifest", "iam", "batch", "restore", "report", "cost", "sim",
];

/// The command that regenerates `docs/API.md`.
pub const REGENERATE: &str = "cargo run -q -- docs -o docs/API.md";

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawModule {
    #[serde(default)]
    modules: BTreeMap<String, RawModule>,
    #[serde(default)]
    functions: Vec<RawFn>,
    #[serde(default)]
    doc: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFn {
    name: String,
    access: String,
    #[serde(default)]
    params: Vec<RawParam>,
    #[serde(default)]
    return_type: String,
    #[serde(default)]
    doc_comments: Vec<String>,
}

#[derive(Deserialize)]
struct RawParam {
    name: Option<String>,
    #[serde(rename = "type")]
    ty: Option<String>,
}

/// One parameter as a script author reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    /// `string`, `int`, `map`, ... or empty for script functions.
    pub ty: String,
}

/// How a function is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FnKind {
    /// `name(..)`, available everywhere.
    Global,
    /// `module::name(..)`.
    Module(String),
    /// `value.name(..)` on a host type (`Manifest`, `Report`).
    Method(String),
    /// `value.name`, a read-only property of a host type.
    Property(String),
}

/// One overload of a function, with its doc comment.
#[derive(Debug, Clone)]
pub struct FnDoc {
    pub kind: FnKind,
    pub name: String,
    /// The parameters a script passes (the receiver of a method is not one of them).
    pub params: Vec<Param>,
    /// The type returned, empty for `()` or unknown.
    pub returns: String,
    /// The doc comment as Markdown, without the `///` markers.
    pub doc: String,
}

impl FnDoc {
    /// The name a script writes: `s3::head_object`, `arg`, `Report.rows`.
    pub fn qualified(&self) -> String {
        match &self.kind {
            FnKind::Global => self.name.clone(),
            FnKind::Module(m) => format!("{m}::{}", self.name),
            FnKind::Method(t) | FnKind::Property(t) => format!("{t}.{}", self.name),
        }
    }

    /// The call as a script author reads it: `s3::head_object(bucket: string, key: string) -> map`.
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| {
                if p.ty.is_empty() {
                    p.name.clone()
                } else {
                    format!("{}: {}", p.name, p.ty)
                }
            })
            .collect();
        let returns = if self.returns.is_empty() || self.returns == "()" {
            String::new()
        } else {
            format!(" -> {}", self.returns)
        };
        match &self.kind {
            FnKind::Property(t) => format!("{}.{}{returns}", t.to_lowercase(), self.name),
            FnKind::Method(t) => format!(
                "{}.{}({}){returns}",
                t.to_lowercase(),
                self.name,
                params.join(", ")
            ),
            _ => format!("{}({}){returns}", self.qualified(), params.join(", ")),
        }
    }

    /// The first sentence of the doc comment.
    pub fn summary(&self) -> String {
        let paragraph = self.doc.split("\n\n").next().unwrap_or_default();
        let flat = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        match sentence_end(&flat) {
            Some(end) => flat[..=end].to_string(),
            None => flat,
        }
    }

    /// The ```rhai example of the doc comment, if it has one.
    pub fn example(&self) -> Option<&str> {
        let start = self.doc.find("```rhai\n")? + "```rhai\n".len();
        let len = self.doc[start..].find("```")?;
        Some(self.doc[start..start + len].trim_end())
    }

    /// The option keys the doc comment names: the backticked names of its `Options:` sentence
    /// (or of the sentence `` `spec`: `` naming the keys of a last map parameter).
    pub fn options(&self) -> Vec<String> {
        let Some(last) = self.params.last().filter(|p| p.ty == "map") else {
            return Vec::new();
        };
        let flat = self.doc.split_whitespace().collect::<Vec<_>>().join(" ");
        let named = format!("`{}`:", last.name);
        let start = ["Options:", "Option:", named.as_str()]
            .iter()
            .filter_map(|marker| flat.find(marker).map(|at| at + marker.len()))
            .min();
        match start {
            Some(start) => backticked_names(&flat[start..]),
            // No `Options:` sentence: the names in backticks of the first paragraph that are
            // not parameters ("`throttle_rate` of them ..., drawn from `seed`").
            None => {
                let first = self.doc.split("\n\n").next().unwrap_or_default();
                let flat = first.split_whitespace().collect::<Vec<_>>().join(" ");
                backticked_names_in(&flat)
                    .into_iter()
                    .filter(|n| !self.params.iter().any(|p| &p.name == n))
                    .collect()
            }
        }
    }
}

impl FnDoc {
    /// The function whose options this one takes, when its doc says "options as `NAME`".
    pub fn options_like(&self) -> Option<&str> {
        let start = self.doc.find("options as `")? + "options as `".len();
        let len = self.doc[start..].find('`')?;
        Some(&self.doc[start..start + len])
    }
}

/// The byte index of the `.` ending the first sentence, ignoring dots inside backticks and
/// parentheses.
fn sentence_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut code) = (0i32, false);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'`' => code = !code,
            b'(' if !code => depth += 1,
            b')' if !code => depth -= 1,
            b'.' if !code
                && depth <= 0
                && bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()) =>
            {
                return Some(i);
            }
            _ => {}
        }
    }
    None
}

/// The snake_case names in backticks outside parentheses, up to the end of the sentence.
fn backticked_names(text: &str) -> Vec<String> {
    let end = sentence_end(text).unwrap_or(text.len());
    backticked_names_in(&text[..end])
}

/// The snake_case names in backticks outside parentheses.
fn backticked_names_in(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0i32;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '`' => {
                let inner = &rest[1..];
                let Some(close) = inner.find('`') else { break };
                let name = &inner[..close];
                let is_name = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if depth <= 0 && is_name && !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
                rest = &inner[close + 1..];
                continue;
            }
            _ => {}
        }
        rest = &rest[c.len_utf8()..];
    }
    names
}

/// A module of the API (or of the stdlib) with its functions.
#[derive(Debug, Clone)]
pub struct ModuleDoc {
    pub name: String,
    pub doc: String,
    /// Sorted by name, overloads with fewer parameters first.
    pub functions: Vec<FnDoc>,
    /// From the embedded stdlib (`import "NAME"`), not built in.
    pub stdlib: bool,
}

/// The whole API as the engine knows it.
#[derive(Debug, Clone, Default)]
pub struct ApiDoc {
    pub globals: Vec<FnDoc>,
    pub modules: Vec<ModuleDoc>,
    /// Methods and properties of host types, by type name.
    pub types: BTreeMap<String, Vec<FnDoc>>,
}

/// A Rust type in the metadata as a script author reads it.
fn script_type(rust: &str) -> String {
    let mut ty = rust.trim();
    if let Some(inner) = ty
        .strip_prefix("RhaiResult<")
        .and_then(|t| t.strip_suffix('>'))
    {
        ty = inner.trim();
    }
    if let Some(inner) = ty.strip_prefix("Result<").and_then(|t| t.split(',').next()) {
        ty = inner.trim();
    }
    let ty = ty
        .trim_start_matches("&mut ")
        .trim_start_matches('&')
        .trim();
    match ty {
        "str" | "String" | "ImmutableString" => "string",
        "i64" | "INT" => "int",
        "f64" | "FLOAT" => "float",
        "bool" => "bool",
        "Map" => "map",
        "Array" => "array",
        "Blob" => "blob",
        "Dynamic" => "any",
        "FnPtr" => "fn",
        other => other,
    }
    .to_string()
}

/// A doc comment without its `///` or `/** */` markers.
fn doc_text(comments: &[String]) -> String {
    let mut lines = Vec::new();
    for block in comments {
        for line in block.lines() {
            let line = line.trim_start();
            let line = line
                .strip_prefix("///")
                .or_else(|| line.strip_prefix("//!"))
                .unwrap_or(line);
            lines.push(
                line.strip_prefix(' ')
                    .unwrap_or(line)
                    .trim_end()
                    .to_string(),
            );
        }
    }
    lines.join("\n").trim().to_string()
}

fn fn_doc(raw: &RawFn, module: Option<&str>) -> Option<FnDoc> {
    if raw.access != "public" || raw.name.starts_with("anon$") {
        return None;
    }
    // Rhai's own functions, registered again with a bound (the Rhai book documents them).
    if module.is_none() && crate::engine::STANDARD_OVERRIDES.contains(&raw.name.as_str()) {
        return None;
    }
    let mut params: Vec<Param> = raw
        .params
        .iter()
        .map(|p| Param {
            name: p.name.clone().unwrap_or_else(|| "_".into()),
            ty: p.ty.as_deref().map(script_type).unwrap_or_default(),
        })
        .collect();
    let receiver = raw
        .params
        .first()
        .and_then(|p| p.ty.as_deref())
        .and_then(|t| t.strip_prefix("&mut "))
        .map(str::to_string);
    let kind = match (module, receiver) {
        (Some(m), _) => FnKind::Module(m.to_string()),
        (None, Some(t)) => {
            params.remove(0);
            if raw.name.starts_with("get$") {
                FnKind::Property(t)
            } else {
                FnKind::Method(t)
            }
        }
        (None, None) => FnKind::Global,
    };
    let name = raw.name.trim_start_matches("get$").to_string();
    let doc = doc_text(&raw.doc_comments);
    // Conversions for printing (`to_string`, `to_debug`) are undocumented plumbing.
    if doc.is_empty() && matches!(name.as_str(), "to_string" | "to_debug") {
        return None;
    }
    Some(FnDoc {
        kind,
        name,
        params,
        returns: script_type(&raw.return_type),
        doc,
    })
}

/// By name, then arity, then the parameters' names and types: overloads of one arity (e.g.
/// `sleep(seconds: int)` and `sleep(seconds: float)`) come in the engine's metadata in hash
/// order, which differs from build to build, and the reference must not.
fn sort(functions: &mut [FnDoc]) {
    let key = |f: &FnDoc| {
        let params: Vec<(String, String)> = f
            .params
            .iter()
            .map(|p| (p.name.clone(), p.ty.clone()))
            .collect();
        (f.name.clone(), f.params.len(), params)
    };
    functions.sort_by_key(key);
}

impl ApiDoc {
    /// Reads the metadata of everything registered with `engine`, including static modules
    /// registered later (the REPL's imports).
    pub fn from_engine(engine: &Engine) -> ApiDoc {
        let json = engine
            .gen_fn_metadata_to_json(false)
            .unwrap_or_else(|_| "{}".into());
        let raw: RawModule = serde_json::from_str(&json).unwrap_or_default();
        let stdlib: Vec<&str> = crate::engine::STDLIB.iter().map(|(n, _)| *n).collect();
        let mut doc = ApiDoc::default();
        for f in &raw.functions {
            if let Some(f) = fn_doc(f, None) {
                match &f.kind {
                    FnKind::Method(t) | FnKind::Property(t) => {
                        doc.types.entry(t.clone()).or_default().push(f)
                    }
                    _ => doc.globals.push(f),
                }
            }
        }
        sort(&mut doc.globals);
        for list in doc.types.values_mut() {
            sort(list);
        }
        for (name, module) in &raw.modules {
            let mut functions: Vec<FnDoc> = module
                .functions
                .iter()
                .filter_map(|f| fn_doc(f, Some(name)))
                .collect();
            sort(&mut functions);
            doc.modules.push(ModuleDoc {
                name: name.clone(),
                doc: doc_text(std::slice::from_ref(&module.doc)),
                functions,
                stdlib: stdlib.contains(&name.as_str()),
            });
        }
        doc.modules.sort_by_key(|m| {
            let rank = MODULE_ORDER
                .iter()
                .position(|n| *n == m.name)
                .unwrap_or(MODULE_ORDER.len());
            (m.stdlib, rank, m.name.clone())
        });
        doc
    }

    /// The reference of the built-in API and of the embedded stdlib modules.
    pub fn reference() -> ApiDoc {
        let mut engine = crate::engine::new_engine();
        for (name, text) in crate::engine::STDLIB {
            // A stdlib module that does not compile fails its own tests; the reference
            // simply leaves it out.
            if let Ok(ast) = engine.compile(text)
                && let Ok(module) = rhai::Module::eval_ast_as_new(rhai::Scope::new(), &ast, &engine)
            {
                engine.register_static_module(*name, module.into());
            }
        }
        ApiDoc::from_engine(&engine)
    }

    pub fn module(&self, name: &str) -> Option<&ModuleDoc> {
        self.modules.iter().find(|m| m.name == name)
    }

    /// Every overload of a function named as a script writes it (`s3::head_object`, `arg`,
    /// `Report.rows`, or a bare method name like `rows`).
    pub fn overloads(&self, name: &str) -> Vec<&FnDoc> {
        let all = self
            .globals
            .iter()
            .chain(self.modules.iter().flat_map(|m| m.functions.iter()))
            .chain(self.types.values().flatten());
        let exact: Vec<&FnDoc> = all.clone().filter(|f| f.qualified() == name).collect();
        if !exact.is_empty() {
            return exact;
        }
        all.filter(|f| {
            matches!(f.kind, FnKind::Method(_) | FnKind::Property(_))
                && (f.name == name
                    || name
                        .rsplit_once('.')
                        .is_some_and(|(_, method)| method == f.name))
        })
        .collect()
    }

    /// The option keys any overload of `name` documents.
    pub fn options_of(&self, name: &str) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for f in self.overloads(name) {
            let mut own = f.options();
            // "options as `s3::put_object`": the keys of the function named.
            if own.is_empty()
                && let Some(other) = f.options_like()
                && other != name
            {
                own = self.options_of(other);
            }
            for key in own {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys
    }

    /// The whole reference as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str("# s3thaw script API reference\n\n");
        let _ = writeln!(
            out,
            "Generated by `s3thaw docs` from the engine's metadata and the doc comments in \
             `src/api/` and `stdlib/`: do not edit it by hand, run `{REGENERATE}` after changing \
             the API. In the REPL, `:help NAME` prints the same text.\n"
        );
        out.push_str("Options come last as a map; every function taking one also has an overload without it. Unknown option keys are an `InvalidArgument` error. Failures are thrown as maps `#{ code, message, status?, bucket?, key?, version_id?, job_id?, hint? }`.\n\n");
        out.push_str("Contents: [global functions](#global-functions)");
        for m in &self.modules {
            let _ = write!(out, " · [{}](#{})", m.name, anchor(&module_heading(m)));
        }
        for t in self.types.keys() {
            let _ = write!(out, " · [{t}](#{})", anchor(&type_heading(t)));
        }
        out.push_str("\n\n## Global functions\n\n");
        out.push_str(&index(&self.globals));
        for name in names(&self.globals) {
            out.push('\n');
            out.push_str(&self.function_section(&name));
        }
        for m in &self.modules {
            out.push('\n');
            out.push_str(&self.module_section(m, true));
        }
        for (t, methods) in &self.types {
            let _ = writeln!(out, "\n## {}\n", type_heading(t));
            out.push_str(&index(methods));
            for name in names(methods) {
                out.push('\n');
                out.push_str(&self.function_section(&format!("{t}.{name}")));
            }
        }
        out
    }

    /// A module's heading, doc and index; with `full`, every function's section too.
    pub fn module_section(&self, m: &ModuleDoc, full: bool) -> String {
        let mut out = format!("## {}\n\n", module_heading(m));
        if !m.doc.is_empty() {
            let _ = writeln!(out, "{}\n", m.doc);
        }
        out.push_str(&index(&m.functions));
        if full {
            for name in names(&m.functions) {
                out.push('\n');
                out.push_str(&self.function_section(&format!("{}::{name}", m.name)));
            }
        }
        out
    }

    /// The section of one function: every overload's signature and doc comment.
    pub fn function_section(&self, name: &str) -> String {
        let overloads = self.overloads(name);
        let Some(first) = overloads.first() else {
            return String::new();
        };
        let mut out = format!("### {}\n", first.qualified());
        // Overloads with the most parameters first: they carry the full description.
        for f in overloads.iter().rev() {
            let _ = writeln!(out, "\n```text\n{}\n```\n", f.signature());
            if !f.doc.is_empty() {
                let _ = writeln!(out, "{}", f.doc);
            }
        }
        out
    }
}

fn module_heading(m: &ModuleDoc) -> String {
    if m.stdlib {
        format!("{} (stdlib: `import \"{}\" as t;`)", m.name, m.name)
    } else {
        m.name.clone()
    }
}

fn type_heading(t: &str) -> String {
    format!("{t} methods")
}

/// A GitHub-style anchor of a heading.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Function names in order, each once.
fn names(functions: &[FnDoc]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in functions {
        if !out.contains(&f.name) {
            out.push(f.name.clone());
        }
    }
    out
}

/// One line per function: its fullest signature and first sentence.
fn index(functions: &[FnDoc]) -> String {
    let mut out = String::new();
    for name in names(functions) {
        let Some(f) = functions.iter().rev().find(|f| f.name == name) else {
            continue;
        };
        let _ = writeln!(out, "- `{}`: {}", f.signature(), f.summary());
    }
    out
}

/// `s3thaw docs`: writes the reference to `output` or stdout.
pub fn command(output: Option<&std::path::Path>) -> u8 {
    let text = ApiDoc::reference().markdown();
    match output {
        None => {
            crate::progress::write_stdout(&text);
            0
        }
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                crate::app::EXIT_USAGE
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls `f` with placeholder arguments and the options `#{ zz_probe: 1 }`; returns the
    /// option keys the function itself says it knows, if it got as far as checking them.
    fn accepted_options(f: &FnDoc) -> Option<Vec<String>> {
        let dir = tempfile::tempdir().ok()?;
        let sim = crate::backend::sim::Simulator::open(dir.path()).ok()?;
        let settings = crate::engine::RunSettings {
            vars: Default::default(),
            yes: true,
            quiet: true,
        };
        let mut session = crate::engine::Session::new(Box::new(sim), settings, None);
        let (_, positional) = f.params.split_last()?;
        let mut args: Vec<String> = positional
            .iter()
            .map(|p| match p.ty.as_str() {
                "int" => "1".to_string(),
                "map" => "#{}".to_string(),
                "array" => "[]".to_string(),
                _ => "\"zz-probe\"".to_string(),
            })
            .collect();
        args.push("#{ zz_probe: 1 }".into());
        let script = format!("{}({})", f.qualified(), args.join(", "));
        let error = session
            .engine
            .eval_with_scope::<rhai::Dynamic>(&mut session.scope, &script)
            .err()?;
        let message = crate::engine::error_of(&error).message;
        let known = message.split("known options: ").nth(1)?;
        Some(known.split(", ").map(|k| k.trim().to_string()).collect())
    }

    #[test]
    fn documented_option_keys_are_the_keys_each_function_accepts() {
        // The keys completion offers (from the doc comments) against the keys the function's
        // own check lists when it refuses an unknown one: drift either way fails.
        let doc = ApiDoc::reference();
        let mut checked = Vec::new();
        for m in doc.modules.iter().filter(|m| !m.stdlib) {
            for f in m
                .functions
                .iter()
                .filter(|f| f.params.last().is_some_and(|p| p.ty == "map"))
            {
                let Some(mut accepted) = accepted_options(f) else {
                    continue;
                };
                let mut documented = doc.options_of(&f.qualified());
                accepted.sort();
                documented.sort();
                assert_eq!(
                    documented,
                    accepted,
                    "{}: documented vs accepted options",
                    f.signature()
                );
                checked.push(f.qualified());
            }
        }
        assert!(
            checked.len() >= 12,
            "too few functions checked: {checked:?}"
        );
    }

    #[test]
    fn option_keys_come_from_the_options_sentence() {
        let doc = ApiDoc::reference();
        assert_eq!(
            doc.options_of("s3::create_bucket"),
            ["region", "versioning"]
        );
        assert_eq!(
            doc.options_of("batch::wait"),
            ["statuses", "timeout", "poll", "on_change"]
        );
        assert_eq!(doc.options_of("batch::restore_operation"), ["tier", "days"]);
        let spec = doc.options_of("batch::create_job");
        for key in [
            "manifest",
            "operation",
            "role_arn",
            "report",
            "client_request_token",
        ] {
            assert!(spec.contains(&key.to_string()), "{spec:?}");
        }
        assert!(!spec.contains(&"bucket".to_string()), "{spec:?}");
        assert_eq!(doc.options_of("Report.rows"), ["status", "limit"]);
        assert!(
            doc.options_of("s3::head_object")
                .contains(&"version_id".into())
        );
        // Options named in a doc comment without an `Options:` sentence.
        let faults = FnDoc {
            kind: FnKind::Module("sim".into()),
            name: "set_faults".into(),
            params: vec![Param { name: "options".into(), ty: "map".into() }],
            returns: String::new(),
            doc: "Makes requests fail: `throttle_rate` of them with 503 `SlowDown`, `error_rate`\nwith 500 (fractions; default 0), drawn from `seed` (default 0).\n\nMore `text` here.".into(),
        };
        assert_eq!(faults.options(), ["throttle_rate", "error_rate", "seed"]);
    }

    #[test]
    fn every_module_function_has_a_doc_comment_with_an_example() {
        let doc = ApiDoc::reference();
        for m in doc.modules.iter().filter(|m| !m.stdlib) {
            for f in &m.functions {
                assert!(
                    f.example().is_some(),
                    "{} has no ```rhai example in its doc comment",
                    f.signature()
                );
            }
        }
        for f in &doc.globals {
            assert!(f.example().is_some(), "{} has no example", f.signature());
        }
    }

    #[test]
    fn every_options_parameter_documents_its_keys() {
        let doc = ApiDoc::reference();
        for m in doc.modules.iter().filter(|m| !m.stdlib) {
            for f in &m.functions {
                if f.params
                    .last()
                    .is_some_and(|p| p.ty == "map" && p.name == "options")
                {
                    assert!(
                        !doc.options_of(&f.qualified()).is_empty(),
                        "{} takes options but its doc comment names none (write `Options: `key` (...)`)",
                        f.signature()
                    );
                }
            }
        }
    }

    #[test]
    fn signatures_read_like_scripts() {
        let doc = ApiDoc::reference();
        let sigs: Vec<String> = doc
            .overloads("s3::head_object")
            .iter()
            .map(|f| f.signature())
            .collect();
        assert_eq!(
            sigs,
            [
                "s3::head_object(bucket: string, key: string) -> map",
                "s3::head_object(bucket: string, key: string, options: map) -> map"
            ]
        );
        assert_eq!(
            doc.overloads("Report.total")[0].signature(),
            "report.total -> int"
        );
        assert_eq!(
            doc.overloads("tutorial::config")[0].signature(),
            "tutorial::config(tier, days)"
        );
    }
}
