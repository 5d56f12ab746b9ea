//! The error for input that does not parse into a domain value.

/// A value that failed to parse; `field` names the input field, `message` says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    /// The input field (JSON path) the value came from.
    pub field: String,
    /// What is wrong with it, for a human.
    pub message: String,
}

impl DomainError {
    /// A parse failure of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
