//! Identifier newtypes. Each has one `parse` that is the only way to build it from input.

use super::{DomainError, formats};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A user's identity: the lower-cased email address.
    Email
);
string_id!(
    /// A catalog slug (`chatgpt-enterprise`), or `unknown:<slug>` for a tool not in the catalog.
    ToolId
);
string_id!(
    /// A Jira issue key such as `AIR-123`.
    IssueKey
);
string_id!(
    /// An opaque request identifier.
    RequestId
);
string_id!(
    /// An opaque grant identifier.
    GrantId
);
string_id!(
    /// A directory group name such as `employees`.
    GroupId
);
string_id!(
    /// A policy version: the SHA-256 of the canonical bundle, 64 lower-case hex digits.
    PolicyVersionId
);

impl Email {
    /// Parses an email address (see [`formats::EMAIL`]); it is lower-cased.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let email = formats::EMAIL.check(field, raw, "must be an email address")?;
        Ok(Self(email.to_lowercase()))
    }
}

impl ToolId {
    const UNKNOWN_PREFIX: &'static str = "unknown:";

    /// Parses a catalog slug (see [`formats::SLUG`]).
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let slug = formats::SLUG.check(
            field,
            raw,
            "must be a slug of lower-case letters, digits and inner dashes (at most 64)",
        )?;
        Ok(Self(slug.to_owned()))
    }

    /// The catalog slug a tool's name makes ("GitHub Copilot" → `github-copilot`), if it has
    /// a letter or digit.
    pub fn from_name(name: &str) -> Option<Self> {
        let mut slug = String::new();
        for c in name.trim().to_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        let slug: String = slug
            .trim_end_matches('-')
            .chars()
            .take(formats::SLUG.max_length)
            .collect();
        let slug = slug.trim_end_matches('-');
        formats::SLUG.matches(slug).then(|| Self(slug.to_owned()))
    }

    /// The id of a tool that is not in the catalog, derived from its name.
    pub fn unknown_from_name(field: &str, name: &str) -> Result<Self, DomainError> {
        match Self::from_name(name) {
            Some(slug) => Ok(Self(format!("{}{}", Self::UNKNOWN_PREFIX, slug.0))),
            None => Err(DomainError::new(
                field,
                "must contain at least one letter or digit",
            )),
        }
    }

    /// Parses an id as recorded, in either form (see [`formats::TOOL_REF`]).
    pub fn parse_any(field: &str, raw: &str) -> Result<Self, DomainError> {
        let id = formats::TOOL_REF.check(
            field,
            raw,
            "must be a catalog slug, or unknown: and a slug",
        )?;
        Ok(Self(id.to_owned()))
    }
}

impl IssueKey {
    /// Parses a Jira issue key in canonical form (see [`formats::ISSUE_KEY`]): `AIR-0` and
    /// `AIR-01` are refused, so one issue has one key.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let key = formats::ISSUE_KEY.check(
            field,
            raw,
            "must be a Jira issue key like AIR-123 (number without leading zeros)",
        )?;
        Ok(Self(key.to_owned()))
    }
}

impl GroupId {
    /// Parses a group name (see [`formats::GROUP`]).
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let group = formats::GROUP.check(
            field,
            raw,
            "must start with a lower-case letter or digit, then letters, digits, '-', '_' or '.' (at most 64)",
        )?;
        Ok(Self(group.to_owned()))
    }
}

/// The millisecond of the last id made, and the counter within it.
static ID_SEQUENCE: std::sync::Mutex<(u64, u64)> = std::sync::Mutex::new((u64::MAX, 0));

/// The counter's bits: 40, started at a random value below 2^39 in each new millisecond so
/// that ids made in one millisecond keep their order without running out.
const COUNTER_BITS: u32 = 40;

/// A fresh id `prefix_<32 hex>`, ordered by `at` (from the service's clock, not the wall
/// clock): 12 hex digits of Unix milliseconds, then a counter that orders ids made in the
/// same millisecond, then 40 random bits. (A uuid v7 layout without the version bits; the
/// time is exactly `at`'s, so a window of time is a range of ids.) Time-ordered ids keep
/// B-tree writes together: records made or changed together share pages, so a burst of
/// decisions or a day's expiries dirties few pages.
pub fn time_ordered_id(prefix: &str, at: DateTime<Utc>) -> String {
    let ms = unix_millis(at);
    let mut random = [0u8; 10];
    // Without an entropy source the counter alone still keeps ids apart in this process.
    let _ = getrandom::fill(&mut random);
    let [a, b, c, d, e, f, g, h, i, j] = random;
    let seed = u64::from_be_bytes([0, 0, 0, a, b, c, d, e]) >> 1;
    let tail = u64::from_be_bytes([0, 0, 0, f, g, h, i, j]);
    let counter = {
        let mut sequence = ID_SEQUENCE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let next = if sequence.0 == ms {
            sequence.1.wrapping_add(1) & ((1 << COUNTER_BITS) - 1)
        } else {
            seed
        };
        *sequence = (ms, next);
        next
    };
    format!("{}{counter:010x}{tail:010x}", id_bound(prefix, at))
}

/// The smallest id made at or after `at` with [`time_ordered_id`]: ids made before `at` sort
/// below it, ids made at or after sort above, so `[id_bound(from), id_bound(to))` is a window
/// of time.
pub fn id_bound(prefix: &str, at: DateTime<Utc>) -> String {
    // An id starts with these 12 hex digits of Unix milliseconds.
    format!("{prefix}_{:012x}", unix_millis(at))
}

/// The Unix milliseconds an id made by [`time_ordered_id`] with `prefix` starts with; `None`
/// for any other string.
fn id_millis(prefix: &str, id: &str) -> Option<i64> {
    let hex = id.strip_prefix(prefix)?.strip_prefix('_')?.get(..12)?;
    i64::from_str_radix(hex, 16).ok()
}

/// The millisecond after `at`; `at` itself at the last instant there is, which nothing
/// comes after.
pub fn millisecond_after(at: DateTime<Utc>) -> DateTime<Utc> {
    at.checked_add_signed(chrono::Duration::milliseconds(1))
        .unwrap_or(at)
}

/// Milliseconds since the Unix epoch; 0 for earlier times.
fn unix_millis(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or(0)
}

impl RequestId {
    /// A fresh request id, ordered by `at`.
    pub fn generate(at: DateTime<Utc>) -> Self {
        Self(time_ordered_id("req", at))
    }

    /// See [`id_bound`].
    pub fn bound(at: DateTime<Utc>) -> String {
        id_bound("req", at)
    }

    /// The smallest request id made after `at`: ids made at or before it sort below, so
    /// `[bound(from), bound_after(to))` is the window `from..=to`.
    pub fn bound_after(at: DateTime<Utc>) -> String {
        id_bound("req", millisecond_after(at))
    }

    /// The Unix milliseconds of the time a request id was made for; `None` for a string that
    /// is not a request id.
    pub fn millis_of(id: &str) -> Option<i64> {
        id_millis("req", id)
    }

    /// Rebuilds a request id from a path segment.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let id = formats::REQUEST_ID.check(
            field,
            raw,
            "must be a request id (req_ and 32 hex digits)",
        )?;
        Ok(Self(id.to_owned()))
    }
}

/// A request named by its id or by the Jira issue key it was filed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestRef {
    /// By request id.
    Id(RequestId),
    /// By issue key.
    Key(IssueKey),
}

impl RequestRef {
    /// Parses a request id or an issue key: [`formats::REQUEST_REF`], the union of the two.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let message = "must be a request id or a Jira issue key like AIR-123";
        match RequestId::parse(field, raw) {
            Ok(id) => Ok(Self::Id(id)),
            Err(_) => IssueKey::parse(field, raw)
                .map(Self::Key)
                .map_err(|_| DomainError::new(field, message)),
        }
    }
}

impl GrantId {
    /// A fresh grant id, ordered by `at`.
    pub fn generate(at: DateTime<Utc>) -> Self {
        Self(time_ordered_id("grt", at))
    }

    /// See [`id_bound`]: `[bound(from), bound(millisecond_after(to)))` are the grants made
    /// in `from..=to`.
    pub fn bound(at: DateTime<Utc>) -> String {
        id_bound("grt", at)
    }

    /// The id a drift removal of a group member who never had a grant for `tool` files its
    /// job under: no grant has it, and the same member always gets the same one, so a second
    /// run finds the first run's job still open.
    pub fn unmanaged(tool: &str, member: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("unmanaged/{tool}/{member}").as_bytes());
        Self(format!(
            "grt_{}",
            hex::encode(digest.get(..16).unwrap_or_default())
        ))
    }

    /// Rebuilds a grant id from a path segment.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let id =
            formats::GRANT_ID.check(field, raw, "must be a grant id (grt_ and 32 hex digits)")?;
        Ok(Self(id.to_owned()))
    }
}

impl PolicyVersionId {
    /// Parses a version: 64 lower-case hex digits.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let version =
            formats::POLICY_VERSION.check(field, raw, "must be 64 lower-case hex digits")?;
        Ok(Self(version.to_owned()))
    }

    /// The version of a bundle digest.
    pub fn from_digest(digest: &[u8]) -> Self {
        Self(hex::encode(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_sort_by_time_and_parse_back() {
        use chrono::TimeZone;
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let later = t0 + chrono::Duration::milliseconds(1);
        let same: Vec<_> = (0..100)
            .map(|_| GrantId::generate(t0).to_string())
            .collect();
        let mut sorted = same.clone();
        sorted.sort();
        assert_eq!(same, sorted, "ids made at one instant keep their order");
        assert!(GrantId::generate(later).to_string() > same[99]);
        let id = RequestId::generate(t0);
        assert_eq!(RequestId::parse("id", id.as_str()), Ok(id));
    }

    #[test]
    fn an_id_gives_back_the_millisecond_it_was_made_in() {
        use chrono::TimeZone;
        let t0 =
            Utc.with_ymd_and_hms(2026, 1, 1, 9, 30, 0).unwrap() + chrono::Duration::milliseconds(7);
        let id = RequestId::generate(t0).to_string();
        assert_eq!(RequestId::millis_of(&id), Some(t0.timestamp_millis()));
        assert_eq!(id_millis("grt", &id), None);
        assert_eq!(RequestId::millis_of("req_12"), None);
    }

    #[test]
    fn id_bounds_split_ids_by_the_millisecond() {
        use chrono::TimeZone;
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let ms = chrono::Duration::milliseconds(1);
        let id = RequestId::generate(t0).to_string();
        assert!(RequestId::bound(t0 - ms) < id);
        assert!(RequestId::bound(t0) <= id);
        assert!(RequestId::bound(t0 + ms) > id);
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            Email::parse("e", "Alice@Example.COM").map(|e| e.to_string()),
            Ok("alice@example.com".to_owned())
        );
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@example",
            "a b@example.com",
        ] {
            assert!(Email::parse("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_tools_get_a_slug_from_their_name() {
        let id = ToolId::unknown_from_name("n", "  Super AI (beta)! ").map(|t| t.to_string());
        assert_eq!(id, Ok("unknown:super-ai-beta".to_owned()));
        assert!(ToolId::unknown_from_name("n", "!!!").is_err());
        assert!(ToolId::parse_any("t", "unknown:super-ai-beta").is_ok());
        assert!(ToolId::parse("t", "unknown:x").is_err());
    }

    #[test]
    fn issue_keys_follow_jira() {
        assert!(IssueKey::parse("k", "AIR-123").is_ok());
        assert!(IssueKey::parse("k", "A2_B-1").is_ok());
        for bad in ["air-1", "AIR-", "AIR", "-1", "AIR-1a"] {
            assert!(IssueKey::parse("k", bad).is_err(), "{bad}");
        }
    }
}
