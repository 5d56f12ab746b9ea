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

/// `(expires_at ms, grant id)` for active grants: what expires when.
pub const GRANTS_BY_EXPIRY: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("grants_by_expiry");
/// `(submitted_at ms, request id)` for pending requests: what waits since when.
pub const PENDING_BY_AGE: TableDefinition<(i64, &str), ()> = TableDefinition::new("pending_by_age");

/// Fulfilment and deprovisioning jobs by id.
pub const JOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("jobs");
/// `(kind, job id)` for open jobs.
pub const OPEN_JOBS: TableDefinition<(&str, &str), ()> = TableDefinition::new("open_jobs");

/// Recertifications by id.
pub const RECERTS: TableDefinition<&str, &[u8]> = TableDefinition::new("recertifications");
/// `(grant id, expires_at ms)` → recertification id: one review per expiry.
pub const RECERT_BY_GRANT: TableDefinition<(&str, i64), &str> =
    TableDefinition::new("recertifications_by_grant");
/// `(request id, breach)` → escalation.
pub const ESCALATIONS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("escalations");
/// `(grant id, job id)` for every job.
pub const JOBS_BY_GRANT: TableDefinition<(&str, &str), ()> = TableDefinition::new("jobs_by_grant");
/// `(state, tool, grant id)` for every grant.
pub const GRANTS_BY_STATE: TableDefinition<(&str, &str, &str), ()> =
    TableDefinition::new("grants_by_state");
/// Number of active grants, by tool.
pub const ACTIVE_GRANT_COUNT: TableDefinition<&str, u64> =
    TableDefinition::new("active_grant_count");
/// `(request id, breach)` for escalations of requests that are still pending.
pub const OPEN_ESCALATIONS: TableDefinition<(&str, u32), ()> =
    TableDefinition::new("open_escalations");
/// Requests by `(submission month YYYY-MM, decision outcome)`: a count.
pub const REQUESTS_BY_MONTH: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("requests_by_month");
/// Reviewed requests by whole minutes from submission to the final decision: a count.
pub const REVIEW_MINUTES: TableDefinition<u64, u64> = TableDefinition::new("review_minutes");
/// Recertification ids still open.
pub const OPEN_RECERTS: TableDefinition<&str, ()> = TableDefinition::new("open_recertifications");
