//! Writes, inside one write transaction. Each method keeps its record's indexes in step.

use super::StoreError;
use super::audit::Sealing;
use super::codec::{Tables, encode};
use super::durable::{Op, Redo};
use super::handle::{Handle, Reading};
use super::lifecycle::ms;
use super::queries::Queries;
use super::tables::*;
use crate::domain::{
    Grant, GrantState, Group, PolicyActivation, PolicyVersionRecord, RequestRecord, RequestStatus,
    TokenRecord, Tool, User,
};
use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};
use std::cell::{RefCell, RefMut};
use std::sync::Arc;

/// An open write transaction. Every table it touches stays open until it commits, so a
/// transaction that changes many records pays for opening each table once.
pub struct WriteView<'txn> {
    txn: &'txn WriteTransaction,
    tables: OpenTables<'txn>,
    /// Every change so far, for the journal.
    redo: RefCell<Redo>,
    /// Whether users, groups or tools were written.
    touched_directory: bool,
    pub(super) sealing: Arc<Sealing>,
    /// The last audit entry's `(seq, entry_hash)` once this transaction has written one.
    pub(super) audit_head: Option<(u64, String)>,
    /// The last checkpoint's `(seq, at)` once this transaction has looked it up.
    pub(super) last_checkpoint: Option<(u64, Option<DateTime<Utc>>)>,
}

impl<'txn> Tables for WriteView<'txn> {
    type Table<'a, K: redb::Key + 'static, V: redb::Value + 'static>
        = Reading<'a, 'txn, K, V>
    where
        Self: 'a;

    /// Lends `S` for reading.
    fn open<'a, S: Spec>(&'a self, _: S) -> Result<Reading<'a, 'txn, S::K, S::V>, StoreError> {
        Ok(Reading {
            table: self.slot::<S>()?,
        })
    }
}

/// A table of the transaction lent out.
type Lent<'a, 'txn, S> = RefMut<'a, redb::Table<'txn, <S as Spec>::K, <S as Spec>::V>>;

/// Until when (ms) a grant is open: see [`GRANTS_BY_USER_TOOL`].
pub(super) fn open_until(grant: &Grant) -> i64 {
    match grant.state {
        GrantState::PendingProvision => i64::MAX,
        GrantState::Active => grant.expires_at.map_or(i64::MAX, ms),
        GrantState::Expired => grant.expires_at.map_or(i64::MIN, ms),
        GrantState::Revoked => i64::MIN,
    }
}

impl<'txn> WriteView<'txn> {
    pub(super) fn new(txn: &'txn WriteTransaction, sealing: Arc<Sealing>) -> Self {
        Self {
            txn,
            tables: OpenTables::default(),
            redo: RefCell::default(),
            touched_directory: false,
            sealing,
            audit_head: None,
            last_checkpoint: None,
        }
    }

    /// Records no redo log: for a transaction that will not go through the journal.
    pub(super) fn unrecorded(self) -> Self {
        self.redo.borrow_mut().stop();
        self
    }

    /// Closes every table; whether users, groups or tools changed, and the redo log.
    pub(super) fn finish(self) -> (bool, Redo) {
        (self.touched_directory, self.redo.into_inner())
    }

    /// Borrows `S`'s slot, opening the table the first time.
    fn slot<S: Spec>(&self) -> Result<Lent<'_, 'txn, S>, StoreError> {
        let in_use = || StoreError::TableInUse(S::DEF.to_string());
        let mut slot = S::slot(&self.tables)
            .try_borrow_mut()
            .map_err(|_| in_use())?;
        if slot.is_none() {
            *slot = Some(self.txn.open_table(S::DEF)?);
        }
        RefMut::filter_map(slot, Option::as_mut).map_err(|_| in_use())
    }

    /// Lends `S` for writing.
    pub(super) fn table<S: Spec>(&self, _: S) -> Result<Handle<'_, 'txn, S::K, S::V>, StoreError> {
        Ok(Handle {
            table: self.slot::<S>()?,
            name: S::NAME,
            redo: &self.redo,
        })
    }

    /// Adds `delta` to a counter of `S`, never below zero; a counter at zero is removed.
    pub(super) fn bump<'k, S: Spec<V = u64>>(
        &self,
        counters: S,
        key: impl std::borrow::Borrow<<S::K as redb::Value>::SelfType<'k>>,
        delta: i64,
    ) -> Result<(), StoreError> {
        let key = key.borrow();
        let n = self.open(counters)?.get(key)?.map_or(0, |n| n.value());
        let n = n.saturating_add_signed(delta);
        let mut table = self.table(counters)?;
        if n == 0 {
            table.remove(key)
        } else {
            table.insert(key, n)
        }
    }

    /// Records that the journal record numbered `seq` holds this transaction.
    pub(super) fn set_journal_seq(&mut self, seq: u64) -> Result<(), StoreError> {
        self.table(JOURNAL)?.insert(JOURNAL_SEQ, seq)
    }

    /// Applies a redo log read back from the journal.
    pub(super) fn redo(&mut self, log: &[u8]) -> Result<(), StoreError> {
        for op in super::durable::ops(log) {
            redo_by_name(self, &op?)?;
        }
        Ok(())
    }

    /// Applies one change to table `S`.
    pub(super) fn redo_op<S: Spec>(&self, op: &Op<'_>) -> Result<(), StoreError> {
        let mut table = self.table(S::default())?;
        match op.value {
            Some(value) => table.insert(
                <S::K as redb::Value>::from_bytes(op.key),
                <S::V as redb::Value>::from_bytes(value),
            ),
            None => table.remove(<S::K as redb::Value>::from_bytes(op.key)),
        }
    }

    /// Inserts or replaces a catalog entry.
    pub fn put_tool(&mut self, tool: &Tool) -> Result<(), StoreError> {
        self.touched_directory = true;
        self.table(TOOLS)?
            .insert(tool.id.as_str(), encode(tool)?.as_slice())?;
        Ok(())
    }

    /// Inserts or replaces a user.
    pub fn put_user(&mut self, user: &User) -> Result<(), StoreError> {
        self.touched_directory = true;
        let old = self.user(&user.email)?.and_then(|u| u.jira_account_id);
        if let Some(old) = old.filter(|o| Some(o) != user.jira_account_id.as_ref()) {
            self.table(USERS_BY_JIRA_ACCOUNT)?.remove(old.as_str())?;
        }
        if let Some(account) = &user.jira_account_id {
            self.table(USERS_BY_JIRA_ACCOUNT)?
                .insert(account.as_str(), user.email.as_str())?;
        }
        self.table(USERS)?
            .insert(user.email.as_str(), encode(user)?.as_slice())?;
        Ok(())
    }

    /// Inserts or replaces a group.
    pub fn put_group(&mut self, group: &Group) -> Result<(), StoreError> {
        self.touched_directory = true;
        self.table(GROUPS)?
            .insert(group.id.as_str(), encode(group)?.as_slice())?;
        Ok(())
    }

    /// Stores a token under the hash of its secret.
    pub fn put_token(&mut self, hash: &str, token: &TokenRecord) -> Result<(), StoreError> {
        self.table(TOKENS)?
            .insert(hash, encode(token)?.as_slice())?;
        Ok(())
    }

    /// Removes the token stored under `hash`; its secret is refused from then on.
    pub fn remove_token(&mut self, hash: &str) -> Result<(), StoreError> {
        self.table(TOKENS)?.remove(hash)?;
        Ok(())
    }

    /// Records a new request with its decision.
    pub fn insert_request(&mut self, request: &RequestRecord) -> Result<(), StoreError> {
        let (id, user, tool) = (
            request.id.as_str(),
            request.requester.as_str(),
            request.tool.as_str(),
        );
        self.table(REQUESTS)?
            .insert(id, encode(request)?.as_slice())?;
        self.table(REQUESTS_BY_ISSUE)?
            .insert(request.issue_key.as_str(), id)?;
        self.table(REQUESTS_BY_USER_TOOL)?
            .insert((user, tool, id), ())?;
        self.table(REQUESTS_BY_TOOL)?.insert((tool, id), ())?;
        self.table(REQUESTS_BY_STATUS)?
            .insert((request.status.as_str(), id), ())?;
        if request.status == RequestStatus::Pending {
            self.table(OPEN_REQUESTS)?.insert((user, tool, id), ())?;
        }
        self.table(DECISIONS_BY_VERSION)?
            .insert((request.decision.policy_version.as_str(), id), ())?;
        let month = request.submitted_at.format("%Y-%m").to_string();
        let outcome = request.decision.decision.outcome.as_str();
        self.bump(REQUESTS_BY_MONTH, (month.as_str(), outcome), 1)?;
        Ok(())
    }

    /// Records a new grant.
    pub fn insert_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        let (id, user, tool) = (
            grant.grant_id.as_str(),
            grant.user.as_str(),
            grant.tool.as_str(),
        );
        self.table(GRANTS)?.insert(id, encode(grant)?.as_slice())?;
        self.table(GRANTS_BY_USER_TOOL)?
            .insert((user, tool, id), open_until(grant))?;
        self.index_grant(grant, 1)
    }

    /// Adds (`delta` 1) or removes (`delta` -1) a grant's state-dependent index entries.
    pub(super) fn index_grant(&mut self, grant: &Grant, delta: i64) -> Result<(), StoreError> {
        let (id, tool) = (grant.grant_id.as_str(), grant.tool.as_str());
        let key = (grant.state.as_str(), tool, id);
        if delta > 0 {
            self.table(GRANTS_BY_STATE)?.insert(key, ())?;
        } else {
            self.table(GRANTS_BY_STATE)?.remove(key)?;
        }
        if grant.is_open() {
            self.bump(OPEN_GRANT_COUNT, tool, delta)?;
        }
        if grant.state == GrantState::Active {
            self.bump(ACTIVE_GRANT_COUNT, tool, delta)?;
            if let Some(at) = grant.expires_at {
                let key = (ms(at), id);
                if delta > 0 {
                    self.table(GRANTS_BY_EXPIRY)?.insert(key, ())?;
                } else {
                    self.table(GRANTS_BY_EXPIRY)?.remove(key)?;
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
        self.table(POLICY_VERSIONS)?
            .insert(record.version.as_str(), encode(record)?.as_slice())?;
        self.table(POLICY_SEQ)?
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
        let next = self
            .open(POLICY_ACTIVATIONS)?
            .last()?
            .map_or(1, |(k, _)| k.value() + 1);
        self.table(POLICY_ACTIVATIONS)?
            .insert(next, encode(activation)?.as_slice())?;
        Ok(())
    }
}
