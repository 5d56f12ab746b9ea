//! The directory: users, their managers and groups.

use super::{DomainError, Email, GroupId};
use serde::{Deserialize, Serialize};

/// A person known to the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    /// Lower-cased email; the user's id.
    #[schema(value_type = String)]
    pub email: Email,
    /// Direct groups.
    #[schema(value_type = Vec<String>)]
    pub groups: Vec<GroupId>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The user's manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub manager: Option<Email>,
    /// The user's Atlassian account id, for Jira intake when Jira hides the email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jira_account_id: Option<String>,
}

/// A group; `parents` are the groups it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Group {
    /// Group name.
    #[schema(value_type = String)]
    pub id: GroupId,
    /// Groups this group is nested in.
    #[schema(value_type = Vec<String>)]
    pub parents: Vec<GroupId>,
}

/// The body of `PUT /v1/users/{email}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpsert {
    /// Direct groups.
    #[serde(default)]
    #[schema(value_type = Vec<crate::domain::formats::GroupText>, max_items = 200)]
    pub groups: Vec<String>,
    /// Department.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::NameText>)]
    pub department: Option<String>,
    /// Manager's email.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::EmailText>)]
    pub manager: Option<String>,
    /// The user's Atlassian account id.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::NameText>)]
    pub jira_account_id: Option<String>,
}

/// The body of `PUT /v1/groups/{id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupUpsert {
    /// Groups this group is nested in.
    #[serde(default)]
    #[schema(value_type = Vec<crate::domain::formats::GroupText>, max_items = 200)]
    pub parents: Vec<String>,
}

const MAX_GROUPS: usize = 200;

fn parse_groups(field: &str, raw: &[String]) -> Result<Vec<GroupId>, DomainError> {
    if raw.len() > MAX_GROUPS {
        return Err(DomainError::new(
            field,
            format!("at most {MAX_GROUPS} groups"),
        ));
    }
    let mut groups = raw
        .iter()
        .enumerate()
        .map(|(i, g)| GroupId::parse(&format!("{field}[{i}]"), g))
        .collect::<Result<Vec<_>, _>>()?;
    groups.sort();
    groups.dedup();
    Ok(groups)
}

impl UserUpsert {
    /// Checks the fields and builds the user `email`.
    pub fn into_user(self, email: Email) -> Result<User, DomainError> {
        let groups = parse_groups("groups", &self.groups)?;
        let department = match self.department {
            Some(d) => Some(super::formats::text(
                &super::formats::NAME,
                "department",
                &d,
            )?),
            None => None,
        };
        let manager = match self.manager {
            Some(m) => Some(Email::parse("manager", &m)?),
            None => None,
        };
        if manager.as_ref() == Some(&email) {
            return Err(DomainError::new(
                "manager",
                "a user cannot manage themselves",
            ));
        }
        let jira_account_id = match self.jira_account_id {
            Some(a) => Some(super::formats::text(
                &super::formats::NAME,
                "jira_account_id",
                &a,
            )?),
            None => None,
        };
        Ok(User {
            email,
            groups,
            department,
            manager,
            jira_account_id,
        })
    }
}

impl GroupUpsert {
    /// Checks the fields and builds the group `id`.
    pub fn into_group(self, id: GroupId) -> Result<Group, DomainError> {
        let parents = parse_groups("parents", &self.parents)?;
        if parents.contains(&id) {
            return Err(DomainError::new("parents", "a group cannot contain itself"));
        }
        Ok(Group { id, parents })
    }
}
