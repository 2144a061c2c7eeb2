//! `{{ name }}` templating in text, paths and arguments.
//!
//! A template is parsed once when the runbook is loaded; filling it in never fails: a parameter
//! without a value stays visible as `{{ name }}`, so a checklist made before the values are known
//! still says where they go.

use super::model::Value;

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Param { name: String, offset: usize },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// A malformed placeholder, with its byte offset in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut base = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| TemplateError {
                offset: base + open,
                message: "`{{` is not closed by `}}`".into(),
            })?;
            let inner = &after[..close];
            let name = inner.trim();
            let name_offset = base + open + 2 + (inner.len() - inner.trim_start().len());
            let valid = !name.is_empty()
                && name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                return Err(TemplateError {
                    offset: base + open,
                    message: format!("`{{{{{inner}}}}}` does not name a parameter"),
                });
            }
            parts.push(Part::Param {
                name: name.to_string(),
                offset: name_offset,
            });
            let consumed = open + 2 + close + 2;
            base += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template {
            source: text.to_string(),
            parts,
        })
    }

    /// The text as written in the runbook.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The parameter names used, with their byte offsets in the source text.
    pub fn params(&self) -> impl Iterator<Item = (&str, usize)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Param { name, offset } => Some((name.as_str(), *offset)),
            Part::Text(_) => None,
        })
    }

    /// Fills in the parameters that have a value; the others stay as `{{ name }}`.
    pub fn render(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> String {
        self.render_text(&|name| lookup(name).map(|v| v.render()))
    }

    /// Like [`Template::render`], with the text each parameter becomes given whole (a value
    /// quoted for a shell, say).
    pub fn render_text(&self, text: &dyn Fn(&str) -> Option<String>) -> String {
        let mut out = String::with_capacity(self.source.len());
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Param { name, .. } => match text(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push_str("{{ ");
                        out.push_str(name);
                        out.push_str(" }}");
                    }
                },
            }
        }
        out
    }

    /// Whether every parameter it uses has a value.
    pub fn is_resolved(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> bool {
        self.params().all(|(name, _)| lookup(name).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_and_keeps_unknown() {
        let t = Template::parse(r"copy {{package_dir}}\a.msi to {{ msi_share }}").unwrap();
        let lookup = |n: &str| (n == "package_dir").then(|| Value::Text(r"C:\pkg".into()));
        assert_eq!(t.render(&lookup), r"copy C:\pkg\a.msi to {{ msi_share }}");
        assert_eq!(
            t.params().collect::<Vec<_>>(),
            vec![("package_dir", 7), ("msi_share", 33)]
        );
    }

    #[test]
    fn malformed_placeholders() {
        assert_eq!(
            Template::parse("a {{ b").unwrap_err(),
            TemplateError {
                offset: 2,
                message: "`{{` is not closed by `}}`".into()
            }
        );
        assert_eq!(
            Template::parse("{{ 1x }}").unwrap_err().message,
            "`{{ 1x }}` does not name a parameter"
        );
    }
}
