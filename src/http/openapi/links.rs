//! OpenAPI links: how one answer leads to the next call, so clients and stateful testers can
//! walk the workflow (request → review → grant → fulfil, revoke or extend).

use serde_json::{Value, json};

/// `(operation, statuses, link name, target operation, parameter, where the value comes from)`.
const LINKS: &[(&str, &[&str], &str, &str, &str, &str)] = &[
    (
        "post_requests",
        &["200", "201"],
        "GetRequest",
        "get_requests_id",
        "id",
        "$response.body#/request_id",
    ),
    (
        "post_requests",
        &["200", "201"],
        "ApproveRequest",
        "post_requests_id_approve",
        "id",
        "$response.body#/request_id",
    ),
    (
        "post_requests",
        &["200", "201"],
        "DenyRequest",
        "post_requests_id_deny",
        "id",
        "$response.body#/request_id",
    ),
    (
        "post_requests",
        &["200", "201"],
        "ReplayRequest",
        "post_requests_id_replay",
        "id",
        "$response.body#/request_id",
    ),
    (
        "post_requests_id_approve",
        &["200"],
        "GetGrant",
        "get_grants_id",
        "id",
        "$response.body#/grant/grant_id",
    ),
    (
        "post_requests_id_approve",
        &["200"],
        "FulfillGrant",
        "post_grants_id_fulfill",
        "id",
        "$response.body#/grant/grant_id",
    ),
    (
        "post_requests_id_approve",
        &["200"],
        "RevokeGrant",
        "post_grants_id_revoke",
        "id",
        "$response.body#/grant/grant_id",
    ),
    (
        "post_requests_id_approve",
        &["200"],
        "ExtendGrant",
        "post_grants_id_extend",
        "id",
        "$response.body#/grant/grant_id",
    ),
    (
        "post_grants_id_fulfill",
        &["200"],
        "RevokeGrant",
        "post_grants_id_revoke",
        "id",
        "$response.body#/grant_id",
    ),
    (
        "post_grants_id_fulfill",
        &["200"],
        "ExtendGrant",
        "post_grants_id_extend",
        "id",
        "$response.body#/grant_id",
    ),
    (
        "post_tokens",
        &["201"],
        "RevokeToken",
        "delete_tokens_id",
        "id",
        "$response.body#/id",
    ),
    (
        "put_users_email",
        &["200"],
        "GetUser",
        "get_users_email",
        "email",
        "$request.path.email",
    ),
    (
        "put_users_email",
        &["200"],
        "GetAccess",
        "get_users_email_access",
        "email",
        "$request.path.email",
    ),
    (
        "put_tools_id",
        &["200"],
        "GetTool",
        "get_tools_id",
        "id",
        "$request.path.id",
    ),
];

/// Adds [`LINKS`] to the responses of `doc`, whose operations have their ids already.
pub fn apply(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned);
            for (from, statuses, name, target, param, value) in LINKS {
                if id.as_deref() != Some(*from) {
                    continue;
                }
                for status in *statuses {
                    if let Some(response) = op.pointer_mut(&format!("/responses/{status}")) {
                        response["links"][*name] =
                            json!({"operationId": target, "parameters": {*param: value}});
                    }
                }
            }
        }
    }
}
