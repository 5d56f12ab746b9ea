//! Writes, inside one write transaction. Each method keeps its record's indexes in step.

use super::StoreError;
use super::audit::NewAuditEntry;
use super::codec::{Tables, decode, encode};
use super::lifecycle::ms;
use super::tables::*;
use crate::domain::{
    Grant, GrantState, Group, PolicyActivation, PolicyVersionRecord, RequestRecord, RequestStatus,
    TokenRecord, Tool, User,
};
use crate::evidence::{AuditRecord, GENESIS, MacKey};
use chrono::{DateTime, Utc};
use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};
use std::sync::Arc;

/// An open write transaction.
pub struct WriteView {
    txn: WriteTransaction,
    /// Whether users, groups or tools were written.
    touched_directory: bool,
    key: Arc<MacKey>,
}

impl Tables for WriteView {
    type Table<'a, K: redb::Key + 'static, V: redb::Value + 'static> = Table<'a, K, V>;

    fn open<'a, K: redb::Key + 'static, V: redb::Value + 'static>(
        &'a self,
        def: TableDefinition<K, V>,
    ) -> Result<Table<'a, K, V>, StoreError> {
        Ok(self.txn.open_table(def)?)
    }
}

/// Adds `delta` to a counter, never below zero; a counter at zero is removed.
pub(super) fn bump<'k, K: redb::Key + 'static>(
    table: &mut Table<'_, K, u64>,
    key: impl std::borrow::Borrow<K::SelfType<'k>>,
    delta: i64,
) -> Result<(), StoreError> {
    let key = key.borrow();
    let n = table.get(key)?.map_or(0, |n| n.value());
    let n = n.saturating_add_signed(delta);
    if n == 0 {
        table.remove(key)?;
    } else {
        table.insert(key, n)?;
    }
    Ok(())
}

impl WriteView {
    pub(super) fn new(txn: WriteTransaction, key: Arc<MacKey>) -> Self {
        Self {
            txn,
            touched_directory: false,
            key,
        }
    }

    /// Commits; true when users, groups or tools changed.
    pub(super) fn commit(self) -> Result<bool, StoreError> {
        self.txn.commit()?;
        Ok(self.touched_directory)
    }

    /// Creates every table, so that snapshots can open them before the first write.
    pub(super) fn create_tables(&mut self) -> Result<(), StoreError> {
        macro_rules! create {
            ($($t:ident),*) => {$( self.open($t)?; )*};
        }
        create!(
            TOOLS,
            USERS,
            GROUPS,
            TOKENS,
            REQUESTS,
            REQUESTS_BY_ISSUE,
            REQUESTS_BY_USER_TOOL,
            REQUESTS_BY_TOOL,
            REQUESTS_BY_STATUS,
            OPEN_REQUESTS,
            GRANTS,
            GRANTS_BY_USER_TOOL,
            OPEN_GRANTS,
            OPEN_GRANT_COUNT,
            DECISIONS_BY_VERSION,
            POLICY_VERSIONS,
            POLICY_SEQ,
            POLICY_ACTIVATIONS,
            AUDIT,
            GRANTS_BY_EXPIRY,
            PENDING_BY_AGE,
            JOBS,
            OPEN_JOBS,
            RECERTS,
            RECERT_BY_GRANT,
            ESCALATIONS,
            JOBS_BY_GRANT,
            GRANTS_BY_STATE,
            ACTIVE_GRANT_COUNT,
            OPEN_ESCALATIONS,
            REQUESTS_BY_MONTH,
            REVIEW_MINUTES,
            OPEN_RECERTS
        );
        Ok(())
    }

    /// Inserts or replaces a catalog entry.
    pub fn put_tool(&mut self, tool: &Tool) -> Result<(), StoreError> {
        self.touched_directory = true;
        self.open(TOOLS)?
            .insert(tool.id.as_str(), encode(tool)?.as_slice())?;
        Ok(())
    }

    /// Inserts or replaces a user.
    pub fn put_user(&mut self, user: &User) -> Result<(), StoreError> {
        self.touched_directory = true;
        self.open(USERS)?
            .insert(user.email.as_str(), encode(user)?.as_slice())?;
        Ok(())
    }

    /// Inserts or replaces a group.
    pub fn put_group(&mut self, group: &Group) -> Result<(), StoreError> {
        self.touched_directory = true;
        self.open(GROUPS)?
            .insert(group.id.as_str(), encode(group)?.as_slice())?;
        Ok(())
    }

    /// Stores a token under the hash of its secret.
    pub fn put_token(&mut self, hash: &str, token: &TokenRecord) -> Result<(), StoreError> {
        self.open(TOKENS)?.insert(hash, encode(token)?.as_slice())?;
        Ok(())
    }

    /// Records a new request with its decision.
    pub fn insert_request(&mut self, request: &RequestRecord) -> Result<(), StoreError> {
        let (id, user, tool) = (
            request.id.as_str(),
            request.requester.as_str(),
            request.tool.as_str(),
        );
        self.open(REQUESTS)?
            .insert(id, encode(request)?.as_slice())?;
        self.open(REQUESTS_BY_ISSUE)?
            .insert(request.issue_key.as_str(), id)?;
        self.open(REQUESTS_BY_USER_TOOL)?
            .insert((user, tool, id), ())?;
        self.open(REQUESTS_BY_TOOL)?.insert((tool, id), ())?;
        self.open(REQUESTS_BY_STATUS)?
            .insert((request.status.as_str(), id), ())?;
        if request.status == RequestStatus::Pending {
            self.open(OPEN_REQUESTS)?.insert((user, tool, id), ())?;
            self.open(PENDING_BY_AGE)?
                .insert((ms(request.submitted_at), id), ())?;
        }
        self.open(DECISIONS_BY_VERSION)?
            .insert((request.decision.policy_version.as_str(), id), ())?;
        let month = request.submitted_at.format("%Y-%m").to_string();
        let outcome = request.decision.decision.outcome.as_str();
        bump(
            &mut self.open(REQUESTS_BY_MONTH)?,
            (month.as_str(), outcome),
            1,
        )?;
        Ok(())
    }

    /// Records a new grant.
    pub fn insert_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        let (id, user, tool) = (
            grant.grant_id.as_str(),
            grant.user.as_str(),
            grant.tool.as_str(),
        );
        self.open(GRANTS)?.insert(id, encode(grant)?.as_slice())?;
        self.open(GRANTS_BY_USER_TOOL)?
            .insert((user, tool, id), ())?;
        self.index_grant(grant, 1)
    }

    /// Adds (`delta` 1) or removes (`delta` -1) a grant's state-dependent index entries.
    pub(super) fn index_grant(&mut self, grant: &Grant, delta: i64) -> Result<(), StoreError> {
        let (id, user, tool) = (
            grant.grant_id.as_str(),
            grant.user.as_str(),
            grant.tool.as_str(),
        );
        let key = (grant.state.as_str(), tool, id);
        if delta > 0 {
            self.open(GRANTS_BY_STATE)?.insert(key, ())?;
        } else {
            self.open(GRANTS_BY_STATE)?.remove(key)?;
        }
        if grant.is_open() {
            if delta > 0 {
                self.open(OPEN_GRANTS)?.insert((user, tool, id), ())?;
            } else {
                self.open(OPEN_GRANTS)?.remove((user, tool, id))?;
            }
            bump(&mut self.open(OPEN_GRANT_COUNT)?, tool, delta)?;
        }
        if grant.state == GrantState::Active {
            bump(&mut self.open(ACTIVE_GRANT_COUNT)?, tool, delta)?;
            if let Some(at) = grant.expires_at {
                let key = (ms(at), id);
                if delta > 0 {
                    self.open(GRANTS_BY_EXPIRY)?.insert(key, ())?;
                } else {
                    self.open(GRANTS_BY_EXPIRY)?.remove(key)?;
                }
            }
        }
        Ok(())
    }

    /// Stores a new policy version; its `seq` must be the next one.
    pub fn insert_policy_version(
        &mut self,
        record: &PolicyVersionRecord,
    ) -> Result<(), StoreError> {
        self.open(POLICY_VERSIONS)?
            .insert(record.version.as_str(), encode(record)?.as_slice())?;
        self.open(POLICY_SEQ)?
            .insert(record.seq, record.version.as_str())?;
        Ok(())
    }

    /// The sequence number the next new policy version gets.
    pub fn next_policy_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .open(POLICY_SEQ)?
            .last()?
            .map_or(1, |(k, _)| k.value() + 1))
    }

    /// Makes a version the active one.
    pub fn activate_policy(&mut self, activation: &PolicyActivation) -> Result<(), StoreError> {
        let mut table = self.open(POLICY_ACTIVATIONS)?;
        let next = table.last()?.map_or(1, |(k, _)| k.value() + 1);
        table.insert(next, encode(activation)?.as_slice())?;
        Ok(())
    }

    /// Appends an audit entry at `at`, chained to the one before and sealed with the audit
    /// key; returns its seq.
    pub fn audit(&mut self, entry: NewAuditEntry, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut table = self.open(AUDIT)?;
        let (seq, prev_hash) = match table.last()? {
            Some((seq, bytes)) => {
                let last: AuditRecord = decode("audit", bytes.value())?;
                (seq.value() + 1, last.entry_hash)
            }
            None => (1, GENESIS.to_owned()),
        };
        let sealed = AuditRecord::seal(
            seq,
            at,
            entry.kind.to_owned(),
            entry.actor,
            entry.subject,
            entry.data,
            prev_hash,
            &self.key,
        );
        table.insert(seq, encode(&sealed)?.as_slice())?;
        Ok(seq)
    }
}
