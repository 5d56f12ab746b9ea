//! The tool catalog: which AI tools exist, how risky they are and how they are fulfilled.

use super::connector::{ConnectorId, ExternalId};
use super::{DomainError, ToolId, formats};
use serde::{Deserialize, Serialize};

/// Whether a tool may be requested. Policies read it as the string `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    /// Requestable.
    Approved,
    /// Temporarily not requestable.
    Blocked,
    /// Evaluated and refused.
    Denied,
}

/// A tool's risk rating. Policies read it as the string `risk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Low risk.
    Low,
    /// Medium risk.
    Medium,
    /// High risk.
    High,
    /// Critical risk.
    Critical,
    /// Not yet rated.
    Unrated,
}

impl ToolStatus {
    /// The name policies see.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Blocked => "blocked",
            Self::Denied => "denied",
        }
    }
}

impl Risk {
    /// The name policies see.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
            Self::Unrated => "unrated",
        }
    }
}

/// How a grant for the tool is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectorKind {
    /// A person confirms fulfilment.
    #[default]
    Manual,
    /// Membership of an Okta group.
    OktaGroup,
    /// Membership of an Entra group.
    EntraGroup,
}

/// The fulfilment connector of a tool.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Connector {
    /// The connector kind.
    #[serde(rename = "type")]
    pub kind: ConnectorKind,
    /// The connector (`PUT /v1/connectors/{id}`) that manages the group; without one, a
    /// person adds and removes members and confirms it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::domain::formats::ConnectorIdText>)]
    pub connector_id: Option<ConnectorId>,
    /// The IdP group's id, for group connectors (with a `connector_id`, an IdP object id;
    /// without, the group's name where a person manages it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::domain::formats::NameText>)]
    pub group: Option<String>,
    /// The name of a dedicated group to create once, instead of `group`; the id of the
    /// group created is then recorded in `group`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::domain::formats::NameText>)]
    pub group_name: Option<String>,
}

impl Connector {
    /// The connector that runs this tool's jobs, if clearance runs them itself.
    pub fn managed_by(&self) -> Option<&ConnectorId> {
        match self.kind {
            ConnectorKind::Manual => None,
            _ => self.connector_id.as_ref(),
        }
    }

    /// The IdP group's id, once known (given, or created from `group_name`).
    pub fn group_id(&self) -> Option<ExternalId> {
        let group = self.group.as_deref()?;
        self.managed_by()?;
        ExternalId::parse("group", group).ok()
    }

    /// Checks a binding as given in a tool's body.
    fn checked(self) -> Result<Self, DomainError> {
        let field = |f: &str| format!("connector.{f}");
        if self.kind == ConnectorKind::Manual {
            if self.connector_id.is_some() || self.group.is_some() || self.group_name.is_some() {
                return Err(DomainError::new(
                    "connector.type",
                    "a manual tool names no connector or group",
                ));
            }
            return Ok(self);
        }
        let group = match (&self.group, &self.group_name) {
            (None, None) => {
                return Err(DomainError::new(
                    field("group"),
                    "is required for group connectors (or group_name to create one)",
                ));
            }
            (_, Some(_)) if self.connector_id.is_none() => {
                return Err(DomainError::new(
                    field("group_name"),
                    "needs a connector_id: clearance creates the group through it",
                ));
            }
            // With both, the group is the one created under that name; the id rules.
            (Some(g), _) if self.connector_id.is_some() => {
                Some(ExternalId::parse(&field("group"), g)?.as_str().to_owned())
            }
            (Some(g), _) => Some(formats::text(&formats::NAME, &field("group"), g)?),
            (None, Some(_)) => None,
        };
        let group_name = match &self.group_name {
            Some(n) => Some(formats::text(&formats::NAME, &field("group_name"), n)?),
            None => None,
        };
        Ok(Self {
            group,
            group_name,
            ..self
        })
    }
}

/// A catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tool {
    /// Catalog slug.
    #[schema(value_type = String)]
    pub id: ToolId,
    /// Display name.
    pub name: String,
    /// Vendor.
    pub provider: String,
    /// Whether it can be requested.
    pub status: ToolStatus,
    /// Risk rating.
    pub risk: Risk,
    /// Days granted when a request does not say otherwise.
    pub default_duration_days: u32,
    /// Guidance shown to requesters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<String>,
    /// How grants are fulfilled.
    #[serde(default)]
    pub connector: Connector,
    /// Other names requesters use for it (matched without regard to case by Jira intake).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// The body of `PUT /v1/tools/{id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolUpsert {
    /// Display name.
    #[schema(value_type = crate::domain::formats::NameText)]
    pub name: String,
    /// Vendor.
    #[schema(value_type = crate::domain::formats::NameText)]
    pub provider: String,
    /// Whether it can be requested.
    pub status: ToolStatus,
    /// Risk rating.
    pub risk: Risk,
    /// Default grant length in days (1 to 365).
    #[serde(deserialize_with = "crate::domain::number::whole")]
    #[schema(minimum = 1, maximum = 365)]
    pub default_duration_days: i64,
    /// Guidance shown to requesters.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::LongText>)]
    pub guidance: Option<String>,
    /// How grants are fulfilled; manual when absent.
    #[serde(default, deserialize_with = "super::shape::optional_object")]
    pub connector: Option<Connector>,
    /// Other names requesters use for it, such as "Copilot" (at most 20).
    #[serde(default)]
    #[schema(value_type = Vec<crate::domain::formats::NameText>, max_items = 20)]
    pub aliases: Vec<String>,
}

/// The longest grant anyone can ask for, in days; policies set tighter limits.
pub const MAX_DURATION_DAYS: u32 = 365;

/// A number of days of access: 1 to [`MAX_DURATION_DAYS`].
pub fn duration_days(field: &str, days: i64) -> Result<u32, DomainError> {
    u32::try_from(days)
        .ok()
        .filter(|d| (1..=MAX_DURATION_DAYS).contains(d))
        .ok_or_else(|| {
            DomainError::new(field, format!("must be between 1 and {MAX_DURATION_DAYS}"))
        })
}

impl ToolUpsert {
    /// Checks the fields and builds the catalog entry for `id`.
    pub fn into_tool(self, id: ToolId) -> Result<Tool, DomainError> {
        let name = formats::text(&formats::NAME, "name", &self.name)?;
        let provider = formats::text(&formats::NAME, "provider", &self.provider)?;
        let default_duration_days =
            duration_days("default_duration_days", self.default_duration_days)?;
        let guidance = match self.guidance {
            Some(g) => Some(formats::text(&formats::LONG_TEXT, "guidance", &g)?),
            None => None,
        };
        let connector = self.connector.unwrap_or_default().checked()?;
        if self.aliases.len() > 20 {
            return Err(DomainError::new("aliases", "at most 20"));
        }
        let aliases = self
            .aliases
            .iter()
            .map(|a| formats::text(&formats::NAME, "aliases", a))
            .collect::<Result<_, _>>()?;
        Ok(Tool {
            aliases,
            id,
            name,
            provider,
            status: self.status,
            risk: self.risk,
            default_duration_days,
            guidance,
            connector,
        })
    }
}
