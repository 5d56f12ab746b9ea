//! What every operation shares, added to the generated document in one place: the answers
//! that come from the shared extractors and middleware rather than from a handler (401 from
//! the bearer extractor, 400/413/415 from the body and query extractors, 404 from a path id,
//! 503 from the store and the request deadline), stable operation ids, and the formats.

use crate::domain::formats;
use serde_json::{Map, Value, json};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Operations every role may call, and that act for nobody: the only ones that never answer
/// 403 (README's roles table; `tests/api/roles.rs` holds the two together).
pub const OPEN_TO_EVERY_ROLE: &[&str] = &[
    "get_requests",
    "get_requests_id",
    "post_requests_id_replay",
    "get_decisions",
    "get_grants",
    "get_grants_id",
    "get_users_email_access",
    "get_jobs",
    "get_recertifications",
    "get_escalations",
    "get_insights",
    "get_tools",
    "get_tools_id",
    "get_users_email",
    "get_policies_active",
    "get_policies_versions",
    "get_policies_versions_version",
    "get_policies_history",
    "get_policies_diff",
    "get_connectors",
    "get_connectors_id",
    "get_users_email_identities",
    "get_jobs_id",
    "get_jobs_escalations",
    "get_drift",
    "post_grants_id_check",
    "get_integrations_jira",
    "get_deliveries",
];

/// Adds the shared answers, operation ids and format schemas to `doc`.
pub fn apply(doc: &mut Value) {
    let error = json!({"$ref": "#/components/schemas/ErrorBody"});
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for format in formats::ALL {
            schemas.insert(
                format.name.to_owned(),
                serde_json::to_value(format.schema()).unwrap_or_default(),
            );
        }
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            if let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) {
                let id = operation_id(method, path);
                let role_checked = !OPEN_TO_EVERY_ROLE.contains(&id.as_str());
                op.insert("operationId".into(), id.into());
                add_shared_answers(op, &error, role_checked);
            }
        }
    }
}

/// `post_requests_id_approve` for `POST /v1/requests/{id}/approve`: unique, and stable as
/// long as the path is.
pub fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<&str> = path
        .split('/')
        .map(|s| s.trim_matches(|c| c == '{' || c == '}'))
        .filter(|s| !s.is_empty() && *s != "v1")
        .collect();
    format!("{method}_{}", words.join("_")).replace(['-', '.'], "_")
}

fn add_shared_answers(op: &mut Map<String, Value>, error: &Value, role_checked: bool) {
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let has_body = op.contains_key("requestBody");
    let params: Vec<String> = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("in").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut add = |status: &str, description: &str| {
        let responses = op
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        if let Some(responses) = responses {
            responses
                .entry(status)
                .or_insert_with(|| error_response(status, description, error));
        }
    };
    if has_body || !params.is_empty() {
        add(
            "400",
            "`invalid_json` or `validation_failed`, naming the `field`",
        );
    }
    if secured {
        add(
            "401",
            "`unauthenticated`: no, an unknown, a revoked or an expired token",
        );
        if role_checked {
            add(
                "403",
                "`forbidden`: the token's role may not do this, or acts for another person",
            );
        }
    }
    if params.iter().any(|p| p == "path") {
        add("404", "`not_found`");
    }
    if has_body {
        add("413", "`payload_too_large`");
        add(
            "415",
            "`unsupported_media_type`: the body is not `application/json`",
        );
    }
    add(
        "503",
        "`unavailable`: storage cannot take changes now, or the request took too long; retry after `Retry-After`",
    );
    // A handler's own 429 or 503 in the error shape carries `Retry-After` as well.
    for status in ["429", "503"] {
        if let Some(response) = op.get_mut("responses").and_then(|r| r.get_mut(status))
            && response.pointer("/content/application~1json").is_some()
        {
            set_headers(response);
        }
    }
}

fn set_headers(response: &mut Value) {
    if let Some(response) = response.as_object_mut() {
        response.insert("headers".into(), retry_after());
    }
}

fn retry_after() -> Value {
    json!({"Retry-After": {
        "description": "Seconds to wait before retrying",
        "required": true,
        "schema": {"type": "integer", "minimum": 0},
    }})
}

fn error_response(status: &str, description: &str, error: &Value) -> Value {
    let mut response = json!({
        "description": description,
        "content": {"application/json": {"schema": error}},
    });
    if matches!(status, "429" | "503") {
        set_headers(&mut response);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::operation_id;

    #[test]
    fn operation_ids_follow_method_and_path() {
        assert_eq!(
            operation_id("post", "/v1/requests/{id}/approve"),
            "post_requests_id_approve"
        );
        assert_eq!(operation_id("get", "/openapi.json"), "get_openapi_json");
        assert_eq!(
            operation_id("get", "/v1/audit/public-key"),
            "get_audit_public_key"
        );
    }
}
