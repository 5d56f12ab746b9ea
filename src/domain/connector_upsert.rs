//! The body of `PUT /v1/connectors/{id}` and the credentials in it.

use super::connector::{
    ConnectorId, ConnectorType, DEFAULT_MAX_ATTEMPTS, MAX_ATTEMPTS, service_url,
};
use super::{DomainError, formats};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

/// A connector's credentials, in memory only: redacted in `Debug`, never serialised except
/// to be sealed.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// An Okta API token.
    Okta {
        /// The token, sent as `Authorization: SSWS <token>`.
        api_token: SecretString,
    },
    /// An Entra app registration's client credentials.
    Entra {
        /// The application (client) id.
        client_id: String,
        /// The client secret.
        client_secret: SecretString,
    },
}

impl Credentials {
    /// The names of the fields that are set, as the API shows them.
    pub fn field_names(&self) -> Vec<String> {
        match self {
            Self::Okta { .. } => vec!["api_token".into()],
            Self::Entra { .. } => vec!["client_id".into(), "client_secret".into()],
        }
    }

    /// The credentials as JSON bytes, only to be sealed at once.
    pub fn to_plaintext(&self) -> Vec<u8> {
        let value = match self {
            Self::Okta { api_token } => {
                serde_json::json!({"type": "okta", "api_token": api_token.expose_secret()})
            }
            Self::Entra {
                client_id,
                client_secret,
            } => serde_json::json!({
                "type": "entra",
                "client_id": client_id,
                "client_secret": client_secret.expose_secret(),
            }),
        };
        value.to_string().into_bytes()
    }

    /// Reads what [`Self::to_plaintext`] wrote.
    pub fn from_plaintext(bytes: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        enum Stored {
            Okta {
                api_token: SecretString,
            },
            Entra {
                client_id: String,
                client_secret: SecretString,
            },
        }
        Some(match serde_json::from_slice::<Stored>(bytes).ok()? {
            Stored::Okta { api_token } => Self::Okta { api_token },
            Stored::Entra {
                client_id,
                client_secret,
            } => Self::Entra {
                client_id,
                client_secret,
            },
        })
    }
}

/// The `credentials` object of the body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialsInput {
    /// Okta: the API token.
    #[serde(default)]
    #[schema(value_type = Option<formats::SecretText>)]
    pub api_token: Option<SecretString>,
    /// Entra: the application (client) id.
    #[serde(default)]
    #[schema(value_type = Option<formats::IdpIdText>)]
    pub client_id: Option<String>,
    /// Entra: the client secret.
    #[serde(default)]
    #[schema(value_type = Option<formats::SecretText>)]
    pub client_secret: Option<SecretString>,
}

/// The body of `PUT /v1/connectors/{id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorUpsert {
    /// `okta` or `entra`.
    #[serde(rename = "type")]
    pub kind: ConnectorType,
    /// The API's base URL: `https://acme.okta.com` or `https://graph.microsoft.com/v1.0`.
    #[schema(value_type = formats::ServiceUrlText)]
    pub base_url: String,
    /// Entra: the token endpoint,
    /// `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`.
    #[serde(default)]
    #[schema(value_type = Option<formats::ServiceUrlText>)]
    pub token_url: Option<String>,
    /// Write-only. Required when the connector is new or changes type; absent keeps the
    /// stored ones.
    #[serde(default, deserialize_with = "super::shape::optional_object")]
    pub credentials: Option<CredentialsInput>,
    /// Whether jobs run through it (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Attempts a job gets before it fails (1 to 50, default 5).
    #[serde(default, deserialize_with = "super::number::optional_whole")]
    #[schema(minimum = 1, maximum = 50)]
    pub max_attempts: Option<i64>,
}

/// A checked connector configuration; credentials `None` keep the stored ones.
#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    /// Connector id.
    pub id: ConnectorId,
    /// Okta or Entra.
    pub kind: ConnectorType,
    /// The API's base URL.
    pub base_url: Url,
    /// Entra's token endpoint.
    pub token_url: Option<Url>,
    /// New credentials, if given.
    pub credentials: Option<Credentials>,
    /// Whether jobs run through it.
    pub enabled: bool,
    /// Attempts a job gets before it fails.
    pub max_attempts: u32,
}

fn secret(field: &str, value: Option<SecretString>) -> Result<SecretString, DomainError> {
    let value = value.ok_or_else(|| DomainError::new(field, "is required"))?;
    // The message never repeats the value.
    formats::SECRET.check(
        field,
        value.expose_secret(),
        "must be 1 to 4096 characters with a visible one, without control characters",
    )?;
    Ok(value)
}

impl CredentialsInput {
    fn into_credentials(self, kind: ConnectorType) -> Result<Credentials, DomainError> {
        let stray = |field: &str| {
            DomainError::new(
                format!("credentials.{field}"),
                format!("is not a credential of a {} connector", kind.as_str()),
            )
        };
        match kind {
            ConnectorType::Okta => {
                if self.client_id.is_some() {
                    return Err(stray("client_id"));
                }
                if self.client_secret.is_some() {
                    return Err(stray("client_secret"));
                }
                Ok(Credentials::Okta {
                    api_token: secret("credentials.api_token", self.api_token)?,
                })
            }
            ConnectorType::Entra => {
                if self.api_token.is_some() {
                    return Err(stray("api_token"));
                }
                let client_id = self
                    .client_id
                    .ok_or_else(|| DomainError::new("credentials.client_id", "is required"))?;
                let client_id = formats::IDP_ID
                    .check(
                        "credentials.client_id",
                        &client_id,
                        "must be an application id: letters, digits, '.', '_' or '-'",
                    )?
                    .to_owned();
                Ok(Credentials::Entra {
                    client_id,
                    client_secret: secret("credentials.client_secret", self.client_secret)?,
                })
            }
        }
    }
}

impl ConnectorUpsert {
    /// Checks the body for connector `id`. `has_credentials_of` is the type of the stored
    /// connector's credentials, if any: without new credentials, they must be of this type.
    pub fn into_settings(
        self,
        id: ConnectorId,
        has_credentials_of: Option<ConnectorType>,
    ) -> Result<ConnectorSettings, DomainError> {
        let base_url = service_url("base_url", &self.base_url)?;
        let token_url = match (self.kind, self.token_url) {
            (ConnectorType::Entra, Some(raw)) => Some(service_url("token_url", &raw)?),
            (ConnectorType::Entra, None) => {
                return Err(DomainError::new(
                    "token_url",
                    "is required for an entra connector",
                ));
            }
            (ConnectorType::Okta, Some(_)) => {
                return Err(DomainError::new(
                    "token_url",
                    "is only for entra connectors",
                ));
            }
            (ConnectorType::Okta, None) => None,
        };
        let credentials = match self.credentials {
            Some(input) => Some(input.into_credentials(self.kind)?),
            None if has_credentials_of == Some(self.kind) => None,
            None => return Err(DomainError::new("credentials", "is required")),
        };
        let max_attempts = match self.max_attempts {
            None => DEFAULT_MAX_ATTEMPTS,
            Some(n) => u32::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_ATTEMPTS).contains(n))
                .ok_or_else(|| {
                    DomainError::new("max_attempts", format!("must be 1 to {MAX_ATTEMPTS}"))
                })?,
        };
        Ok(ConnectorSettings {
            id,
            kind: self.kind,
            base_url,
            token_url,
            credentials,
            enabled: self.enabled.unwrap_or(true),
            max_attempts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(json: serde_json::Value) -> ConnectorUpsert {
        serde_json::from_value(json).unwrap()
    }

    fn id() -> ConnectorId {
        ConnectorId::parse("id", "okta-main").unwrap()
    }

    #[test]
    fn credentials_are_required_once_and_of_the_right_type() {
        let body = serde_json::json!({"type": "okta", "base_url": "https://acme.okta.com"});
        let err = upsert(body.clone()).into_settings(id(), None).unwrap_err();
        assert_eq!(err.field, "credentials");
        let kept = upsert(body)
            .into_settings(id(), Some(ConnectorType::Okta))
            .unwrap();
        assert!(kept.credentials.is_none());
        let stray = upsert(serde_json::json!({
            "type": "okta", "base_url": "https://acme.okta.com",
            "credentials": {"api_token": "t", "client_secret": "s"}
        }))
        .into_settings(id(), None)
        .unwrap_err();
        assert_eq!(stray.field, "credentials.client_secret");
    }

    #[test]
    fn errors_never_repeat_a_secret() {
        let err = upsert(serde_json::json!({
            "type": "okta", "base_url": "https://acme.okta.com",
            "credentials": {"api_token": "sekrit\u{0007}"}
        }))
        .into_settings(id(), None)
        .unwrap_err();
        assert!(!err.to_string().contains("sekrit"));
        assert!(!format!("{err:?}").contains("sekrit"));
    }

    #[test]
    fn sealed_plaintext_reads_back() {
        let c = Credentials::Entra {
            client_id: "app".into(),
            client_secret: "s3".into(),
        };
        let back = Credentials::from_plaintext(&c.to_plaintext()).unwrap();
        assert!(matches!(back, Credentials::Entra { ref client_id, .. } if client_id == "app"));
        assert!(!format!("{back:?}").contains("s3"));
    }
}
