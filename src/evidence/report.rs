//! What a verification reports.

use serde::Serialize;

/// What is wrong at the first bad `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The entry's content, hash or MAC is not what the service wrote.
    Changed,
    /// An entry is missing: the next one has a later `seq`.
    Deleted,
    /// An entry the service did not write sits at this `seq`.
    Inserted,
    /// Entries are out of order.
    Reordered,
    /// A well-formed entry that does not follow its predecessor, or a chain whose hash at a
    /// signed or pinned checkpoint differs: another history.
    Forked,
    /// Entries a checkpoint (in the export, in its header, or pinned) covers are missing
    /// from here on: the log was cut off or rolled back.
    Truncated,
    /// A checkpoint whose signature does not verify under the public key.
    BadCheckpoint,
    /// The line is not an audit entry or checkpoint at all.
    Malformed,
}

/// The first fault found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Fault {
    /// The first `seq` that does not verify.
    pub seq: u64,
    /// What is wrong there.
    pub kind: FaultKind,
}

/// The last verified entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Head {
    /// Its `seq`.
    pub seq: u64,
    /// Its `entry_hash`.
    pub hash: String,
}

/// Verified entries that no signed checkpoint covers yet: sound as a chain, but nothing
/// shows they were not cut off or rewritten by someone holding the MAC key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Unanchored {
    /// The first such `seq`.
    pub from_seq: u64,
    /// The last.
    pub to_seq: u64,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// True when every entry and checkpoint verified.
    pub ok: bool,
    /// Entries verified before the first fault.
    pub entries: u64,
    /// The last verified entry.
    pub head: Option<Head>,
    /// The last `seq` a verified checkpoint covers.
    pub anchored_seq: Option<u64>,
    /// Verified entries after the last checkpoint, if any.
    pub unanchored: Option<Unanchored>,
    /// The first fault, if any.
    pub fault: Option<Fault>,
}
