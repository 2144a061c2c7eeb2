//! A YAML document as a tree of nodes that remember where they stand in the source.
//!
//! serde_yaml reports positions only for syntax and type errors; the validator must point at the
//! offending node for semantic errors too (an unknown role in `on:`, a duplicate step id). So the
//! runbook loader reads YAML through this tree instead, built from yaml-rust2's marked events.
//! This module only parses; it knows nothing of runbooks.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
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

/// A syntax error, with its position.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Parses one YAML document. An empty document yields `Ok(None)`.
pub fn parse(source: &str) -> Result<Option<Node>, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(source);
    if let Err(e) = parser.load(&mut builder, true) {
        let err = SyntaxError {
            pos: Pos::from_marker(e.marker()),
            message: clean_scan_message(e.info()),
        };
        return Err(super::indent::explain(source, e.info(), err));
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    if builder.documents > 1 {
        return Err(SyntaxError {
            pos: builder.second_document.unwrap_or_default(),
            message: "expected one YAML document, found several".into(),
        });
    }
    Ok(builder.root)
}

fn clean_scan_message(info: &str) -> String {
    let info = info.trim();
    match info.strip_prefix("while parsing ") {
        Some(rest) => format!("YAML syntax: while parsing {rest}"),
        None => format!("YAML syntax: {info}"),
    }
}

enum Frame {
    Seq(Pos, usize, Vec<Node>),
    Map(Pos, usize, Vec<(Key, Node)>, Option<Key>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    error: Option<SyntaxError>,
    documents: usize,
    second_document: Option<Pos>,
}

impl Builder {
    fn fail(&mut self, pos: Pos, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(SyntaxError {
                pos,
                message: message.into(),
            });
        }
    }

    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
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
                        self.fail(pos, message);
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
        let pos = Pos::from_marker(&mark);
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents == 2 {
                    self.second_document = Some(pos);
                }
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let plain = style == TScalarStyle::Plain;
                self.push_value(
                    Node {
                        pos,
                        kind: NodeKind::Scalar { text, plain },
                    },
                    anchor,
                );
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(mut node) => {
                    node.pos = pos;
                    self.push_value(node, 0);
                }
                None => self.fail(pos, "alias to an unknown anchor"),
            },
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(pos, anchor, Vec::new())),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(pos, anchor, Vec::new(), None))
            }
            Event::SequenceEnd => {
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
    fn syntax_errors_have_positions() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1, "{err:?}");
    }
}
