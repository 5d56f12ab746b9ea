//! The textual formats of input. Each is one regular expression (and a length bound) that both
//! parses input and describes it in the OpenAPI document, so the server and its contract
//! cannot disagree on what is valid.
//!
//! The patterns use only the syntax that Rust's `regex`, ECMA-262 and Python's `re` read
//! alike: anchors, classes with `\uXXXX` escapes, groups and counted repeats.

use super::DomainError;
use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// One input format: its schema name, pattern and longest length in characters.
#[derive(Debug)]
pub struct Format {
    /// The component name in the OpenAPI document.
    pub name: &'static str,
    /// What it is, for the document.
    pub description: &'static str,
    /// The anchored pattern.
    pub pattern: &'static str,
    /// The most characters (Unicode scalar values) a value may have.
    pub max_length: usize,
    regex: LazyLock<Option<Regex>>,
}

impl Format {
    /// True when `raw` is in the format. A pattern that does not compile accepts nothing
    /// (the unit tests compile every one).
    pub fn matches(&self, raw: &str) -> bool {
        raw.chars().count() <= self.max_length
            && self.regex.as_ref().is_some_and(|re| re.is_match(raw))
    }

    /// `raw` if it is in the format, else an error naming `field` and `message`.
    pub fn check<'a>(
        &self,
        field: &str,
        raw: &'a str,
        message: &str,
    ) -> Result<&'a str, DomainError> {
        if self.matches(raw) {
            Ok(raw)
        } else {
            Err(DomainError::new(field, message))
        }
    }

    /// The format as an OpenAPI string schema.
    pub fn schema(&self) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(self.description))
            .pattern(Some(self.pattern))
            .max_length(Some(self.max_length))
            .into()
    }
}

macro_rules! formats {
    ($($(#[$meta:meta])* $id:ident = ($name:literal, $description:literal, $max:expr, $pattern:expr);)*) => {
        $(
            $(#[$meta])*
            pub static $id: Format = Format {
                name: $name,
                description: $description,
                pattern: $pattern,
                max_length: $max,
                regex: LazyLock::new(|| Regex::new($pattern).ok()),
            };
        )*
        /// Every format, for the OpenAPI document and the tests.
        pub static ALL: &[&Format] = &[$(&$id),*];
    };
}

/// A character that may appear in free text: anything but control characters other than
/// tab, line feed and carriage return, and the bidirectional embeddings, overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069) that make text read other than it displays.
macro_rules! text_char {
    () => {
        r"[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]"
    };
}

/// A character that shows: not white space, and not one of the invisible format,
/// filler or joiner characters.
macro_rules! visible_char {
    () => {
        concat!(
            r"[^\u0000-\u0020\u007F-\u00A0\u00AD\u034F\u061C\u115F\u1160\u1680\u17B4\u17B5",
            r"\u180B-\u180F\u2000-\u200F\u2028-\u202F\u205F-\u206F\u2800\u3000\u3164",
            r"\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFFB]"
        )
    };
}

/// Free text with at least one visible character.
macro_rules! text {
    () => {
        concat!(text_char!(), "*", visible_char!(), text_char!(), "*")
    };
}

macro_rules! email_atom {
    () => {
        r"[A-Za-z0-9!$&'*+=^_~-]+"
    };
}

macro_rules! dns_label {
    () => {
        r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    };
}

macro_rules! slug {
    () => {
        r"[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?"
    };
}

macro_rules! issue_key {
    () => {
        r"[A-Z][A-Z0-9_]*-[1-9][0-9]{0,17}"
    };
}

formats! {
    /// An email address: dot-separated atoms (no empty, leading or doubled dots, no `/`),
    /// `@`, and a domain of at least two DNS labels. Any case; stored lower-cased.
    EMAIL = ("Email", "An email address; compared without regard to case.", 254,
        concat!("^", email_atom!(), r"(\.", email_atom!(), ")*@", dns_label!(), r"(\.", dns_label!(), ")+$"));
    /// A Jira issue key in canonical form: project key, `-`, number without leading zeros.
    ISSUE_KEY = ("IssueKey", "A Jira issue key such as AIR-123.", 64,
        concat!("^", issue_key!(), "$"));
    /// A catalog slug.
    SLUG = ("ToolSlug", "A catalog slug: lower-case letters, digits and inner dashes.", 64,
        concat!("^", slug!(), "$"));
    /// A tool id as recorded: a slug, or `unknown:` and a slug for a tool not in the catalog.
    TOOL_REF = ("ToolRef", "A catalog slug, or unknown:<slug> for a tool not in the catalog.", 72,
        concat!("^(unknown:)?", slug!(), "$"));
    /// A directory group name.
    GROUP = ("GroupName", "A group name: starts with a letter or digit, then letters, digits, '-', '_' or '.'.", 64,
        r"^[a-z0-9][a-z0-9_.-]*$");
    /// A request id.
    REQUEST_ID = ("RequestId", "A request id.", 36, r"^req_[0-9a-f]{32}$");
    /// A request id or the issue key it was filed under.
    REQUEST_REF = ("RequestRef", "A request id, or the Jira issue key it was filed under.", 64,
        concat!("^(req_[0-9a-f]{32}|", issue_key!(), ")$"));
    /// A grant id.
    GRANT_ID = ("GrantId", "A grant id.", 36, r"^grt_[0-9a-f]{32}$");
    /// A policy version: the bundle's SHA-256.
    POLICY_VERSION = ("PolicyVersion", "A policy version: 64 lower-case hex digits.", 64, r"^[0-9a-f]{64}$");
    /// A policy version, or the sequence number it was activated under.
    POLICY_REF = ("PolicyRef", "A policy version (64 lower-case hex digits) or its sequence number.", 64,
        r"^([0-9a-f]{64}|[0-9]{1,19})$");
    /// A fulfilment or deprovision job id.
    JOB_ID = ("JobId", "A job id.", 36, r"^job_[0-9a-f]{32}$");
    /// A recertification id.
    RECERT_ID = ("RecertificationId", "A recertification id.", 36, r"^rct_[0-9a-f]{32}$");
    /// An audit entry type such as `grant.expired`.
    AUDIT_TYPE = ("AuditType", "An audit entry type such as grant.expired.", 64,
        r"^[a-z_]+(\.[a-z_]+)*$");
    /// A token id.
    TOKEN_ID = ("TokenId", "A token id.", 16, r"^tok_[0-9a-f]{12}$");
    /// A listing's cursor: the parts of an index key, joined by `|`.
    CURSOR = ("Cursor", "Where a page starts: the `after` of the previous page's `next` link.", 200,
        r"^[a-z0-9_:|-]+$");
    /// A connector id.
    CONNECTOR_ID = ("ConnectorId", "A connector id: lower-case letters, digits and inner dashes.", 64,
        concat!("^", slug!(), "$"));
    /// An object id at an identity provider: a user or group id (Okta `00u…`, Entra GUIDs).
    IDP_ID = ("IdpObjectId", "An identity provider's object id: letters, digits, '.', '_' or '-'.", 128,
        r"^[A-Za-z0-9][A-Za-z0-9_.-]*$");
    /// An address a connector calls: https, or plain http to this machine; no credentials,
    /// query or fragment.
    SERVICE_URL = ("ServiceUrl", "An https URL (plain http only to 127.0.0.1, localhost or [::1]), without credentials, query or fragment.", 2000,
        concat!(r"^(https://", dns_label!(), r"(\.", dns_label!(), r")*|http://(127\.0\.0\.1|localhost|\[::1\]))(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?$"));
    /// A credential: write-only text.
    SECRET = ("Secret", "A credential: text of at most 4,096 characters, at least one of them visible; never shown again.", 4096,
        concat!("^", text!(), "$"));
    /// A drift run id.
    DRIFT_RUN_ID = ("DriftRunId", "A drift run id.", 36, r"^drf_[0-9a-f]{32}$");
    /// Short free text: names, providers, departments.
    NAME = ("Name", "Text of at most 200 characters, at least one of them visible.", 200,
        concat!("^", text!(), "$"));
    /// The name of a tool not in the catalog: text with at least one ASCII letter or digit,
    /// which its id is made from.
    NEW_TOOL_NAME = ("NewToolName", "A tool name of at most 200 characters, with at least one ASCII letter or digit.", 200,
        concat!("^", text_char!(), "*[A-Za-z0-9]", text_char!(), "*$"));
    /// Longer free text: purposes, comments, reasons.
    PROSE = ("Prose", "Text of at most 2,000 characters, at least one of them visible.", 2000,
        concat!("^", text!(), "$"));
    /// Long free text: guidance shown to requesters, tool URLs.
    LONG_TEXT = ("LongText", "Text of at most 4,000 characters, at least one of them visible.", 4000,
        concat!("^", text!(), "$"));
    /// A note that may be left empty: approval comments, denial and revocation reasons.
    NOTE = ("Note", "Empty, or text of at most 2,000 characters with a visible one.", 2000,
        concat!("^(", text!(), ")?$"));
    /// A label that may be left empty: JSM project keys and request types.
    LABEL = ("Label", "Empty, or text of at most 100 characters with a visible one.", 100,
        concat!("^(", text!(), ")?$"));
}

/// Text in `format`, with surrounding white space removed.
pub fn text(format: &Format, field: &str, raw: &str) -> Result<String, DomainError> {
    let message = format!(
        "must be text of at most {} characters with at least one visible character, \
         without control characters or bidirectional overrides",
        format.max_length
    );
    Ok(format.check(field, raw, &message)?.trim().to_owned())
}

/// Text in `format` (one that allows the empty string), or `None` when empty.
pub fn optional_text(
    format: &Format,
    field: &str,
    raw: Option<String>,
) -> Result<Option<String>, DomainError> {
    match raw {
        Some(raw) if !raw.is_empty() => text(format, field, &raw).map(Some),
        _ => Ok(None),
    }
}

/// A format's name and schema, as utoipa wants them for a schema-only type.
macro_rules! schema_type {
    ($(#[$meta:meta])* $ty:ident => $format:ident) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub struct $ty;

        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $format.schema()
            }
        }

        impl utoipa::ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($format.name)
            }
        }
    };
}

schema_type!(
    /// The document's name for [`EMAIL`].
    EmailText => EMAIL);
schema_type!(
    /// The document's name for [`ISSUE_KEY`].
    IssueKeyText => ISSUE_KEY);
schema_type!(
    /// The document's name for [`SLUG`].
    SlugText => SLUG);
schema_type!(
    /// The document's name for [`TOOL_REF`].
    ToolRefText => TOOL_REF);
schema_type!(
    /// The document's name for [`GROUP`].
    GroupText => GROUP);
schema_type!(
    /// The document's name for [`REQUEST_ID`].
    RequestIdText => REQUEST_ID);
schema_type!(
    /// The document's name for [`REQUEST_REF`].
    RequestRefText => REQUEST_REF);
schema_type!(
    /// The document's name for [`GRANT_ID`].
    GrantIdText => GRANT_ID);
schema_type!(
    /// The document's name for [`POLICY_VERSION`].
    PolicyVersionText => POLICY_VERSION);
schema_type!(
    /// The document's name for [`POLICY_REF`].
    PolicyRefText => POLICY_REF);
schema_type!(
    /// The document's name for [`JOB_ID`].
    JobIdText => JOB_ID);
schema_type!(
    /// The document's name for [`RECERT_ID`].
    RecertIdText => RECERT_ID);
schema_type!(
    /// The document's name for [`AUDIT_TYPE`].
    AuditTypeText => AUDIT_TYPE);
schema_type!(
    /// The document's name for [`TOKEN_ID`].
    TokenIdText => TOKEN_ID);
schema_type!(
    /// The document's name for [`CURSOR`].
    CursorText => CURSOR);
schema_type!(
    /// The document's name for [`NAME`].
    NameText => NAME);
schema_type!(
    /// The document's name for [`NEW_TOOL_NAME`].
    NewToolNameText => NEW_TOOL_NAME);
schema_type!(
    /// The document's name for [`PROSE`].
    ProseText => PROSE);
schema_type!(
    /// The document's name for [`LONG_TEXT`].
    LongText => LONG_TEXT);
schema_type!(
    /// The document's name for [`NOTE`].
    NoteText => NOTE);
schema_type!(
    /// The document's name for [`LABEL`].
    LabelText => LABEL);

#[cfg(test)]
#[path = "formats_tests.rs"]
mod tests;
schema_type!(
    /// The document's name for [`CONNECTOR_ID`].
    ConnectorIdText => CONNECTOR_ID);
schema_type!(
    /// The document's name for [`IDP_ID`].
    IdpIdText => IDP_ID);
schema_type!(
    /// The document's name for [`SERVICE_URL`].
    ServiceUrlText => SERVICE_URL);
schema_type!(
    /// The document's name for [`SECRET`].
    SecretText => SECRET);
