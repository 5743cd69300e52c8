//! The shipped playbooks (`scripts/*.rhai`), compiled into the binary like `stdlib/`, so that
//! `s3thaw run restore-prefix` works after `cargo install` as well as in a checkout; and the
//! variables a script asks for with `arg("NAME", default)`, found before it runs (in the script
//! and in every module it imports), for `s3thaw playbooks`, `s3thaw run SCRIPT --help` and the
//! unknown-`--var` check.

use std::path::{Path, PathBuf};

use rhai::Engine;
use rhai::{ASTNode, Expr, Stmt};

/// The playbooks shipped with s3thaw: `(name, text)`, the name being the file's stem.
pub const PLAYBOOKS: &[(&str, &str)] = &[
    ("estimate", include_str!("../scripts/estimate.rhai")),
    ("restore", include_str!("../scripts/restore.rhai")),
    (
        "restore-prefix",
        include_str!("../scripts/restore-prefix.rhai"),
    ),
    ("retry-failed", include_str!("../scripts/retry-failed.rhai")),
];

/// A script to run: read from disk, or one of the embedded playbooks.
#[derive(Debug, Clone)]
pub struct Script {
    /// How errors name it: the path given, or `embedded:NAME.rhai`.
    pub name: String,
    pub text: String,
    /// Where `import` looks first (the file's folder; none for an embedded playbook).
    pub dir: Option<PathBuf>,
}

/// The embedded playbook `name` (`restore-prefix`, `restore-prefix.rhai`), if there is one.
pub fn embedded(name: &str) -> Option<&'static str> {
    let name = name.strip_suffix(".rhai").unwrap_or(name);
    PLAYBOOKS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Loads `path`: a file on disk wins; otherwise a bare playbook name (`restore-prefix`) or a
/// shipped path (`scripts/restore.rhai`) is the embedded playbook of that name.
pub fn load(path: &Path) -> Result<Script, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Script {
            name: path.display().to_string(),
            text,
            dir: path.parent().map(Path::to_path_buf),
        }),
        Err(e) => {
            let parent = path.parent().map(|p| p.to_string_lossy().to_string());
            let shipped_place = matches!(parent.as_deref(), None | Some("" | "scripts"));
            let stem = path.file_name().map(|f| f.to_string_lossy().to_string());
            if e.kind() == std::io::ErrorKind::NotFound
                && shipped_place
                && let Some(stem) = stem
                && let Some(text) = embedded(&stem)
            {
                let stem = stem.strip_suffix(".rhai").unwrap_or(&stem);
                return Ok(Script {
                    name: format!("embedded:{stem}.rhai"),
                    text: text.to_string(),
                    dir: None,
                });
            }
            let names: Vec<&str> = PLAYBOOKS.iter().map(|(n, _)| *n).collect();
            Err(format!(
                "cannot read {}: {e} (the embedded playbooks are {}: `s3thaw playbooks` lists them)",
                path.display(),
                names.join(", ")
            ))
        }
    }
}

/// One `arg("NAME", default)` of a script or of a module it imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    pub name: String,
    /// The default as written in the script (`"BULK"`, `7`, `bucket`).
    pub default: String,
    /// The comment at the end of the line, if any.
    pub doc: Option<String>,
    /// Where it is asked for: the script or the imported module.
    pub source: String,
}

/// Every variable a script can ask for.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub vars: Vec<Var>,
    /// Some `arg(..)` has a name that is not a string literal: any `--var` might be asked for.
    pub dynamic: bool,
}

impl Vars {
    pub fn names(&self) -> Vec<&str> {
        self.vars.iter().map(|v| v.name.as_str()).collect()
    }
}

/// The text of the argument list of the call whose name starts at (`line`, `col`), split at
/// its top-level commas; `None` if it cannot be read.
fn call_args(text: &str, line: usize, col: usize) -> Option<Vec<String>> {
    let line_text = text.lines().nth(line.checked_sub(1)?)?;
    let start: usize = text
        .lines()
        .take(line - 1)
        .map(|l| l.len() + 1)
        .sum::<usize>()
        + line_text.char_indices().nth(col.checked_sub(1)?)?.0;
    let rest = &text[start..];
    let open = rest.find('(')?;
    let mut depth = 0usize;
    let mut args = vec![String::new()];
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in rest[open + 1..].chars() {
        if let Some(q) = quote {
            args.last_mut()?.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '`' | '\'' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => {
                return Some(args.into_iter().map(|a| a.trim().to_string()).collect());
            }
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                args.push(String::new());
                continue;
            }
            _ => {}
        }
        args.last_mut()?.push(c);
    }
    None
}

/// The `// comment` at the end of line `line` (1-based), if any.
fn line_comment(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (_, comment) = l.split_once("; //")?;
    Some(comment.trim().to_string()).filter(|c| !c.is_empty())
}

/// The text of a module `import "NAME"` names, from the script's folder or the stdlib.
fn module_text(name: &str, dir: Option<&Path>) -> Option<(String, String)> {
    let file = if name.ends_with(".rhai") {
        name.to_string()
    } else {
        format!("{name}.rhai")
    };
    if let Some(dir) = dir
        && let Ok(text) = std::fs::read_to_string(dir.join(&file))
    {
        return Some((file, text));
    }
    if dir.is_none() && !name.contains('/') {
        // From the working directory, as the engine resolves for a script without a folder.
        if let Ok(text) = std::fs::read_to_string(&file) {
            return Some((file, text));
        }
    }
    let stem = name.trim_end_matches(".rhai");
    crate::engine::STDLIB
        .iter()
        .find(|(n, _)| *n == stem)
        .map(|(n, t)| (n.to_string(), t.to_string()))
}

/// Every `arg("NAME", ..)` of `text` and of the modules it imports (recursively), in the order
/// they appear. Scripts that do not compile give what could be found (nothing).
pub fn vars(engine: &Engine, source: &str, text: &str, dir: Option<&Path>) -> Vars {
    let mut out = Vars::default();
    let mut seen_modules = Vec::new();
    collect(engine, source, text, dir, &mut out, &mut seen_modules);
    out
}

fn collect(
    engine: &Engine,
    source: &str,
    text: &str,
    dir: Option<&Path>,
    out: &mut Vars,
    seen: &mut Vec<String>,
) {
    let Ok(ast) = engine.compile(text) else {
        return;
    };
    let mut imports = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        let call = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, pos))) => Some((call, pos)),
            // A call as a whole statement (a function's last line) is a statement node.
            Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => Some((call, pos)),
            Some(ASTNode::Stmt(Stmt::Import(import, _))) => {
                if let Expr::StringConstant(name, _) = &import.0 {
                    imports.push(name.to_string());
                }
                None
            }
            _ => None,
        };
        let Some((call, pos)) = call.filter(|(call, _)| {
            call.name == "arg" && call.namespace.is_empty() && call.args.len() == 2
        }) else {
            return true;
        };
        let Expr::StringConstant(name, _) = &call.args[0] else {
            out.dynamic = true;
            return true;
        };
        if !out.vars.iter().any(|v| v.name == name.as_str()) {
            let (line, col) = (pos.line().unwrap_or(0), pos.position().unwrap_or(0));
            let default = call_args(text, line, col)
                .and_then(|a| a.get(1).cloned())
                .unwrap_or_else(|| "?".to_string());
            out.vars.push(Var {
                name: name.to_string(),
                default,
                doc: line_comment(text, line),
                source: source.to_string(),
            });
        }
        true
    });
    for name in imports {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        if let Some((module, module_text)) = module_text(&name, dir) {
            collect(engine, &module, &module_text, dir, out, seen);
        }
    }
}

/// The comment block a script starts with, without the `//`.
pub fn header(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("//") else {
            break;
        };
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        out.push_str(rest.trim_end());
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// The variables as an aligned list: `  --var NAME=DEFAULT   comment`.
pub fn vars_text(vars: &Vars) -> String {
    if vars.vars.is_empty() {
        return "  (none)\n".to_string();
    }
    let width = vars
        .vars
        .iter()
        .map(|v| v.name.len() + v.default.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for v in &vars.vars {
        let left = format!("--var {}={}", v.name, v.default);
        let mut line = format!("  {left:<w$}", w = width + 7);
        if let Some(doc) = &v.doc {
            line.push_str(&format!("  {doc}"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `s3thaw run SCRIPT --help`: the script's header comment and its variables.
pub fn help(script: &Script) -> String {
    let engine = crate::engine::new_engine();
    let vars = vars(&engine, &script.name, &script.text, script.dir.as_deref());
    let mut out = format!("{}\n\n", script.name);
    let header = header(&script.text);
    if !header.is_empty() {
        out.push_str(&header);
        out.push_str("\n\n");
    }
    out.push_str(
        "Variables (--var NAME=VALUE; the default is used when a variable is not given):\n",
    );
    out.push_str(&vars_text(&vars));
    out.push_str("\nAlso: --yes (answer yes to confirm), --json, --quiet, --backend, --state.\n");
    out
}

/// The unknown `--var`s of a run: `Err` with the message of the usage error (with a
/// did-you-mean), before anything runs.
pub fn check_vars(given: &[(String, String)], vars: &Vars, script: &str) -> Result<(), String> {
    if vars.dynamic {
        return Ok(());
    }
    let known = vars.names();
    let mut problems = Vec::new();
    for (name, _) in given {
        if known.contains(&name.as_str()) {
            continue;
        }
        let mut line = format!("unknown variable `--var {name}`: {script} never asks for it");
        if let Some(close) = crate::hints::did_you_mean(name, known.iter().copied()) {
            line.push_str(&format!("; did you mean `--var {close}`?"));
        }
        problems.push(line);
    }
    if problems.is_empty() {
        return Ok(());
    }
    let list = if known.is_empty() {
        "it asks for none".to_string()
    } else {
        format!("it asks for {}", known.join(", "))
    };
    Err(format!(
        "{}\n  = note: {list} (`s3thaw run {script} --help` shows the defaults)",
        problems.join("\nerror: ")
    ))
}

/// `s3thaw playbooks`: the embedded playbooks with their variables and defaults.
pub fn list_text() -> String {
    let engine = crate::engine::new_engine();
    let mut out = String::new();
    for (name, text) in PLAYBOOKS {
        let header = header(text);
        let paragraph = header.split("\n\n").next().unwrap_or("").replace('\n', " ");
        let first = match paragraph.find(". ") {
            Some(cut) if cut < 100 => paragraph[..cut + 1].to_string(),
            _ => paragraph.clone(),
        };
        out.push_str(&format!("{name}: {first}\n"));
        out.push_str(&format!("  s3thaw run {name} [--var NAME=VALUE ...]\n"));
        out.push_str(&vars_text(&vars(&engine, name, text, None)));
        out.push('\n');
    }
    out.push_str(
        "A file on disk wins over an embedded playbook of the same name; `s3thaw playbooks --copy DIR` writes editable copies.\n",
    );
    out
}

/// `s3thaw playbooks --copy DIR`: writes each playbook as `DIR/NAME.rhai`, never over a file.
pub fn copy_to(dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for (name, text) in PLAYBOOKS {
        let path = dir.join(format!("{name}.rhai"));
        if path.exists() {
            return Err(format!(
                "{} exists: not overwritten (copy into an empty folder)",
                path.display()
            ));
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The `s3thaw playbooks` command; returns the exit code.
pub fn command(copy: Option<&Path>) -> u8 {
    match copy {
        None => {
            crate::progress::write_stdout(&list_text());
            0
        }
        Some(dir) => match copy_to(dir) {
            Ok(paths) => {
                for p in paths {
                    println!("wrote {}", p.display());
                }
                println!("Run one with `s3thaw run {}/NAME.rhai`.", dir.display());
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                crate::app::EXIT_USAGE
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_playbook_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let p = e.unwrap().path();
                (p.extension()? == "rhai")
                    .then(|| p.file_stem().unwrap().to_string_lossy().to_string())
            })
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = PLAYBOOKS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            on_disk, embedded,
            "add scripts/NAME.rhai to playbooks::PLAYBOOKS"
        );
    }

    #[test]
    fn finds_args_in_the_script_and_its_imports() {
        let engine = crate::engine::new_engine();
        let v = vars(&engine, "restore", embedded("restore").unwrap(), None);
        assert_eq!(v.names(), ["tier", "days"]);
        assert_eq!(v.vars[0].default, "\"STANDARD\"");
        let v = vars(&engine, "rp", embedded("restore-prefix").unwrap(), None);
        assert!(v.names().contains(&"prefix"));
        assert_eq!(
            v.vars.iter().find(|x| x.name == "classes").unwrap().default,
            "[\"GLACIER\", \"DEEP_ARCHIVE\"]"
        );
        let text = "import \"m\" as m;\nfn f() { arg(\"inner\", #{a: 1, b: (2)}) }\nlet x = arg(\"x\", 1); // the x\n";
        let v = vars(&engine, "t", text, None);
        assert!(!v.dynamic);
        assert_eq!(v.names(), ["x", "inner"]);
        assert_eq!(v.vars[1].default, "#{a: 1, b: (2)}");
        assert_eq!(v.vars[0].doc.as_deref(), Some("the x"));
        assert!(vars(&engine, "t", "let n = \"a\"; arg(n, 1)", None).dynamic);
    }

    #[test]
    fn unknown_vars_are_named_with_a_suggestion() {
        let engine = crate::engine::new_engine();
        let v = vars(&engine, "restore", embedded("restore").unwrap(), None);
        let err = check_vars(&[("dayz".into(), "3".into())], &v, "restore").unwrap_err();
        assert!(err.contains("did you mean `--var days`"), "{err}");
        assert!(check_vars(&[("days".into(), "3".into())], &v, "restore").is_ok());
    }
}
