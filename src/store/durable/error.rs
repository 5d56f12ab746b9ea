//! What can go wrong with the journal.

/// Why the journal could not be read, written or used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file could not be read, written or made durable.
    #[error("the journal could not be read or written: {0}")]
    Io(#[from] std::io::Error),
    /// The file is shorter than its header block.
    #[error("the journal file is cut short")]
    CutShort,
    /// The file does not begin as a journal does.
    #[error("the journal file is not a clearance journal")]
    NotAJournal,
    /// The file is a journal of a format this version does not read.
    #[error("the journal is of a format this version does not read")]
    UnknownFormat,
    /// The first record after the database's last is missing.
    #[error("the journal does not continue the database: records are missing")]
    RecordsMissing,
    /// A transaction's changes are larger than a record can hold.
    #[error("a journal record is too large")]
    RecordTooLarge,
    /// A record's checksum holds but its changes do not decode.
    #[error("a journal record does not decode")]
    Undecodable,
    /// A record names a table this version does not know.
    #[error("a journal record names an unknown table")]
    UnknownTable,
}

impl JournalError {
    /// Whether the disk failed, rather than the journal's content being wrong.
    pub fn is_io(&self) -> bool {
        matches!(self, Self::Io(_))
    }
}
