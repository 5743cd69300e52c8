//! `s3thaw report JOB --html FILE`: the page is parsed strictly (it is well-formed XML), its
//! parts are where they should be with the report's counts, every hostile value is escaped,
//! nothing is loaded from elsewhere, and, when chromium is installed, a headless browser
//! renders it with the same content.

use std::collections::BTreeMap;

use quick_xml::events::Event;

use crate::common::*;

/// A key that would run a script, close an attribute and start an entity if left raw.
const HOSTILE: &str = "<script>alert(\"key\")</script>&amp;'x'\" onload=\"boom.txt";

/// A restore job of three GLACIER objects; the one in `html-other` is outside the role's
/// policy, so its task fails with AccessDenied. Returns the job id.
fn job_with_a_failure(world: &World) -> String {
    let script = format!(
        r#"
        s3::create_bucket("html-archive");
        s3::create_bucket("html-other");
        s3::put_object("html-archive", "a.txt", "a", #{{ storage_class: "GLACIER" }});
        s3::put_object("html-archive", {hostile:?}, "b", #{{ storage_class: "GLACIER" }});
        s3::put_object("html-other", {hostile:?}, "c", #{{ storage_class: "GLACIER" }});
        let m = manifest::from_keys("html-archive", ["a.txt", {hostile:?}]);
        m.add("html-other", {hostile:?});
        let location = manifest::upload(m, "html-archive", "manifest.csv");
        let role = iam::create_role("html-role", iam::batch_trust_policy());
        iam::put_role_policy("html-role", "restore", iam::restore_policy(#{{
            targets: ["html-archive"], manifest_bucket: "html-archive", report_bucket: "html-archive",
        }}));
        let job = batch::create_job(#{{
            manifest: location,
            operation: batch::restore_operation(#{{ days: 2, tier: "BULK" }}),
            role_arn: role.arn,
            priority: 7,
            description: "<b>bold</b> & \"quoted\"",
            report: #{{ bucket: "html-archive", prefix: "reports", scope: "AllTasks" }},
            confirmation_required: false,
        }});
        batch::wait(job.id);
        #{{ id: job.id }}
        "#,
        hostile = HOSTILE
    );
    s(&world.map(&script), "id")
}

/// An element of the page: its name, attributes and text (its own and its descendants').
#[derive(Debug, Default, Clone)]
struct Element {
    name: String,
    attrs: BTreeMap<String, String>,
    text: String,
    /// Index of the parent in the list.
    parent: Option<usize>,
}

/// Parses the page strictly into a flat list of elements in document order.
fn parse(html: &str) -> Vec<Element> {
    let mut reader = quick_xml::Reader::from_str(html);
    reader.config_mut().check_end_names = true;
    let mut elements: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed at {}: {e}", reader.buffer_position()));
        let start = |e: &quick_xml::events::BytesStart, elements: &mut Vec<Element>| {
            let attrs = e
                .attributes()
                .map(|a| {
                    let a = a.expect("an attribute");
                    (
                        a.key.as_ref().to_string(),
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .expect("an escaped value")
                            .into_owned(),
                    )
                })
                .collect();
            elements.push(Element {
                name: e.name().as_ref().to_string(),
                attrs,
                text: String::new(),
                parent: open.last().copied(),
            });
            elements.len() - 1
        };
        match event {
            Event::Start(e) => {
                let i = start(&e, &mut elements);
                open.push(i);
            }
            Event::Empty(e) => {
                start(&e, &mut elements);
            }
            Event::End(_) => {
                open.pop().expect("an open element");
            }
            Event::Text(t) => {
                let t = t.into_inner().into_owned();
                for &i in &open {
                    elements[i].text.push_str(&t);
                }
            }
            Event::GeneralRef(r) => {
                let name = r.into_inner().into_owned();
                let t = quick_xml::escape::unescape(&format!("&{name};"))
                    .expect("a known entity")
                    .into_owned();
                for &i in &open {
                    elements[i].text.push_str(&t);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "unclosed elements");
    elements
}

fn by_id<'a>(elements: &'a [Element], id: &str) -> (usize, &'a Element) {
    elements
        .iter()
        .enumerate()
        .find(|(_, e)| e.attrs.get("id").map(String::as_str) == Some(id))
        .unwrap_or_else(|| panic!("no element with id {id}"))
}

fn within<'a>(elements: &'a [Element], ancestor: usize, name: &str) -> Vec<&'a Element> {
    let inside = |mut i: usize| loop {
        match elements[i].parent {
            Some(p) if p == ancestor => return true,
            Some(p) => i = p,
            None => return false,
        }
    };
    elements
        .iter()
        .enumerate()
        .filter(|(i, e)| e.name == name && inside(*i))
        .map(|(_, e)| e)
        .collect()
}

#[test]
fn report_html_is_one_self_contained_page_with_every_value_escaped() {
    let world = World::new();
    let id = job_with_a_failure(&world);
    let file = world.state().join("job.html");
    let state = world.state().to_str().unwrap().to_string();
    let out = world.cli(&[
        "report",
        &id[..8],
        "--html",
        file.to_str().unwrap(),
        "--state",
        &state,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Wrote "),
        "{}",
        text(&out.stderr)
    );
    // The terminal output is unchanged by --html.
    assert!(text(&out.stdout).contains("Completion report of job"));
    let html = std::fs::read_to_string(&file).expect("the page");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");

    // Nothing raw from the key or the description reaches the markup.
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<b>bold"), "{html}");
    assert!(!html.contains("onload=\""), "{html}");
    let elements = parse(&html);
    // No scripts, no frames, nothing fetched: no src, no href, no url() in styles.
    for e in &elements {
        assert!(
            !matches!(
                e.name.as_str(),
                "script" | "iframe" | "object" | "embed" | "link" | "img"
            ),
            "{e:?}"
        );
        assert!(
            !e.attrs.contains_key("src") && !e.attrs.contains_key("href"),
            "{e:?}"
        );
        assert!(!e.attrs.keys().any(|k| k.starts_with("on")), "{e:?}");
    }
    assert!(!html.contains("url("), "styles load nothing");

    // The card, with the hostile description as text.
    let (card, _) = by_id(&elements, "card");
    let dd: Vec<&str> = within(&elements, card, "dd")
        .iter()
        .map(|e| e.text.as_str())
        .collect();
    assert!(dd.contains(&"<b>bold</b> & \"quoted\""), "{dd:?}");
    assert!(
        dd.contains(&"1 succeeded, 2 failed of 3") || dd.contains(&"2 succeeded, 1 failed of 3"),
        "{dd:?}"
    );
    assert!(
        dd.iter()
            .any(|d| d.starts_with("S3InitiateRestoreObject, BULK tier, 2 day(s)")),
        "{dd:?}"
    );

    // The timeline: created, then Complete.
    let (timeline, _) = by_id(&elements, "timeline");
    let steps = within(&elements, timeline, "g");
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert!(steps[0].text.starts_with("created (New)"), "{steps:?}");
    assert!(steps[1].text.starts_with("Complete"), "{steps:?}");

    // Failures by code: the summary, one bar and one row for AccessDenied with its command.
    let (_, summary) = by_id(&elements, "summary");
    assert_eq!(summary.text, "3 tasks: 2 succeeded, 1 failed.");
    let (chart, _) = by_id(&elements, "failures-chart");
    let bars = within(&elements, chart, "g");
    assert_eq!(bars.len(), 1);
    assert_eq!(bars[0].text, "AccessDenied1");
    let (failures, _) = by_id(&elements, "failures");
    let rows = within(&elements, failures, "tr");
    assert_eq!(rows.len(), 2, "a header and one code: {rows:?}");
    assert!(rows[1].text.starts_with("AccessDenied1"), "{rows:?}");
    assert!(
        rows[1]
            .text
            .contains("aws iam put-role-policy --role-name html-role"),
        "{rows:?}"
    );

    // The failed task: the key shown exactly as it is.
    let (tasks, _) = by_id(&elements, "failed-tasks");
    let cells: Vec<&str> = within(&elements, tasks, "td")
        .iter()
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(cells[0], "html-other");
    assert_eq!(cells[1], HOSTILE);
    assert_eq!(cells[3], "AccessDenied");

    // Readiness of the job's objects (all three GLACIER, two being restored, one not).
    let (_, readiness) = by_id(&elements, "readiness-summary");
    assert!(
        readiness.text.contains("of 3 objects readable"),
        "{}",
        readiness.text
    );
    assert!(
        readiness.text.contains("1 not requested"),
        "{}",
        readiness.text
    );
    let (chart, _) = by_id(&elements, "readiness-chart");
    let classes = within(&elements, chart, "g");
    assert_eq!(classes.len(), 1);
    assert_eq!(classes[0].attrs["data-class"], "GLACIER");
    // Over time: the GLACIER row, due within BULK's window from the job's start.
    let (_, over_time) = by_id(&elements, "readiness-over-time");
    assert!(over_time.text.contains("BULK window"), "{}", over_time.text);
    assert!(
        over_time
            .text
            .lines()
            .any(|l| l.trim_start().starts_with("GLACIER") && l.contains("due 20")),
        "{}",
        over_time.text
    );

    if let Some(dom) = chromium_dom(&file) {
        // A real browser parsed the same page: the key is text in a cell, no script ran.
        assert!(dom.contains("id=\"failed-tasks\""), "{dom}");
        assert!(dom.contains("&lt;script&gt;alert"), "{dom}");
        assert!(!dom.contains("<script"), "{dom}");
        for id in [
            "card",
            "timeline",
            "failures-chart",
            "failures",
            "readiness-chart",
        ] {
            assert!(
                dom.contains(&format!("id=\"{id}\"")),
                "{id} missing from {dom}"
            );
        }
        assert_eq!(
            dom.matches("<tr>").count(),
            4,
            "header and row of two tables: {dom}"
        );
    }
}

/// The DOM of `file` as headless chromium builds it, or `None` (with a note) when chromium is
/// not installed (`.ci/run` tries `apt-get install -y chromium`).
fn chromium_dom(file: &std::path::Path) -> Option<String> {
    let browser = ["chromium", "chromium-browser"].into_iter().find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(browser) = browser else {
        eprintln!("skipped: chromium is not installed; the page was checked by parsing it only");
        return None;
    };
    let out = std::process::Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "{}", text(&out.stderr));
    Some(text(&out.stdout))
}
