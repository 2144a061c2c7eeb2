//! JSON Schemas for editors: the runbook format (from [`super::spec`], the table the loader
//! checks field names against), the answers file (from the types that read it) and the inventory.
//!
//! An editor's YAML extension uses them to complete and check a file as it is typed; `stepwise
//! validate` stays the judge (it also checks references, conditions and placeholders, which a
//! schema cannot).

use serde_json::{Map, Value, json};

use super::spec::{self, Field, Node, Ty};

const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The JSON Schema of the runbook format.
pub fn runbook() -> Value {
    let defs: Map<String, Value> = spec::NODES
        .iter()
        .map(|n| (n.name.to_string(), node(n)))
        .collect();
    json!({
        "$schema": DRAFT,
        "title": "stepwise runbook",
        "description": spec::RUNBOOK.doc,
        "$ref": "#/$defs/runbook",
        "$defs": defs,
    })
}

fn node(n: &Node) -> Value {
    let properties: Map<String, Value> = n
        .fields
        .iter()
        .map(|f| (f.name.to_string(), field(f)))
        .collect();
    let required: Vec<&str> = n
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    let mut v = json!({
        "type": "object",
        "description": n.doc,
        "properties": properties,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        v["required"] = json!(required);
    }
    // What the loader checks across fields, where a schema can say it too.
    match n.name {
        "check_entry" => {
            v["oneOf"] = json!([
                { "required": ["exists"] },
                { "required": ["writable"] },
                { "required": ["command"] },
            ]);
            v["dependentRequired"] = json!({ "size": ["exists"] });
        }
        "reference" => v["minProperties"] = json!(1),
        _ => {}
    }
    v
}

fn field(f: &Field) -> Value {
    let mut v = ty(&f.ty);
    v["description"] = json!(f.doc);
    v
}

fn ty(t: &Ty) -> Value {
    match t {
        Ty::Text | Ty::Template => json!({ "type": "string" }),
        Ty::Label => json!({ "type": ["string", "integer"] }),
        Ty::Id => json!({ "type": "string", "pattern": "^[a-z][a-z0-9_-]*$" }),
        Ty::Bool => json!({ "type": "boolean" }),
        Ty::Count => json!({ "type": "integer", "minimum": 0 }),
        Ty::Int => json!({ "type": "integer" }),
        Ty::OneOf(words) if words.len() == 1 => json!({ "const": words[0] }),
        Ty::OneOf(words) => json!({ "enum": words }),
        Ty::List(item) => json!({ "type": "array", "items": ty(item) }),
        Ty::Map(name) => json!({ "$ref": format!("#/$defs/{name}") }),
        Ty::TextOrMap(name) => json!({
            "anyOf": [{ "type": "string" }, { "$ref": format!("#/$defs/{name}") }]
        }),
        Ty::Action => {
            let mut choices = vec![json!({ "const": "manual" })];
            choices.extend(
                spec::ACTION_TYPES
                    .iter()
                    .filter_map(|k| spec::action(k))
                    .map(|n| json!({ "$ref": format!("#/$defs/{}", n.name) })),
            );
            json!({ "oneOf": choices })
        }
        Ty::Default => json!({
            "anyOf": [
                { "type": ["string", "number", "boolean"] },
                { "type": "array", "items": { "type": "string" } },
            ]
        }),
        Ty::Sha256 => json!({ "type": "string", "pattern": "^[0-9a-fA-F]{64}$" }),
        Ty::Serial => json!({
            "anyOf": [
                { "type": "integer", "minimum": 1 },
                { "type": "string", "pattern": "^([1-9][0-9]?|100)%$" },
            ]
        }),
        Ty::Duration => json!({
            "anyOf": [
                { "type": "integer", "minimum": 1 },
                { "type": "string", "pattern": "^[0-9]+(s|m|h)?$" },
            ]
        }),
    }
}

/// The JSON Schema of an answers file (`--answers`), from the types that read it.
pub fn answers() -> Value {
    let mut v = serde_json::to_value(crate::ui::scripted::answers_schema()).unwrap_or_default();
    v["$schema"] = json!(DRAFT);
    v["title"] = json!("stepwise answers file");
    v
}

/// The JSON Schema of an inventory file (`--inventory`): either of its two shapes, a map of role
/// id to host names, or `roles`, `defaults`, `hosts` and `known_hosts` (from the types that read
/// it, [`crate::target::Inventory`]).
pub fn inventory() -> Value {
    let mut described =
        serde_json::to_value(schemars::schema_for!(crate::target::Inventory)).unwrap_or_default();
    let definitions = described
        .as_object_mut()
        .and_then(|o| o.remove("$defs"))
        .unwrap_or_else(|| json!({}));
    if let Some(o) = described.as_object_mut() {
        o.remove("$schema");
        o.remove("title");
    }
    json!({
        "$schema": DRAFT,
        "title": "stepwise inventory",
        "description": "Host lists per role, and how each host is reached: either a map of role id to host names, or roles, defaults, hosts and known_hosts.",
        "$defs": definitions,
        "anyOf": [
            {
                "description": "Host lists per role: each key is a role id of the runbook, each value the host names of that role for this run.",
                "type": "object",
                "propertyNames": { "pattern": "^[a-z][a-z0-9_-]*$", "not": { "enum": ["roles", "defaults", "hosts", "known_hosts"] } },
                "additionalProperties": {
                    "type": "array",
                    "items": { "type": "string", "minLength": 1 },
                    "description": "the host names of the role",
                },
            },
            described,
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field name the loader reads (the string literals it passes to its field readers)
    /// is a field of some kind of map in the table: a field added to the loader alone fails here.
    #[test]
    fn every_field_the_loader_reads_is_in_the_table() {
        let source = include_str!("load.rs");
        let mut read = std::collections::BTreeSet::new();
        for pattern in ["get(\"", ", \""] {
            for (at, _) in source.match_indices(pattern) {
                let rest = &source[at + pattern.len()..];
                let Some(end) = rest.find('"') else { continue };
                let name = &rest[..end];
                let closes = rest[end + 1..].starts_with(')');
                if closes
                    && !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
                {
                    read.insert(name.to_string());
                }
            }
        }
        assert!(read.len() > 30, "the scan found only {read:?}");
        let known: std::collections::BTreeSet<&str> =
            spec::NODES.iter().flat_map(|n| n.names()).collect();
        let missing: Vec<&String> = read
            .iter()
            .filter(|n| !known.contains(n.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "read by the loader, not in spec.rs: {missing:?}"
        );
    }

    #[test]
    fn every_map_reference_resolves() {
        fn refs(t: &Ty, out: &mut Vec<&'static str>) {
            match t {
                Ty::Map(n) | Ty::TextOrMap(n) => out.push(n),
                Ty::List(i) => refs(i, out),
                _ => {}
            }
        }
        for n in spec::NODES {
            for f in n.fields {
                let mut names = Vec::new();
                refs(&f.ty, &mut names);
                for name in names {
                    assert!(
                        spec::node(name).is_some(),
                        "{}.{}: no map `{name}`",
                        n.name,
                        f.name
                    );
                }
            }
        }
    }

    #[test]
    fn parameter_types_are_the_models() {
        assert_eq!(spec::PARAM_TYPES, crate::runbook::ParamType::ALL);
    }
}
