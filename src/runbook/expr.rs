//! The `when` condition language: parsing, checking against parameters, and three-valued
//! evaluation.
//!
//! Grammar: `or` of `and` of `not`-prefixed atoms; an atom is a bool parameter name, a comparison
//! `name == literal` / `name != literal`, or a parenthesised expression. Evaluation is three-valued:
//! a parameter without a value leaves the condition open instead of guessing.

use std::fmt;

use super::diag::Code;
use super::model::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Bool(bool),
    Num(String),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // There are no escapes: a text holding a double quote is written in single quotes
            // (one cannot hold both).
            Literal::Str(s) if s.contains('"') => write!(f, "'{s}'"),
            Literal::Str(s) => write!(f, "\"{s}\""),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Num(n) => write!(f, "{n}"),
        }
    }
}

/// A parameter name inside an expression, with its byte offset in the expression text.
#[derive(Debug, Clone, PartialEq)]
pub struct NameRef {
    pub name: String,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Name(NameRef),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare {
        name: NameRef,
        equal: bool,
        literal: Literal,
        literal_offset: usize,
    },
}

/// A parse error with the byte offset in the expression text where it was found, and the code
/// its diagnostic carries.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprError {
    pub offset: usize,
    pub code: Code,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Not,
    And,
    Or,
    Eq,
    Ne,
    Open,
    Close,
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::Num(n) => format!("`{n}`"),
            Tok::Not => "`not`".into(),
            Tok::And => "`and`".into(),
            Tok::Or => "`or`".into(),
            Tok::Eq => "`==`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::Open => "`(`".into(),
            Tok::Close => "`)`".into(),
            Tok::End => "the end of the condition".into(),
        }
    }
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, ExprError> {
    let bytes = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => {
                i += 1;
                Tok::Open
            }
            ')' => {
                i += 1;
                Tok::Close
            }
            '=' | '!' if bytes.get(i + 1) == Some(&b'=') => {
                i += 2;
                if c == '=' { Tok::Eq } else { Tok::Ne }
            }
            '"' | '\'' => {
                let close = text[i + 1..].find(c).ok_or_else(|| ExprError {
                    offset: start,
                    code: Code::BadCondition,
                    message: "unterminated string in condition".into(),
                })?;
                let s = text[i + 1..i + 1 + close].to_string();
                i += close + 2;
                Tok::Str(s)
            }
            c if c.is_ascii_digit() || c == '-' => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                Tok::Num(text[start..i].to_string())
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'-')
                {
                    i += 1;
                }
                match &text[start..i] {
                    "not" => Tok::Not,
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    word => Tok::Ident(word.to_string()),
                }
            }
            '=' => {
                return Err(ExprError {
                    offset: start,
                    code: Code::BadCondition,
                    message: "unexpected `=` in condition; to compare, write `==`".into(),
                });
            }
            '&' | '|' => {
                let word = if c == '&' { "and" } else { "or" };
                return Err(ExprError {
                    offset: start,
                    code: Code::BadCondition,
                    message: format!("unexpected `{c}` in condition; write `{word}`"),
                });
            }
            _ => {
                return Err(ExprError {
                    offset: start,
                    code: Code::BadCondition,
                    message: format!("unexpected `{c}` in condition"),
                });
            }
        };
        toks.push((tok, start));
    }
    toks.push((Tok::End, text.len()));
    Ok(toks)
}

/// How deep `(` and `not` may nest in a condition.
pub const MAX_NESTING: usize = 64;

/// How many words and symbols a condition may have: a real one has a few dozen, and the tree of
/// a longer chain of `and`s and `or`s is as deep as it is long.
pub const MAX_TOKENS: usize = 1000;

struct ExprParser {
    toks: Vec<(Tok, usize)>,
    at: usize,
    /// `(` and `not` open around the current token.
    depth: usize,
}

impl ExprParser {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }

    fn offset(&self) -> usize {
        self.toks[self.at].1
    }

    fn bump(&mut self) -> (Tok, usize) {
        let t = self.toks[self.at].clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.and()?;
        while *self.peek() == Tok::Or {
            self.bump();
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.not()?;
        while *self.peek() == Tok::And {
            self.bump();
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    /// Goes one level deeper at `offset`, or says the condition nests too deep.
    fn enter(&mut self, offset: usize) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(ExprError {
                offset,
                code: Code::InvalidValue,
                message: format!("the condition nests deeper than {MAX_NESTING} levels here"),
            });
        }
        Ok(())
    }

    fn not(&mut self) -> Result<Expr, ExprError> {
        if *self.peek() == Tok::Not {
            let (_, offset) = self.bump();
            self.enter(offset)?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, ExprError> {
        if self.at >= MAX_TOKENS {
            return Err(ExprError {
                offset: self.offset(),
                code: Code::InvalidValue,
                message: format!(
                    "the condition is too long: more than {MAX_TOKENS} names, values and operators"
                ),
            });
        }
        let (tok, offset) = self.bump();
        match tok {
            Tok::Open => {
                self.enter(offset)?;
                let inner = self.or()?;
                self.depth -= 1;
                let (close, at) = self.bump();
                if close != Tok::Close {
                    return Err(ExprError {
                        offset: at,
                        code: Code::BadCondition,
                        message: format!("expected `)`, found {}", close.describe()),
                    });
                }
                Ok(inner)
            }
            Tok::Ident(name) => {
                let name = NameRef { name, offset };
                let equal = match self.peek() {
                    Tok::Eq => true,
                    Tok::Ne => false,
                    _ => return Ok(Expr::Name(name)),
                };
                self.bump();
                let (lit, literal_offset) = self.bump();
                let literal = match lit {
                    Tok::Str(s) => Literal::Str(s),
                    Tok::Num(n) => Literal::Num(n),
                    Tok::Ident(w) if w == "true" => Literal::Bool(true),
                    Tok::Ident(w) if w == "false" => Literal::Bool(false),
                    other => {
                        return Err(ExprError {
                            offset: literal_offset,
                            code: Code::BadCondition,
                            message: format!(
                                "expected a quoted string, true, false or a number after `{}`, found {}",
                                if equal { "==" } else { "!=" },
                                other.describe()
                            ),
                        });
                    }
                };
                Ok(Expr::Compare {
                    name,
                    equal,
                    literal,
                    literal_offset,
                })
            }
            other => Err(ExprError {
                offset,
                code: Code::BadCondition,
                message: format!(
                    "expected a parameter name, `not` or `(`, found {}",
                    other.describe()
                ),
            }),
        }
    }
}

/// Parses a condition.
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    let toks = lex(text)?;
    let mut p = ExprParser {
        toks,
        at: 0,
        depth: 0,
    };
    let expr = p.or()?;
    if *p.peek() != Tok::End {
        return Err(ExprError {
            offset: p.offset(),
            code: Code::BadCondition,
            message: format!(
                "expected `and`, `or` or the end of the condition, found {}",
                p.peek().describe()
            ),
        });
    }
    Ok(expr)
}

impl Expr {
    /// Every parameter name the expression uses, in order, with whether it stands alone (as a
    /// boolean) or in a comparison.
    pub fn names(&self) -> Vec<(&NameRef, Option<(&Literal, usize)>)> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<(&'a NameRef, Option<(&'a Literal, usize)>)>) {
        match self {
            Expr::Name(n) => out.push((n, None)),
            Expr::Not(e) => e.collect(out),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Expr::Compare {
                name,
                literal,
                literal_offset,
                ..
            } => out.push((name, Some((literal, *literal_offset)))),
        }
    }

    /// Evaluates with three values: `None` when a parameter it needs has no value yet.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> Option<bool> {
        match self {
            Expr::Name(n) => match lookup(&n.name)? {
                Value::Bool(b) => Some(b),
                _ => None,
            },
            Expr::Not(e) => e.eval(lookup).map(|b| !b),
            Expr::And(a, b) => match (a.eval(lookup), b.eval(lookup)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Expr::Or(a, b) => match (a.eval(lookup), b.eval(lookup)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            Expr::Compare {
                name,
                equal,
                literal,
                ..
            } => {
                let value = lookup(&name.name)?;
                let same = match (&value, literal) {
                    (Value::Bool(b), Literal::Bool(l)) => b == l,
                    (Value::Text(t), Literal::Str(l)) | (Value::Text(t), Literal::Num(l)) => t == l,
                    _ => false,
                };
                Some(same == *equal)
            }
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(..) => 1,
            Expr::And(..) => 2,
            _ => 3,
        }
    }

    fn fmt_child(&self, child: &Expr, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if child.precedence() < self.precedence() {
            write!(f, "({child})")
        } else {
            write!(f, "{child}")
        }
    }
}

/// The canonical text of a condition, as it would be written in a runbook.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Name(n) => write!(f, "{}", n.name),
            Expr::Not(e) => {
                write!(f, "not ")?;
                self.fmt_child(e, f)
            }
            Expr::And(a, b) => {
                self.fmt_child(a, f)?;
                write!(f, " and ")?;
                self.fmt_child(b, f)
            }
            Expr::Or(a, b) => {
                self.fmt_child(a, f)?;
                write!(f, " or ")?;
                self.fmt_child(b, f)
            }
            Expr::Compare {
                name,
                equal,
                literal,
                ..
            } => write!(
                f,
                "{} {} {literal}",
                name.name,
                if *equal { "==" } else { "!=" }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(name: &str) -> Option<Value> {
        match name {
            "yes" => Some(Value::Bool(true)),
            "no" => Some(Value::Bool(false)),
            "edition" => Some(Value::Text("enterprise".into())),
            _ => None,
        }
    }

    #[test]
    fn precedence_and_display_round_trip() {
        for (text, shown) in [
            ("a or b and not c", "a or b and not c"),
            ("(a or b) and c", "(a or b) and c"),
            ("not (a and b)", "not (a and b)"),
            ("edition == 'x' or a", "edition == \"x\" or a"),
            // Found by the `when` fuzz target: a text holding a double quote printed in double
            // quotes did not parse again.
            (
                "snm == \"_\" or nm == \"u\" or nm == '\"u\"or rdionmta'",
                "snm == \"_\" or nm == \"u\" or nm == '\"u\"or rdionmta'",
            ),
        ] {
            let e = parse(text).unwrap();
            assert_eq!(e.to_string(), shown);
            assert_eq!(parse(&e.to_string()).unwrap(), e);
        }
    }

    #[test]
    fn three_valued_evaluation() {
        let cases = [
            ("yes", Some(true)),
            ("not yes", Some(false)),
            ("unknown", None),
            ("no and unknown", Some(false)),
            ("yes or unknown", Some(true)),
            ("yes and unknown", None),
            ("edition == \"enterprise\"", Some(true)),
            ("edition != \"enterprise\"", Some(false)),
            ("no == false", Some(true)),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap().eval(&values), want, "{text}");
        }
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        let deep = format!("{}a{}", "(".repeat(7500), ")".repeat(7500));
        let err = parse(&deep).unwrap_err();
        assert_eq!(err.offset, 64);
        assert_eq!(
            err.message,
            "the condition nests deeper than 64 levels here"
        );
        assert_eq!(err.code, Code::InvalidValue);
        let nots = "not ".repeat(100) + "a";
        assert_eq!(parse(&nots).unwrap_err().offset, 256);
        let long = vec!["a"; 100_000].join(" or ");
        let err = parse(&long).unwrap_err();
        assert_eq!(err.offset, 500 * 5);
        assert!(
            err.message.starts_with("the condition is too long"),
            "{err:?}"
        );
        let fine = format!("{}a{}", "(".repeat(64), ")".repeat(64));
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn errors_carry_offsets() {
        let cases = [
            (
                "a and",
                5,
                "expected a parameter name, `not` or `(`, found the end of the condition",
            ),
            ("(a or b", 7, "expected `)`, found the end of the condition"),
            (
                "a b",
                2,
                "expected `and`, `or` or the end of the condition, found `b`",
            ),
            ("a && b", 2, "unexpected `&` in condition; write `and`"),
            (
                "e = 'a'",
                2,
                "unexpected `=` in condition; to compare, write `==`",
            ),
            (
                "x == y",
                5,
                "expected a quoted string, true, false or a number after `==`, found `y`",
            ),
            ("x == 'y", 5, "unterminated string in condition"),
        ];
        for (text, offset, message) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(
                (e.offset, e.message.as_str(), e.code),
                (offset, message, Code::BadCondition),
                "{text}"
            );
        }
    }
}
