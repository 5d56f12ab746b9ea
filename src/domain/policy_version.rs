//! Policy versions as recorded: every distinct bundle that was ever activated.

use super::PolicyVersionId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One file of a policy bundle; `path` is its name relative to its folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyFile {
    /// File name relative to its folder, `/`-separated.
    pub path: String,
    /// The full text.
    pub content: String,
}

/// Where a bundle was loaded from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicySource {
    /// The policies folder.
    pub folder: String,
    /// `HEAD` of the git checkout holding the folder, if it is in one.
    pub git_commit: Option<String>,
    /// Whether the checkout had uncommitted changes under the folder.
    #[serde(default)]
    pub git_dirty: bool,
}

/// A stored policy version with its full text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersionRecord {
    /// SHA-256 of the canonical bundle.
    pub version: PolicyVersionId,
    /// 1 for the first version ever stored, then 2, 3, …
    pub seq: u64,
    /// The `*.cedar` files, in canonical order.
    pub files: Vec<PolicyFile>,
    /// The schema.
    pub schema: PolicyFile,
    /// Where it was loaded from when first activated.
    pub source: PolicySource,
    /// When it first became active.
    pub activated_at: DateTime<Utc>,
    /// Who first activated it.
    pub activated_by: String,
}

/// One change of the active version (a version can be activated again later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyActivation {
    /// The version made active.
    #[schema(value_type = String)]
    pub version: PolicyVersionId,
    /// Its sequence number.
    pub seq: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// By whom.
    pub actor: String,
    /// Where it was loaded from.
    pub source: PolicySource,
}
