//! Connectors to identity providers: the only code that speaks Okta's or Graph's wire
//! formats (one module per vendor). Calls are made outside any store transaction; every
//! membership change is idempotent at the vendor, so delivering a job twice is harmless.

mod call;
mod graph;
mod jira;
mod okta;
mod pace;

pub use call::CallError;
pub use jira::{Jira, JiraTarget, MARK_PROPERTY, Moved};
pub use pace::{CallStats, MAX_IN_FLIGHT};

use crate::domain::{ConnectorId, ConnectorType, Credentials, Email, ExternalId, ProviderCall};
use pace::Link;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// What to call, with the credentials opened for this call only.
#[derive(Debug, Clone)]
pub struct Target {
    /// The connector.
    pub id: ConnectorId,
    /// Okta or Entra.
    pub kind: ConnectorType,
    /// The API's base URL.
    pub base_url: Url,
    /// Entra's token endpoint.
    pub token_url: Option<Url>,
    /// The credentials.
    pub credentials: Credentials,
    /// Changes whenever the configuration does, so a new configuration gets a new link (and
    /// no token cached for the old credentials).
    pub revision: String,
}

/// What a membership change found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The vendor made the change.
    Done,
    /// It was already so (a member to add, or a membership to remove that was gone).
    AlreadyDone,
}

/// A group member as the vendor lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The vendor's user id.
    pub id: ExternalId,
    /// Its email (or login/UPN), when the vendor says.
    pub email: Option<String>,
}

/// A value and the answer it came with.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    /// The value.
    pub value: T,
    /// Status and request id of the (last) answer.
    pub call: ProviderCall,
}

impl<T> Answer<T> {
    fn new(value: T, reply: &call::Reply) -> Self {
        Self {
            value,
            call: reply.call.clone(),
        }
    }
}

/// `base` with `segments` appended (each percent-encoded) and `query` pairs.
fn endpoint(base: &Url, segments: &[&str], query: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url
}

/// An id the vendor answered, as an [`ExternalId`].
fn external(vendor: &str, what: &str, raw: &str) -> Result<ExternalId, CallError> {
    ExternalId::parse("id", raw).map_err(|_| CallError::Rejected {
        reason: format!("{vendor} answered a {what} id clearance cannot use"),
        call: None,
    })
}

/// The `rel="next"` URL of a `Link` header. A next page on another origin than the
/// connector's is refused: the credentials go only where they were configured to.
fn next_link(t: &Target, vendor: &str, header: Option<&str>) -> Result<Option<Url>, CallError> {
    let Some(header) = header else {
        return Ok(None);
    };
    let next = header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_owned())
    });
    let Some(next) = next else {
        return Ok(None);
    };
    let refused = || CallError::Rejected {
        reason: format!("{vendor} gave a next page on another origin; it was not followed"),
        call: None,
    };
    let url = Url::parse(&next).map_err(|_| refused())?;
    if url.origin() != t.base_url.origin() {
        return Err(refused());
    }
    Ok(Some(url))
}

/// Vendor text fit for an error message: printable, one line, at most 200 characters.
fn sanitised(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

/// Makes ring the process's TLS provider, which every HTTP client (reqwest with rustls)
/// needs before it is built. The first call installs it; later ones find it there.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTP client with the crate's TLS provider installed.
pub fn http_client() -> reqwest::Client {
    install_tls();
    reqwest::Client::new()
}

/// The HTTP client and every connector's link (concurrency, pace, cached token).
#[derive(Debug)]
pub struct Connectors {
    http: reqwest::Client,
    links: Mutex<HashMap<ConnectorId, LinkSlot>>,
}

/// How long a vendor call may take before it counts as a timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

macro_rules! dispatch {
    ($self:ident, $t:ident, $f:ident $(, $arg:expr)*) => {{
        let link = $self.link($t);
        match $t.kind {
            ConnectorType::Okta => okta::$f(&$self.http, &link, $t $(, $arg)*).await,
            ConnectorType::Entra => graph::$f(&$self.http, &link, $t $(, $arg)*).await,
        }
    }};
}

/// A vendor client whose calls time out after `timeout`; no redirects are followed, so
/// credentials never travel to another host.
fn client(timeout: Duration) -> Result<reqwest::Client, CallError> {
    install_tls();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("clearance/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|_| CallError::Rejected {
            reason: "the HTTP client could not be built".into(),
            call: None,
        })
}

/// A link kept with the configuration revision it was made for; a new revision gets a new
/// link (and no token cached for the old credentials).
type LinkSlot = Option<(String, Arc<Link>)>;

/// The link in `slot` for `revision`, made anew when the revision changed.
fn current_link(slot: &mut LinkSlot, revision: &str) -> Arc<Link> {
    match slot {
        Some((r, link)) if r == revision => link.clone(),
        _ => {
            let link = Arc::new(Link::default());
            *slot = Some((revision.to_owned(), link.clone()));
            link
        }
    }
}

impl Connectors {
    /// A client whose calls time out after `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, CallError> {
        Ok(Self {
            http: client(timeout)?,
            links: Mutex::default(),
        })
    }

    fn link(&self, t: &Target) -> Arc<Link> {
        let Ok(mut links) = self.links.lock() else {
            return Arc::default();
        };
        current_link(links.entry(t.id.clone()).or_default(), &t.revision)
    }

    /// Every connector's call counters.
    pub fn stats(&self) -> Vec<(ConnectorId, CallStats)> {
        self.links
            .lock()
            .map(|links| {
                let mut all: Vec<_> = links
                    .iter()
                    .filter_map(|(id, slot)| Some((id.clone(), slot.as_ref()?.1.stats())))
                    .collect();
                all.sort_by(|a, b| a.0.cmp(&b.0));
                all
            })
            .unwrap_or_default()
    }

    /// The vendor's id for `email`, if it knows the user.
    pub async fn find_user(
        &self,
        t: &Target,
        email: &Email,
    ) -> Result<Answer<Option<ExternalId>>, CallError> {
        dispatch!(self, t, find_user, email)
    }

    /// Makes `user` a member of `group`.
    pub async fn add_member(
        &self,
        t: &Target,
        group: &ExternalId,
        user: &ExternalId,
    ) -> Result<Answer<Change>, CallError> {
        dispatch!(self, t, add_member, group, user)
    }

    /// Takes `user` out of `group`.
    pub async fn remove_member(
        &self,
        t: &Target,
        group: &ExternalId,
        user: &ExternalId,
    ) -> Result<Answer<Change>, CallError> {
        dispatch!(self, t, remove_member, group, user)
    }

    /// Whether `user` is a member of `group` now.
    pub async fn is_member(
        &self,
        t: &Target,
        group: &ExternalId,
        user: &ExternalId,
    ) -> Result<Answer<bool>, CallError> {
        dispatch!(self, t, is_member, group, user)
    }

    /// Every direct member of `group`.
    pub async fn list_members(
        &self,
        t: &Target,
        group: &ExternalId,
    ) -> Result<Answer<Vec<Member>>, CallError> {
        dispatch!(self, t, list_members, group)
    }

    /// The group named `name`, created if there is none.
    pub async fn find_or_create_group(
        &self,
        t: &Target,
        name: &str,
    ) -> Result<Answer<ExternalId>, CallError> {
        dispatch!(self, t, find_or_create_group, name)
    }

    /// Whether the credentials work.
    pub async fn whoami(&self, t: &Target) -> Result<Answer<()>, CallError> {
        dispatch!(self, t, whoami)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            id: ConnectorId::parse("id", "okta").unwrap(),
            kind: ConnectorType::Okta,
            base_url: Url::parse("https://acme.okta.com").unwrap(),
            token_url: None,
            credentials: Credentials::Okta {
                api_token: "t".into(),
            },
            revision: String::new(),
        }
    }

    #[test]
    fn endpoints_encode_segments_and_keep_the_base_path() {
        let base = Url::parse("https://graph.microsoft.com/v1.0").unwrap();
        let url = endpoint(&base, &["groups", "g1", "members", "$ref"], &[]);
        assert_eq!(
            url.as_str(),
            "https://graph.microsoft.com/v1.0/groups/g1/members/$ref"
        );
        let url = endpoint(
            &base,
            &["users", "a/b@x.com"],
            &[("$filter", "mail eq 'x'")],
        );
        assert_eq!(
            url.as_str(),
            "https://graph.microsoft.com/v1.0/users/a%2Fb@x.com?%24filter=mail+eq+%27x%27"
        );
    }

    #[test]
    fn next_links_are_followed_only_on_the_same_origin() {
        let t = target();
        let same = r#"<https://acme.okta.com/api/v1/groups/g/users?after=x&limit=200>; rel="next", <https://acme.okta.com/api/v1/groups/g/users>; rel="self""#;
        assert_eq!(
            next_link(&t, "okta", Some(same)).unwrap().unwrap().as_str(),
            "https://acme.okta.com/api/v1/groups/g/users?after=x&limit=200"
        );
        let only_self = r#"<https://acme.okta.com/api/v1/groups/g/users>; rel="self""#;
        assert!(next_link(&t, "okta", Some(only_self)).unwrap().is_none());
        let elsewhere = r#"<https://evil.example/steal>; rel="next""#;
        assert!(next_link(&t, "okta", Some(elsewhere)).is_err());
    }

    #[test]
    fn vendor_text_is_one_short_line() {
        assert_eq!(sanitised("E0000007  Not\nfound\u{7}"), "E0000007 Not found");
        assert_eq!(sanitised(&"x".repeat(500)).len(), 200);
    }
}
