//! Small XML helpers for the wire faces: a writer for AWS's response documents and a reader that
//! turns a request body into a tree to pick fields from.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Escapes text for an element body or an attribute value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Carriage returns would be normalized away by readers: keep them as references.
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// Builds an XML document element by element.
pub struct XmlWriter {
    out: String,
    open: Vec<&'static str>,
}

impl XmlWriter {
    /// A document whose root element carries `xmlns` when given.
    pub fn new(root: &'static str, xmlns: Option<&str>) -> XmlWriter {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        match xmlns {
            Some(ns) => out.push_str(&format!("<{root} xmlns=\"{}\">", escape(ns))),
            None => out.push_str(&format!("<{root}>")),
        }
        XmlWriter {
            out,
            open: vec![root],
        }
    }

    /// Opens a child element; close it with [`XmlWriter::end`].
    pub fn start(&mut self, name: &'static str) -> &mut Self {
        self.out.push_str(&format!("<{name}>"));
        self.open.push(name);
        self
    }

    pub fn end(&mut self) -> &mut Self {
        if let Some(name) = self.open.pop() {
            self.out.push_str(&format!("</{name}>"));
        }
        self
    }

    /// A leaf element with text.
    pub fn el(&mut self, name: &str, text: impl AsRef<str>) -> &mut Self {
        self.out
            .push_str(&format!("<{name}>{}</{name}>", escape(text.as_ref())));
        self
    }

    /// A leaf element only when there is a value.
    pub fn opt(&mut self, name: &str, text: Option<impl AsRef<str>>) -> &mut Self {
        if let Some(text) = text {
            self.el(name, text);
        }
        self
    }

    /// Closes every open element and returns the document.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.end();
        }
        self.out
    }
}

/// An element of a parsed request body: its local name (namespace prefixes dropped), its text
/// and its children in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of a child, trimmed.
    pub fn text_of(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.trim().to_string())
    }

    /// Follows a path of child names.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, name| node.child(name))
    }
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

/// Deepest element nesting a request body may have: AWS's documents nest a handful of levels.
pub const MAX_DEPTH: usize = 32;
/// Most elements a request body may have: CompleteMultipartUpload's 10,000 parts with their
/// checksums fit; a flood of elements does not.
pub const MAX_ELEMENTS: usize = 100_000;

/// Parses a whole document into its root element. Nesting deeper than [`MAX_DEPTH`] or more than
/// [`MAX_ELEMENTS`] elements is refused (the callers answer `MalformedXML`).
pub fn parse(body: &[u8]) -> Result<Node, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the XML body is not UTF-8".to_string())?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut elements = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.buffer_position()))?;
        if matches!(event, Event::Start(_) | Event::Empty(_)) {
            elements += 1;
            if elements > MAX_ELEMENTS {
                return Err(format!(
                    "the XML body has more than {MAX_ELEMENTS} elements"
                ));
            }
            if root.is_some() {
                return Err("the XML body has more than one root element".into());
            }
        }
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!(
                        "the XML body nests elements deeper than {MAX_DEPTH} levels"
                    ));
                }
                stack.push(Node {
                    name: start.local_name().as_ref().to_string(),
                    ..Node::default()
                })
            }
            Event::Empty(start) => {
                let node = Node {
                    name: start.local_name().as_ref().to_string(),
                    ..Node::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or("unbalanced XML")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.into_inner());
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = r
                    .resolve_char_ref()
                    .map_err(|e| format!("bad character reference: {e}"))?;
                let c = match resolved {
                    Some(c) => c,
                    None => {
                        entity(&r.into_inner()).ok_or_else(|| "unknown XML entity".to_string())?
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("the XML document ends inside an element".into());
    }
    root.ok_or_else(|| "the XML body has no root element".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_back() {
        let mut w = XmlWriter::new("Root", Some("http://s3.amazonaws.com/doc/2006-03-01/"));
        w.start("Item")
            .el("Key", "a&b <c>")
            .end()
            .opt("None", None::<&str>);
        let doc = w.finish();
        assert!(doc.contains("<Key>a&amp;b &lt;c&gt;</Key>"), "{doc}");
        let root = parse(doc.as_bytes()).unwrap();
        assert_eq!(root.name, "Root");
        assert_eq!(root.at(&["Item", "Key"]).unwrap().text, "a&b <c>");
        assert!(root.child("None").is_none());
    }

    #[test]
    fn prefixes_and_empty_elements() {
        let root = parse(
            b"<x:Delete xmlns:x=\"u\"><x:Object><Key>k&#49;</Key></x:Object><Quiet/></x:Delete>",
        )
        .unwrap();
        assert_eq!(root.name, "Delete");
        assert_eq!(root.text_of("Quiet").as_deref(), Some(""));
        assert_eq!(root.at(&["Object", "Key"]).unwrap().text, "k1");
        assert!(parse(b"<a><b></a>").is_err());
    }

    #[test]
    fn depth_and_element_counts_are_bounded() {
        let deep = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(parse(deep(MAX_DEPTH).as_bytes()).is_ok());
        let err = parse(deep(MAX_DEPTH + 1).as_bytes()).unwrap_err();
        assert!(err.contains("deeper"), "{err}");
        // 50,000 levels: refused at the bound, no stack overflow on the way out.
        assert!(parse(deep(50_000).as_bytes()).is_err());
        let wide = |n: usize| format!("<r>{}</r>", "<b/>".repeat(n));
        assert!(parse(wide(MAX_ELEMENTS - 1).as_bytes()).is_ok());
        let err = parse(wide(MAX_ELEMENTS).as_bytes()).unwrap_err();
        assert!(err.contains("more than"), "{err}");
        assert!(parse(b"<a/><b/>").is_err());
    }
}
