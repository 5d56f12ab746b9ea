//! Evidence: the chained audit entry, its canonical encoding, the MAC key, and the verifier.
//!
//! Pure computation with no database, so that the offline verifier (`clearance audit verify`)
//! and the server check exports the same way.

mod entry;
mod key;
mod verify;

pub use entry::{AuditRecord, GENESIS, canonical_json};
pub use key::{KeyError, MacKey};
pub use verify::{Fault, FaultKind, Head, Verifier, VerifyReport};

/// The audit key file inside the data folder, next to (never inside) the database file.
pub const KEY_FILE: &str = "audit-hmac.key";
