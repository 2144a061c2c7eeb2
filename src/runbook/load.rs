//! Turns a YAML tree into a [`Runbook`], collecting every problem in one pass.
//!
//! Decoding and validation happen together: parameters and roles are read first, so every later
//! reference (a `{{ }}` placeholder, a `when`, an `on:`) is checked where it is read and the
//! diagnostic points at the node itself. References that may point forward (known issues,
//! manifests) are checked once the whole document is read. Nothing here reads files.

use std::collections::HashMap;

use super::diag::{Code, Diagnostic, point_into};
use super::expr::{self, Expr, Literal};
use super::model::*;
use super::spec::{self, Node as Spec};
use super::template::Template;
use super::yaml::{Key, Node, NodeKind, Pos};

// The fields each kind of map may hold: the format's one table (see [`super::spec`]), which
// `stepwise schema` turns into the JSON Schema.
const RUNBOOK_FIELDS: &Spec = &spec::RUNBOOK;
const PARAMETER_FIELDS: &Spec = &spec::PARAMETER;
const ROLE_FIELDS: &Spec = &spec::ROLE;
const PREREQUISITE_FIELDS: &Spec = &spec::PREREQUISITE;
const REFERENCE_FIELDS: &Spec = &spec::REFERENCE;
const PHASE_FIELDS: &Spec = &spec::PHASE;
const STEP_FIELDS: &Spec = &spec::STEP;
const ITEM_FIELDS: &Spec = &spec::ITEM;
const ACTION_TYPES: &[&str] = spec::ACTION_TYPES;
const MANUAL_FIELDS: &Spec = &spec::MANUAL_ACTION;
const COMMAND_FIELDS: &Spec = &spec::COMMAND_ACTION;
const COPY_FIELDS: &Spec = &spec::COPY_ACTION;
const WRITE_FILE_FIELDS: &Spec = &spec::WRITE_FILE_ACTION;
const CREATE_FOLDER_FIELDS: &Spec = &spec::CREATE_FOLDER_ACTION;
const CHECK_FIELDS: &Spec = &spec::CHECK_ACTION;
const RESTART_FIELDS: &Spec = &spec::RESTART_ACTION;
const ASSERTION_FIELDS: &Spec = &spec::CHECK_ENTRY;
const ASSERTION_COMMAND_FIELDS: &Spec = &spec::CHECK_COMMAND;
const RETRY_FIELDS: &Spec = &spec::CHECK_RETRY;
/// How often a check with `retry` looks, when `every` is not given (seconds).
const DEFAULT_RETRY_EVERY: u64 = 5;
const KNOWN_ISSUE_FIELDS: &Spec = &spec::KNOWN_ISSUE;
const MANIFEST_FIELDS: &Spec = &spec::MANIFEST;
const MANIFEST_FILE_FIELDS: &Spec = &spec::MANIFEST_FILE;
const BACKOUT_FIELDS: &Spec = &spec::BACKOUT;
/// Fields written where they do not belong, with what to say instead of a "did you mean":
/// `(where, field, message)`.
const MISPLACED_FIELDS: &[(&str, &str, &str)] = &[(
    "a phase",
    "on",
    "`on:` belongs to a step, not to a phase: put `on:` on each step of the phase that runs on the role's hosts",
)];

/// Decodes and validates a parsed document. Returns the runbook only when there is no error;
/// the diagnostics (errors and warnings) come back either way, in source order.
pub fn decode(source: &str, root: &Node) -> (Option<Runbook>, Vec<Diagnostic>) {
    let mut d = Decoder {
        source,
        diags: Vec::new(),
        params: HashMap::new(),
        roles: HashMap::new(),
        step_ids: HashMap::new(),
        host_known: false,
    };
    let runbook = d.runbook(root);
    let mut diags = d.diags;
    diags.sort_by_key(|x| (x.pos, x.severity));
    diags.dedup();
    let has_error = diags
        .iter()
        .any(|x| x.severity == super::diag::Severity::Error);
    (if has_error { None } else { runbook }, diags)
}

/// The entries of a YAML map being read, with the fields the reader expects.
struct Fields<'n> {
    what: &'static str,
    pos: Pos,
    entries: &'n [(Key, Node)],
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v)
    }
}

struct Decoder<'s> {
    source: &'s str,
    diags: Vec<Diagnostic>,
    params: HashMap<String, Parameter>,
    roles: HashMap<String, Pos>,
    step_ids: HashMap<String, Pos>,
    /// Whether `{{ host }}` means something where the decoder is: in a step that runs `on:` a
    /// role.
    host_known: bool,
}

/// The closest candidate within a small edit distance, for "did you mean".
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn is_id(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_lowercase())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// An item's default id: its text, lower-cased, with runs of other characters made into `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() || !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "item-");
    }
    out
}

fn is_absolute(name: &str) -> bool {
    let b = name.as_bytes();
    name.starts_with('/')
        || name.starts_with('\\')
        || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
        || name.starts_with('%')
}

fn escapes(name: &str) -> bool {
    let mut depth: i32 = 0;
    for part in name.split(['/', '\\']) {
        match part {
            ".." => depth -= 1,
            "" | "." => {}
            _ => depth += 1,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

impl<'s> Decoder<'s> {
    fn error(&mut self, pos: Pos, code: Code, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(pos, code, message));
    }

    fn warning(&mut self, pos: Pos, code: Code, message: impl Into<String>) {
        self.diags.push(Diagnostic::warning(pos, code, message));
    }

    /// Opens a map, reporting unknown fields (with a "did you mean").
    fn map<'n>(&mut self, node: &'n Node, what: &'static str, known: &Spec) -> Option<Fields<'n>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.error(
                node.pos,
                Code::WrongType,
                format!("expected a map for {what}, found {}", node.describe()),
            );
            return None;
        };
        for (key, _) in entries {
            if !known.has(&key.text) {
                let misplaced = MISPLACED_FIELDS
                    .iter()
                    .find(|(w, field, _)| *w == what && *field == key.text);
                if let Some((_, _, message)) = misplaced {
                    self.error(key.pos, Code::MisplacedField, *message);
                    continue;
                }
                let message = match suggest(&key.text, known.names()) {
                    Some(s) => format!(
                        "unknown field `{}` in {what}; did you mean `{s}`?",
                        key.text
                    ),
                    None => format!(
                        "unknown field `{}` in {what}; expected one of: {}",
                        key.text,
                        known.names().collect::<Vec<_>>().join(", ")
                    ),
                };
                self.error(key.pos, Code::UnknownField, message);
            }
        }
        Some(Fields {
            what,
            pos: node.pos,
            entries,
        })
    }

    fn required<'n>(&mut self, f: &Fields<'n>, key: &str) -> Option<&'n Node> {
        let node = f.get(key);
        if node.is_none() {
            self.error(
                f.pos,
                Code::MissingField,
                format!("{} is missing the required field `{key}`", f.what),
            );
        }
        node
    }

    fn string(&mut self, node: &Node, field: &str) -> Option<String> {
        match &node.kind {
            NodeKind::Scalar { text, .. } if !node.is_null() => Some(text.clone()),
            _ => {
                self.error(
                    node.pos,
                    Code::WrongType,
                    format!("`{field}` must be a string, found {}", node.describe()),
                );
                None
            }
        }
    }

    fn opt_string(&mut self, f: &Fields, field: &str) -> Option<String> {
        f.get(field).and_then(|n| self.string(n, field))
    }

    fn req_string(&mut self, f: &Fields, field: &str) -> Option<String> {
        self.required(f, field).and_then(|n| self.string(n, field))
    }

    fn id(&mut self, f: &Fields, field: &str) -> Option<Spanned<String>> {
        let node = self.required(f, field)?;
        let text = self.string(node, field)?;
        if !is_id(&text) {
            self.error(
                node.pos, Code::InvalidId,
                format!(
                    "`{text}` is not a valid id: use lower-case letters, digits, `-` and `_`, starting with a letter"
                ),
            );
        }
        Some(Spanned {
            value: text,
            pos: node.pos,
        })
    }

    fn bool(&mut self, node: &Node, field: &str) -> Option<bool> {
        match &node.kind {
            NodeKind::Scalar { text, plain: true } if text == "true" => Some(true),
            NodeKind::Scalar { text, plain: true } if text == "false" => Some(false),
            NodeKind::Scalar { text, .. } if !node.is_null() => {
                self.error(
                    node.pos,
                    Code::WrongType,
                    format!("`{field}` must be true or false, found `{text}`"),
                );
                None
            }
            _ => {
                self.error(
                    node.pos,
                    Code::WrongType,
                    format!("`{field}` must be true or false, found {}", node.describe()),
                );
                None
            }
        }
    }

    fn integer<T: std::str::FromStr>(&mut self, node: &Node, field: &str) -> Option<T> {
        if let NodeKind::Scalar { text, plain: true } = &node.kind
            && let Ok(n) = text.replace('_', "").parse::<T>()
        {
            return Some(n);
        }
        let found = match &node.kind {
            NodeKind::Scalar { text, .. } if !node.is_null() => format!("`{text}`"),
            _ => node.describe().to_string(),
        };
        self.error(
            node.pos,
            Code::WrongType,
            format!("`{field}` must be a whole number, found {found}"),
        );
        None
    }

    fn list<'n>(&mut self, node: &'n Node, field: &str) -> &'n [Node] {
        match &node.kind {
            NodeKind::Seq(items) => items,
            _ if node.is_null() => &[],
            _ => {
                self.error(
                    node.pos,
                    Code::WrongType,
                    format!("`{field}` must be a list, found {}", node.describe()),
                );
                &[]
            }
        }
    }

    fn opt_list<'n>(&mut self, f: &Fields<'n>, field: &str) -> &'n [Node] {
        match f.get(field) {
            Some(n) => self.list(n, field),
            None => &[],
        }
    }

    fn strings(&mut self, f: &Fields, field: &str) -> Vec<String> {
        let items = self.opt_list(f, field);
        items.iter().filter_map(|n| self.string(n, field)).collect()
    }

    /// A list of host names, each checked ([`host_list_fault`]).
    fn host_names(&mut self, f: &Fields, field: &str) -> Vec<String> {
        let hosts = self.spanned_strings(f, field);
        self.check_hosts(&hosts);
        hosts.into_iter().map(|h| h.value).collect()
    }

    fn check_hosts(&mut self, hosts: &[Spanned<String>]) {
        let names: Vec<String> = hosts.iter().map(|h| h.value.clone()).collect();
        if let Some((i, code, problem)) = super::model::host_list_fault(&names) {
            self.error(hosts[i].pos, code, problem);
        }
    }

    fn spanned_strings(&mut self, f: &Fields, field: &str) -> Vec<Spanned<String>> {
        let items = self.opt_list(f, field);
        items
            .iter()
            .filter_map(|n| {
                self.string(n, field)
                    .map(|value| Spanned { value, pos: n.pos })
            })
            .collect()
    }

    /// Reads a text with `{{ }}` placeholders and checks that each names a parameter.
    fn template(&mut self, node: &Node, field: &str) -> Option<Template> {
        let text = self.string(node, field)?;
        match Template::parse(&text) {
            Ok(t) => {
                for (name, offset) in t.params() {
                    if name == crate::plan::HOST_NAME {
                        if !self.host_known {
                            let pos = point_into(self.source, node.pos, &text, offset);
                            self.error(
                                pos,
                                Code::InvalidValue,
                                "`{{ host }}` is only known in a step that runs `on:` a role",
                            );
                        }
                        continue;
                    }
                    if !self.params.contains_key(name) {
                        let pos = point_into(self.source, node.pos, &text, offset);
                        let message = match suggest(name, self.params.keys().map(String::as_str)) {
                            Some(s) => format!(
                                "unknown parameter `{name}` in `{{{{ }}}}`; did you mean `{s}`?"
                            ),
                            None => format!("unknown parameter `{name}` in `{{{{ }}}}`"),
                        };
                        self.error(pos, Code::UnknownParameter, message);
                    }
                }
                Some(t)
            }
            Err(e) => {
                let pos = point_into(self.source, node.pos, &text, e.offset);
                self.error(pos, Code::BadPlaceholder, e.message);
                None
            }
        }
    }

    fn opt_template(&mut self, f: &Fields, field: &str) -> Option<Template> {
        f.get(field).and_then(|n| self.template(n, field))
    }

    fn templates(&mut self, f: &Fields, field: &str) -> Vec<Template> {
        let items = self.opt_list(f, field);
        items
            .iter()
            .filter_map(|n| self.template(n, field))
            .collect()
    }

    /// Reads and checks a `when` condition against the declared parameters.
    fn condition(&mut self, f: &Fields) -> Option<Spanned<Expr>> {
        let node = f.get("when")?;
        let text = self.string(node, "when")?;
        let e = match expr::parse(&text) {
            Ok(e) => e,
            Err(err) => {
                let pos = point_into(self.source, node.pos, &text, err.offset);
                self.error(pos, err.code, err.message);
                return None;
            }
        };
        let mut ok = true;
        for (name, compared) in e.names() {
            let source = self.source;
            let at = || point_into(source, node.pos, &text, name.offset);
            let Some(param) = self.params.get(&name.name) else {
                let message = match suggest(&name.name, self.params.keys().map(String::as_str)) {
                    Some(s) => format!(
                        "unknown parameter `{}` in condition; did you mean `{s}`?",
                        name.name
                    ),
                    None => format!("unknown parameter `{}` in condition", name.name),
                };
                self.error(at(), Code::UnknownParameter, message);
                ok = false;
                continue;
            };
            let kind = param.kind;
            let choices = param.choices.clone();
            match (compared, kind) {
                (None, ParamType::Bool) => {}
                (None, _) => {
                    self.error(
                        at(),
                        Code::BadCondition,
                        format!(
                            "parameter `{}` is a {}, not a bool; compare it with `==` or `!=`",
                            name.name,
                            kind.name()
                        ),
                    );
                    ok = false;
                }
                (Some((Literal::Bool(_), _)), ParamType::Bool) => {}
                (Some((_, lit_at)), ParamType::Bool) => {
                    let pos = point_into(self.source, node.pos, &text, lit_at);
                    self.error(
                        pos,
                        Code::BadCondition,
                        format!(
                            "parameter `{}` is a bool; compare it with true or false",
                            name.name
                        ),
                    );
                    ok = false;
                }
                (Some((Literal::Str(s), lit_at)), ParamType::Choice) if !choices.contains(s) => {
                    let pos = point_into(self.source, node.pos, &text, lit_at);
                    self.error(
                        pos,
                        Code::BadCondition,
                        format!(
                            "\"{s}\" is not a choice of parameter `{}`; expected one of: {}",
                            name.name,
                            choices.join(", ")
                        ),
                    );
                    ok = false;
                }
                (Some((_, _)), ParamType::Hosts | ParamType::Secret) => {
                    self.error(
                        at(),
                        Code::BadCondition,
                        format!(
                            "parameter `{}` is a {}; a condition cannot use it",
                            name.name,
                            kind.name()
                        ),
                    );
                    ok = false;
                }
                _ => {}
            }
        }
        ok.then_some(Spanned {
            value: e,
            pos: node.pos,
        })
    }

    fn references(&mut self, f: &Fields) -> Vec<Reference> {
        let items = self.opt_list(f, "references");
        let mut out = Vec::new();
        for node in items {
            if let NodeKind::Scalar { text, .. } = &node.kind
                && !node.is_null()
            {
                let is_url = text.contains("://");
                out.push(Reference {
                    article: (!is_url).then(|| text.clone()),
                    url: is_url.then(|| text.clone()),
                    title: None,
                });
                continue;
            }
            let Some(r) = self.map(node, "a reference", REFERENCE_FIELDS) else {
                continue;
            };
            let reference = Reference {
                article: self.opt_string(&r, "article"),
                url: self.opt_string(&r, "url"),
                title: self.opt_string(&r, "title"),
            };
            if reference.article.is_none() && reference.url.is_none() && reference.title.is_none() {
                self.error(
                    r.pos,
                    Code::InvalidValue,
                    "a reference needs `article`, `url` or `title`",
                );
            }
            out.push(reference);
        }
        out
    }

    fn runbook(&mut self, root: &Node) -> Option<Runbook> {
        let f = self.map(root, "the runbook", RUNBOOK_FIELDS)?;
        let id = self.id(&f, "id");
        let title = self.req_string(&f, "title");
        let article = self.req_string(&f, "article");
        let product = self.req_string(&f, "product");
        let released = self.opt_string(&f, "released");
        let replaces = self.strings(&f, "replaces");
        let applies_to = self.strings(&f, "applies_to");
        let source = self.opt_string(&f, "source");
        let summary = self.opt_string(&f, "summary");
        let restart = self.opt_string(&f, "restart");
        let notes = self.strings(&f, "notes");
        let references = self.references(&f);

        let parameters = self.parameters(&f);
        let roles = self.roles(&f);
        let prerequisites = self.prerequisites(&f);

        let mut phases = Vec::new();
        if let Some(node) = self.required(&f, "phases") {
            let items = self.list(node, "phases");
            if items.is_empty() && matches!(node.kind, NodeKind::Seq(_) | NodeKind::Scalar { .. }) {
                self.error(
                    node.pos,
                    Code::EmptyList,
                    "a runbook needs at least one phase",
                );
            }
            let mut seen: HashMap<String, Pos> = HashMap::new();
            for item in items {
                if let Some(phase) = self.phase(item) {
                    if let Some(first) = seen.get(&phase.id) {
                        let message = format!(
                            "duplicate phase id `{}` (first at line {})",
                            phase.id, first.line
                        );
                        self.error(phase.pos, Code::DuplicateId, message);
                    } else {
                        seen.insert(phase.id.clone(), phase.pos);
                    }
                    phases.push(phase);
                }
            }
        }

        let known_issues = self.known_issues(&f);
        let manifests = self.manifests(&f);
        let backout = self.backout(&f);

        // References that may point forward.
        let issue_ids: Vec<&str> = known_issues.iter().map(|k| k.id.as_str()).collect();
        let manifest_ids: Vec<&str> = manifests.iter().map(|m| m.id.as_str()).collect();
        let mut late = Vec::new();
        let all_steps = phases
            .iter()
            .flat_map(|p| p.steps.iter())
            .chain(known_issues.iter().flat_map(|k| k.steps.iter()));
        for step in all_steps {
            for r in &step.known_issues {
                if !issue_ids.contains(&r.value.as_str()) {
                    let message = match suggest(&r.value, issue_ids.iter().copied()) {
                        Some(s) => {
                            format!("unknown known issue `{}`; did you mean `{s}`?", r.value)
                        }
                        None => format!("unknown known issue `{}`", r.value),
                    };
                    late.push(Diagnostic::error(r.pos, Code::UnknownKnownIssue, message));
                }
            }
            for action in [Some(&step.action), step.automation.as_ref()]
                .into_iter()
                .flatten()
            {
                if let Action::Copy(copy) = action
                    && let Some(m) = &copy.manifest
                    && !manifest_ids.contains(&m.value.as_str())
                {
                    let message = match suggest(&m.value, manifest_ids.iter().copied()) {
                        Some(s) => format!("unknown manifest `{}`; did you mean `{s}`?", m.value),
                        None => format!("unknown manifest `{}`", m.value),
                    };
                    late.push(Diagnostic::error(m.pos, Code::UnknownManifest, message));
                }
            }
        }
        self.diags.extend(late);

        Some(Runbook {
            id: id?.value,
            title: title?,
            article: article?,
            product: product?,
            released,
            replaces,
            applies_to,
            source,
            summary,
            restart,
            notes,
            references,
            parameters,
            roles,
            prerequisites,
            phases,
            known_issues,
            manifests,
            backout,
        })
    }

    /// The back-out section: `backout: TEXT`, or a map with `text` and `steps`.
    fn backout(&mut self, f: &Fields) -> Option<Backout> {
        let node = f.get("backout")?;
        if let NodeKind::Scalar { .. } = node.kind
            && !node.is_null()
        {
            let text = self.string(node, "backout")?;
            return Some(Backout {
                text: Some(text),
                steps: Vec::new(),
            });
        }
        let b = self.map(node, "the back-out section", BACKOUT_FIELDS)?;
        let text = self.opt_string(&b, "text");
        let steps = self.strings(&b, "steps");
        if text.is_none() && steps.is_empty() {
            self.error(
                b.pos,
                Code::InvalidValue,
                "a back-out section needs `text` or `steps`",
            );
        }
        Some(Backout { text, steps })
    }

    fn parameters(&mut self, f: &Fields) -> Vec<Parameter> {
        let items = self.opt_list(f, "parameters");
        let mut out: Vec<Parameter> = Vec::new();
        for node in items {
            let Some(p) = self.map(node, "a parameter", PARAMETER_FIELDS) else {
                continue;
            };
            let name = self.id(&p, "name");
            if let Some(n) = &name
                && n.value == crate::plan::HOST_NAME
            {
                self.error(
                    n.pos, Code::InvalidValue,
                    "`host` is the name of the host a step instance is for; give the parameter another name",
                );
            }
            let kind = self.required(&p, "type").and_then(|n| {
                let text = self.string(n, "type")?;
                let kind = ParamType::from_name(&text);
                if kind.is_none() {
                    let message = match suggest(&text, ParamType::ALL) {
                        Some(s) => {
                            format!("unknown parameter type `{text}`; did you mean `{s}`?")
                        }
                        None => format!(
                            "unknown parameter type `{text}`; expected one of: {}",
                            ParamType::ALL.join(", ")
                        ),
                    };
                    self.error(n.pos, Code::UnknownParameterType, message);
                }
                kind
            });
            let prompt = self.req_string(&p, "prompt");
            let help = self.opt_string(&p, "help");
            let choices = self.strings(&p, "choices");
            let (Some(name), Some(kind), Some(prompt)) = (name, kind, prompt) else {
                continue;
            };
            if kind == ParamType::Choice && choices.is_empty() {
                self.error(
                    p.pos,
                    Code::EmptyList,
                    format!(
                        "choice parameter `{}` needs a non-empty `choices` list",
                        name.value
                    ),
                );
            }
            if kind != ParamType::Choice
                && let Some(n) = p.get("choices")
            {
                self.error(
                    n.pos,
                    Code::MisplacedField,
                    "`choices` is only for a choice parameter",
                );
            }
            let default = p
                .get("default")
                .and_then(|n| self.default(n, kind, &name.value, &choices));
            if let Some(first) = out.iter().find(|q| q.name == name.value) {
                let message = format!(
                    "duplicate parameter `{}` (first at line {})",
                    name.value, first.pos.line
                );
                self.error(name.pos, Code::DuplicateId, message);
                continue;
            }
            let param = Parameter {
                name: name.value,
                pos: name.pos,
                kind,
                prompt,
                help,
                default,
                choices,
            };
            self.params.insert(param.name.clone(), param.clone());
            out.push(param);
        }
        out
    }

    fn default(
        &mut self,
        node: &Node,
        kind: ParamType,
        name: &str,
        choices: &[String],
    ) -> Option<Value> {
        match kind {
            ParamType::Bool => self.bool(node, "default").map(Value::Bool),
            ParamType::Hosts => {
                let items = self.list(node, "default");
                let hosts: Vec<Spanned<String>> = items
                    .iter()
                    .filter_map(|n| {
                        self.string(n, "default")
                            .map(|value| Spanned { value, pos: n.pos })
                    })
                    .collect();
                self.check_hosts(&hosts);
                Some(Value::Hosts(hosts.into_iter().map(|h| h.value).collect()))
            }
            ParamType::Secret => {
                self.error(
                    node.pos,
                    Code::MisplacedField,
                    format!("secret parameter `{name}` cannot have a default"),
                );
                None
            }
            ParamType::Choice => {
                let text = self.string(node, "default")?;
                if !choices.is_empty() && !choices.contains(&text) {
                    self.error(
                        node.pos,
                        Code::InvalidValue,
                        format!(
                            "default `{text}` is not one of the choices of `{name}`: {}",
                            choices.join(", ")
                        ),
                    );
                }
                Some(Value::Text(text))
            }
            ParamType::String | ParamType::Path => self.string(node, "default").map(Value::Text),
        }
    }

    fn roles(&mut self, f: &Fields) -> Vec<Role> {
        let items = self.opt_list(f, "roles");
        let mut out = Vec::new();
        for node in items {
            let Some(r) = self.map(node, "a role", ROLE_FIELDS) else {
                continue;
            };
            let id = self.id(&r, "id");
            let title = self.req_string(&r, "title");
            let description = self.opt_string(&r, "description");
            let hosts = self.host_names(&r, "hosts");
            let (Some(id), Some(title)) = (id, title) else {
                continue;
            };
            if let Some(first) = self.roles.get(&id.value) {
                let message = format!(
                    "duplicate role `{}` (first at line {})",
                    id.value, first.line
                );
                self.error(id.pos, Code::DuplicateId, message);
                continue;
            }
            self.roles.insert(id.value.clone(), id.pos);
            out.push(Role {
                id: id.value,
                pos: id.pos,
                title,
                description,
                hosts,
            });
        }
        out
    }

    fn prerequisites(&mut self, f: &Fields) -> Vec<Prerequisite> {
        let items = self.opt_list(f, "prerequisites");
        let mut out = Vec::new();
        for node in items {
            if let NodeKind::Scalar { .. } = node.kind
                && !node.is_null()
            {
                if let Some(text) = self.template(node, "prerequisites") {
                    out.push(Prerequisite {
                        text,
                        note: None,
                        references: Vec::new(),
                    });
                }
                continue;
            }
            let Some(p) = self.map(node, "a prerequisite", PREREQUISITE_FIELDS) else {
                continue;
            };
            let text = self
                .required(&p, "text")
                .and_then(|n| self.template(n, "text"));
            let note = self.opt_string(&p, "note");
            let references = self.references(&p);
            if let Some(text) = text {
                out.push(Prerequisite {
                    text,
                    note,
                    references,
                });
            }
        }
        out
    }

    fn phase(&mut self, node: &Node) -> Option<Phase> {
        let f = self.map(node, "a phase", PHASE_FIELDS)?;
        let id = self.id(&f, "id");
        let title = self.req_string(&f, "title");
        let when = self.condition(&f);
        let notes = self.strings(&f, "notes");
        let mut steps = Vec::new();
        if let Some(n) = self.required(&f, "steps") {
            let items = self.list(n, "steps");
            if items.is_empty() && !matches!(n.kind, NodeKind::Map(_)) {
                let name = id.as_ref().map(|i| i.value.as_str()).unwrap_or("");
                self.error(
                    n.pos,
                    Code::EmptyList,
                    format!("phase `{name}` has no steps"),
                );
            }
            for item in items {
                if let Some(step) = self.step(item) {
                    steps.push(step);
                }
            }
        }
        let host_order = self.host_order(&f, &steps);
        let id = id?;
        Some(Phase {
            id: id.value,
            pos: id.pos,
            title: title?,
            when,
            notes,
            steps,
            host_order,
        })
    }

    /// A phase's `for_each_host`, `serial` and `max_failures`; every step of a host-major phase
    /// must run `on:` its role.
    fn host_order(&mut self, f: &Fields, steps: &[Step]) -> Option<HostOrder> {
        let Some(node) = f.get("for_each_host") else {
            for field in ["serial", "max_failures"] {
                if let Some(n) = f.get(field) {
                    self.error(
                        n.pos, Code::MisplacedField,
                        format!("`{field}` goes only with `for_each_host` (the role whose hosts the phase walks one batch at a time)"),
                    );
                }
            }
            return None;
        };
        let role = self.string(node, "for_each_host")?;
        if !self.roles.contains_key(&role) {
            let message = match suggest(&role, self.roles.keys().map(String::as_str)) {
                Some(s) => format!("unknown role `{role}` in `for_each_host`; did you mean `{s}`?"),
                None if self.roles.is_empty() => format!(
                    "unknown role `{role}` in `for_each_host`; the runbook declares no roles"
                ),
                None => {
                    let mut known: Vec<&str> = self.roles.keys().map(String::as_str).collect();
                    known.sort();
                    format!(
                        "unknown role `{role}` in `for_each_host`; expected one of: {}",
                        known.join(", ")
                    )
                }
            };
            self.error(node.pos, Code::UnknownRole, message);
            return None;
        }
        for step in steps {
            match &step.on {
                Some(on) if on.value == role => {}
                Some(on) => self.error(
                    on.pos, Code::StepNotOnPhaseRole,
                    format!(
                        "step `{}` runs on role `{}`, but its phase runs host by host on role `{role}` (`for_each_host`): every step of the phase must run `on: {role}`; move this step to a phase of its own",
                        step.id, on.value
                    ),
                ),
                None => self.error(
                    step.pos, Code::StepNotOnPhaseRole,
                    format!(
                        "step `{}` runs once, not on a host, but its phase runs host by host on role `{role}` (`for_each_host`): give it `on: {role}`, or move it to a phase of its own",
                        step.id
                    ),
                ),
            }
        }
        let serial = match f.get("serial") {
            Some(n) => self.serial(n)?,
            None => Serial::Hosts(1),
        };
        let max_failures = match f.get("max_failures") {
            Some(n) => self.integer::<u32>(n, "max_failures")?,
            None => 0,
        };
        Some(HostOrder {
            role: Spanned {
                value: role,
                pos: node.pos,
            },
            serial,
            max_failures,
        })
    }

    /// `serial`: a number of hosts (at least 1) or a percentage from 1% to 100%.
    fn serial(&mut self, node: &Node) -> Option<Serial> {
        let text = match &node.kind {
            NodeKind::Scalar { text, .. } if !node.is_null() => text.trim().to_string(),
            _ => {
                self.error(
                    node.pos, Code::WrongType,
                    format!(
                        "`serial` must be a number of hosts (1, 2, ...) or a percentage of them (`25%`), found {}",
                        node.describe()
                    ),
                );
                return None;
            }
        };
        let (digits, percent) = match text.strip_suffix('%') {
            Some(d) => (d.trim_end(), true),
            None => (text.as_str(), false),
        };
        let Ok(n) = digits.parse::<u32>() else {
            self.error(
                node.pos, Code::WrongType,
                format!(
                    "`serial` must be a number of hosts (1, 2, ...) or a percentage of them (`25%`), found `{text}`"
                ),
            );
            return None;
        };
        match (percent, n) {
            (_, 0) => {
                self.error(
                    node.pos,
                    Code::OutOfRange,
                    "`serial` must be at least 1 host (or 1%): a batch of no hosts never ends",
                );
                None
            }
            (true, 101..) => {
                self.error(
                    node.pos, Code::OutOfRange,
                    format!("`serial: {text}` is more than all the hosts: a percentage goes from 1% to 100%"),
                );
                None
            }
            (true, p) => Some(Serial::Percent(p)),
            (false, n) => Some(Serial::Hosts(n)),
        }
    }

    fn step(&mut self, node: &Node) -> Option<Step> {
        self.host_known = matches!(&node.kind, NodeKind::Map(entries) if entries.iter().any(|(k, _)| k.text == "on"));
        let step = self.step_fields(node);
        self.host_known = false;
        step
    }

    fn step_fields(&mut self, node: &Node) -> Option<Step> {
        let f = self.map(node, "a step", STEP_FIELDS)?;
        let id = self.id(&f, "id");
        if let Some(id) = &id {
            if let Some(first) = self.step_ids.get(&id.value) {
                let message = format!(
                    "duplicate step id `{}` (first at line {})",
                    id.value, first.line
                );
                self.error(id.pos, Code::DuplicateId, message);
            } else {
                self.step_ids.insert(id.value.clone(), id.pos);
            }
        }
        let title = self
            .required(&f, "title")
            .and_then(|n| self.template(n, "title"));
        let instructions = self.opt_template(&f, "instructions");
        let on = f.get("on").and_then(|n| {
            let role = self.string(n, "on")?;
            if !self.roles.contains_key(&role) {
                let message = match suggest(&role, self.roles.keys().map(String::as_str)) {
                    Some(s) => format!("unknown role `{role}`; did you mean `{s}`?"),
                    None if self.roles.is_empty() => {
                        format!("unknown role `{role}`; the runbook declares no roles")
                    }
                    None => {
                        let mut known: Vec<&str> = self.roles.keys().map(String::as_str).collect();
                        known.sort();
                        format!(
                            "unknown role `{role}`; expected one of: {}",
                            known.join(", ")
                        )
                    }
                };
                self.error(n.pos, Code::UnknownRole, message);
                return None;
            }
            Some(Spanned {
                value: role,
                pos: n.pos,
            })
        });
        let when = self.condition(&f);
        let article_step = self.opt_string(&f, "article_step");
        let items = self.items(&f);
        let notes = self.templates(&f, "notes");
        let references = self.references(&f);
        let known_issues = self.spanned_strings(&f, "known_issues");
        let action = match f.get("action") {
            Some(n) => self.action(n, "an action"),
            None => Some(Action::Manual),
        };
        let automation = f.get("automation").and_then(|n| {
            let a = self.action(n, "an automation")?;
            if let Some(Action::Manual) = &action {
                if matches!(a, Action::Manual) {
                    self.error(
                        n.pos, Code::InvalidValue,
                        "an automation must be automated: command, copy, write_file, create_folder or check",
                    );
                    return None;
                }
            } else if let Some(action) = &action {
                self.error(
                    n.pos, Code::MisplacedField,
                    format!(
                        "`automation` is only for a manual step; this step's action is `{}`",
                        action.type_name()
                    ),
                );
                return None;
            }
            Some(a)
        });
        let parallel = self.parallel(&f, action.as_ref(), automation.as_ref());
        let id = id?;
        Some(Step {
            id: id.value,
            pos: id.pos,
            title: title?,
            instructions,
            on,
            when,
            article_step,
            items,
            notes,
            references,
            known_issues,
            action: action?,
            automation,
            parallel,
        })
    }

    /// A step's `parallel: N`: a whole number of at least 1, on a step that runs `on:` a role
    /// and has an automated action (1 when absent).
    fn parallel(
        &mut self,
        f: &Fields,
        action: Option<&Action>,
        automation: Option<&Action>,
    ) -> usize {
        let Some(n) = f.get("parallel") else {
            return 1;
        };
        let Some(count) = self.integer::<usize>(n, "parallel") else {
            return 1;
        };
        if count == 0 {
            self.error(
                n.pos,
                Code::OutOfRange,
                "`parallel` must be at least 1 (the number of hosts the step runs on at once)",
            );
            return 1;
        }
        if f.get("on").is_none() {
            self.error(
                n.pos,
                Code::MisplacedField,
                "`parallel` needs `on:` a role: a step on no role runs once, on this machine",
            );
        } else if matches!(action, Some(Action::Manual)) {
            let what = if automation.is_some() {
                "this step is manual (its `automation` is run one host at a time, when the operator chooses it)"
            } else {
                "this step is manual"
            };
            self.error(
                n.pos,
                Code::MisplacedField,
                format!("`parallel` is only for a step with an automated `action`; {what}"),
            );
        }
        count
    }

    fn items(&mut self, f: &Fields) -> Vec<Item> {
        let nodes = self.opt_list(f, "items");
        let mut out: Vec<Item> = Vec::new();
        let mut seen: HashMap<String, Pos> = HashMap::new();
        for node in nodes {
            let item = if let NodeKind::Scalar { .. } = node.kind
                && !node.is_null()
            {
                self.template(node, "items").map(|text| Item {
                    id: slug(text.source()),
                    text,
                    note: None,
                    when: None,
                })
            } else {
                let Some(m) = self.map(node, "an item", ITEM_FIELDS) else {
                    continue;
                };
                let text = self
                    .required(&m, "text")
                    .and_then(|n| self.template(n, "text"));
                let explicit = m.get("id").and_then(|_| self.id(&m, "id")).map(|s| s.value);
                let note = self.opt_string(&m, "note");
                let when = self.condition(&m);
                text.map(|text| Item {
                    id: explicit.unwrap_or_else(|| slug(text.source())),
                    text,
                    note,
                    when,
                })
            };
            let Some(item) = item else { continue };
            if let Some(first) = seen.get(&item.id) {
                let message = format!(
                    "duplicate item `{}` in this step (first at line {})",
                    item.id, first.line
                );
                self.error(node.pos, Code::DuplicateId, message);
                continue;
            }
            seen.insert(item.id.clone(), node.pos);
            out.push(item);
        }
        out
    }

    fn action(&mut self, node: &Node, what: &'static str) -> Option<Action> {
        if let NodeKind::Scalar { text, .. } = &node.kind
            && text == "manual"
        {
            return Some(Action::Manual);
        }
        let NodeKind::Map(_) = node.kind else {
            self.error(
                node.pos,
                Code::WrongType,
                format!("expected a map for {what}, found {}", node.describe()),
            );
            return None;
        };
        let probe = Fields {
            what,
            pos: node.pos,
            entries: match &node.kind {
                NodeKind::Map(e) => e,
                _ => &[],
            },
        };
        let type_node = self.required(&probe, "type")?;
        let kind = self.string(type_node, "type")?;
        let known = match kind.as_str() {
            "manual" => MANUAL_FIELDS,
            "command" => COMMAND_FIELDS,
            "copy" => COPY_FIELDS,
            "write_file" => WRITE_FILE_FIELDS,
            "create_folder" => CREATE_FOLDER_FIELDS,
            "check" => CHECK_FIELDS,
            "restart" => RESTART_FIELDS,
            _ => {
                let message = match suggest(&kind, ACTION_TYPES.iter().copied()) {
                    Some(s) => format!("unknown action type `{kind}`; did you mean `{s}`?"),
                    None => format!(
                        "unknown action type `{kind}`; expected one of: {}",
                        ACTION_TYPES.join(", ")
                    ),
                };
                self.error(type_node.pos, Code::UnknownActionType, message);
                return None;
            }
        };
        let what: &'static str = match kind.as_str() {
            "manual" => "a manual action",
            "command" => "a command action",
            "copy" => "a copy action",
            "write_file" => "a write_file action",
            "create_folder" => "a create_folder action",
            "restart" => "a restart action",
            _ => "a check action",
        };
        let f = self.map(node, what, known)?;
        match kind.as_str() {
            "manual" => Some(Action::Manual),
            "command" => self.command(&f).map(Action::Command),
            "copy" => self.copy(&f).map(Action::Copy),
            "write_file" => self.write_file(&f).map(Action::WriteFile),
            "create_folder" => self
                .required(&f, "path")
                .and_then(|n| self.template(n, "path"))
                .map(|path| Action::CreateFolder(CreateFolderAction { path })),
            "restart" => self.restart(&f).map(Action::Restart),
            _ => self.check(&f).map(Action::Check),
        }
    }

    fn command(&mut self, f: &Fields) -> Option<CommandAction> {
        let program = self
            .required(f, "program")
            .and_then(|n| self.template(n, "program"));
        let args = self.templates(f, "args");
        let cwd = self.opt_template(f, "cwd");
        let timeout_secs = match f.get("timeout") {
            Some(n) => match self.integer::<u64>(n, "timeout") {
                Some(0) => {
                    self.error(
                        n.pos, Code::OutOfRange,
                        "`timeout` must be at least 1 second (a command with no time stops at once)",
                    );
                    600
                }
                t => t.unwrap_or(600),
            },
            None => 600,
        };
        let success_codes = match f.get("success_codes") {
            Some(n) => {
                let items = self.list(n, "success_codes");
                items
                    .iter()
                    .filter_map(|c| self.integer::<i32>(c, "success_codes"))
                    .collect()
            }
            None => vec![0],
        };
        let shell = match f.get("shell") {
            Some(n) => self.bool(n, "shell").unwrap_or(false),
            None => false,
        };
        Some(CommandAction {
            program: program?,
            args,
            cwd,
            timeout_secs,
            success_codes,
            shell,
        })
    }

    fn file_name(&mut self, node: &Node, field: &str, folder: &str) -> Option<String> {
        let name = self.string(node, field)?;
        if name.trim().is_empty() {
            self.error(
                node.pos,
                Code::EmptyValue,
                format!("`{field}` must name a file, not be empty"),
            );
            return None;
        }
        if name.contains("{{") || name.contains("}}") {
            self.error(
                node.pos, Code::PlaceholderNotAllowed,
                format!(
                    "`{name}`: a file name in `{field}` is taken as written, so `{{{{ }}}}` cannot be used in it; put the parameter in `{folder}`"
                ),
            );
            return None;
        }
        if is_absolute(&name) {
            self.error(
                node.pos,
                Code::AbsolutePath,
                format!("`{name}` is an absolute path, but a file name in `{folder}` is expected"),
            );
            return None;
        }
        if escapes(&name) {
            self.error(
                node.pos,
                Code::PathEscapes,
                format!("`{name}` escapes the folder `{folder}`; a file name is expected"),
            );
            return None;
        }
        Some(name)
    }

    fn copy(&mut self, f: &Fields) -> Option<CopyAction> {
        let from = self
            .required(f, "from")
            .and_then(|n| self.template(n, "from"));
        let to = self.required(f, "to").and_then(|n| self.template(n, "to"));
        let mut files: Vec<Spanned<String>> = Vec::new();
        if let Some(n) = self.required(f, "files") {
            let items = self.list(n, "files");
            if items.is_empty() {
                self.error(n.pos, Code::EmptyList, "a copy needs at least one file");
            }
            for item in items {
                let Some(name) = self.file_name(item, "files", "from") else {
                    continue;
                };
                if let Some(first) = files.iter().find(|s| s.value.eq_ignore_ascii_case(&name)) {
                    let message = format!(
                        "`{name}` is listed twice in this copy (first at line {})",
                        first.pos.line
                    );
                    self.warning(item.pos, Code::ListedTwice, message);
                    continue;
                }
                files.push(Spanned {
                    value: name,
                    pos: item.pos,
                });
            }
        }
        let backup = match f.get("backup") {
            Some(n) => self.bool(n, "backup").unwrap_or(true),
            None => true,
        };
        let manifest = f.get("manifest").and_then(|n| {
            self.string(n, "manifest")
                .map(|value| Spanned { value, pos: n.pos })
        });
        Some(CopyAction {
            from: from?,
            to: to?,
            files,
            backup,
            manifest,
        })
    }

    fn write_file(&mut self, f: &Fields) -> Option<WriteFileAction> {
        let dir = self
            .required(f, "dir")
            .and_then(|n| self.template(n, "dir"));
        let file = self
            .required(f, "file")
            .and_then(|n| self.file_name(n, "file", "dir"));
        let content = self
            .required(f, "content")
            .and_then(|n| self.template(n, "content"));
        let backup = match f.get("backup") {
            Some(n) => self.bool(n, "backup").unwrap_or(true),
            None => true,
        };
        Some(WriteFileAction {
            dir: dir?,
            file: file?,
            content: content?,
            backup,
        })
    }

    fn check(&mut self, f: &Fields) -> Option<CheckAction> {
        let node = self.required(f, "checks")?;
        let items = self.list(node, "checks");
        if items.is_empty() {
            self.error(
                node.pos,
                Code::EmptyList,
                "a check needs at least one entry in `checks`",
            );
        }
        let checks = self.assertions(items);
        let retry = self.check_retry(f);
        Some(CheckAction { checks, retry })
    }

    /// A restart: the command that restarts the host, how long to wait for it, and what must
    /// hold once it is back. Where it runs (never this machine) is checked against the step.
    fn restart(&mut self, f: &Fields) -> Option<RestartAction> {
        let program = self
            .required(f, "program")
            .and_then(|n| self.template(n, "program"));
        let args = self.templates(f, "args");
        let wait_secs = match f.get("wait") {
            Some(n) => match self.integer::<u64>(n, "wait") {
                Some(0) => {
                    self.error(
                        n.pos,
                        Code::OutOfRange,
                        "`wait` must be at least 1 second (the time the host has to come back)",
                    );
                    900
                }
                w => w.unwrap_or(900),
            },
            None => 900,
        };
        let checks = match f.get("checks") {
            Some(n) => {
                let items = self.list(n, "checks");
                self.assertions(items)
            }
            None => Vec::new(),
        };
        if !self.host_known {
            self.error(
                f.pos, Code::MisplacedField,
                "a restart needs the step to run `on:` a role: a step on no role runs on this machine, which stepwise does not restart",
            );
        }
        Some(RestartAction {
            program: program?,
            args,
            wait_secs,
            checks,
        })
    }

    /// The entries of a `checks` list.
    fn assertions(&mut self, items: &[Node]) -> Vec<Assertion> {
        let mut checks = Vec::new();
        for item in items {
            let Some(c) = self.map(item, "a check entry", ASSERTION_FIELDS) else {
                continue;
            };
            let keys: Vec<&str> = ["exists", "writable", "command"]
                .into_iter()
                .filter(|k| c.get(k).is_some())
                .collect();
            if keys.len() != 1 {
                self.error(
                    c.pos,
                    Code::InvalidValue,
                    "a check entry needs exactly one of `exists`, `writable` or `command`",
                );
                continue;
            }
            if keys[0] != "exists"
                && let Some(n) = c.get("size")
            {
                self.error(
                    n.pos,
                    Code::MisplacedField,
                    "`size` goes only with `exists`",
                );
            }
            let assertion = match keys[0] {
                "exists" => {
                    let path = c.get("exists").and_then(|n| self.template(n, "exists"));
                    let size = c.get("size").and_then(|n| self.integer::<u64>(n, "size"));
                    path.map(|path| Assertion::Exists { path, size })
                }
                "writable" => c
                    .get("writable")
                    .and_then(|n| self.template(n, "writable"))
                    .map(|dir| Assertion::Writable { dir }),
                _ => {
                    let Some(n) = c.get("command") else { continue };
                    let Some(m) = self.map(n, "a check command", ASSERTION_COMMAND_FIELDS) else {
                        continue;
                    };
                    let program = self
                        .required(&m, "program")
                        .and_then(|p| self.template(p, "program"));
                    let args = self.templates(&m, "args");
                    program.map(|program| Assertion::Command { program, args })
                }
            };
            if let Some(a) = assertion {
                checks.push(a);
            }
        }
        checks
    }

    /// A check's `retry`, read beside its `checks` (see [`Self::check`]).
    fn check_retry(&mut self, f: &Fields) -> Option<Retry> {
        f.get("retry").and_then(|n| self.retry(n))
    }

    /// A check's `retry`: `for` (required) and `every` (default 5 seconds, not longer than
    /// `for`).
    fn retry(&mut self, node: &Node) -> Option<Retry> {
        let r = self.map(node, "a check's retry", RETRY_FIELDS)?;
        let Some(bound) = r.get("for") else {
            self.error(
                r.pos, Code::MissingField,
                "a retry needs `for`, the longest the check waits (`for: 5m`): a check never waits without a bound",
            );
            return None;
        };
        let for_secs = self.duration(bound, "for");
        let every = r.get("every").map(|n| (n, self.duration(n, "every")));
        let for_secs = for_secs?;
        let every_secs = match every {
            Some((n, every)) => {
                let every = every?;
                if every > for_secs {
                    self.error(
                        n.pos, Code::OutOfRange,
                        format!(
                            "`every` ({}) is longer than `for` ({}): the check would look only once",
                            crate::runbook::model::written_duration(every),
                            crate::runbook::model::written_duration(for_secs)
                        ),
                    );
                    return None;
                }
                every
            }
            None => DEFAULT_RETRY_EVERY.min(for_secs),
        };
        Some(Retry {
            for_secs,
            every_secs,
        })
    }

    /// A time: whole seconds, or a number with `s`, `m` or `h`; at least one second.
    fn duration(&mut self, node: &Node, field: &str) -> Option<u64> {
        let text = match &node.kind {
            NodeKind::Scalar { text, .. } if !node.is_null() => text.trim().to_string(),
            _ => String::new(),
        };
        let (digits, unit) = match text.char_indices().last() {
            Some((i, c @ ('s' | 'm' | 'h'))) => (&text[..i], c),
            _ => (text.as_str(), 's'),
        };
        let scale = match unit {
            'h' => 3600,
            'm' => 60,
            _ => 1,
        };
        let secs = digits
            .trim_end()
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale));
        match secs {
            Some(0) => {
                self.error(
                    node.pos,
                    Code::OutOfRange,
                    format!("`{field}` must be at least 1 second"),
                );
                None
            }
            Some(s) => Some(s),
            None => {
                let found = match text.is_empty() {
                    true => node.describe().to_string(),
                    false => format!("`{text}`"),
                };
                self.error(
                    node.pos, Code::WrongType,
                    format!(
                        "`{field}` must be a time: seconds (`30`) or a number with `s`, `m` or `h` (`90s`, `5m`, `1h`), found {found}"
                    ),
                );
                None
            }
        }
    }

    fn known_issues(&mut self, f: &Fields) -> Vec<KnownIssue> {
        let items = self.opt_list(f, "known_issues");
        let mut out: Vec<KnownIssue> = Vec::new();
        for node in items {
            let Some(k) = self.map(node, "a known issue", KNOWN_ISSUE_FIELDS) else {
                continue;
            };
            let id = self.id(&k, "id");
            let title = self.req_string(&k, "title");
            let symptom = self.req_string(&k, "symptom");
            let cause = self.opt_string(&k, "cause");
            let applies_to = self.spanned_strings(&k, "applies_to");
            for role in &applies_to {
                if !self.roles.contains_key(&role.value) {
                    let message = match suggest(&role.value, self.roles.keys().map(String::as_str))
                    {
                        Some(s) => format!("unknown role `{}`; did you mean `{s}`?", role.value),
                        None => format!("unknown role `{}`", role.value),
                    };
                    self.error(role.pos, Code::UnknownRole, message);
                }
            }
            let workaround = self.opt_template(&k, "workaround");
            let steps: Vec<Step> = {
                let nodes = self.opt_list(&k, "steps");
                nodes.iter().filter_map(|n| self.step(n)).collect()
            };
            let notes = self.strings(&k, "notes");
            let references = self.references(&k);
            let (Some(id), Some(title), Some(symptom)) = (id, title, symptom) else {
                continue;
            };
            if let Some(first) = out.iter().find(|o| o.id == id.value) {
                let message = format!(
                    "duplicate known issue `{}` (first at line {})",
                    id.value, first.pos.line
                );
                self.error(id.pos, Code::DuplicateId, message);
                continue;
            }
            out.push(KnownIssue {
                id: id.value,
                pos: id.pos,
                title,
                symptom,
                cause,
                applies_to,
                workaround,
                steps,
                notes,
                references,
            });
        }
        out
    }

    fn manifests(&mut self, f: &Fields) -> Vec<Manifest> {
        let items = self.opt_list(f, "manifests");
        let mut out: Vec<Manifest> = Vec::new();
        for node in items {
            let Some(m) = self.map(node, "a manifest", MANIFEST_FIELDS) else {
                continue;
            };
            let id = self.id(&m, "id");
            let title = self.req_string(&m, "title");
            let note = self.opt_string(&m, "note");
            let platform = self.opt_string(&m, "platform");
            let mut files: Vec<ManifestFile> = Vec::new();
            if let Some(n) = self.required(&m, "files") {
                let rows = self.list(n, "files");
                for row in rows {
                    let Some(r) = self.map(row, "a manifest file", MANIFEST_FILE_FIELDS) else {
                        continue;
                    };
                    let name = self
                        .required(&r, "name")
                        .and_then(|n| self.file_name(n, "name", "the package"));
                    let size = r.get("size").and_then(|n| self.integer::<u64>(n, "size"));
                    let file = ManifestFile {
                        name: name.clone().unwrap_or_default(),
                        size,
                        version: self.opt_string(&r, "version"),
                        date: self.opt_string(&r, "date"),
                        time: self.opt_string(&r, "time"),
                        platform: self.opt_string(&r, "platform"),
                        sha256: self.opt_string(&r, "sha256"),
                    };
                    if let Some(sha) = &file.sha256
                        && (sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()))
                    {
                        let pos = r.get("sha256").map(|n| n.pos).unwrap_or(r.pos);
                        self.error(pos, Code::BadHash, "`sha256` must be 64 hexadecimal digits");
                    }
                    let Some(name) = name else { continue };
                    // Cut-short names in an article's table can repeat for different files;
                    // only a row that repeats name and size is a mistake.
                    if files
                        .iter()
                        .any(|f| f.name.eq_ignore_ascii_case(&name) && f.size == file.size)
                    {
                        self.warning(
                            row.pos,
                            Code::ListedTwice,
                            format!("`{name}` is listed twice in this manifest"),
                        );
                        continue;
                    }
                    files.push(file);
                }
            }
            let (Some(id), Some(title)) = (id, title) else {
                continue;
            };
            if let Some(first) = out.iter().find(|o| o.id == id.value) {
                let message = format!(
                    "duplicate manifest `{}` (first at line {})",
                    id.value, first.pos.line
                );
                self.error(id.pos, Code::DuplicateId, message);
                continue;
            }
            out.push(Manifest {
                id: id.value,
                pos: id.pos,
                title,
                note,
                platform,
                files,
            });
        }
        out
    }
}
