//! The service layer's error: what a use case can refuse, and internal failures.

use crate::domain::DomainError;
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
    /// The issue key was used before with a different body.
    #[error("issue key {0} was already submitted with a different body")]
    IssueKeyConflict(String),
    /// The policy bundle was refused; the active version is unchanged.
    #[error("the policy bundle is invalid")]
    InvalidPolicy(Vec<PolicyDiagnostic>),
    /// Contention did not settle; the caller may retry.
    #[error("the service is busy; retry shortly")]
    Unavailable,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Policies could not be loaded or evaluated.
    #[error(transparent)]
    Policy(PolicyError),
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
