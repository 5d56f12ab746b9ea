//! OpenAPI links: how one answer leads to the next call, so clients and stateful testers can
//! walk the workflow (request → review → grant → fulfil, revoke or extend).

use serde_json::{Value, json};

/// A link: from `operation`'s `statuses`, named `name`, to `target`, whose `param` takes the
/// value at `value` (a runtime expression).
struct Link {
    operation: &'static str,
    statuses: &'static [&'static str],
    name: &'static str,
    target: &'static str,
    param: &'static str,
    value: &'static str,
}

const fn link(
    operation: &'static str,
    statuses: &'static [&'static str],
    name: &'static str,
    target: &'static str,
    param: &'static str,
    value: &'static str,
) -> Link {
    Link {
        operation,
        statuses,
        name,
        target,
        param,
        value,
    }
}

const LINKS: &[Link] = &[
    link(
        "post_requests",
        &["200", "201"],
        "GetRequest",
        "get_requests_id",
        "id",
        "$response.body#/request_id",
    ),
    link(
        "post_requests",
        &["200", "201"],
        "ApproveRequest",
        "post_requests_id_approve",
        "id",
        "$response.body#/request_id",
    ),
    link(
        "post_requests",
        &["200", "201"],
        "DenyRequest",
        "post_requests_id_deny",
        "id",
        "$response.body#/request_id",
    ),
    link(
        "post_requests",
        &["200", "201"],
        "ReplayRequest",
        "post_requests_id_replay",
        "id",
        "$response.body#/request_id",
    ),
    link(
        "post_requests_id_approve",
        &["200"],
        "GetGrant",
        "get_grants_id",
        "id",
        "$response.body#/grant/grant_id",
    ),
    link(
        "post_requests_id_approve",
        &["200"],
        "FulfillGrant",
        "post_grants_id_fulfill",
        "id",
        "$response.body#/grant/grant_id",
    ),
    link(
        "post_requests_id_approve",
        &["200"],
        "RevokeGrant",
        "post_grants_id_revoke",
        "id",
        "$response.body#/grant/grant_id",
    ),
    link(
        "post_requests_id_approve",
        &["200"],
        "ExtendGrant",
        "post_grants_id_extend",
        "id",
        "$response.body#/grant/grant_id",
    ),
    link(
        "post_grants_id_fulfill",
        &["200"],
        "RevokeGrant",
        "post_grants_id_revoke",
        "id",
        "$response.body#/grant_id",
    ),
    link(
        "post_grants_id_fulfill",
        &["200"],
        "ExtendGrant",
        "post_grants_id_extend",
        "id",
        "$response.body#/grant_id",
    ),
    link(
        "post_tokens",
        &["201"],
        "RevokeToken",
        "delete_tokens_id",
        "id",
        "$response.body#/id",
    ),
    link(
        "put_users_email",
        &["200"],
        "GetUser",
        "get_users_email",
        "email",
        "$request.path.email",
    ),
    link(
        "put_users_email",
        &["200"],
        "GetAccess",
        "get_users_email_access",
        "email",
        "$request.path.email",
    ),
    link(
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
            for l in LINKS.iter().filter(|l| id.as_deref() == Some(l.operation)) {
                for status in l.statuses {
                    let Some(response) = op
                        .pointer_mut(&format!("/responses/{status}"))
                        .and_then(Value::as_object_mut)
                    else {
                        continue;
                    };
                    let links = response.entry("links").or_insert_with(|| json!({}));
                    if let Some(links) = links.as_object_mut() {
                        let to = json!({"operationId": l.target, "parameters": {l.param: l.value}});
                        links.insert(l.name.to_owned(), to);
                    }
                }
            }
        }
    }
}
