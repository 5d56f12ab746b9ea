//! Signed webhook intake: a Jira admin webhook (`jira:issue_created`) authenticated by the
//! HMAC-SHA-256 of its raw body, turned into the request `POST /v1/requests` would decide,
//! and decided the same way.

use super::super::{Actor, Service, ServiceError, Submitted};
use crate::domain::{DomainError, IntakeRecord, NewTool, Role, SubmitRequest, Tool, ToolId};
use crate::store::{JiraQueries, Queries};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::Sha256;

/// What intake did with a webhook.
#[derive(Debug, Clone)]
pub enum Intake {
    /// Decided (or, redelivered, the stored answer).
    Decided(Box<Submitted>),
    /// Not taken in, and why; nothing was stored.
    Skipped(String),
}

/// Who the audit log names for requests taken in by the webhook.
const INTAKE_ACTOR: &str = "jira-webhook";

impl Service {
    /// Verifies `signature` (`sha256=<hex>`) over `body`, and decides the issue it carries
    /// when it is one of the configured projects and request types.
    pub async fn intake_jira(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Intake, ServiceError> {
        let site = self.store.read()?.jira_site()?;
        let Some(intake) = site.and_then(|s| s.intake) else {
            return Err(ServiceError::NotFound("jira intake configuration"));
        };
        self.verify_signature(&intake, signature, body)?;
        let payload: Value = serde_json::from_slice(body)
            .map_err(|_| DomainError::new("body", "must be a Jira webhook's JSON"))?;
        let request = match self.to_request(&intake, &payload)? {
            Ok(request) => request,
            Err(reason) => return Ok(Intake::Skipped(reason)),
        };
        let actor = Actor {
            token_id: INTAKE_ACTOR.into(),
            role: Role::Automation,
            subject: None,
        };
        Ok(Intake::Decided(Box::new(
            self.submit(&actor, request).await?,
        )))
    }

    fn verify_signature(
        &self,
        intake: &IntakeRecord,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), ServiceError> {
        let secret = self.webhook_secret(intake)?;
        let given = signature
            .and_then(|s| s.strip_prefix("sha256="))
            .and_then(|hex| hex::decode(hex).ok())
            .ok_or(ServiceError::Unauthenticated)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .map_err(|_| ServiceError::Unauthenticated)?;
        mac.update(body);
        // Constant time: the comparison does not tell how much of a guess was right.
        mac.verify_slice(&given)
            .map_err(|_| ServiceError::Unauthenticated)
    }

    /// The request an issue carries, or why it is not taken in.
    fn to_request(
        &self,
        intake: &IntakeRecord,
        payload: &Value,
    ) -> Result<Result<SubmitRequest, String>, ServiceError> {
        let event = str_at(payload, "/webhookEvent");
        if event != "jira:issue_created" {
            return Ok(Err(format!("event {event:?} is not taken in")));
        }
        let fields = payload.pointer("/issue/fields").unwrap_or(&Value::Null);
        let project = str_at(fields, "/project/key");
        if !intake
            .projects
            .iter()
            .any(|p| p.eq_ignore_ascii_case(project))
        {
            return Ok(Err(format!("project {project:?} is not taken in")));
        }
        let request_type = request_type(fields);
        if !intake.request_types.is_empty()
            && !intake
                .request_types
                .iter()
                .any(|t| Some(t.as_str()) == request_type.as_deref())
        {
            return Ok(Err(format!(
                "request type {request_type:?} is not taken in"
            )));
        }
        let field = |id: &str| format!("issue.fields.{id}");
        let tool_name = text_of(field_value(fields, &intake.fields.tool))
            .ok_or_else(|| DomainError::new(field(&intake.fields.tool), "names no tool"))?;
        let purpose = text_of(field_value(fields, &intake.fields.purpose))
            .ok_or_else(|| DomainError::new(field(&intake.fields.purpose), "gives no purpose"))?;
        let read = self.store.read()?;
        let tool = find_tool(&read.tools()?, &tool_name);
        let duration = match intake.fields.duration_days.as_deref() {
            Some(id) => number_of(field_value(fields, id)),
            None => None,
        };
        let duration_days = match (duration, &tool) {
            (Some(days), _) => days,
            (None, Some(t)) => i64::from(t.default_duration_days),
            (None, None) => 30,
        };
        let requester = match fields
            .pointer("/reporter/emailAddress")
            .and_then(Value::as_str)
        {
            Some(email) => email.to_owned(),
            None => {
                let account = str_at(fields, "/reporter/accountId");
                read.user_by_jira_account(account)?
                    .map(|e| e.to_string())
                    .ok_or_else(|| ServiceError::UnknownUser("issue.fields.reporter".into()))?
            }
        };
        Ok(Ok(SubmitRequest {
            issue_key: str_at(payload, "/issue/key").to_owned(),
            requester,
            tool: tool.as_ref().map(|t| t.id.to_string()),
            new_tool: match tool {
                Some(_) => None,
                None => Some(NewTool {
                    name: tool_name,
                    url: None,
                }),
            },
            purpose,
            duration_days,
            project: Some(project.to_owned()),
            request_type,
        }))
    }
}

/// The string at `pointer`, or empty.
fn str_at<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The value of the issue field `id`.
fn field_value<'v>(fields: &'v Value, id: &str) -> &'v Value {
    fields.get(id).unwrap_or(&Value::Null)
}

/// The JSM request type's id: the field whose value carries a `requestType`.
fn request_type(fields: &Value) -> Option<String> {
    fields.as_object()?.values().find_map(|v| {
        v.pointer("/requestType/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

/// A field's text: a string, or a select option's `value`.
fn text_of(value: &Value) -> Option<String> {
    let text = value
        .as_str()
        .or_else(|| value.get("value").and_then(Value::as_str))?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// A field's whole number: a number, or digits in a string or an option's value.
fn number_of(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i64)
        })
        .or_else(|| text_of(value).and_then(|t| t.parse().ok()))
}

/// The catalog tool `name` names: by id (or the slug the name makes), name or alias, without
/// regard to case.
fn find_tool(tools: &[Tool], name: &str) -> Option<Tool> {
    let same = |a: &str| a.eq_ignore_ascii_case(name);
    let slug = ToolId::from_name(name);
    tools
        .iter()
        .find(|t| {
            same(t.id.as_str())
                || slug.as_ref() == Some(&t.id)
                || same(&t.name)
                || t.aliases.iter().any(|a| same(a))
        })
        .cloned()
}
