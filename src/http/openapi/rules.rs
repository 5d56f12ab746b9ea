//! Rules between fields that the derived schemas cannot say, added to them by name: the
//! same rules the domain's parsers enforce.

use serde_json::{Value, json};

/// Adds the cross-field rules to the component schemas of `doc`.
pub fn apply(doc: &mut Value) {
    // Exactly one of `tool` and `new_tool` (`SubmitRequest::parse`).
    set(
        doc,
        "SubmitRequest",
        "oneOf",
        json!([
            {"required": ["tool"], "properties": {"tool": {"type": "string"}, "new_tool": {"type": "null"}}},
            {"required": ["new_tool"], "properties": {"new_tool": {"type": "object"}, "tool": {"type": "null"}}},
        ]),
    );
    // A group connector names its group (`ToolUpsert::into_tool`).
    set(
        doc,
        "Connector",
        "oneOf",
        json!([
            {"properties": {"type": {"const": "manual"}}},
            {"required": ["group"], "properties": {
                "type": {"enum": ["okta-group", "entra-group"]}, "group": {"type": "string"}}},
        ]),
    );
}

fn set(doc: &mut Value, schema: &str, key: &str, value: Value) {
    if let Some(target) = doc
        .pointer_mut(&format!("/components/schemas/{schema}"))
        .and_then(Value::as_object_mut)
    {
        target.insert(key.to_owned(), value);
    }
}
