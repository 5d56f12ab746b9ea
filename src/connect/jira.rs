//! Jira Cloud and JSM's wire formats: comments (public through JSM, internal through Jira
//! with an Atlassian Document Format body), their delivery marks (a comment property, and
//! the delivery id in the text), transitions, and the account check. Basic auth with the
//! account's email and API token.

use super::call::{CallError, Reply, send};
use super::pace::Link;
use super::{Answer, endpoint, sanitised};
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

const VENDOR: &str = "jira";
const REQUEST_ID: &str = "x-arequestid";
/// The comment property that marks a comment with the delivery that posted it.
pub const MARK_PROPERTY: &str = "clearance.delivery";

/// What to call, with the API token opened for this call only.
#[derive(Debug, Clone)]
pub struct JiraTarget {
    /// The site.
    pub base_url: Url,
    /// The account's email.
    pub email: String,
    /// Its API token.
    pub api_token: SecretString,
    /// Changes with the configuration, so a new one gets a fresh link.
    pub revision: String,
}

/// What the transition step found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    /// Moved through the transition named.
    Through(String),
    /// The issue already was in the status.
    AlreadyThere(String),
    /// No transition's name or target status matched a candidate.
    NoMatch,
}

#[derive(Deserialize)]
struct JiraError {
    #[serde(default, rename = "errorMessages")]
    messages: Vec<String>,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct CreatedIssue {
    key: String,
}

#[derive(Deserialize)]
struct Comments {
    #[serde(default)]
    comments: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Status {
    name: String,
}

#[derive(Deserialize)]
struct IssueFields {
    status: Status,
}

#[derive(Deserialize)]
struct Issue {
    fields: IssueFields,
}

#[derive(Deserialize)]
struct Transition {
    id: String,
    name: String,
    to: Status,
}

#[derive(Deserialize)]
struct Transitions {
    #[serde(default)]
    transitions: Vec<Transition>,
}

fn unexpected(reply: &Reply) -> CallError {
    let detail = serde_json::from_slice::<JiraError>(&reply.body)
        .map(|e| sanitised(&e.messages.join("; ")))
        .unwrap_or_default();
    reply.unexpected(VENDOR, &detail)
}

/// An Atlassian Document Format document of `text`, a paragraph per blank-line-separated
/// block.
fn adf(text: &str) -> serde_json::Value {
    let paragraphs: Vec<serde_json::Value> = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            serde_json::json!({"type": "paragraph",
                "content": [{"type": "text", "text": p.trim()}]})
        })
        .collect();
    serde_json::json!({"type": "doc", "version": 1, "content": paragraphs})
}

/// The HTTP client and the site's link (concurrency, pace).
#[derive(Debug)]
pub struct Jira {
    http: Client,
    link: Mutex<super::LinkSlot>,
}

impl Jira {
    /// A client whose calls time out after `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, CallError> {
        Ok(Self {
            http: super::client(timeout)?,
            link: Mutex::default(),
        })
    }

    fn link(&self, t: &JiraTarget) -> Arc<Link> {
        let Ok(mut slot) = self.link.lock() else {
            return Arc::default();
        };
        super::current_link(&mut slot, &t.revision)
    }

    fn request(&self, t: &JiraTarget, method: Method, url: Url) -> RequestBuilder {
        self.http
            .request(method, url)
            .basic_auth(&t.email, Some(t.api_token.expose_secret()))
            .header(reqwest::header::ACCEPT, "application/json")
    }

    async fn call(
        &self,
        t: &JiraTarget,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<serde_json::Value>,
    ) -> Result<Reply, CallError> {
        let url = endpoint(&t.base_url, path, query);
        let mut builder = self.request(t, method, url);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        send(&self.link(t), VENDOR, REQUEST_ID, builder).await
    }

    /// Whether the credentials work (`GET /rest/api/3/myself`).
    pub async fn myself(&self, t: &JiraTarget) -> Result<Answer<()>, CallError> {
        let reply = self
            .call(t, Method::GET, &["rest", "api", "3", "myself"], &[], None)
            .await?;
        match reply.status {
            StatusCode::OK => Ok(Answer::new((), &reply)),
            _ => Err(unexpected(&reply)),
        }
    }

    /// Whether the issue `key` can be read.
    pub async fn issue_status(
        &self,
        t: &JiraTarget,
        key: &str,
    ) -> Result<Answer<String>, CallError> {
        let path = ["rest", "api", "3", "issue", key];
        let reply = self
            .call(t, Method::GET, &path, &[("fields", "status")], None)
            .await?;
        if reply.status != StatusCode::OK {
            return Err(unexpected(&reply));
        }
        let issue: Issue = reply.json(VENDOR)?;
        Ok(Answer::new(issue.fields.status.name, &reply))
    }

    /// Posts a public JSM comment; returns its id. It is marked separately ([`Self::mark`]).
    pub async fn post_public(
        &self,
        t: &JiraTarget,
        key: &str,
        text: &str,
    ) -> Result<Answer<String>, CallError> {
        let path = ["rest", "servicedeskapi", "request", key, "comment"];
        let body = serde_json::json!({"body": text, "public": true});
        let reply = self.call(t, Method::POST, &path, &[], Some(body)).await?;
        created(&reply)
    }

    /// Posts an internal comment (ADF body) carrying its mark; returns its id.
    pub async fn post_internal(
        &self,
        t: &JiraTarget,
        key: &str,
        text: &str,
        mark: &str,
    ) -> Result<Answer<String>, CallError> {
        let path = ["rest", "api", "3", "issue", key, "comment"];
        // On a service desk issue a comment through this endpoint is public unless its
        // `sd.public.comment` property says internal.
        let body = serde_json::json!({
            "body": adf(text),
            "properties": [
                {"key": MARK_PROPERTY, "value": {"delivery_id": mark}},
                {"key": "sd.public.comment", "value": {"internal": true}},
            ],
        });
        let reply = self.call(t, Method::POST, &path, &[], Some(body)).await?;
        created(&reply)
    }

    /// Creates an issue in `project` of type `issue_type_id`, marked with `mark` (an issue
    /// property); returns its key.
    pub async fn create_issue(
        &self,
        t: &JiraTarget,
        project: &str,
        issue_type_id: &str,
        summary: &str,
        description: &str,
        mark: &str,
    ) -> Result<Answer<String>, CallError> {
        let body = serde_json::json!({
            "fields": {
                "project": {"key": project},
                "issuetype": {"id": issue_type_id},
                "summary": summary,
                "description": adf(description),
            },
            "properties": [{"key": MARK_PROPERTY, "value": {"delivery_id": mark}}],
        });
        let path = ["rest", "api", "3", "issue"];
        let reply = self.call(t, Method::POST, &path, &[], Some(body)).await?;
        match reply.status {
            StatusCode::CREATED | StatusCode::OK => {
                let created: CreatedIssue = reply.json(VENDOR)?;
                Ok(Answer::new(created.key, &reply))
            }
            _ => Err(unexpected(&reply)),
        }
    }

    /// Marks comment `id` with the delivery `mark`.
    pub async fn mark(
        &self,
        t: &JiraTarget,
        id: &str,
        mark: &str,
    ) -> Result<Answer<()>, CallError> {
        let path = [
            "rest",
            "api",
            "3",
            "comment",
            id,
            "properties",
            MARK_PROPERTY,
        ];
        let body = serde_json::json!({"delivery_id": mark});
        let reply = self.call(t, Method::PUT, &path, &[], Some(body)).await?;
        match reply.status {
            StatusCode::OK | StatusCode::CREATED => Ok(Answer::new((), &reply)),
            _ => Err(unexpected(&reply)),
        }
    }

    /// The id of the comment of `key` that carries `mark` (as its property or in its text),
    /// among the newest hundred.
    pub async fn find_marked(
        &self,
        t: &JiraTarget,
        key: &str,
        mark: &str,
    ) -> Result<Answer<Option<String>>, CallError> {
        let path = ["rest", "api", "3", "issue", key, "comment"];
        let query = [
            ("orderBy", "-created"),
            ("maxResults", "100"),
            ("expand", "properties"),
        ];
        let reply = self.call(t, Method::GET, &path, &query, None).await?;
        if reply.status != StatusCode::OK {
            return Err(unexpected(&reply));
        }
        let comments: Comments = reply.json(VENDOR)?;
        let found = comments
            .comments
            .iter()
            .find(|c| c.to_string().contains(mark))
            .and_then(|c| c.get("id"))
            .and_then(|id| id.as_str().map(str::to_owned));
        Ok(Answer::new(found, &reply))
    }

    /// Moves `key` through the first transition whose name or target status matches one of
    /// `candidates` (lower case), unless the issue is there already.
    pub async fn transition(
        &self,
        t: &JiraTarget,
        key: &str,
        candidates: &[String],
    ) -> Result<Answer<Moved>, CallError> {
        let status = self.issue_status(t, key).await?;
        let matches = |name: &str| candidates.iter().any(|c| c.eq_ignore_ascii_case(name));
        let path = ["rest", "api", "3", "issue", key, "transitions"];
        let reply = self.call(t, Method::GET, &path, &[], None).await?;
        if reply.status != StatusCode::OK {
            return Err(unexpected(&reply));
        }
        let offered: Transitions = reply.json(VENDOR)?;
        let chosen = offered
            .transitions
            .into_iter()
            .find(|tr| matches(&tr.name) || matches(&tr.to.name));
        let Some(chosen) = chosen else {
            let moved = if matches(&status.value) {
                Moved::AlreadyThere(status.value)
            } else {
                Moved::NoMatch
            };
            return Ok(Answer::new(moved, &reply));
        };
        if chosen.to.name.eq_ignore_ascii_case(&status.value) {
            return Ok(Answer::new(Moved::AlreadyThere(status.value), &reply));
        }
        let body = serde_json::json!({"transition": {"id": chosen.id}});
        let reply = self.call(t, Method::POST, &path, &[], Some(body)).await?;
        match reply.status {
            StatusCode::NO_CONTENT | StatusCode::OK => {
                Ok(Answer::new(Moved::Through(chosen.name), &reply))
            }
            _ => Err(unexpected(&reply)),
        }
    }
}

fn created(reply: &Reply) -> Result<Answer<String>, CallError> {
    match reply.status {
        StatusCode::CREATED | StatusCode::OK => {
            let created: Created = reply.json(VENDOR)?;
            Ok(Answer::new(created.id, reply))
        }
        _ => Err(unexpected(reply)),
    }
}
