//! Computing the facts of a request from the store: the part Rust owns.

use super::ServiceError;
use super::facts_cache::FactsCache;
use crate::domain::{
    DecisionFacts, Email, NewRequest, RequestContextFacts, Tool, ToolFacts, ToolId, UserFacts,
};
use crate::store::{Queries, ReadView};
use chrono::{DateTime, Utc};

/// Status and risk of a tool that is not in the catalog, as policies see it.
const UNKNOWN_STATUS: &str = "unknown";
const UNRATED: &str = "unrated";

/// Everything `input` will be decided on, as the snapshot `read` sees it. Directory and
/// catalog facts come from `cache` when nothing they derive from changed since.
pub(super) fn request_facts(
    read: &ReadView,
    cache: &FactsCache,
    input: &NewRequest,
    now: DateTime<Utc>,
) -> Result<DecisionFacts, ServiceError> {
    let generation = read.directory_generation();
    let user = cache.user(&input.requester, generation, || {
        user_facts(read, &input.requester)
    })?;
    let tool = match input.new_tool {
        Some(_) => tool_facts(read, input)?,
        None => cache.tool(&input.tool, generation, || tool_facts(read, input))?,
    };
    let contended = read.contended(&input.requester, &tool.id, now)?;
    let context = RequestContextFacts {
        duration_days: input.duration_days,
        purpose: input.purpose.clone(),
        purpose_length: u32::try_from(input.purpose.chars().count()).unwrap_or(u32::MAX),
        project: input.project.clone(),
        request_type: input.request_type.clone(),
        has_open_request: contended.has_open_request,
        has_open_grant: contended.has_open_grant,
        active_grants_for_tool: contended.active_grants_for_tool,
    };
    Ok(DecisionFacts {
        user,
        tool,
        context,
    })
}

/// A person as policies see them: directory attributes and every group they reach.
/// Someone not in the directory is in no group.
pub(super) fn user_facts(read: &impl Queries, email: &Email) -> Result<UserFacts, ServiceError> {
    let user = read.user(email)?;
    let groups = user.as_ref().map(|u| u.groups.clone()).unwrap_or_default();
    let group_parents = read.group_ancestry(&groups)?;
    Ok(UserFacts {
        email: email.clone(),
        department: user.as_ref().and_then(|u| u.department.clone()),
        manager: user.and_then(|u| u.manager),
        groups,
        group_parents,
    })
}

/// A tool already recorded on a request or grant: its catalog entry now, else the facts it
/// was first decided on, else unknown.
pub(super) fn recorded_tool_facts(
    read: &impl Queries,
    id: &ToolId,
    recorded: Option<&ToolFacts>,
) -> Result<ToolFacts, ServiceError> {
    Ok(match (read.tool(id)?, recorded) {
        (Some(tool), _) => catalog_facts(tool),
        (None, Some(recorded)) => recorded.clone(),
        (None, None) => unknown_facts(id.clone(), id.to_string(), String::new()),
    })
}

fn catalog_facts(tool: Tool) -> ToolFacts {
    ToolFacts {
        id: tool.id,
        name: tool.name,
        provider: tool.provider,
        status: tool.status.as_str().to_owned(),
        risk: tool.risk.as_str().to_owned(),
        default_duration_days: tool.default_duration_days,
        in_catalog: true,
    }
}

fn unknown_facts(id: ToolId, name: String, provider: String) -> ToolFacts {
    ToolFacts {
        id,
        name,
        provider,
        status: UNKNOWN_STATUS.to_owned(),
        risk: UNRATED.to_owned(),
        default_duration_days: 0,
        in_catalog: false,
    }
}

/// The catalog entry, or `unknown:<slug>` facts when the tool is not in the catalog.
fn tool_facts(read: &impl Queries, input: &NewRequest) -> Result<ToolFacts, ServiceError> {
    if input.new_tool.is_none()
        && let Some(tool) = read.tool(&input.tool)?
    {
        return Ok(catalog_facts(tool));
    }
    let (id, name, provider) = match &input.new_tool {
        Some(new) => (
            input.tool.clone(),
            new.name.clone(),
            new.url.clone().unwrap_or_default(),
        ),
        None => (
            ToolId::unknown_from_name("tool", input.tool.as_str())?,
            input.tool.to_string(),
            String::new(),
        ),
    };
    Ok(unknown_facts(id, name, provider))
}
