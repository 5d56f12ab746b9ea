//! Connectors: the Okta or Entra tenants whose groups clearance manages, and how a user is
//! known there.

use super::{DomainError, Email, formats};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

/// A connector's id, such as `okta-main`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConnectorId(String);

impl ConnectorId {
    /// Parses a connector id (see [`formats::CONNECTOR_ID`]).
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let id = formats::CONNECTOR_ID.check(
            field,
            raw,
            "must be a connector id of lower-case letters, digits and inner dashes (at most 64)",
        )?;
        Ok(Self(id.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ConnectorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An object id at an identity provider: a user or a group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExternalId(String);

impl ExternalId {
    /// Parses an IdP object id (see [`formats::IDP_ID`]); safe to put in a URL path.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let id = formats::IDP_ID.check(
            field,
            raw,
            "must be an identity provider id: letters, digits, '.', '_' or '-' (at most 128)",
        )?;
        Ok(Self(id.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ExternalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which identity provider a connector talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorType {
    /// Okta's management API with an API token (`Authorization: SSWS`).
    Okta,
    /// Microsoft Graph with a client-credentials token.
    Entra,
}

impl ConnectorType {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Okta => "okta",
            Self::Entra => "entra",
        }
    }
}

/// The attempts a connector job gets when its connector does not say.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// The most attempts a connector may give a job.
pub const MAX_ATTEMPTS: u32 = 50;

/// A connector as stored: everything but the credentials in the clear; the credentials
/// sealed (see `crate::secrets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorRecord {
    /// Connector id.
    pub id: ConnectorId,
    /// Okta or Entra.
    #[serde(rename = "type")]
    pub kind: ConnectorType,
    /// The API's base URL.
    pub base_url: Url,
    /// Entra's token endpoint.
    #[serde(default)]
    pub token_url: Option<Url>,
    /// Whether jobs run through it.
    pub enabled: bool,
    /// Attempts a job gets before it fails.
    pub max_attempts: u32,
    /// The credentials, sealed; never leaves the service in the clear.
    pub sealed_credentials: String,
    /// The credential fields that are set, by name.
    pub credential_fields: Vec<String>,
    /// When the IdP last refused the credentials; calls stop until they are replaced.
    #[serde(default)]
    pub refused_at: Option<DateTime<Utc>>,
    /// Why, sanitised.
    #[serde(default)]
    pub refused_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// A connector as the API shows it: credentials only as `"set"`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectorView {
    /// Connector id.
    #[schema(value_type = String)]
    pub id: ConnectorId,
    /// Okta or Entra.
    #[serde(rename = "type")]
    pub kind: ConnectorType,
    /// The API's base URL.
    #[schema(value_type = String)]
    pub base_url: Url,
    /// Entra's token endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub token_url: Option<Url>,
    /// Whether jobs run through it.
    pub enabled: bool,
    /// Attempts a job gets before it fails.
    pub max_attempts: u32,
    /// Each credential field, as `"set"`.
    #[schema(value_type = Object)]
    pub credentials: serde_json::Map<String, serde_json::Value>,
    /// `ok`, or `credentials_refused` until the credentials are replaced.
    pub status: &'static str,
    /// Why the credentials were refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&ConnectorRecord> for ConnectorView {
    fn from(r: &ConnectorRecord) -> Self {
        Self {
            id: r.id.clone(),
            kind: r.kind,
            base_url: r.base_url.clone(),
            token_url: r.token_url.clone(),
            enabled: r.enabled,
            max_attempts: r.max_attempts,
            credentials: r
                .credential_fields
                .iter()
                .map(|f| (f.clone(), serde_json::Value::from("set")))
                .collect(),
            status: if r.refused_at.is_some() {
                "credentials_refused"
            } else {
                "ok"
            },
            status_reason: r.refused_reason.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A user's identity at one connector's IdP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Identity {
    /// The user.
    #[schema(value_type = String)]
    pub user: Email,
    /// The connector.
    #[schema(value_type = String)]
    pub connector_id: ConnectorId,
    /// The IdP's user id.
    #[schema(value_type = String)]
    pub external_id: ExternalId,
    /// `explicit` (mapped by an admin) or `lookup` (found by email and remembered).
    pub source: IdentitySource,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// How an identity became known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentitySource {
    /// Mapped by an admin.
    Explicit,
    /// Looked up by email at the IdP.
    Lookup,
}

/// An address clearance may call: https, or plain http to this machine only (for tests and
/// local proxies). Without credentials, query or fragment.
pub fn service_url(field: &str, raw: &str) -> Result<Url, DomainError> {
    let err = |m: &str| DomainError::new(field, m);
    let url = Url::parse(raw).map_err(|_| err("must be an absolute URL"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(err(
                "must be an https URL (plain http only to this machine)",
            ));
        }
    }
    if url.host().is_none() {
        return Err(err("must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err("must not carry credentials; put them in `credentials`"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err("must not have a query or fragment"));
    }
    // What is left to refuse (odd hosts, ports or path characters) is refused as the
    // document describes the field.
    super::formats::SERVICE_URL.check(field, raw, "must be an https URL with a DNS host name (plain http only to 127.0.0.1, localhost or [::1]) and a plain path")?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_a_service_url() {
        for ok in [
            "https://acme.okta.com",
            "https://graph.microsoft.com/v1.0",
            "http://127.0.0.1:8080",
            "http://localhost:1/x",
            "http://[::1]:9/",
        ] {
            assert!(service_url("base_url", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://acme.okta.com",
            "ftp://127.0.0.1",
            "https://user:pw@acme.okta.com",
            "https://acme.okta.com/?a=1",
            "acme.okta.com",
            "http://10.0.0.1",
            "https://acme_okta.com",
            "https://acme.okta.com:70000",
        ] {
            let e = service_url("base_url", bad).unwrap_err();
            assert_eq!(e.field, "base_url", "{bad}");
        }
    }

    #[test]
    fn external_ids_are_path_safe() {
        assert!(ExternalId::parse("id", "00u1abcDEF").is_ok());
        assert!(ExternalId::parse("id", "8a7c50d3-fcbd-4727-a889-8ab232dfea01").is_ok());
        for bad in ["", "a/b", "../x", "a b", "a?b"] {
            assert!(ExternalId::parse("id", bad).is_err(), "{bad}");
        }
    }
}
