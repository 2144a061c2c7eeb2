//! A YAML document as a tree of nodes that remember where they stand in the source.
//!
//! serde_yaml reports positions only for syntax and type errors; the validator must point at the
//! offending node for semantic errors too (an unknown role in `on:`, a duplicate step id). So the
//! runbook loader reads YAML through this tree instead, built from yaml-rust2's marked events.
//! This module only parses; it knows nothing of runbooks.

use std::collections::HashMap;

use super::diag::Code;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in the source: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    fn from_marker(m: &Marker) -> Pos {
        Pos {
            line: m.line(),
            col: m.col() + 1,
        }
    }
}

/// One YAML node with its position.
#[derive(Debug, Clone)]
pub struct Node {
    pub pos: Pos,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A scalar; `plain` is true when it was written without quotes or block style, which is what
    /// decides whether `true`, `12` or `~` are a bool, a number or null rather than text.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Entries in source order; keys are scalars (other keys are reported as syntax errors).
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position.
#[derive(Debug, Clone)]
pub struct Key {
    pub text: String,
    pub pos: Pos,
}

impl Node {
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, plain: true } if text.is_empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
    }

    /// What kind of YAML value this is, in words, for messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a map",
            NodeKind::Scalar { .. } if self.is_null() => "nothing (null)",
            NodeKind::Scalar { text, plain: true } if text == "true" || text == "false" => {
                "a boolean"
            }
            NodeKind::Scalar { text, plain: true } if text.parse::<f64>().is_ok() => "a number",
            NodeKind::Scalar { .. } => "a string",
        }
    }
}

/// One step of a path into a document: a map key or a list index.
#[derive(Debug, Clone, Copy)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

impl Node {
    /// The node at `path`, if the path leads anywhere.
    pub fn get(&self, path: &[Seg]) -> Option<&Node> {
        let mut node = self;
        for seg in path {
            node = match (seg, &node.kind) {
                (Seg::Key(k), NodeKind::Map(entries)) => {
                    &entries.iter().find(|(key, _)| key.text == *k)?.1
                }
                (Seg::Index(i), NodeKind::Seq(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Where the node at `path` is: for a map key, the key itself (what a reader looks for when
    /// told a key is wrong); otherwise the node. `None` when the path does not lead anywhere.
    pub fn locate(&self, path: &[Seg]) -> Option<Pos> {
        let mut node = self;
        let mut pos = self.pos;
        for seg in path {
            match (seg, &node.kind) {
                (Seg::Key(k), NodeKind::Map(entries)) => {
                    let (key, value) = entries.iter().find(|(key, _)| key.text == *k)?;
                    pos = key.pos;
                    node = value;
                }
                (Seg::Index(i), NodeKind::Seq(items)) => {
                    node = items.get(*i)?;
                    pos = node.pos;
                }
                _ => return None,
            }
        }
        Some(pos)
    }
}

/// A syntax error, with its position and the code its diagnostic carries.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub pos: Pos,
    pub code: Code,
    pub message: String,
}

/// How deep lists and maps may nest. A runbook needs a dozen levels; far deeper nesting is an
/// attack on the stack of every reader that walks the tree.
pub const MAX_DEPTH: usize = 128;

/// How many values (scalars, lists, maps) a document may have once its aliases are expanded.
/// The bundled runbooks have a few thousand; a few hundred bytes of nested aliases (a "billion
/// laughs") would otherwise expand to gigabytes.
pub const MAX_VALUES: usize = 1_000_000;

/// How many bytes of scalar text a document may have once its aliases are expanded.
pub const MAX_TEXT: usize = 64 << 20;

/// Parses one YAML document. An empty document yields `Ok(None)`. Nesting deeper than
/// [`MAX_DEPTH`], or aliases that expand past [`MAX_VALUES`] values or [`MAX_TEXT`] bytes of
/// text, are errors at the place that crosses the line, reported before anything is expanded
/// further.
pub fn parse(source: &str) -> Result<Option<Node>, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(source);
    // Event by event rather than through `Parser::load`, which recurses once per level of
    // nesting and so overflows the stack on a deep enough document before the tree can object.
    loop {
        match parser.next_token() {
            Ok((event, mark)) => {
                let end = event == Event::StreamEnd;
                builder.on_event(event, mark);
                if end || builder.error.is_some() {
                    break;
                }
            }
            Err(e) => {
                let err = SyntaxError {
                    pos: Pos::from_marker(e.marker()),
                    code: Code::YamlSyntax,
                    message: clean_scan_message(e.info()),
                };
                return Err(super::indent::explain(source, e.info(), err));
            }
        }
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    if builder.documents > 1 {
        return Err(SyntaxError {
            pos: builder.second_document.unwrap_or_default(),
            code: Code::YamlSyntax,
            message: "expected one YAML document, found several".into(),
        });
    }
    Ok(builder.root)
}

fn clean_scan_message(info: &str) -> String {
    let info = info.trim();
    if info == "recursion limit exceeded" {
        return "YAML syntax: lists and maps nest too deep here".into();
    }
    match info.strip_prefix("while parsing ") {
        Some(rest) => format!("YAML syntax: while parsing {rest}"),
        None => format!("YAML syntax: {info}"),
    }
}

enum Frame {
    Seq(Pos, usize, Vec<Node>),
    Map(Pos, usize, Vec<(Key, Node)>, Option<Key>),
}

/// What a node weighs once expanded: values and bytes of text.
#[derive(Debug, Clone, Copy, Default)]
struct Weight {
    values: usize,
    text: usize,
}

impl Weight {
    fn of(node: &Node) -> Weight {
        let mut w = Weight::default();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            w.values += 1;
            match &n.kind {
                NodeKind::Scalar { text, .. } => w.text += text.len(),
                NodeKind::Seq(items) => stack.extend(items),
                NodeKind::Map(entries) => {
                    for (k, v) in entries {
                        w.text += k.text.len();
                        stack.push(v);
                    }
                }
            }
        }
        w
    }
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// Each anchor's node and what it weighs.
    anchors: HashMap<usize, (Node, Weight)>,
    /// The document so far, aliases expanded.
    total: Weight,
    root: Option<Node>,
    error: Option<SyntaxError>,
    documents: usize,
    second_document: Option<Pos>,
}

impl Builder {
    fn fail(&mut self, pos: Pos, code: Code, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(SyntaxError {
                pos,
                code,
                message: message.into(),
            });
        }
    }

    /// Adds what a value weighs to the document's total; false (and an error at `pos`) past
    /// the limits.
    fn weigh(&mut self, pos: Pos, w: Weight) -> bool {
        self.total.values = self.total.values.saturating_add(w.values);
        self.total.text = self.total.text.saturating_add(w.text);
        if self.total.values > MAX_VALUES {
            self.fail(
                pos,
                Code::InvalidValue,
                format!("the document expands to more than {MAX_VALUES} values (aliases that repeat aliases?)"),
            );
            return false;
        }
        if self.total.text > MAX_TEXT {
            self.fail(
                pos,
                Code::InvalidValue,
                format!(
                    "the document expands to more than {} MiB of text (aliases that repeat aliases?)",
                    MAX_TEXT >> 20
                ),
            );
            return false;
        }
        true
    }

    /// Whether a node's tag is one this tree understands: none, or YAML's own (`!!str`, `!!map`,
    /// ...), which change nothing here. Any other (`!foo`) would be silently ignored, so it is an
    /// error.
    fn known_tag(&mut self, pos: Pos, tag: Option<&Tag>) -> bool {
        let Some(tag) = tag else {
            return true;
        };
        const CORE: [&str; 7] = ["str", "int", "float", "bool", "null", "seq", "map"];
        let core = tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!";
        if core && CORE.contains(&tag.suffix.as_str()) {
            return true;
        }
        let shown = match tag.handle.as_str() {
            "!" => format!("!{}", tag.suffix),
            "tag:yaml.org,2002:" | "!!" => format!("!!{}", tag.suffix),
            handle => format!("{handle}{}", tag.suffix),
        };
        self.fail(
            pos,
            Code::YamlTag,
            format!(
                "unknown YAML tag `{shown}`: stepwise reads plain YAML values and would ignore it"
            ),
        );
        false
    }

    fn open(&mut self, pos: Pos, frame: Frame) {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(
                pos,
                Code::InvalidValue,
                format!("lists and maps nest deeper than {MAX_DEPTH} levels here"),
            );
            return;
        }
        self.stack.push(frame);
    }

    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            let weight = Weight::of(&node);
            self.anchors.insert(anchor, (node.clone(), weight));
        }
        match self.stack.last_mut() {
            None => {
                if self.documents <= 1 {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, entries, pending)) => match pending.take() {
                Some(key) => {
                    if let Some((first, _)) = entries.iter().find(|(k, _)| k.text == key.text) {
                        let message = format!(
                            "duplicate key `{}` (first at line {})",
                            key.text, first.pos.line
                        );
                        let pos = key.pos;
                        self.fail(pos, Code::DuplicateKey, message);
                        return;
                    }
                    entries.push((key, node));
                }
                None => match node.kind {
                    NodeKind::Scalar { text, .. } => {
                        *pending = Some(Key {
                            text,
                            pos: node.pos,
                        })
                    }
                    _ => {
                        let pos = node.pos;
                        *pending = Some(Key {
                            text: String::new(),
                            pos,
                        });
                        self.fail(
                            pos,
                            Code::InvalidValue,
                            "a mapping key must be a plain value, not a list or map",
                        );
                    }
                },
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            // The first error is the one reported; building on would only cost time and memory.
            return;
        }
        let pos = Pos::from_marker(&mark);
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents == 2 {
                    self.second_document = Some(pos);
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if !self.known_tag(pos, tag.as_ref()) {
                    return;
                }
                let plain = style == TScalarStyle::Plain;
                let weight = Weight {
                    values: 1,
                    text: text.len(),
                };
                if !self.weigh(pos, weight) {
                    return;
                }
                self.push_value(
                    Node {
                        pos,
                        kind: NodeKind::Scalar { text, plain },
                    },
                    anchor,
                );
            }
            Event::Alias(id) => match self.anchors.get(&id).map(|(_, w)| *w) {
                Some(weight) => {
                    // Weighed before it is copied: a bomb is refused before it goes off.
                    if !self.weigh(pos, weight) {
                        return;
                    }
                    let mut node = self.anchors[&id].0.clone();
                    node.pos = pos;
                    self.push_value(node, 0);
                }
                None => self.fail(pos, Code::InvalidValue, "alias to an unknown anchor"),
            },
            Event::SequenceStart(anchor, tag) => {
                if self.known_tag(pos, tag.as_ref()) {
                    self.open(pos, Frame::Seq(pos, anchor, Vec::new()))
                }
            }
            Event::MappingStart(anchor, tag) => {
                if self.known_tag(pos, tag.as_ref()) {
                    self.open(pos, Frame::Map(pos, anchor, Vec::new(), None))
                }
            }
            Event::SequenceEnd => {
                if !self.weigh(pos, Weight { values: 1, text: 0 }) {
                    return;
                }
                if let Some(Frame::Seq(start, anchor, items)) = self.stack.pop() {
                    self.push_value(
                        Node {
                            pos: start,
                            kind: NodeKind::Seq(items),
                        },
                        anchor,
                    );
                }
            }
            Event::MappingEnd => {
                if !self.weigh(pos, Weight { values: 1, text: 0 }) {
                    return;
                }
                if let Some(Frame::Map(start, anchor, entries, _)) = self.stack.pop() {
                    // A block map's start marker can fall after its first key; the first key is
                    // where a reader looks for the map.
                    let pos = entries.first().map_or(start, |(k, _)| k.pos.min(start));
                    self.push_value(
                        Node {
                            pos,
                            kind: NodeKind::Map(entries),
                        },
                        anchor,
                    );
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let node = parse("a: 1\nb:\n  - x\n  - 'y'\n").unwrap().unwrap();
        let NodeKind::Map(entries) = &node.kind else {
            panic!("not a map")
        };
        assert_eq!(entries[0].0.pos, Pos { line: 1, col: 1 });
        assert_eq!(entries[1].0.pos, Pos { line: 2, col: 1 });
        let NodeKind::Seq(items) = &entries[1].1.kind else {
            panic!("not a list")
        };
        assert_eq!(items[0].pos, Pos { line: 3, col: 5 });
        assert!(matches!(
            &items[1].kind,
            NodeKind::Scalar { plain: false, .. }
        ));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 3, col: 1 });
        assert_eq!(err.message, "duplicate key `a` (first at line 1)");
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_refused_where_they_start() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
            let prev = ["a", "b", "c", "d", "e", "f", "g", "h"][i];
            bomb.push_str(&format!("{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let err = parse(&bomb).unwrap_err();
        assert_eq!(err.pos.line, 6, "{err:?}");
        assert_eq!(
            err.message,
            "the document expands to more than 1000000 values (aliases that repeat aliases?)"
        );
        let deep = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
        let err = parse(&deep).unwrap_err();
        assert_eq!(
            err.pos,
            Pos {
                line: 1,
                col: 4 + 127
            }
        );
        assert_eq!(
            err.message,
            "lists and maps nest deeper than 128 levels here"
        );
        assert!(parse(&format!("a: {}{}\n", "[".repeat(100), "]".repeat(100))).is_ok());
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1, "{err:?}");
    }
}
