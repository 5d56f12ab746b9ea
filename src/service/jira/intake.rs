//! Requests from Jira: the signed webhook (`jira:issue_created`, authenticated by the
//! HMAC-SHA-256 of its raw body) and the JSM automation template's body of
//! `POST /v1/requests`, both turned into the request `POST /v1/requests` decides, and
//! decided the same way.

use super::super::{Actor, Service, ServiceError, Submitted};
use crate::domain::{
    DomainError, IntakeRecord, NewTool, Role, SubmitBody, SubmitRequest, Tool, ToolId,
};
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
        // A call without a signature is refused before anything is looked at.
        let signature = signature.ok_or(ServiceError::Unauthenticated)?;
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
        signature: &str,
        body: &[u8],
    ) -> Result<(), ServiceError> {
        let secret = self.webhook_secret(intake)?;
        let given = signature
            .strip_prefix("sha256=")
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
        let duration = match intake.fields.duration_days.as_deref() {
            Some(id) => number_of(field_value(fields, id)),
            None => None,
        };
        let request = self.incoming_request(Incoming {
            issue_key: str_at(payload, "/issue/key"),
            tool_name,
            purpose,
            duration_days: duration,
            email: fields
                .pointer("/reporter/emailAddress")
                .and_then(Value::as_str),
            account: fields
                .pointer("/reporter/accountId")
                .and_then(Value::as_str),
            requester_field: "issue.fields.reporter",
            project: Some(project.to_owned()),
            request_type,
        })?;
        Ok(Ok(request))
    }

    /// Decides a body of `POST /v1/requests`, in clearance's shape or the automation
    /// template's.
    pub async fn submit_body(
        &self,
        actor: &Actor,
        body: SubmitBody,
    ) -> Result<Submitted, ServiceError> {
        let request = match body {
            SubmitBody::Request(request) => request,
            SubmitBody::Automation(a) => {
                actor.require(&[Role::Automation], "submit requests")?;
                self.incoming_request(Incoming {
                    issue_key: &a.issue_key,
                    tool_name: a.tool,
                    purpose: a.justification,
                    duration_days: a.duration_days,
                    email: a.reporter_email.as_deref(),
                    account: a.reporter_account_id.as_deref(),
                    requester_field: "reporterEmail",
                    project: None,
                    request_type: None,
                })?
            }
        };
        self.submit(actor, request).await
    }

    /// The request an issue describes: the tool matched to the catalog, the duration
    /// defaulted to the tool's, the requester found by email or Atlassian account id.
    fn incoming_request(&self, incoming: Incoming) -> Result<SubmitRequest, ServiceError> {
        let read = self.store.read()?;
        let tool = find_tool(&read.tools()?, &incoming.tool_name);
        let duration_days = match (incoming.duration_days, &tool) {
            (Some(days), _) => days,
            (None, Some(t)) => i64::from(t.default_duration_days),
            (None, None) => DEFAULT_UNKNOWN_TOOL_DAYS,
        };
        let requester = match incoming.email.filter(|e| !e.trim().is_empty()) {
            Some(email) => email.to_owned(),
            None => incoming
                .account
                .map(|a| read.user_by_jira_account(a))
                .transpose()?
                .flatten()
                .map(|e| e.to_string())
                .ok_or_else(|| ServiceError::UnknownUser(incoming.requester_field.into()))?,
        };
        Ok(SubmitRequest {
            issue_key: incoming.issue_key.to_owned(),
            requester,
            tool: tool.as_ref().map(|t| t.id.to_string()),
            new_tool: match tool {
                Some(_) => None,
                None => Some(NewTool {
                    name: incoming.tool_name,
                    url: None,
                }),
            },
            purpose: incoming.purpose,
            duration_days,
            project: incoming.project,
            request_type: incoming.request_type,
        })
    }
}

/// The days asked for a tool not in the catalog when the issue names none; the policies
/// decide what it may have.
const DEFAULT_UNKNOWN_TOOL_DAYS: i64 = 30;

/// What a Jira issue says about a request, before it is matched to the catalog and directory.
struct Incoming<'a> {
    issue_key: &'a str,
    tool_name: String,
    purpose: String,
    duration_days: Option<i64>,
    email: Option<&'a str>,
    account: Option<&'a str>,
    /// The field named when no requester is found.
    requester_field: &'a str,
    project: Option<String>,
    request_type: Option<String>,
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
