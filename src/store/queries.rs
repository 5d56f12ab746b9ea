//! Reads, available in snapshots and inside write transactions alike.

use super::codec::{Tables, decode, get};
use super::lifecycle::LifecycleQueries;
use super::tables::*;
use super::{ReadView, StoreError};
use crate::domain::page::{Cursor, Page};
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
    /// Where the page starts (the previous page's `next`).
    pub after: Option<Cursor>,
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
/// The lower bound of a walk from `start`: past it when it is a cursor's key, at it
/// otherwise.
pub(super) fn excluded_if<K>(after: Option<&Cursor>, start: K) -> Bound<K> {
    match after {
        Some(_) => Bound::Excluded(start),
        None => Bound::Included(start),
    }
}

/// Walks the ids of an id-keyed table in order from just after `after`'s id, while `visit`
/// returns true.
pub(super) fn walk_ids<V: redb::Value + 'static>(
    table: &impl ReadableTable<&'static str, V>,
    after: Option<&Cursor>,
    mut visit: impl FnMut(&str) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let start = after.map_or("", |c| c.part(0));
    for entry in table.range::<&str>((excluded_if(after, start), Bound::Unbounded))? {
        if !visit(entry?.0.value())? {
            break;
        }
    }
    Ok(())
}

/// Gathers a page while a walk offers items, and says when it is full.
pub(super) struct Collector<T> {
    items: Vec<T>,
    limit: usize,
    last: Option<Cursor>,
}

impl<T> Collector<T> {
    pub fn new(limit: usize) -> Self {
        Self {
            items: Vec::new(),
            limit,
            last: None,
        }
    }

    /// Takes `item` (if any) found at `cursor`; false once the page is full.
    pub fn offer(&mut self, item: Option<T>, cursor: Cursor) -> bool {
        if let Some(item) = item {
            self.items.push(item);
            self.last = Some(cursor);
        }
        self.items.len() < self.limit
    }

    pub fn finish(self) -> Page<T> {
        Page::of(self.items, self.limit, self.last)
    }
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

    /// A page of the requests matching `filter`, in the order of the index it walks (the
    /// most selective that fits), from just after `filter.after`.
    fn requests(&self, filter: &RequestFilter) -> Result<Page<RequestRecord>, StoreError> {
        let mut page = Collector::new(filter.limit);
        let requests = self.open(REQUESTS)?;
        let mut visit = |cursor: Cursor, id: &str| -> Result<bool, StoreError> {
            let record = get::<RequestRecord>(&requests, "requests", id)?;
            let keep = record.filter(|r| {
                filter.status.is_none_or(|s| s == r.status)
                    && filter.tool.as_ref().is_none_or(|t| *t == r.tool)
            });
            Ok(page.offer(keep, cursor))
        };
        let after = filter.after.as_ref();
        if let Some(user) = &filter.requester {
            let tool = filter.tool.as_ref().map_or("", |t| t.as_str());
            let start = after.map_or((user.as_str(), tool, ""), |c| {
                (user.as_str(), c.part(0), c.part(1))
            });
            let table = self.open(REQUESTS_BY_USER_TOOL)?;
            for entry in
                table.range::<(&str, &str, &str)>((excluded_if(after, start), Bound::Unbounded))?
            {
                let (key, _) = entry?;
                let (u, t, id) = key.value();
                if u != user.as_str()
                    || (!tool.is_empty() && t != tool)
                    || !visit(Cursor::at(&[t, id]), id)?
                {
                    break;
                }
            }
        } else if let Some((table, prefix)) = match (&filter.tool, filter.status) {
            (Some(tool), _) => Some((self.open(REQUESTS_BY_TOOL)?, tool.as_str())),
            (None, Some(status)) => Some((self.open(REQUESTS_BY_STATUS)?, status.as_str())),
            (None, None) => None,
        } {
            let start = (prefix, after.map_or("", |c| c.part(0)));
            for entry in
                table.range::<(&str, &str)>((excluded_if(after, start), Bound::Unbounded))?
            {
                let (key, _) = entry?;
                let (p, id) = key.value();
                if p != prefix || !visit(Cursor::at(&[id]), id)? {
                    break;
                }
            }
        } else {
            walk_ids(&self.open(REQUESTS)?, after, |id| {
                visit(Cursor::at(&[id]), id)
            })?;
        }

        Ok(page.finish())
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
