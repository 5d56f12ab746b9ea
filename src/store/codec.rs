//! JSON encoding of records, and the `Tables` abstraction over read and write transactions.

use super::StoreError;
use super::tables::Spec;
use redb::ReadableTable;
use serde::{Serialize, de::DeserializeOwned};

/// Opens tables for reading in either kind of transaction.
pub trait Tables {
    /// The table type of this kind of transaction.
    type Table<'a, K: redb::Key + 'static, V: redb::Value + 'static>: ReadableTable<K, V>
    where
        Self: 'a;

    /// Opens `table`.
    fn open<'a, S: Spec>(&'a self, table: S) -> Result<Self::Table<'a, S::K, S::V>, StoreError>;
}

/// Encodes a record.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(StoreError::Encode)
}

/// Reads and decodes the record at `key` of a `&str → bytes` table.
pub fn get<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    name: &'static str,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match table.get(key)? {
        Some(bytes) => decode(name, bytes.value()).map(Some),
        None => Ok(None),
    }
}

/// Decodes a record of table `name`.
pub fn decode<T: DeserializeOwned>(name: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        table: name,
        source,
    })
}
