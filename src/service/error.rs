//! The service layer's error: what a use case can refuse, and internal failures.

use crate::domain::{DomainError, Reason};
use crate::policy::{PolicyDiagnostic, PolicyError};
use crate::store::StoreError;

/// Why a use case did not happen. Nothing was changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input that does not parse.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// No credentials, or unknown ones.
    #[error("a valid bearer token is required")]
    Unauthenticated,
    /// The caller's role may not do this.
    #[error("this token's role may not {0}")]
    Forbidden(&'static str),
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The person a field names is not in the directory.
    #[error("{0}: no such user in the directory")]
    UnknownUser(String),
    /// The issue key was used before with a different body.
    #[error("issue key {0} was already submitted with a different body")]
    IssueKeyConflict(String),
    /// The policies refused (an approval or an extension); `code` is the API error code.
    #[error("{message}")]
    NotPermitted {
        /// `approval_not_permitted` or `extension_not_permitted`.
        code: &'static str,
        /// For humans.
        message: &'static str,
        /// The determining policies' reasons.
        reasons: Vec<Reason>,
    },
    /// The request was already approved, denied or expired.
    #[error("the request is {0}, not pending")]
    RequestNotPending(&'static str),
    /// The user already holds an open grant for the tool.
    #[error("{user} already holds grant {grant} for {tool}")]
    DuplicateGrant {
        /// The holder.
        user: String,
        /// The tool.
        tool: String,
        /// The open grant.
        grant: String,
    },
    /// The record is not in a state that allows this.
    #[error("{0}")]
    InvalidTransition(String),
    /// Too many ids in one bulk call.
    #[error("a bulk call takes at most {0} ids")]
    BulkLimitExceeded(usize),
    /// A window of time longer than the most allowed (days).
    #[error("the window may span at most {0} days")]
    WindowTooLarge(i64),
    /// Too many calls; retry after the given seconds.
    #[error("too many bulk calls; retry in {0} s")]
    RateLimited(u64),
    /// The policy bundle was refused; the active version is unchanged.
    #[error("the policy bundle is invalid")]
    InvalidPolicy(Vec<PolicyDiagnostic>),
    /// Contention did not settle, or the store takes no changes until restarted; the
    /// caller may retry.
    #[error("the service is busy; retry shortly")]
    Unavailable,
    /// The writer's queue is full; the caller may retry shortly (nothing was recorded).
    #[error("too many changes are waiting to be written; retry shortly")]
    Busy,
    /// An identity provider did not answer as needed; the reason is sanitised (a status and
    /// the vendor's error code, never a credential).
    #[error("the identity provider did not answer: {0}")]
    IdpUnavailable(String),
    /// A batch of changes could not be committed (the cause is logged).
    #[error("the change could not be committed")]
    CommitFailed,
    /// A backup could not be made or written out (the cause is logged).
    #[error("the backup could not be made")]
    BackupFailed,
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// Policies could not be loaded or evaluated.
    #[error(transparent)]
    Policy(PolicyError),
    /// A sealed credential could not be sealed or opened (another key file?).
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
}

impl From<StoreError> for ServiceError {
    /// A store whose disk or journal failed is unavailable (said once, where it failed); any
    /// other store error is internal.
    fn from(error: StoreError) -> Self {
        match error {
            e if e.is_storage_failure() => Self::Unavailable,
            other => Self::Store(other),
        }
    }
}

impl From<PolicyError> for ServiceError {
    fn from(e: PolicyError) -> Self {
        match e {
            PolicyError::Invalid(details) => Self::InvalidPolicy(details),
            PolicyError::Io { path, source } => Self::InvalidPolicy(vec![PolicyDiagnostic::at(
                &path,
                "",
                None,
                format!("cannot read: {source}"),
            )]),
            other => Self::Policy(other),
        }
    }
}

impl ServiceError {
    /// The stable API error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "validation_failed",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) | Self::UnknownUser(_) => "not_found",
            Self::IssueKeyConflict(_) => "issue_key_conflict",
            Self::NotPermitted { code, .. } => code,
            Self::RequestNotPending(_) => "request_not_pending",
            Self::DuplicateGrant { .. } => "duplicate_grant",
            Self::InvalidTransition(_) => "invalid_transition",
            Self::BulkLimitExceeded(_) => "bulk_limit_exceeded",
            // The name the export contract gave it; it serves every window.
            Self::WindowTooLarge(_) => "export_window_too_large",
            Self::RateLimited(_) => "rate_limited",
            Self::InvalidPolicy(_) => "invalid_policy",
            Self::Unavailable | Self::Busy | Self::IdpUnavailable(_) => "unavailable",
            Self::Store(_)
            | Self::Policy(_)
            | Self::CommitFailed
            | Self::BackupFailed
            | Self::Secrets(_) => "internal",
        }
    }
}
