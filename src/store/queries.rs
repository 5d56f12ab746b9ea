//! Reads, available in snapshots and inside write transactions alike.

use super::codec::{Tables, decode, get};
use super::lifecycle::LifecycleQueries;
use super::tables::*;
use super::{ReadView, StoreError};
use crate::domain::{
    ContendedFacts, Email, Grant, GrantId, GrantState, Group, GroupId, IssueKey, PolicyActivation,
    PolicyVersionId, PolicyVersionRecord, RequestId, RequestRecord, RequestStatus, TokenRecord,
    Tool, ToolId, User,
};
use chrono::{DateTime, Utc};
use redb::{ReadOnlyTable, ReadableTable};
use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;

/// How many groups a user's ancestry may reach before the walk stops.
const MAX_GROUPS_REACHED: usize = 1000;

/// How many grants past their expiry (of every tool) a decision looks at; see
/// [`open_grants_for_tool`].
const OVERDUE_LOOKED_AT: usize = 128;

/// Which requests to list; the most selective index that fits is used.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only this status.
    pub status: Option<RequestStatus>,
    /// Only this requester.
    pub requester: Option<Email>,
    /// Only this tool.
    pub tool: Option<ToolId>,
    /// At most this many.
    pub limit: usize,
}

impl Tables for ReadView {
    type Table<'a, K: redb::Key + 'static, V: redb::Value + 'static> = ReadOnlyTable<K, V>;

    fn open<S: Spec>(&self, _: S) -> Result<ReadOnlyTable<S::K, S::V>, StoreError> {
        Ok(self.txn.open_table(S::DEF)?)
    }
}

/// True when `table` has a key starting with `(a, b)`.
fn has_prefix2(
    table: &impl ReadableTable<(&'static str, &'static str, &'static str), ()>,
    a: &str,
    b: &str,
) -> Result<bool, StoreError> {
    match table.range((a, b, "")..)?.next() {
        Some(entry) => {
            let (key, _) = entry?;
            let (ka, kb, _) = key.value();
            Ok(ka == a && kb == b)
        }
        None => Ok(false),
    }
}

/// The ids under `prefix` in a `(prefix, id)` index.
fn ids_under(
    table: &impl ReadableTable<(&'static str, &'static str), ()>,
    prefix: &str,
) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::new();
    for entry in table.range((prefix, "")..)? {
        let (key, _) = entry?;
        let (p, id) = key.value();
        if p != prefix {
            break;
        }
        ids.push(id.to_owned());
    }
    Ok(ids)
}

/// Calls `visit` with each id under `prefix` in a `(prefix, id)` index that lies past `lower`
/// and below `upper`, in order, while it returns true.
pub(super) fn visit_ids_under(
    table: &impl ReadableTable<(&'static str, &'static str), ()>,
    prefix: &str,
    lower: Bound<&str>,
    upper: &str,
    mut visit: impl FnMut(&str) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let lower = match lower {
        Bound::Unbounded => Bound::Included((prefix, "")),
        bound => bound.map(|id| (prefix, id)),
    };
    for entry in table.range::<(&str, &str)>((lower, Bound::Excluded((prefix, upper))))? {
        if !visit(entry?.0.value().1)? {
            break;
        }
    }
    Ok(())
}

/// Every query the service makes. Each is a point lookup or a bounded prefix range.
pub trait Queries: Tables + Sized {
    /// A catalog entry.
    fn tool(&self, id: &ToolId) -> Result<Option<Tool>, StoreError> {
        get(&self.open(TOOLS)?, "tools", id.as_str())
    }

    /// The whole catalog, by id.
    fn tools(&self) -> Result<Vec<Tool>, StoreError> {
        let table = self.open(TOOLS)?;
        let mut tools = Vec::new();
        for entry in table.iter()? {
            tools.push(decode("tools", entry?.1.value())?);
        }
        Ok(tools)
    }

    /// A user.
    fn user(&self, email: &Email) -> Result<Option<User>, StoreError> {
        get(&self.open(USERS)?, "users", email.as_str())
    }

    /// A group.
    fn group(&self, id: &GroupId) -> Result<Option<Group>, StoreError> {
        get(&self.open(GROUPS)?, "groups", id.as_str())
    }

    /// Every group reachable from `groups` with its direct parents (unknown groups have none).
    fn group_ancestry(
        &self,
        groups: &[GroupId],
    ) -> Result<Vec<(GroupId, Vec<GroupId>)>, StoreError> {
        let table = self.open(GROUPS)?;
        let mut seen: BTreeMap<GroupId, Vec<GroupId>> = BTreeMap::new();
        let mut queue: VecDeque<GroupId> = groups.iter().cloned().collect();
        while let Some(id) = queue.pop_front() {
            if seen.contains_key(&id) || seen.len() >= MAX_GROUPS_REACHED {
                continue;
            }
            let parents = get::<Group>(&table, "groups", id.as_str())?
                .map(|g| g.parents)
                .unwrap_or_default();
            queue.extend(parents.iter().cloned());
            seen.insert(id, parents);
        }
        Ok(seen.into_iter().collect())
    }

    /// Every token, with the hash of its secret; tokens are few, so this reads them all.
    fn tokens(&self) -> Result<Vec<(String, TokenRecord)>, StoreError> {
        let mut tokens = Vec::new();
        for entry in self.open(TOKENS)?.iter()? {
            let (hash, bytes) = entry?;
            tokens.push((hash.value().to_owned(), decode("tokens", bytes.value())?));
        }
        Ok(tokens)
    }

    /// The token whose secret hashes to `hash`.
    fn token(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        get(&self.open(TOKENS)?, "tokens", hash)
    }

    /// A request by id.
    fn request(&self, id: &RequestId) -> Result<Option<RequestRecord>, StoreError> {
        get(&self.open(REQUESTS)?, "requests", id.as_str())
    }

    /// A request by Jira issue key.
    fn request_by_issue(&self, key: &IssueKey) -> Result<Option<RequestRecord>, StoreError> {
        let index = self.open(REQUESTS_BY_ISSUE)?;
        match index.get(key.as_str())? {
            Some(id) => get(&self.open(REQUESTS)?, "requests", id.value()),
            None => Ok(None),
        }
    }

    /// Requests matching `filter`, at most `filter.limit`.
    fn requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRecord>, StoreError> {
        let ids = self.request_ids(filter)?;
        let requests = self.open(REQUESTS)?;
        let mut found = Vec::new();
        for id in ids {
            let Some(record) = get::<RequestRecord>(&requests, "requests", &id)? else {
                continue;
            };
            let keep = filter.status.is_none_or(|s| s == record.status)
                && filter
                    .requester
                    .as_ref()
                    .is_none_or(|r| *r == record.requester)
                && filter.tool.as_ref().is_none_or(|t| *t == record.tool);
            if keep {
                found.push(record);
                if found.len() >= filter.limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    /// Candidate request ids for `filter` from its most selective index.
    fn request_ids(&self, filter: &RequestFilter) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        if let Some(user) = &filter.requester {
            let tool = filter.tool.as_ref().map_or("", |t| t.as_str());
            let table = self.open(REQUESTS_BY_USER_TOOL)?;
            for entry in table.range((user.as_str(), tool, "")..)? {
                let (key, _) = entry?;
                let (u, t, id) = key.value();
                if u != user.as_str() || (!tool.is_empty() && t != tool) {
                    break;
                }
                ids.push(id.to_owned());
            }
        } else if let Some(tool) = &filter.tool {
            ids = ids_under(&self.open(REQUESTS_BY_TOOL)?, tool.as_str())?;
        } else if let Some(status) = filter.status {
            ids = ids_under(&self.open(REQUESTS_BY_STATUS)?, status.as_str())?;
        } else {
            for entry in self.open(REQUESTS)?.iter()?.take(filter.limit) {
                ids.push(entry?.0.value().to_owned());
            }
        }
        Ok(ids)
    }

    /// The facts about `user` and `tool` at `now` that concurrent requests can change.
    fn contended(
        &self,
        user: &Email,
        tool: &ToolId,
        now: DateTime<Utc>,
    ) -> Result<ContendedFacts, StoreError> {
        let (u, t) = (user.as_str(), tool.as_str());
        Ok(ContendedFacts {
            has_open_request: has_prefix2(&self.open(OPEN_REQUESTS)?, u, t)?,
            has_open_grant: self.open_grant(user, tool, now)?.is_some(),
            active_grants_for_tool: open_grants_for_tool(self, tool, now)?,
        })
    }

    /// A grant.
    fn grant(&self, id: &GrantId) -> Result<Option<Grant>, StoreError> {
        get(&self.open(GRANTS)?, "grants", id.as_str())
    }

    /// A policy version with its full text.
    fn policy_version(
        &self,
        version: &PolicyVersionId,
    ) -> Result<Option<PolicyVersionRecord>, StoreError> {
        get(
            &self.open(POLICY_VERSIONS)?,
            "policy_versions",
            version.as_str(),
        )
    }

    /// Every policy version, newest first.
    fn policy_versions(&self) -> Result<Vec<PolicyVersionRecord>, StoreError> {
        let versions = self.open(POLICY_VERSIONS)?;
        let mut out = Vec::new();
        for entry in self.open(POLICY_SEQ)?.iter()?.rev() {
            let (_, version) = entry?;
            if let Some(record) = get(&versions, "policy_versions", version.value())? {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// The latest activation: the version in force.
    fn active_policy(&self) -> Result<Option<PolicyActivation>, StoreError> {
        match self.open(POLICY_ACTIVATIONS)?.last()? {
            Some((_, bytes)) => decode("policy_activations", bytes.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Every activation, oldest first.
    fn policy_activations(&self) -> Result<Vec<PolicyActivation>, StoreError> {
        let mut out = Vec::new();
        for entry in self.open(POLICY_ACTIVATIONS)?.iter()? {
            out.push(decode("policy_activations", entry?.1.value())?);
        }
        Ok(out)
    }

    /// The version with sequence number `seq`.
    fn policy_version_by_seq(&self, seq: u64) -> Result<Option<PolicyVersionRecord>, StoreError> {
        match self.open(POLICY_SEQ)?.get(seq)? {
            Some(version) => get(
                &self.open(POLICY_VERSIONS)?,
                "policy_versions",
                version.value(),
            ),
            None => Ok(None),
        }
    }
}

impl<T: Tables> Queries for T {}

/// Grants of `tool` pending provision or active at `now`: the count the store keeps, less the
/// tool's active grants already past their expiry that no sweep has expired yet, so that a
/// grant stops counting at its expiry, as it stops being open then. Only the
/// [`OVERDUE_LOOKED_AT`] longest overdue grants are looked at (one index lookup each): if a
/// sweep lags further behind, the count errs high, and a limit refuses rather than admits.
fn open_grants_for_tool<T: LifecycleQueries>(
    store: &T,
    tool: &ToolId,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let kept = store
        .open(OPEN_GRANT_COUNT)?
        .get(tool.as_str())?
        .map_or(0, |n| n.value());
    let overdue = store.grants_expiring(None, now, OVERDUE_LOOKED_AT)?;
    if overdue.is_empty() {
        return Ok(kept);
    }
    let by_state = store.open(GRANTS_BY_STATE)?;
    let active = GrantState::Active.as_str();
    let mut of_tool = 0;
    for (_, id) in overdue {
        if by_state
            .get((active, tool.as_str(), id.as_str()))?
            .is_some()
        {
            of_tool += 1;
        }
    }
    Ok(kept.saturating_sub(of_tool))
}
