//! The Jira site: how clearance writes back to issues (comments, transitions) and takes
//! requests in (the signed webhook). Credentials and the webhook secret are write-only.

use super::connector::service_url;
use super::{DomainError, formats};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

/// Where comments go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommentVisibility {
    /// Internal notes (Jira's comment endpoint, ADF body), seen by agents only.
    #[default]
    Internal,
    /// Requester-facing steps as public JSM comments; internal notes stay internal.
    Public,
    /// No comments (transitions still happen).
    Off,
}

/// Transition name candidates per outcome, matched case-insensitively against a transition's
/// name or its target status's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TransitionNames {
    /// For an approved request.
    #[schema(value_type = Vec<formats::NameText>)]
    pub approved: Vec<String>,
    /// For a denied request.
    #[schema(value_type = Vec<formats::NameText>)]
    pub denied: Vec<String>,
}

impl Default for TransitionNames {
    fn default() -> Self {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect();
        Self {
            approved: names(&["approve", "approved", "accept", "accepted"]),
            denied: names(&["deny", "denied", "decline", "reject", "cancel"]),
        }
    }
}

/// Where recertification issues are created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecertProject {
    /// The project key.
    #[schema(value_type = formats::NameText)]
    pub project: String,
    /// The issue type's id.
    #[schema(value_type = formats::NameText)]
    pub issue_type_id: String,
}

/// The custom fields a webhook's issue carries the request in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeFields {
    /// The tool (matched by id, name or alias).
    #[schema(value_type = formats::NameText)]
    pub tool: String,
    /// The purpose.
    #[schema(value_type = formats::NameText)]
    pub purpose: String,
    /// The duration in days (the tool's default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<formats::NameText>)]
    pub duration_days: Option<String>,
}

/// The jira site as stored: the secrets sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JiraRecord {
    /// The site, such as `https://acme.atlassian.net`.
    pub base_url: Url,
    /// The account's email (basic auth user); not a secret.
    pub email: String,
    /// The API token, sealed.
    pub sealed_token: String,
    /// Where comments go.
    pub comments: CommentVisibility,
    /// Transition name candidates.
    pub transitions: TransitionNames,
    /// Where recertification issues go, if anywhere.
    pub recertification: Option<RecertProject>,
    /// Webhook intake, if configured.
    pub intake: Option<IntakeRecord>,
    /// Attempts a delivery gets before it fails.
    pub max_attempts: u32,
    /// Why Jira last refused the credentials; deliveries wait until they are replaced.
    #[serde(default)]
    pub refused_reason: Option<String>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// Webhook intake as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeRecord {
    /// The webhook secret, sealed.
    pub sealed_secret: String,
    /// Projects whose issues are taken in.
    pub projects: Vec<String>,
    /// Request types taken in (all when empty).
    pub request_types: Vec<String>,
    /// The custom fields.
    pub fields: IntakeFields,
}

/// The Jira site as the API shows it: secrets only as `"set"`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JiraView {
    /// The site.
    #[schema(value_type = String)]
    pub base_url: Url,
    /// `{"email": "…", "api_token": "set"}`.
    #[schema(value_type = Object)]
    pub credentials: serde_json::Value,
    /// Where comments go.
    pub comments: CommentVisibility,
    /// Transition name candidates.
    pub transitions: TransitionNames,
    /// Where recertification issues go.
    pub recertification: Option<RecertProject>,
    /// Webhook intake, with `"webhook_secret": "set"`.
    #[schema(value_type = Option<Object>)]
    pub intake: Option<serde_json::Value>,
    /// Attempts a delivery gets before it fails.
    pub max_attempts: u32,
    /// `ok`, or `credentials_refused` until the credentials are replaced.
    pub status: &'static str,
    /// Why the credentials were refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&JiraRecord> for JiraView {
    fn from(r: &JiraRecord) -> Self {
        Self {
            base_url: r.base_url.clone(),
            credentials: serde_json::json!({"email": r.email, "api_token": "set"}),
            comments: r.comments,
            transitions: r.transitions.clone(),
            recertification: r.recertification.clone(),
            intake: r.intake.as_ref().map(|i| {
                serde_json::json!({"webhook_secret": "set", "projects": i.projects,
                    "request_types": i.request_types, "fields": i.fields})
            }),
            max_attempts: r.max_attempts,
            status: if r.refused_reason.is_some() {
                "credentials_refused"
            } else {
                "ok"
            },
            status_reason: r.refused_reason.clone(),
            updated_at: r.updated_at,
        }
    }
}

/// The `credentials` of the Jira body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JiraCredentials {
    /// The Atlassian account's email.
    #[schema(value_type = formats::EmailText)]
    pub email: String,
    /// Its API token (write-only).
    #[schema(value_type = formats::SecretText)]
    pub api_token: SecretString,
}

/// The `intake` of the Jira body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeInput {
    /// The shared secret Jira signs the webhook with (write-only; absent keeps the stored one).
    #[serde(default)]
    #[schema(value_type = Option<formats::SecretText>)]
    pub webhook_secret: Option<SecretString>,
    /// Projects whose issues are taken in.
    #[schema(value_type = Vec<formats::NameText>)]
    pub projects: Vec<String>,
    /// Request types taken in (all when empty).
    #[serde(default)]
    #[schema(value_type = Vec<formats::NameText>)]
    pub request_types: Vec<String>,
    /// The custom fields.
    pub fields: IntakeFields,
}

/// The body of `PUT /v1/integrations/jira`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JiraUpsert {
    /// The site, such as `https://acme.atlassian.net`.
    #[schema(value_type = formats::ServiceUrlText)]
    pub base_url: String,
    /// The account and API token (write-only; absent keeps the stored ones).
    #[serde(default, deserialize_with = "super::shape::optional_object")]
    pub credentials: Option<JiraCredentials>,
    /// `internal` (default), `public` or `off`.
    #[serde(default)]
    pub comments: Option<CommentVisibility>,
    /// Transition name candidates (defaults as documented).
    #[serde(default)]
    pub transitions: Option<TransitionNames>,
    /// Where recertification issues go.
    #[serde(default)]
    pub recertification: Option<RecertProject>,
    /// Webhook intake.
    #[serde(default, deserialize_with = "super::shape::optional_object")]
    pub intake: Option<IntakeInput>,
    /// Attempts a delivery gets before it fails (1 to 50, default 12: with backoff to 15
    /// minutes, half an hour of outage at least).
    #[serde(default, deserialize_with = "super::number::optional_whole")]
    #[schema(minimum = 1, maximum = 50)]
    pub max_attempts: Option<i64>,
}

/// Default attempts of a delivery.
pub const DEFAULT_DELIVERY_ATTEMPTS: u32 = 12;

/// A checked Jira configuration: new secrets in the clear, to be sealed at once.
#[derive(Debug, Clone)]
pub struct JiraSettings {
    /// The site.
    pub base_url: Url,
    /// New credentials, if given.
    pub credentials: Option<(String, SecretString)>,
    /// Where comments go.
    pub comments: CommentVisibility,
    /// Transition names.
    pub transitions: TransitionNames,
    /// Recertification issues.
    pub recertification: Option<RecertProject>,
    /// Intake, with a new secret if given.
    pub intake: Option<(IntakeInput, Option<SecretString>)>,
    /// Attempts a delivery gets.
    pub max_attempts: u32,
}

fn names(field: &str, list: Vec<String>) -> Result<Vec<String>, DomainError> {
    list.into_iter()
        .map(|n| formats::text(&formats::NAME, field, &n).map(|n| n.to_lowercase()))
        .collect()
}

impl JiraUpsert {
    /// Checks the body; secrets stay secret in every error.
    pub fn into_settings(self) -> Result<JiraSettings, DomainError> {
        let base_url = service_url("base_url", &self.base_url)?;
        let credentials = match self.credentials {
            Some(c) => {
                let email = super::Email::parse("credentials.email", &c.email)?.to_string();
                formats::SECRET.check(
                    "credentials.api_token",
                    c.api_token.expose_secret(),
                    "must be 1 to 4096 characters with a visible one, without control characters",
                )?;
                Some((email, c.api_token))
            }
            None => None,
        };
        let transitions = match self.transitions {
            Some(t) => TransitionNames {
                approved: names("transitions.approved", t.approved)?,
                denied: names("transitions.denied", t.denied)?,
            },
            None => TransitionNames::default(),
        };
        let recertification = match self.recertification {
            Some(r) => Some(RecertProject {
                project: formats::text(&formats::NAME, "recertification.project", &r.project)?,
                issue_type_id: formats::text(
                    &formats::NAME,
                    "recertification.issue_type_id",
                    &r.issue_type_id,
                )?,
            }),
            None => None,
        };
        let intake = match self.intake {
            Some(mut i) => {
                i.fields = IntakeFields {
                    tool: formats::text(&formats::NAME, "intake.fields.tool", &i.fields.tool)?,
                    purpose: formats::text(
                        &formats::NAME,
                        "intake.fields.purpose",
                        &i.fields.purpose,
                    )?,
                    duration_days: match i.fields.duration_days {
                        Some(d) => Some(formats::text(
                            &formats::NAME,
                            "intake.fields.duration_days",
                            &d,
                        )?),
                        None => None,
                    },
                };
                i.projects = i
                    .projects
                    .iter()
                    .map(|p| formats::text(&formats::NAME, "intake.projects", p))
                    .collect::<Result<_, _>>()?;
                i.request_types = i
                    .request_types
                    .iter()
                    .map(|p| formats::text(&formats::NAME, "intake.request_types", p))
                    .collect::<Result<_, _>>()?;
                let secret = i.webhook_secret.take();
                if let Some(s) = &secret {
                    formats::SECRET.check(
                        "intake.webhook_secret",
                        s.expose_secret(),
                        "must be 1 to 4096 characters with a visible one, without control characters",
                    )?;
                }
                Some((i, secret))
            }
            None => None,
        };
        let max_attempts = match self.max_attempts {
            None => DEFAULT_DELIVERY_ATTEMPTS,
            Some(n) => u32::try_from(n)
                .ok()
                .filter(|n| (1..=50).contains(n))
                .ok_or_else(|| DomainError::new("max_attempts", "must be 1 to 50"))?,
        };
        Ok(JiraSettings {
            base_url,
            credentials,
            comments: self.comments.unwrap_or_default(),
            transitions,
            recertification,
            intake,
            max_attempts,
        })
    }
}
