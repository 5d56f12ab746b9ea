//! The store's one error type, and which of its errors are storage failures.

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb failed.
    #[error("database error: {0}")]
    Database(#[from] redb::Error),
    /// A stored record does not decode.
    #[error("corrupt record in table {table}: {source}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// A record that another one refers to is missing.
    #[error("the store is inconsistent: no {0}")]
    Missing(&'static str),
    /// A record does not encode.
    #[error("cannot encode record: {0}")]
    Encode(serde_json::Error),
    /// The audit key file could not be read or created.
    #[error(transparent)]
    Key(#[from] crate::evidence::KeyError),
    /// The secrets key file could not be read or created.
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    /// A table was opened twice at once in one write transaction (a bug in the store).
    #[error("table {0} is already in use in this transaction")]
    TableInUse(String),
    /// The journal could not be read, written or used.
    #[error("journal: {0}")]
    Journal(#[from] super::JournalError),
    /// The journal's content cannot be used, so the store does not open.
    #[error(
        "{reason} ({path}); the store cannot open. The journal holds every change answered since the \
         database file was last made durable. Keep a copy of the data folder; then restore the \
         folder from a backup, or move the journal aside to open the database as of its last \
         sync (the changes only the journal holds are then lost)"
    )]
    UnusableJournal {
        /// The journal file.
        path: String,
        /// What is wrong with it.
        reason: super::JournalError,
    },
    /// The database holds a layout of tables this build does not read.
    #[error(
        "{path} holds layout {found} of clearance's database, and this version reads layouts 1 \
         to {supported}; nothing was changed. Run the (newer) version of clearance that wrote \
         it, or restore the data folder from a backup made with this one"
    )]
    UnknownLayout {
        /// The database file.
        path: String,
        /// The layout it holds.
        found: u64,
        /// The latest layout this build reads.
        supported: u64,
    },
    /// The journal failed to write or sync earlier; see `store/durable/committer.rs`.
    #[error("the storage failed earlier: no changes are taken until the store reopens")]
    JournalFailed,
    /// A thread panicked while holding the journal.
    #[error("the journal is unusable after a panic")]
    JournalPoisoned,
    /// Another process (a server, or a sweep) has the database open.
    #[error(
        "{path} is open in another clearance process (a running server, or a sweep): a data \
         folder serves one process at a time, and nothing was changed. Stop the other process; \
         to sweep while the server runs, ask it to (POST /v1/sweeps/run, or its own interval)"
    )]
    InUse {
        /// The database file.
        path: String,
    },
    /// The data folder could not be prepared.
    #[error("cannot use data folder {path}: {source}")]
    Folder {
        /// The folder.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether the disk under the store failed (a full disk, an I/O error, or redb refusing
    /// work after one): the store takes no changes, and callers should retry later.
    pub fn is_storage_failure(&self) -> bool {
        match self {
            Self::Database(e) => matches!(
                e,
                redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::DatabaseClosed
            ),
            Self::Journal(e) => e.is_io(),
            Self::JournalFailed => true,
            _ => false,
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                Self::Database(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);
