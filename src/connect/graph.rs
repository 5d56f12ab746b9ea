//! Microsoft Graph for Entra groups (see `vendor-specs/graph-v1.0-groups-subset.yaml`) and the
//! identity platform's client-credentials token (`vendor-specs/entra-token-subset.yaml`).
//!
//! The token is cached until shortly before it expires and fetched again once when Graph
//! answers 401. Members are removed only through `…/members/{id}/$ref`: without `$ref` the
//! same URL deletes the user object itself.

use super::call::{CallError, Reply, send};
use super::pace::Link;
use super::{Answer, Change, Member, Target, endpoint, external, next_link, sanitised};
use crate::domain::{Credentials, Email, ExternalId};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Client, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::{Duration, Instant};

const VENDOR: &str = "graph";
const TOKEN_VENDOR: &str = "the entra token endpoint";
const REQUEST_ID: &str = "request-id";
const SCOPE: &str = "https://graph.microsoft.com/.default";
/// Members per page when listing a group (Graph's most).
pub const PAGE: u32 = 999;
/// What Graph says when a member to add already is one.
const ALREADY_MEMBER: &str = "One or more added object references already exist";

#[derive(Deserialize)]
struct ODataError {
    error: MainError,
}

#[derive(Deserialize)]
struct MainError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct TokenError {
    #[serde(default)]
    error: String,
}

#[derive(Deserialize)]
struct Token {
    access_token: SecretString,
    expires_in: u64,
}

#[derive(Deserialize)]
struct Object {
    id: String,
    #[serde(default)]
    mail: Option<String>,
    #[serde(default, rename = "userPrincipalName")]
    upn: Option<String>,
}

#[derive(Deserialize)]
struct Collection {
    #[serde(default)]
    value: Vec<Object>,
    #[serde(default, rename = "@odata.nextLink")]
    next: Option<String>,
}

fn error_of(reply: &Reply) -> Option<MainError> {
    serde_json::from_slice::<ODataError>(&reply.body)
        .ok()
        .map(|e| e.error)
}

fn unexpected(reply: &Reply) -> CallError {
    let detail = error_of(reply)
        .map(|e| sanitised(&format!("{} {}", e.code, e.message)))
        .unwrap_or_default();
    reply.unexpected(VENDOR, &detail)
}

/// A token, from the cache or fetched; a refused fetch means refused credentials.
async fn token(http: &Client, link: &Link, t: &Target) -> Result<SecretString, CallError> {
    let mut cached = link.token.lock().await;
    if let Some((token, until)) = cached.as_ref()
        && Instant::now() < *until
    {
        return Ok(token.clone());
    }
    let (
        Credentials::Entra {
            client_id,
            client_secret,
        },
        Some(url),
    ) = (&t.credentials, &t.token_url)
    else {
        return Err(CallError::CredentialsRefused {
            reason: "the connector has no entra credentials".into(),
            call: None,
        });
    };
    let form = [
        ("client_id", client_id.as_str()),
        ("scope", SCOPE),
        ("client_secret", client_secret.expose_secret()),
        ("grant_type", "client_credentials"),
    ];
    let request = http.post(url.clone()).form(&form);
    let reply = send(link, TOKEN_VENDOR, REQUEST_ID, request).await?;
    if reply.status != StatusCode::OK {
        let code = serde_json::from_slice::<TokenError>(&reply.body)
            .map(|e| sanitised(&e.error))
            .unwrap_or_default();
        return Err(match reply.status.as_u16() {
            400 | 401 => CallError::CredentialsRefused {
                reason: format!(
                    "{TOKEN_VENDOR} refused the client credentials ({} {code})",
                    reply.status.as_u16()
                ),
                call: Some(reply.call.clone()),
            },
            _ => reply.unexpected(TOKEN_VENDOR, &code),
        });
    }
    let fresh: Token = reply.json(TOKEN_VENDOR)?;
    // Used until five minutes before it expires (or half its life, if that is shorter).
    let life = Duration::from_secs(fresh.expires_in);
    let until = Instant::now() + life.saturating_sub(Duration::from_secs(300).min(life / 2));
    *cached = Some((fresh.access_token.clone(), until));
    Ok(fresh.access_token)
}

/// Calls Graph with a token; on 401, drops the token, fetches a new one and calls once more.
async fn call(
    http: &Client,
    link: &Link,
    t: &Target,
    method: Method,
    url: url::Url,
    body: Option<&serde_json::Value>,
) -> Result<Reply, CallError> {
    for fresh in [false, true] {
        if fresh {
            *link.token.lock().await = None;
        }
        let token = token(http, link, t).await?;
        let mut builder = http
            .request(method.clone(), url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())) {
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let reply = send(link, VENDOR, REQUEST_ID, builder).await?;
        if reply.status != StatusCode::UNAUTHORIZED || fresh {
            return Ok(reply);
        }
    }
    Err(CallError::CredentialsRefused {
        reason: "graph refused a fresh token".into(),
        call: None,
    })
}

fn odata_string(value: &str) -> String {
    value.replace('\'', "''")
}

/// The user whose `userPrincipalName` is `email`, else the first whose `mail` is (guests'
/// UPNs differ from their email).
pub async fn find_user(
    http: &Client,
    link: &Link,
    t: &Target,
    email: &Email,
) -> Result<Answer<Option<ExternalId>>, CallError> {
    let url = endpoint(&t.base_url, &["users", email.as_str()], &[]);
    let reply = call(http, link, t, Method::GET, url, None).await?;
    match reply.status {
        StatusCode::OK => {
            let user: Object = reply.json(VENDOR)?;
            return Ok(Answer::new(
                Some(external(VENDOR, "user", &user.id)?),
                &reply,
            ));
        }
        StatusCode::NOT_FOUND => {}
        _ => return Err(unexpected(&reply)),
    }
    let filter = format!("mail eq '{}'", odata_string(email.as_str()));
    let url = endpoint(&t.base_url, &["users"], &[("$filter", &filter)]);
    let reply = call(http, link, t, Method::GET, url, None).await?;
    if reply.status != StatusCode::OK {
        return Err(unexpected(&reply));
    }
    let users: Collection = reply.json(VENDOR)?;
    let found = users
        .value
        .first()
        .map(|u| external(VENDOR, "user", &u.id))
        .transpose()?;
    Ok(Answer::new(found, &reply))
}

/// Adds `user` to `group`; Graph's 400 "already exist" means it already is a member.
pub async fn add_member(
    http: &Client,
    link: &Link,
    t: &Target,
    group: &ExternalId,
    user: &ExternalId,
) -> Result<Answer<Change>, CallError> {
    let url = endpoint(
        &t.base_url,
        &["groups", group.as_str(), "members", "$ref"],
        &[],
    );
    let object = endpoint(&t.base_url, &["directoryObjects", user.as_str()], &[]);
    let body = serde_json::json!({"@odata.id": object.as_str()});
    let reply = call(http, link, t, Method::POST, url, Some(&body)).await?;
    match reply.status {
        StatusCode::NO_CONTENT | StatusCode::OK => Ok(Answer::new(Change::Done, &reply)),
        StatusCode::BAD_REQUEST
            if error_of(&reply).is_some_and(|e| e.message.contains(ALREADY_MEMBER)) =>
        {
            Ok(Answer::new(Change::AlreadyDone, &reply))
        }
        _ => Err(unexpected(&reply)),
    }
}

/// Removes `user` from `group` through the membership reference; 404: already gone.
pub async fn remove_member(
    http: &Client,
    link: &Link,
    t: &Target,
    group: &ExternalId,
    user: &ExternalId,
) -> Result<Answer<Change>, CallError> {
    let path = ["groups", group.as_str(), "members", user.as_str(), "$ref"];
    let url = endpoint(&t.base_url, &path, &[]);
    let reply = call(http, link, t, Method::DELETE, url, None).await?;
    match reply.status {
        StatusCode::NO_CONTENT | StatusCode::OK => Ok(Answer::new(Change::Done, &reply)),
        StatusCode::NOT_FOUND => Ok(Answer::new(Change::AlreadyDone, &reply)),
        _ => Err(unexpected(&reply)),
    }
}

#[derive(Deserialize)]
struct Ids {
    #[serde(default)]
    value: Vec<String>,
}

/// Whether `user` is a member of `group` (`checkMemberGroups`; transitively, as Graph
/// answers it).
pub async fn is_member(
    http: &Client,
    link: &Link,
    t: &Target,
    group: &ExternalId,
    user: &ExternalId,
) -> Result<Answer<bool>, CallError> {
    let url = endpoint(
        &t.base_url,
        &["users", user.as_str(), "checkMemberGroups"],
        &[],
    );
    let body = serde_json::json!({"groupIds": [group.as_str()]});
    let reply = call(http, link, t, Method::POST, url, Some(&body)).await?;
    if reply.status != StatusCode::OK {
        return Err(unexpected(&reply));
    }
    let ids: Ids = reply.json(VENDOR)?;
    Ok(Answer::new(
        ids.value.iter().any(|g| g == group.as_str()),
        &reply,
    ))
}

/// Every direct member of `group`, following each `@odata.nextLink` whole.
pub async fn list_members(
    http: &Client,
    link: &Link,
    t: &Target,
    group: &ExternalId,
) -> Result<Answer<Vec<Member>>, CallError> {
    let top = PAGE.to_string();
    let query = [
        ("$top", top.as_str()),
        ("$select", "id,mail,userPrincipalName"),
    ];
    let path = ["groups", group.as_str(), "members"];
    let mut url = Some(endpoint(&t.base_url, &path, &query));
    let mut members = Vec::new();
    let mut last = None;
    while let Some(page) = url.take() {
        let reply = call(http, link, t, Method::GET, page, None).await?;
        if reply.status != StatusCode::OK {
            return Err(unexpected(&reply));
        }
        let collection: Collection = reply.json(VENDOR)?;
        for object in collection.value {
            members.push(Member {
                id: external(VENDOR, "member", &object.id)?,
                email: object.mail.or(object.upn),
            });
        }
        url = match collection.next {
            Some(next) => next_link(t, VENDOR, Some(&format!("<{next}>; rel=\"next\"")))?,
            None => None,
        };
        last = Some(reply);
    }
    let reply = last.ok_or_else(|| CallError::Rejected {
        reason: "graph answered no page".into(),
        call: None,
    })?;
    Ok(Answer::new(members, &reply))
}

/// The security group whose display name is `name`, created if there is none.
pub async fn find_or_create_group(
    http: &Client,
    link: &Link,
    t: &Target,
    name: &str,
) -> Result<Answer<ExternalId>, CallError> {
    let filter = format!("displayName eq '{}'", odata_string(name));
    let url = endpoint(&t.base_url, &["groups"], &[("$filter", &filter)]);
    let reply = call(http, link, t, Method::GET, url, None).await?;
    if reply.status != StatusCode::OK {
        return Err(unexpected(&reply));
    }
    let found: Collection = reply.json(VENDOR)?;
    if let Some(group) = found.value.first() {
        return Ok(Answer::new(external(VENDOR, "group", &group.id)?, &reply));
    }
    let nickname: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(60)
        .collect();
    let body = serde_json::json!({
        "displayName": name,
        "description": "Managed by clearance: membership follows its grants.",
        "mailEnabled": false,
        "mailNickname": if nickname.is_empty() { "clearance".to_owned() } else { nickname },
        "securityEnabled": true,
        "groupTypes": [],
    });
    let url = endpoint(&t.base_url, &["groups"], &[]);
    let reply = call(http, link, t, Method::POST, url, Some(&body)).await?;
    if reply.status != StatusCode::CREATED {
        return Err(unexpected(&reply));
    }
    let group: Object = reply.json(VENDOR)?;
    Ok(Answer::new(external(VENDOR, "group", &group.id)?, &reply))
}

/// Whether the credentials give a token and Graph takes it.
pub async fn whoami(http: &Client, link: &Link, t: &Target) -> Result<Answer<()>, CallError> {
    let url = endpoint(&t.base_url, &["groups"], &[("$top", "1")]);
    let reply = call(http, link, t, Method::GET, url, None).await?;
    match reply.status {
        StatusCode::OK => Ok(Answer::new((), &reply)),
        _ => Err(unexpected(&reply)),
    }
}
