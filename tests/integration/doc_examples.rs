//! Every ```` ```rhai ```` example in the doc comments of the exported script functions compiles
//! with the real engine. The examples are taken from the engine's own metadata through
//! `s3thaw::docs` (the same text `docs/API.md`, the REPL's `:help` and completion show), so an
//! example that would mislead a reader fails here, naming its function. Compile only: the
//! examples name buckets and jobs that exist nowhere.

use rhai::Engine;
use s3thaw::docs::{ApiDoc, FnDoc, FnKind, Param};

/// Every fenced ```` ```rhai ```` block of a doc comment, in order.
fn rhai_blocks(doc: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find("```rhai\n") {
        let body = &rest[start + "```rhai\n".len()..];
        let Some(len) = body.find("```") else {
            break;
        };
        blocks.push(&body[..len]);
        rest = &body[len + 3..];
    }
    blocks
}

/// Every documented function of the reference: global functions, module functions (built in
/// and from the embedded stdlib) and the methods and properties of host types.
fn documented(doc: &ApiDoc) -> Vec<&FnDoc> {
    doc.globals
        .iter()
        .chain(doc.modules.iter().flat_map(|m| m.functions.iter()))
        .chain(doc.types.values().flatten())
        .collect()
}

/// The examples that do not compile, as `function (example N): error`.
fn broken_examples<'a>(
    engine: &Engine,
    functions: impl IntoIterator<Item = &'a FnDoc>,
) -> Vec<String> {
    let mut broken = Vec::new();
    for f in functions {
        for (n, example) in rhai_blocks(&f.doc).into_iter().enumerate() {
            if let Err(e) = engine.compile(example) {
                broken.push(format!(
                    "{} (example {}): {e}\n{example}",
                    f.signature(),
                    n + 1
                ));
            }
        }
    }
    broken
}

#[test]
fn every_doc_comment_example_compiles() {
    let doc = ApiDoc::reference();
    let functions = documented(&doc);
    let examples: usize = functions.iter().map(|f| rhai_blocks(&f.doc).len()).sum();
    // The reference really is the whole API: dozens of functions, each with its example.
    assert!(
        functions.len() > 50 && examples >= functions.len() / 2,
        "only {} functions and {examples} examples in the reference",
        functions.len()
    );
    // The blocks found here include the one the reference shows as the example.
    for f in &functions {
        if let Some(shown) = f.example() {
            assert!(
                rhai_blocks(&f.doc).iter().any(|b| b.trim_end() == shown),
                "{}: example not found",
                f.qualified()
            );
        }
    }
    let broken = broken_examples(&s3thaw::engine::new_engine(), functions);
    assert!(
        broken.is_empty(),
        "doc comment examples that do not compile:\n\n{}",
        broken.join("\n\n")
    );
}

#[test]
fn a_broken_example_is_reported_with_its_function() {
    let good = FnDoc {
        kind: FnKind::Module("s3".into()),
        name: "head_object".into(),
        params: vec![Param {
            name: "bucket".into(),
            ty: "string".into(),
        }],
        returns: "map".into(),
        doc: "Reads.\n\n```rhai\nlet h = s3::head_object(\"b\", \"k\");\n```\n".into(),
    };
    let bad = FnDoc {
        kind: FnKind::Module("batch".into()),
        name: "describe".into(),
        params: Vec::new(),
        returns: "map".into(),
        doc: "First.\n\n```rhai\nlet ok = 1;\n```\n\nThen.\n\n```rhai\nlet job = batch::describe(id;\n```\n"
            .into(),
    };
    let broken = broken_examples(&s3thaw::engine::new_engine(), [&good, &bad]);
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert!(
        broken[0].starts_with("batch::describe() -> map (example 2): "),
        "{}",
        broken[0]
    );
}
