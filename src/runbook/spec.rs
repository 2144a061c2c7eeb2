//! The fields of the runbook format, per kind of map: one table that the loader checks field
//! names against and that `stepwise schema` turns into a JSON Schema, so the two cannot differ.
//!
//! Each [`Node`] is a kind of YAML map (the runbook, a parameter, a step, a copy action, ...) and
//! lists its [`Field`]s: name, whether it is required, what kind of value it takes and what it
//! means (the words of `docs/runbook-format.md`). The loader reads each field with its own
//! checks (references, conditions, placeholders); this table is what both agree a map may hold.

/// What kind of value a field takes.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// A single line or block of text.
    Text,
    /// Text in which `{{ name }}` is replaced by a parameter's value.
    Template,
    /// A number or a short text (`7`, `"1-3"`).
    Label,
    /// An id: lower-case letters, digits, `-` and `_`, starting with a letter.
    Id,
    /// `true` or `false`.
    Bool,
    /// A whole number, 0 or more.
    Count,
    /// Any whole number (an exit code).
    Int,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A list of values of one kind.
    List(&'static Ty),
    /// A map of the kind of [`Node`] with this name.
    Map(&'static str),
    /// Text, or a map of the kind of [`Node`] with this name (a prerequisite, an item, a
    /// reference).
    TextOrMap(&'static str),
    /// One of the action maps, told apart by `type` (or the word `manual`).
    Action,
    /// A parameter's default: text, `true`/`false`, or a list of host names.
    Default,
    /// A hexadecimal SHA-256 (64 digits).
    Sha256,
    /// A number of hosts (1 or more) or a percentage of them (`25%`).
    Serial,
    /// A time: seconds as a whole number, or with a unit (`90s`, `5m`, `1h`).
    Duration,
}

/// One field of a map.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub required: bool,
    pub ty: Ty,
    pub doc: &'static str,
}

/// A kind of map in the format.
#[derive(Debug, Clone, Copy)]
pub struct Node {
    /// The name of its definition in the JSON Schema (`step`, `copy_action`).
    pub name: &'static str,
    /// What a message calls one (`a step`).
    pub what: &'static str,
    pub doc: &'static str,
    pub fields: &'static [Field],
}

impl Node {
    /// The field names, in the table's order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields.iter().map(|f| f.name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.name == name)
    }
}

const fn req(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        required: true,
        ty,
        doc,
    }
}

const fn opt(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        required: false,
        ty,
        doc,
    }
}

const TEXTS: Ty = Ty::List(&Ty::Text);
const REFERENCES: Ty = Ty::List(&Ty::TextOrMap("reference"));
const STEPS: Ty = Ty::List(&Ty::Map("step"));

/// The parameter types.
pub const PARAM_TYPES: &[&str] = &["bool", "string", "path", "choice", "hosts", "secret"];
/// The action types.
pub const ACTION_TYPES: &[&str] = &[
    "manual",
    "command",
    "copy",
    "write_file",
    "create_folder",
    "check",
    "restart",
];

pub const RUNBOOK: Node = Node {
    name: "runbook",
    what: "the runbook",
    doc: "A stepwise runbook: one update procedure (docs/runbook-format.md).",
    fields: &[
        req(
            "id",
            Ty::Id,
            "the runbook id, used on the command line (`stepwise run hmc45-ur6`)",
        ),
        req("title", Ty::Text, "the article's title"),
        req(
            "article",
            Ty::Text,
            "the article number, for example `KB979704`",
        ),
        req("product", Ty::Text, "the product the procedure updates"),
        opt(
            "released",
            Ty::Text,
            "when the update was released, as the article says it (`2009-12`, `April 2009`)",
        ),
        opt("replaces", TEXTS, "list of updates this one replaces"),
        opt(
            "applies_to",
            TEXTS,
            "list of products and versions from the article's \"applies to\"",
        ),
        opt(
            "source",
            Ty::Text,
            "where the procedure comes from (the article file or address)",
        ),
        opt(
            "summary",
            Ty::Text,
            "what the update fixes or does, in a few lines",
        ),
        opt("restart", Ty::Text, "the article's restart requirement"),
        opt(
            "notes",
            TEXTS,
            "list of notes on the whole runbook, for example how an ambiguous passage was read",
        ),
        opt(
            "references",
            REFERENCES,
            "list of related articles (see [References](#references))",
        ),
        opt(
            "parameters",
            Ty::List(&Ty::Map("parameter")),
            "the values the procedure depends on, asked once at the start of a run",
        ),
        opt(
            "roles",
            Ty::List(&Ty::Map("role")),
            "the kinds of server the procedure runs on",
        ),
        opt(
            "prerequisites",
            Ty::List(&Ty::TextOrMap("prerequisite")),
            "what must hold before the procedure starts",
        ),
        req(
            "phases",
            Ty::List(&Ty::Map("phase")),
            "the procedure, phase by phase (at least one)",
        ),
        opt(
            "known_issues",
            Ty::List(&Ty::Map("known_issue")),
            "the article's known issues",
        ),
        opt(
            "manifests",
            Ty::List(&Ty::Map("manifest")),
            "the article's file tables",
        ),
        opt(
            "backout",
            Ty::TextOrMap("backout"),
            "how to undo the update: a text, or a map with `text` and `steps`; printed in the checklist's back-out section, never run",
        ),
    ],
};

pub const PARAMETER: Node = Node {
    name: "parameter",
    what: "a parameter",
    doc: "A value the procedure depends on, asked once at the start of a run, or given with --set NAME=VALUE or an answers file.",
    fields: &[
        req(
            "name",
            Ty::Id,
            "the parameter's id, used in `when` and `{{ }}`",
        ),
        req(
            "type",
            Ty::OneOf(PARAM_TYPES),
            "`bool`, `string`, `path`, `choice`, `hosts` (a list of host names), or `secret`",
        ),
        req("prompt", Ty::Text, "the question asked of the operator"),
        opt("help", Ty::Text, "longer help shown on request"),
        opt(
            "default",
            Ty::Default,
            "the value used when none is given; its type must match (`true`/`false` for bool, a list for hosts, one of `choices` for choice). A secret has no default.",
        ),
        opt("choices", TEXTS, "the allowed values"),
    ],
};

pub const ROLE: Node = Node {
    name: "role",
    what: "a role",
    doc: "A kind of server; a step on a role becomes one step instance per host.",
    fields: &[
        req("id", Ty::Id, "the role's id, used in `on:`"),
        req("title", Ty::Text, "a short name (`MPS engine servers`)"),
        opt("description", Ty::Text, "what these servers do"),
        opt(
            "hosts",
            TEXTS,
            "the default host names from the article (`[MPS01]`); the operator confirms or replaces them per run",
        ),
    ],
};

pub const PREREQUISITE: Node = Node {
    name: "prerequisite",
    what: "a prerequisite",
    doc: "Something that must hold before the procedure starts.",
    fields: &[
        req("text", Ty::Template, "what must hold"),
        opt(
            "note",
            Ty::Text,
            "how it is checked, or how the article's words were read",
        ),
        opt(
            "references",
            REFERENCES,
            "list of references (see [References](#references))",
        ),
    ],
};

pub const REFERENCE: Node = Node {
    name: "reference",
    what: "a reference",
    doc: "A related article or address.",
    fields: &[
        opt("article", Ty::Text, "an article number (`KB977174`)"),
        opt("url", Ty::Text, "an address"),
        opt("title", Ty::Text, "the article's title"),
    ],
};

pub const PHASE: Node = Node {
    name: "phase",
    what: "a phase",
    doc: "A group of steps, done in order.",
    fields: &[
        req("id", Ty::Id, "unique among the phases"),
        req("title", Ty::Text, "what the phase does"),
        opt(
            "when",
            Ty::Text,
            "a condition over parameters that applies to all its steps (see [Conditions](#conditions))",
        ),
        opt("notes", TEXTS, "list of notes shown with the phase"),
        req("steps", STEPS, "the phase's steps (a non-empty list)"),
        opt(
            "for_each_host",
            Ty::Id,
            "a role id: the phase runs all its steps on one batch of the role's hosts before the next batch (every step must run `on:` that role)",
        ),
        opt(
            "serial",
            Ty::Serial,
            "with `for_each_host`: hosts per batch, a number (at least 1) or a percentage of the role's hosts (`25%`, rounded up, at least one host); default 1",
        ),
        opt(
            "max_failures",
            Ty::Count,
            "with `for_each_host`: how many hosts may fail before the walk stops and asks (default 0)",
        ),
    ],
};

pub const STEP: Node = Node {
    name: "step",
    what: "a step",
    doc: "One thing to do.",
    fields: &[
        req(
            "id",
            Ty::Id,
            "unique in the runbook (across phases and known-issue workarounds)",
        ),
        req("title", Ty::Template, "what the step does, in a few words"),
        opt(
            "instructions",
            Ty::Template,
            "what the operator does; `{{ }}` is filled in",
        ),
        opt(
            "on",
            Ty::Id,
            "a role id: one step instance per host of the role",
        ),
        opt(
            "when",
            Ty::Text,
            "a condition over parameters (see [Conditions](#conditions))",
        ),
        opt(
            "article_step",
            Ty::Label,
            "the article's own number for the step (`7`, `\"1-3\"`), printed as \"article step 7\" beside the runbook's number in the walk and in every checklist format, so a printout can be held against the article",
        ),
        opt(
            "items",
            Ty::List(&Ty::TextOrMap("item")),
            "a list of things confirmed one by one (components to uninstall, nodes to initialize)",
        ),
        opt("notes", TEXTS, "list of notes shown with the step"),
        opt(
            "references",
            REFERENCES,
            "list of references (see [References](#references))",
        ),
        opt(
            "known_issues",
            Ty::List(&Ty::Id),
            "list of known-issue ids that can bite at this step",
        ),
        opt(
            "action",
            Ty::Action,
            "what is automated (see [Actions](#actions)); without one the step is manual",
        ),
        opt(
            "automation",
            Ty::Action,
            "only on a manual step: an automated action the operator may choose to run instead of doing the step by hand",
        ),
        opt(
            "parallel",
            Ty::Count,
            "with `on:` and an automated action: how many hosts of the role it runs on at once (at least 1; default 1, one host after the other)",
        ),
    ],
};

pub const ITEM: Node = Node {
    name: "item",
    what: "an item",
    doc: "A thing confirmed on its own within a step.",
    fields: &[
        opt(
            "id",
            Ty::Id,
            "unique within the step; defaults to the text made into an id",
        ),
        req("text", Ty::Template, "what is confirmed"),
        opt("note", Ty::Text, "a note shown with the item"),
        opt(
            "when",
            Ty::Text,
            "a condition over parameters (see [Conditions](#conditions)): the item is part of the step only where it holds",
        ),
    ],
};

pub const MANUAL_ACTION: Node = Node {
    name: "manual_action",
    what: "a manual action",
    doc: "The operator does the step and confirms it.",
    fields: &[req("type", Ty::OneOf(&["manual"]), "`manual`")],
};

pub const COMMAND_ACTION: Node = Node {
    name: "command_action",
    what: "a command action",
    doc: "Runs a program with an argument vector; no shell unless `shell: true`.",
    fields: &[
        req("type", Ty::OneOf(&["command"]), "`command`"),
        req(
            "program",
            Ty::Template,
            "the program, by name (looked up on `PATH`) or by path; `{{ }}` allowed",
        ),
        opt(
            "args",
            Ty::List(&Ty::Template),
            "list of arguments; `{{ }}` allowed in each",
        ),
        opt("cwd", Ty::Template, "the working folder"),
        opt(
            "timeout",
            Ty::Count,
            "seconds before the command is stopped (default 600; at least 1)",
        ),
        opt(
            "success_codes",
            Ty::List(&Ty::Int),
            "exit codes that mean success (default `[0]`)",
        ),
        opt(
            "shell",
            Ty::Bool,
            "`true` to run through the shell (default `false`)",
        ),
    ],
};

pub const COPY_ACTION: Node = Node {
    name: "copy_action",
    what: "a copy action",
    doc: "Copies files by name from one folder to another, backing up what it replaces and verifying each file.",
    fields: &[
        req("type", Ty::OneOf(&["copy"]), "`copy`"),
        req("from", Ty::Template, "the source folder"),
        req("to", Ty::Template, "the destination folder"),
        req(
            "files",
            TEXTS,
            "list of file names (not paths: a name must not be empty, absolute or contain `..`; it is taken as written, so no `{{ }}`); names match case-insensitively",
        ),
        opt(
            "backup",
            Ty::Bool,
            "`true` (default) to back up each file that is replaced",
        ),
        opt(
            "manifest",
            Ty::Id,
            "the id of the manifest to verify against (default: every manifest)",
        ),
    ],
};

pub const WRITE_FILE_ACTION: Node = Node {
    name: "write_file_action",
    what: "a write_file action",
    doc: "Writes a text file atomically, backing up the file it replaces.",
    fields: &[
        req("type", Ty::OneOf(&["write_file"]), "`write_file`"),
        req("dir", Ty::Template, "the folder to write into"),
        req("file", Ty::Text, "the file name (not a path)"),
        req(
            "content",
            Ty::Template,
            "the text to write; `{{ }}` allowed",
        ),
        opt("backup", Ty::Bool, "`true` (default)"),
    ],
};

pub const CREATE_FOLDER_ACTION: Node = Node {
    name: "create_folder_action",
    what: "a create_folder action",
    doc: "Creates one empty folder (its parent must exist).",
    fields: &[
        req("type", Ty::OneOf(&["create_folder"]), "`create_folder`"),
        req(
            "path",
            Ty::Template,
            "the folder to create; `{{ }}` allowed",
        ),
    ],
};

pub const CHECK_ACTION: Node = Node {
    name: "check_action",
    what: "a check action",
    doc: "A read-only assertion; the step fails when it does not hold.",
    fields: &[
        req("type", Ty::OneOf(&["check"]), "`check`"),
        req(
            "checks",
            Ty::List(&Ty::Map("check_entry")),
            "the assertions; each entry has exactly one of `exists`, `writable`, `command`",
        ),
        opt(
            "retry",
            Ty::Map("check_retry"),
            "wait until every assertion holds: `for` (required) how long at most, `every` how often to look",
        ),
    ],
};

pub const CHECK_RETRY: Node = Node {
    name: "check_retry",
    what: "a check's retry",
    doc: "How long a check keeps looking until its assertions hold.",
    fields: &[
        req(
            "for",
            Ty::Duration,
            "the longest the check waits: seconds, or with a unit (`90s`, `5m`, `1h`)",
        ),
        opt(
            "every",
            Ty::Duration,
            "the time between two looks (default 5s; not longer than `for`)",
        ),
    ],
};

pub const RESTART_ACTION: Node = Node {
    name: "restart_action",
    what: "a restart action",
    doc: "Restarts the step's host with a command, waits until it answers over SSH again, then runs its checks.",
    fields: &[
        req("type", Ty::OneOf(&["restart"]), "`restart`"),
        req(
            "program",
            Ty::Template,
            "the program that restarts the host (`shutdown`), run on the host; `{{ }}` allowed",
        ),
        opt(
            "args",
            Ty::List(&Ty::Template),
            "list of arguments (`[/r, /t, 0]`); `{{ }}` allowed in each",
        ),
        opt(
            "wait",
            Ty::Count,
            "seconds the host has to go down and answer over SSH again (default 900; at least 1)",
        ),
        opt(
            "checks",
            Ty::List(&Ty::Map("check_entry")),
            "what must hold once the host is back, as in a `check` action; retried until it holds or the wait is up",
        ),
    ],
};

pub const CHECK_ENTRY: Node = Node {
    name: "check_entry",
    what: "a check entry",
    doc: "One assertion: exactly one of exists (with an optional size), writable, command.",
    fields: &[
        opt(
            "exists",
            Ty::Template,
            "the file or folder exists (with that size)",
        ),
        opt("size", Ty::Count, "with `exists`: the size in bytes"),
        opt(
            "writable",
            Ty::Template,
            "the folder exists and a file can be created in it",
        ),
        opt("command", Ty::Map("check_command"), "the program exits 0"),
    ],
};

pub const CHECK_COMMAND: Node = Node {
    name: "check_command",
    what: "a check command",
    doc: "A program that must exit 0.",
    fields: &[
        req("program", Ty::Template, "the program, by name or by path"),
        opt("args", Ty::List(&Ty::Template), "list of arguments"),
    ],
};

pub const KNOWN_ISSUE: Node = Node {
    name: "known_issue",
    what: "a known issue",
    doc: "A problem the article describes, with its workaround.",
    fields: &[
        req("id", Ty::Id, "used in a step's `known_issues`"),
        req(
            "title",
            Ty::Text,
            "a short name (`Error 1053 on the IM Conferencing service`)",
        ),
        req("symptom", Ty::Text, "what the operator sees"),
        opt("cause", Ty::Text, "why it happens"),
        opt(
            "applies_to",
            Ty::List(&Ty::Id),
            "list of role ids where it can happen",
        ),
        opt("workaround", Ty::Text, "text describing the fix"),
        opt(
            "steps",
            STEPS,
            "the fix as runnable steps (same fields as phase steps; ids unique in the runbook)",
        ),
        opt("notes", TEXTS, "list of notes shown with the step"),
        opt(
            "references",
            REFERENCES,
            "list of references (see [References](#references))",
        ),
    ],
};

pub const MANIFEST: Node = Node {
    name: "manifest",
    what: "a manifest",
    doc: "One of the article's file tables.",
    fields: &[
        req("id", Ty::Id, "used in a copy's `manifest`"),
        req("title", Ty::Text, "the table's title"),
        opt("note", Ty::Text, "a note on the table"),
        opt(
            "platform",
            Ty::Text,
            "the platform the table is for (`x64`)",
        ),
        req(
            "files",
            Ty::List(&Ty::Map("manifest_file")),
            "the table's rows",
        ),
    ],
};

pub const MANIFEST_FILE: Node = Node {
    name: "manifest_file",
    what: "a manifest file",
    doc: "One row of a file table.",
    fields: &[
        req("name", Ty::Text, "the file name (not a path)"),
        opt("size", Ty::Count, "the size in bytes, an integer"),
        opt("version", Ty::Text, "the file version"),
        opt("date", Ty::Text, "the date, as the article writes it"),
        opt("time", Ty::Text, "the time, as the article writes it"),
        opt("platform", Ty::Text, "the platform"),
        opt(
            "sha256",
            Ty::Sha256,
            "the SHA-256 of the file, 64 hexadecimal digits",
        ),
    ],
};

pub const BACKOUT: Node = Node {
    name: "backout",
    what: "the back-out section",
    doc: "How to undo the update, for the change record.",
    fields: &[
        opt(
            "text",
            Ty::Text,
            "what backing out means, and when to do it",
        ),
        opt(
            "steps",
            TEXTS,
            "the back-out steps, in order; each is printed with a box",
        ),
    ],
};

/// Every kind of map, the runbook first.
pub const NODES: &[&Node] = &[
    &RUNBOOK,
    &PARAMETER,
    &ROLE,
    &PREREQUISITE,
    &REFERENCE,
    &PHASE,
    &STEP,
    &ITEM,
    &MANUAL_ACTION,
    &COMMAND_ACTION,
    &COPY_ACTION,
    &WRITE_FILE_ACTION,
    &CREATE_FOLDER_ACTION,
    &CHECK_ACTION,
    &RESTART_ACTION,
    &CHECK_ENTRY,
    &CHECK_COMMAND,
    &CHECK_RETRY,
    &KNOWN_ISSUE,
    &MANIFEST,
    &MANIFEST_FILE,
    &BACKOUT,
];

/// The action map for an action `type`.
pub fn action(kind: &str) -> Option<&'static Node> {
    match kind {
        "manual" => Some(&MANUAL_ACTION),
        "command" => Some(&COMMAND_ACTION),
        "copy" => Some(&COPY_ACTION),
        "write_file" => Some(&WRITE_FILE_ACTION),
        "create_folder" => Some(&CREATE_FOLDER_ACTION),
        "check" => Some(&CHECK_ACTION),
        "restart" => Some(&RESTART_ACTION),
        _ => None,
    }
}

/// The kind of map with this schema name.
pub fn node(name: &str) -> Option<&'static Node> {
    NODES.iter().copied().find(|n| n.name == name)
}
