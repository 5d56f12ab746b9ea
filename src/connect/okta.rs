//! Okta's management API, as much of it as clearance uses (see
//! `vendor-specs/okta-groups-subset.yaml`): users by login or email, group membership by
//! `PUT`/`DELETE`, group members page by page, and dedicated groups.

use super::call::{CallError, Reply, send};
use super::pace::Link;
use super::{Answer, Change, Member, Target, endpoint, external, next_link, sanitised};
use crate::domain::{Credentials, Email, ExternalId};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use secrecy::ExposeSecret;
use serde::Deserialize;

const VENDOR: &str = "okta";
const REQUEST_ID: &str = "x-okta-request-id";
/// Members per page when listing a group, as Okta recommends.
pub const PAGE: u32 = 200;

#[derive(Deserialize)]
struct OktaError {
    #[serde(rename = "errorCode", default)]
    code: String,
    #[serde(rename = "errorSummary", default)]
    summary: String,
}

#[derive(Deserialize)]
struct User {
    id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    profile: Profile,
}

#[derive(Deserialize, Default)]
struct Profile {
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct Group {
    id: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

fn request(http: &Client, t: &Target, method: Method, url: url::Url) -> RequestBuilder {
    let mut builder = http
        .request(method, url)
        .header(reqwest::header::ACCEPT, "application/json");
    if let Credentials::Okta { api_token } = &t.credentials
        && let Ok(mut value) = HeaderValue::from_str(&format!("SSWS {}", api_token.expose_secret()))
    {
        value.set_sensitive(true);
        builder = builder.header(AUTHORIZATION, value);
    }
    builder
}

fn detail(reply: &Reply) -> String {
    serde_json::from_slice::<OktaError>(&reply.body)
        .map(|e| sanitised(&format!("{} {}", e.code, e.summary)))
        .unwrap_or_default()
}

fn unexpected(reply: &Reply) -> CallError {
    reply.unexpected(VENDOR, &detail(reply))
}

async fn call(
    http: &Client,
    link: &Link,
    t: &Target,
    method: Method,
    url: url::Url,
    body: Option<serde_json::Value>,
) -> Result<Reply, CallError> {
    let mut builder = request(http, t, method, url);
    if let Some(body) = body {
        builder = builder.json(&body);
    }
    send(link, VENDOR, REQUEST_ID, builder).await
}

/// The user whose login is `email`, else the first whose `profile.email` is.
pub async fn find_user(
    http: &Client,
    link: &Link,
    t: &Target,
    email: &Email,
) -> Result<Answer<Option<ExternalId>>, CallError> {
    let url = endpoint(&t.base_url, &["api", "v1", "users", email.as_str()], &[]);
    let reply = call(http, link, t, Method::GET, url, None).await?;
    match reply.status {
        StatusCode::OK => {
            let user: User = reply.json(VENDOR)?;
            return Ok(Answer::new(
                Some(external(VENDOR, "user", &user.id)?),
                &reply,
            ));
        }
        StatusCode::NOT_FOUND => {}
        _ => return Err(unexpected(&reply)),
    }
    let search = format!("profile.email eq \"{}\"", email.as_str());
    let url = endpoint(&t.base_url, &["api", "v1", "users"], &[("search", &search)]);
    let reply = call(http, link, t, Method::GET, url, None).await?;
    if reply.status != StatusCode::OK {
        return Err(unexpected(&reply));
    }
    let users: Vec<User> = reply.json(VENDOR)?;
    let found = users
        .iter()
        .find(|u| u.status.as_deref() != Some("DEPROVISIONED"))
        .map(|u| external(VENDOR, "user", &u.id))
        .transpose()?;
    Ok(Answer::new(found, &reply))
}

fn membership_url(t: &Target, group: &ExternalId, user: &ExternalId) -> url::Url {
    let path = [
        "api",
        "v1",
        "groups",
        group.as_str(),
        "users",
        user.as_str(),
    ];
    endpoint(&t.base_url, &path, &[])
}

/// Adds `user` to `group`. Okta answers 204 whether or not the user already was a member.
pub async fn add_member(
    http: &Client,
    link: &Link,
    t: &Target,
    group: &ExternalId,
    user: &ExternalId,
) -> Result<Answer<Change>, CallError> {
    let url = membership_url(t, group, user);
    let reply = call(http, link, t, Method::PUT, url, None).await?;
    match reply.status {
        StatusCode::NO_CONTENT | StatusCode::OK => Ok(Answer::new(Change::Done, &reply)),
        _ => Err(unexpected(&reply)),
    }
}

/// Removes `user` from `group`; 404 means the membership is already gone.
pub async fn remove_member(
    http: &Client,
    link: &Link,
    t: &Target,
    group: &ExternalId,
    user: &ExternalId,
) -> Result<Answer<Change>, CallError> {
    let url = membership_url(t, group, user);
    let reply = call(http, link, t, Method::DELETE, url, None).await?;
    match reply.status {
        StatusCode::NO_CONTENT | StatusCode::OK => Ok(Answer::new(Change::Done, &reply)),
        StatusCode::NOT_FOUND => Ok(Answer::new(Change::AlreadyDone, &reply)),
        _ => Err(unexpected(&reply)),
    }
}

/// Every direct member of `group`, page by page: `limit=200`, then each `Link: rel="next"`
/// URL exactly as given (only on the connector's own origin).
pub async fn list_members(
    http: &Client,
    link: &Link,
    t: &Target,
    group: &ExternalId,
) -> Result<Answer<Vec<Member>>, CallError> {
    let limit = PAGE.to_string();
    let path = ["api", "v1", "groups", group.as_str(), "users"];
    let mut url = Some(endpoint(&t.base_url, &path, &[("limit", &limit)]));
    let mut members = Vec::new();
    let mut last = None;
    while let Some(page) = url.take() {
        let reply = call(http, link, t, Method::GET, page, None).await?;
        if reply.status != StatusCode::OK {
            return Err(unexpected(&reply));
        }
        let users: Vec<User> = reply.json(VENDOR)?;
        for user in users {
            members.push(Member {
                id: external(VENDOR, "user", &user.id)?,
                email: user.profile.email.or(user.profile.login),
            });
        }
        url = next_link(t, VENDOR, super::call::header(&reply.headers, "link"))?;
        last = Some(reply);
    }
    let reply = last.ok_or_else(|| CallError::Rejected {
        reason: "okta answered no page".into(),
        call: None,
    })?;
    Ok(Answer::new(members, &reply))
}

/// Whether `user` is a direct member of `group` (Okta has no single-membership read: the
/// group's members are listed).
pub async fn is_member(
    http: &Client,
    link: &Link,
    t: &Target,
    group: &ExternalId,
    user: &ExternalId,
) -> Result<Answer<bool>, CallError> {
    let members = list_members(http, link, t, group).await?;
    let found = members.value.iter().any(|m| m.id == *user);
    Ok(Answer {
        value: found,
        call: members.call,
    })
}

/// The `OKTA_GROUP` named `name`, created if there is none.
pub async fn find_or_create_group(
    http: &Client,
    link: &Link,
    t: &Target,
    name: &str,
) -> Result<Answer<ExternalId>, CallError> {
    let search = format!("profile.name eq \"{}\"", name.replace('"', "\\\""));
    let url = endpoint(
        &t.base_url,
        &["api", "v1", "groups"],
        &[("search", &search)],
    );
    let reply = call(http, link, t, Method::GET, url, None).await?;
    if reply.status != StatusCode::OK {
        return Err(unexpected(&reply));
    }
    let groups: Vec<Group> = reply.json(VENDOR)?;
    if let Some(g) = groups
        .iter()
        .find(|g| g.kind.as_deref().is_none_or(|k| k == "OKTA_GROUP"))
    {
        return Ok(Answer::new(external(VENDOR, "group", &g.id)?, &reply));
    }
    let url = endpoint(&t.base_url, &["api", "v1", "groups"], &[]);
    let body = serde_json::json!({"profile": {
        "name": name,
        "description": "Managed by clearance: membership follows its grants.",
    }});
    let reply = call(http, link, t, Method::POST, url, Some(body)).await?;
    if reply.status != StatusCode::OK {
        return Err(unexpected(&reply));
    }
    let group: Group = reply.json(VENDOR)?;
    Ok(Answer::new(external(VENDOR, "group", &group.id)?, &reply))
}

/// Whether the token works: the user it belongs to.
pub async fn whoami(http: &Client, link: &Link, t: &Target) -> Result<Answer<()>, CallError> {
    let url = endpoint(&t.base_url, &["api", "v1", "users", "me"], &[]);
    let reply = call(http, link, t, Method::GET, url, None).await?;
    match reply.status {
        StatusCode::OK => Ok(Answer::new((), &reply)),
        _ => Err(unexpected(&reply)),
    }
}
