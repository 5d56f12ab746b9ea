//! Every redb table of the store, declared in one place.
//!
//! Records are JSON-encoded bytes; index tables have composite keys so that every query is
//! a point lookup or a prefix range, never a scan of a whole table.

use redb::TableDefinition;

/// Catalog entries by slug.
pub const TOOLS: TableDefinition<&str, &[u8]> = TableDefinition::new("tools");
/// Users by lower-cased email.
pub const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
/// Groups by name.
pub const GROUPS: TableDefinition<&str, &[u8]> = TableDefinition::new("groups");
/// Tokens by the hex SHA-256 of their secret.
pub const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");

/// Requests by id.
pub const REQUESTS: TableDefinition<&str, &[u8]> = TableDefinition::new("requests");
/// Request id by Jira issue key.
pub const REQUESTS_BY_ISSUE: TableDefinition<&str, &str> =
    TableDefinition::new("requests_by_issue");
/// `(requester, tool, request id)` for every request.
pub const REQUESTS_BY_USER_TOOL: TableDefinition<(&str, &str, &str), ()> =
    TableDefinition::new("requests_by_user_tool");
/// `(tool, request id)` for every request.
pub const REQUESTS_BY_TOOL: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("requests_by_tool");
/// `(status, request id)` for every request.
pub const REQUESTS_BY_STATUS: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("requests_by_status");
/// `(requester, tool, request id)` for pending requests only.
pub const OPEN_REQUESTS: TableDefinition<(&str, &str, &str), ()> =
    TableDefinition::new("open_requests");

/// Grants by id.
pub const GRANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("grants");
/// `(user, tool, grant id)` for every grant.
pub const GRANTS_BY_USER_TOOL: TableDefinition<(&str, &str, &str), ()> =
    TableDefinition::new("grants_by_user_tool");
/// `(user, tool, grant id)` for grants pending provision or active.
pub const OPEN_GRANTS: TableDefinition<(&str, &str, &str), ()> =
    TableDefinition::new("open_grants");
/// Number of grants pending provision or active, by tool.
pub const OPEN_GRANT_COUNT: TableDefinition<&str, u64> = TableDefinition::new("open_grant_count");

/// `(policy version, request id)` for every recorded decision.
pub const DECISIONS_BY_VERSION: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("decisions_by_version");

/// Policy versions (full text) by version hash.
pub const POLICY_VERSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("policy_versions");
/// Version hash by sequence number.
pub const POLICY_SEQ: TableDefinition<u64, &str> = TableDefinition::new("policy_seq");
/// Activations by number, in order.
pub const POLICY_ACTIVATIONS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("policy_activations");

/// The audit log by seq.
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
