//! `GET /v1/insights`: how requests and grants are going, from counters kept with every write.

use super::auth::ANY_ROLE;
use super::{Actor, Service, ServiceError};
use crate::store::{InsightQueries, Queries};
use chrono::Duration;
use serde::Serialize;
use std::collections::BTreeMap;

/// Requests decided in one month, by outcome.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthOutcomes {
    /// `YYYY-MM` (UTC) of submission.
    pub month: String,
    /// Outcome of the policy decision (`auto_approved`, `needs_review`, `denied`) → count.
    pub outcomes: BTreeMap<String, u64>,
}

/// Active grants of one tool.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ToolGrants {
    /// The tool.
    pub tool: String,
    /// Its risk (`unrated` when not in the catalog).
    pub risk: String,
    /// Active grants.
    pub active: u64,
}

/// The insights.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Insights {
    /// Requests by month and outcome.
    pub requests_by_month: Vec<MonthOutcomes>,
    /// Active grants by tool, with risk.
    pub active_grants_by_tool: Vec<ToolGrants>,
    /// Active grants by risk.
    pub active_grants_by_risk: BTreeMap<String, u64>,
    /// Median minutes from submission to a person's approval or denial (requests that went to
    /// review); null before the first.
    pub median_minutes_to_decision: Option<u64>,
    /// How many reviewed requests the median is over.
    pub reviewed_requests: u64,
    /// Escalations of requests still pending.
    pub open_escalations: u64,
    /// Active grants that expire within the next 30 days.
    pub grants_expiring_30d: u64,
}

impl Service {
    /// The insights now.
    pub fn insights(&self, actor: &Actor) -> Result<Insights, ServiceError> {
        actor.require(ANY_ROLE, "read insights")?;
        let now = self.clock.now();
        let read = self.store.read()?;
        let mut months: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for (month, outcome, n) in read.requests_by_month()? {
            months.entry(month).or_default().insert(outcome, n);
        }
        let mut by_tool = Vec::new();
        let mut by_risk: BTreeMap<String, u64> = BTreeMap::new();
        for (tool, active) in read.active_grants_by_tool()? {
            let risk = crate::domain::ToolId::parse("tool", &tool)
                .ok()
                .map(|id| read.tool(&id))
                .transpose()?
                .flatten()
                .map_or_else(|| "unrated".to_owned(), |t| t.risk.as_str().to_owned());
            *by_risk.entry(risk.clone()).or_default() += active;
            by_tool.push(ToolGrants { tool, risk, active });
        }
        let (median, reviewed) = read.median_review_minutes()?;
        Ok(Insights {
            requests_by_month: months
                .into_iter()
                .map(|(month, outcomes)| MonthOutcomes { month, outcomes })
                .collect(),
            active_grants_by_tool: by_tool,
            active_grants_by_risk: by_risk,
            median_minutes_to_decision: median,
            reviewed_requests: reviewed,
            open_escalations: read.count_open_escalations()?,
            grants_expiring_30d: read.count_expiring(now + Duration::days(30))?,
        })
    }
}
