//! Evidence: the chained audit entry, its canonical encoding, the MAC key, signed
//! checkpoints, and the verifier.
//!
//! Pure computation with no database, so that the offline verifier (`clearance audit verify`)
//! and the server check exports the same way.

mod checkpoint;
mod entry;
mod export;
pub(crate) mod key;
mod report;
mod verify;

pub use checkpoint::{Checkpoint, PublicKey, PublishedKey, SIGNING_KEY_FILE, Signer};
pub use entry::{AuditRecord, GENESIS, canonical_json, rfc3339_millis};
pub use export::{ExportHeader, ExportLine};
pub use key::{KeyError, MacKey};
pub use report::{Fault, FaultKind, Head, Unanchored, VerifyReport};
pub use verify::Verifier;

/// The audit key file inside the data folder, next to (never inside) the database file.
pub const KEY_FILE: &str = "audit-hmac.key";
