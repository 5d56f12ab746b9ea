//! Computing the facts of a request from the store: the part Rust owns.

use super::ServiceError;
use crate::domain::{DecisionFacts, NewRequest, RequestContextFacts, ToolFacts, ToolId, UserFacts};
use crate::store::Queries;

/// Status and risk of a tool that is not in the catalog, as policies see it.
const UNKNOWN_STATUS: &str = "unknown";
const UNRATED: &str = "unrated";

/// Everything `input` will be decided on, as the snapshot `read` sees it.
pub(super) fn request_facts(
    read: &impl Queries,
    input: &NewRequest,
) -> Result<DecisionFacts, ServiceError> {
    let user = read.user(&input.requester)?;
    let groups = user.as_ref().map(|u| u.groups.clone()).unwrap_or_default();
    let group_parents = read.group_ancestry(&groups)?;
    let user = UserFacts {
        email: input.requester.clone(),
        department: user.as_ref().and_then(|u| u.department.clone()),
        manager: user.and_then(|u| u.manager),
        groups,
        group_parents,
    };
    let tool = tool_facts(read, input)?;
    let contended = read.contended(&input.requester, &tool.id)?;
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

/// The catalog entry, or `unknown:<slug>` facts when the tool is not in the catalog.
fn tool_facts(read: &impl Queries, input: &NewRequest) -> Result<ToolFacts, ServiceError> {
    if input.new_tool.is_none()
        && let Some(tool) = read.tool(&input.tool)?
    {
        return Ok(ToolFacts {
            id: tool.id,
            name: tool.name,
            provider: tool.provider,
            status: tool.status.as_str().to_owned(),
            risk: tool.risk.as_str().to_owned(),
            default_duration_days: tool.default_duration_days,
            in_catalog: true,
        });
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
    Ok(ToolFacts {
        id,
        name,
        provider,
        status: UNKNOWN_STATUS.to_owned(),
        risk: UNRATED.to_owned(),
        default_duration_days: 0,
        in_catalog: false,
    })
}
