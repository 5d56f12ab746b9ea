//! Every redb table of the store, declared in one place.
//!
//! Records are JSON-encoded bytes; index tables have composite keys so that every query is
//! a point lookup or a prefix range, never a scan of a whole table.
//!
//! Each table is a unit type naming its key and value types, so that a write transaction can
//! keep every table it touches open until it commits (see [`OpenTables`]) instead of opening
//! and closing it for each change.

use redb::{Key, Table, TableDefinition, Value};
use std::cell::RefCell;

/// A table of the store.
pub trait Spec: Copy + Default {
    /// The table's name in the database and in journal records.
    const NAME: &'static str;
    /// Key type.
    type K: Key + 'static;
    /// Value type.
    type V: Value + 'static;
    /// The redb definition.
    const DEF: TableDefinition<'static, Self::K, Self::V>;
    /// This table's slot among a write transaction's open tables.
    fn slot<'v, 'txn>(
        open: &'v OpenTables<'txn>,
    ) -> &'v RefCell<Option<Table<'txn, Self::K, Self::V>>>;
}

macro_rules! tables {
    ($($(#[doc = $doc:literal])* $name:ident $field:ident: $k:ty => $v:ty = $label:literal;)*) => {
        $(
            $(#[doc = $doc])*
            // Upper case like the constants these were: `w.open(GRANTS)` names a table.
            #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
            #[derive(Debug, Clone, Copy, Default)]
            pub struct $name;

            impl Spec for $name {
                const NAME: &'static str = $label;
                type K = $k;
                type V = $v;
                const DEF: TableDefinition<'static, $k, $v> = TableDefinition::new($label);
                fn slot<'v, 'txn>(open: &'v OpenTables<'txn>) -> &'v RefCell<Option<Table<'txn, $k, $v>>> {
                    &open.$field
                }
            }
        )*

        /// The tables a write transaction has opened so far; each stays open until the
        /// transaction commits.
        #[derive(Default)]
        pub struct OpenTables<'txn> {
            $($field: RefCell<Option<Table<'txn, $k, $v>>>,)*
        }

        /// Applies one change read back from the journal to the table it names.
        pub(super) fn redo_by_name(
            view: &super::WriteView<'_>,
            op: &super::durable::Op<'_>,
        ) -> Result<(), super::StoreError> {
            match op.table {
                $( $label => view.redo_op::<$name>(op), )*
                // The upgrade that follows applying the journal deletes the table anyway.
                name if RETIRED.contains(&name) => Ok(()),
                _ => Err(super::durable::JournalError::UnknownTable.into()),
            }
        }

        /// Every entry of every table as `(table, key bytes, value bytes)`, in order.
        #[cfg(test)]
        pub(super) fn dump_all(
            txn: &redb::ReadTransaction,
        ) -> Result<Vec<(&'static str, Vec<u8>, Vec<u8>)>, super::StoreError> {
            use redb::ReadableTable;
            let mut out = Vec::new();
            $(
                for entry in txn.open_table($name::DEF)?.iter()? {
                    let (k, v) = entry?;
                    let (k, v) = (k.value(), v.value());
                    let key = <$k as Value>::as_bytes(&k);
                    let value = <$v as Value>::as_bytes(&v);
                    out.push((
                        $label,
                        AsRef::<[u8]>::as_ref(&key).to_vec(),
                        AsRef::<[u8]>::as_ref(&value).to_vec(),
                    ));
                }
            )*
            Ok(out)
        }

        /// Copies every entry of every table of the snapshot `from` into `to` (a new
        /// database's transaction).
        pub(super) fn copy_all(
            from: &redb::ReadTransaction,
            to: &redb::WriteTransaction,
        ) -> Result<(), super::StoreError> {
            $( copy_table::<$name>(from, to)?; )*
            Ok(())
        }

        /// Creates every table, so that snapshots can open them before the first write.
        pub(super) fn create_all(txn: &redb::WriteTransaction) -> Result<(), redb::TableError> {
            $( txn.open_table($name::DEF)?; )*
            Ok(())
        }
    };
}

tables! {
    /// Catalog entries by slug.
    TOOLS tools: &'static str => &'static [u8] = "tools";
    /// Users by lower-cased email.
    USERS users: &'static str => &'static [u8] = "users";
    /// Groups by name.
    GROUPS groups: &'static str => &'static [u8] = "groups";
    /// Tokens by the hex SHA-256 of their secret.
    TOKENS tokens: &'static str => &'static [u8] = "tokens";
    /// Requests by id.
    REQUESTS requests: &'static str => &'static [u8] = "requests";
    /// Request id by Jira issue key.
    REQUESTS_BY_ISSUE requests_by_issue: &'static str => &'static str = "requests_by_issue";
    /// `(requester, tool, request id)` for every request.
    REQUESTS_BY_USER_TOOL requests_by_user_tool: (&'static str, &'static str, &'static str) => () = "requests_by_user_tool";
    /// `(tool, request id)` for every request.
    REQUESTS_BY_TOOL requests_by_tool: (&'static str, &'static str) => () = "requests_by_tool";
    /// `(status, request id)` for every request.
    REQUESTS_BY_STATUS requests_by_status: (&'static str, &'static str) => () = "requests_by_status";
    /// `(requester, tool, request id)` for pending requests only.
    OPEN_REQUESTS open_requests: (&'static str, &'static str, &'static str) => () = "open_requests";
    /// Grants by id.
    GRANTS grants: &'static str => &'static [u8] = "grants";
    /// `(user, tool, grant id)` → until when (ms) the grant is open, for every grant: the
    /// maximum while pending provision, the expiry while active or expired, the minimum once
    /// revoked. A grant is open at `now` when this is later than `now`, so expiry needs no
    /// write to this user-ordered index.
    GRANTS_BY_USER_TOOL grants_by_user_tool: (&'static str, &'static str, &'static str) => i64 = "grants_by_user_tool";
    /// Number of grants pending provision or active, by tool.
    OPEN_GRANT_COUNT open_grant_count: &'static str => u64 = "open_grant_count";
    /// `(policy version, request id)` for every recorded decision.
    DECISIONS_BY_VERSION decisions_by_version: (&'static str, &'static str) => () = "decisions_by_version";
    /// Policy versions (full text) by version hash.
    POLICY_VERSIONS policy_versions: &'static str => &'static [u8] = "policy_versions";
    /// Version hash by sequence number.
    POLICY_SEQ policy_seq: u64 => &'static str = "policy_seq";
    /// Activations by number, in order.
    POLICY_ACTIVATIONS policy_activations: u64 => &'static [u8] = "policy_activations";
    /// The audit log by seq.
    AUDIT audit: u64 => &'static [u8] = "audit";
    /// Signed checkpoints by the `seq` they cover.
    CHECKPOINTS checkpoints: u64 => &'static [u8] = "audit_checkpoints";
    /// `(expires_at ms, grant id)` for active grants: what expires when.
    GRANTS_BY_EXPIRY grants_by_expiry: (i64, &'static str) => () = "grants_by_expiry";
    /// Fulfilment and deprovisioning jobs by id.
    JOBS jobs: &'static str => &'static [u8] = "jobs";
    /// `(kind, job id)` for open jobs.
    OPEN_JOBS open_jobs: (&'static str, &'static str) => () = "open_jobs";
    /// Recertifications by id.
    RECERTS recerts: &'static str => &'static [u8] = "recertifications";
    /// `(grant id, expires_at ms)` → recertification id: one review per expiry.
    RECERT_BY_GRANT recert_by_grant: (&'static str, i64) => &'static str = "recertifications_by_grant";
    /// `(request id, breach)` → escalation.
    ESCALATIONS escalations: (&'static str, u32) => &'static [u8] = "escalations";
    /// `(grant id, job id)` for every job.
    JOBS_BY_GRANT jobs_by_grant: (&'static str, &'static str) => () = "jobs_by_grant";
    /// `(state, tool, grant id)` for every grant.
    GRANTS_BY_STATE grants_by_state: (&'static str, &'static str, &'static str) => () = "grants_by_state";
    /// Number of active grants, by tool.
    ACTIVE_GRANT_COUNT active_grant_count: &'static str => u64 = "active_grant_count";
    /// `(request id, breach)` for escalations of requests that are still pending.
    OPEN_ESCALATIONS open_escalations: (&'static str, u32) => () = "open_escalations";
    /// Requests by `(submission month YYYY-MM, decision outcome)`: a count.
    REQUESTS_BY_MONTH requests_by_month: (&'static str, &'static str) => u64 = "requests_by_month";
    /// Reviewed requests by whole minutes from submission to the final decision: a count.
    REVIEW_MINUTES review_minutes: u64 => u64 = "review_minutes";
    /// Recertification ids still open.
    OPEN_RECERTS open_recerts: &'static str => () = "open_recertifications";
    /// Connectors by id; credentials sealed (see `crate::secrets`).
    CONNECTORS connectors: &'static str => &'static [u8] = "connectors";
    /// `(user, connector id)` → the user's identity at that connector's IdP.
    IDENTITIES identities: (&'static str, &'static str) => &'static [u8] = "identities";
    /// `(connector id, IdP user id)` → the user it is.
    IDENTITIES_BY_EXTERNAL identities_by_external: (&'static str, &'static str) => &'static str = "identities_by_external";
    /// `(due ms, job id)` for connector jobs that are open or retrying: what the worker runs when.
    DUE_JOBS due_jobs: (i64, &'static str) => () = "due_jobs";
    /// Escalations of failed connector jobs, by job id.
    JOB_ESCALATIONS job_escalations: &'static str => &'static [u8] = "job_escalations";
    /// Drift runs by id (time-ordered).
    DRIFT_RUNS drift_runs: &'static str => &'static [u8] = "drift_runs";
    /// Atlassian account id → the user's email, for Jira intake when Jira hides the email.
    USERS_BY_JIRA_ACCOUNT users_by_jira_account: &'static str => &'static str = "users_by_jira_account";
    /// Under `site`: the Jira site (credentials and webhook secret sealed).
    JIRA_SITE jira_site: &'static str => &'static [u8] = "jira_site";
    /// Jira write-backs by id (time-ordered).
    DELIVERIES deliveries: &'static str => &'static [u8] = "deliveries";
    /// `(due ms, delivery id)` for deliveries pending or retrying.
    DUE_DELIVERIES due_deliveries: (i64, &'static str) => () = "due_deliveries";
    /// `(issue key, n)` → delivery id: each issue's deliveries numbered in the order they were
    /// queued (ids made in one millisecond need not sort in that order).
    DELIVERIES_BY_ISSUE deliveries_by_issue: (&'static str, u64) => &'static str = "deliveries_by_issue";
    /// `(state, delivery id)`: deliveries by where they stand.
    DELIVERIES_BY_STATE deliveries_by_state: (&'static str, &'static str) => () = "deliveries_by_state";
    /// Under `layout`: the layout of tables and records the database holds (see `layout.rs`).
    META meta: &'static str => u64 = "meta";
    /// Under [`JOURNAL_SEQ`]: the number of the last journal record the database holds.
    JOURNAL journal: &'static str => u64 = "journal";
}

/// Copies table `S` of `from` into `to`, in key order.
fn copy_table<S: Spec>(
    from: &redb::ReadTransaction,
    to: &redb::WriteTransaction,
) -> Result<(), super::StoreError> {
    use redb::ReadableTable;
    let mut target = to.open_table(S::DEF)?;
    for entry in from.open_table(S::DEF)?.iter()? {
        let (key, value) = entry?;
        target.insert(key.value(), value.value())?;
    }
    Ok(())
}

/// Layout 1's `(submitted_at ms, request id)` for pending requests, retired in layout 2: the
/// pending entries of [`REQUESTS_BY_STATUS`] give them in the same order.
pub const PENDING_BY_AGE: &str = "pending_by_age";

/// Tables of earlier layouts that this one no longer has; see `layout.rs`. A journal written
/// in an earlier layout may still name them.
pub const RETIRED: [&str; 1] = [PENDING_BY_AGE];

/// The key of [`JOURNAL`]'s one entry.
pub const JOURNAL_SEQ: &str = "applied";
