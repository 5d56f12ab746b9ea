//! The Jira site and the outbox of write-backs: deliveries with their due, per-issue and
//! per-state indexes.

use super::codec::{Tables, encode, get};
use super::lifecycle::ms;
use super::tables::*;
use super::{StoreError, WriteView};
use crate::domain::{Delivery, DeliveryState, Email, IssueKey, JiraRecord};
use chrono::{DateTime, Utc};
use redb::ReadableTable;

/// The key of the one Jira site.
const SITE: &str = "site";

/// Reads of the Jira site and the outbox.
pub trait JiraQueries: Tables + Sized {
    /// The Jira site, if configured.
    fn jira_site(&self) -> Result<Option<JiraRecord>, StoreError> {
        get(&self.open(JIRA_SITE)?, "jira_site", SITE)
    }

    /// The user whose Atlassian account id is `account`.
    fn user_by_jira_account(&self, account: &str) -> Result<Option<Email>, StoreError> {
        let table = self.open(USERS_BY_JIRA_ACCOUNT)?;
        let found = table.get(account)?;
        Ok(found.and_then(|v| Email::parse("user", v.value()).ok()))
    }

    /// A delivery.
    fn delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError> {
        get(&self.open(DELIVERIES)?, "deliveries", id)
    }

    /// Deliveries due at or before `until`, soonest first, at most `limit`.
    fn due_deliveries(
        &self,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let all = self.open(DELIVERIES)?;
        let mut out = Vec::new();
        for entry in self.open(DUE_DELIVERIES)?.iter()? {
            let (key, _) = entry?;
            let (at, id) = key.value();
            if at > ms(until) || out.len() >= limit {
                break;
            }
            if let Some(d) = get::<Delivery>(&all, "deliveries", id)? {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// The id of the first delivery of `issue` still to be carried out: deliveries go out
    /// in the order they were queued.
    fn first_open_delivery(&self, issue: &IssueKey) -> Result<Option<String>, StoreError> {
        let all = self.open(DELIVERIES)?;
        let key = issue.as_str();
        for entry in self
            .open(DELIVERIES_BY_ISSUE)?
            .range((key, 0)..=(key, u64::MAX))?
        {
            let (_, id) = entry?;
            let id = id.value();
            if get::<Delivery>(&all, "deliveries", id)?.is_some_and(|d| d.is_open()) {
                return Ok(Some(id.to_owned()));
            }
        }
        Ok(None)
    }

    /// Deliveries in `state` after the id `after`, oldest first, at most `limit`.
    fn deliveries_in_state(
        &self,
        state: DeliveryState,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let all = self.open(DELIVERIES)?;
        let s = state.as_str();
        let mut out = Vec::new();
        for entry in self
            .open(DELIVERIES_BY_STATE)?
            .range((s, after.unwrap_or(""))..)?
        {
            let (key, _) = entry?;
            let (k, id) = key.value();
            if k != s || out.len() >= limit {
                break;
            }
            if Some(id) == after {
                continue;
            }
            if let Some(d) = get::<Delivery>(&all, "deliveries", id)? {
                out.push(d);
            }
        }
        Ok(out)
    }
}

impl<T: Tables> JiraQueries for T {}

impl WriteView<'_> {
    /// Replaces the Jira site.
    pub fn put_jira_site(&mut self, site: &JiraRecord) -> Result<(), StoreError> {
        self.table(JIRA_SITE)?
            .insert(SITE, encode(site)?.as_slice())?;
        Ok(())
    }

    /// Inserts or replaces a delivery, keeping its indexes in step.
    pub fn put_delivery(&mut self, delivery: &Delivery) -> Result<(), StoreError> {
        let id = delivery.delivery_id.as_str();
        let old = self.delivery(id)?;
        if let Some(old) = &old {
            if let Some(at) = old.due_at() {
                self.table(DUE_DELIVERIES)?.remove((ms(at), id))?;
            }
            self.table(DELIVERIES_BY_STATE)?
                .remove((old.state.as_str(), id))?;
        } else {
            let issue = delivery.issue_key.as_str();
            let last = self
                .open(DELIVERIES_BY_ISSUE)?
                .range((issue, 0)..=(issue, u64::MAX))?
                .next_back()
                .transpose()?
                .map(|(key, _)| key.value().1);
            self.table(DELIVERIES_BY_ISSUE)?
                .insert((issue, last.map_or(0, |n| n + 1)), id)?;
        }
        if let Some(at) = delivery.due_at() {
            self.table(DUE_DELIVERIES)?.insert((ms(at), id), ())?;
        }
        self.table(DELIVERIES_BY_STATE)?
            .insert((delivery.state.as_str(), id), ())?;
        self.table(DELIVERIES)?
            .insert(id, encode(delivery)?.as_slice())?;
        Ok(())
    }
}

impl WriteView<'_> {
    /// Removes up to `limit` delivered deliveries delivered before `before`; returns how many.
    pub fn prune_done_deliveries(
        &mut self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let done = DeliveryState::Done.as_str();
        let mut old = Vec::new();
        {
            let all = self.open(DELIVERIES)?;
            for entry in self.open(DELIVERIES_BY_STATE)?.range((done, "")..)? {
                let (key, _) = entry?;
                let (state, id) = key.value();
                if state != done || old.len() >= limit {
                    break;
                }
                let Some(d) = get::<Delivery>(&all, "deliveries", id)? else {
                    continue;
                };
                // Ids follow creation: past the first made after `before`, none is older.
                if d.created_at >= before {
                    break;
                }
                if d.delivered_at.is_some_and(|at| at < before) {
                    old.push(d);
                }
            }
        }
        for d in &old {
            let id = d.delivery_id.as_str();
            self.table(DELIVERIES_BY_STATE)?.remove((done, id))?;
            self.table(DELIVERIES)?.remove(id)?;
            let issue = d.issue_key.as_str();
            let numbered = {
                let by_issue = self.open(DELIVERIES_BY_ISSUE)?;
                let mut found = None;
                for entry in by_issue.range((issue, 0)..=(issue, u64::MAX))? {
                    let (key, value) = entry?;
                    if value.value() == id {
                        found = Some(key.value().1);
                        break;
                    }
                }
                found
            };
            if let Some(n) = numbered {
                self.table(DELIVERIES_BY_ISSUE)?.remove((issue, n))?;
            }
        }
        Ok(old.len())
    }
}
