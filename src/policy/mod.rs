//! The policy engine: the only module that knows Cedar.
//!
//! Rust computes facts ([`crate::domain::DecisionFacts`]); the policies in the active
//! [`Bundle`] decide. A bundle is compiled into a [`PolicyEngine`] only when it passes strict
//! validation and the annotation lints.

mod bundle;
mod decide;
mod diagnostics;
mod engine;
mod entities;
mod lint;
mod review;
pub mod testing;

pub use crate::domain::PolicyFile as BundleFile;
pub use bundle::{Bundle, source_of};
pub use diagnostics::PolicyDiagnostic;
pub use engine::PolicyEngine;

/// What can go wrong loading, compiling or evaluating policies.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A file of the bundle could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The bundle does not parse, validate or pass the lints.
    #[error("the policy bundle is invalid ({} problem(s))", .0.len())]
    Invalid(Vec<PolicyDiagnostic>),
    /// Cedar could not evaluate a request (a bug in entity construction).
    #[error("policy evaluation failed: {0}")]
    Evaluation(String),
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests;
