//! A table kept open by a write transaction, lent out to one user at a time: for reading
//! ([`Reading`], through [`ReadableTable`]) or for writing ([`Handle`]), never both at once.
//!
//! Writes record each change in the transaction's redo log, for the journal.

use super::StoreError;
use super::durable::Redo;
use redb::{
    AccessGuard, Key, Range, ReadableTable, ReadableTableMetadata, Table, TableStats, Value,
};
use std::borrow::Borrow;
use std::cell::{RefCell, RefMut};
use std::ops::RangeBounds;

/// A borrowed open table of a write transaction, for writing.
pub struct Handle<'a, 'txn, K: Key + 'static, V: Value + 'static> {
    pub(super) table: RefMut<'a, Table<'txn, K, V>>,
    pub(super) name: &'static str,
    pub(super) redo: &'a RefCell<Redo>,
}

impl<K: Key + 'static, V: Value + 'static> Handle<'_, '_, K, V> {
    /// Sets `key` to `value`.
    pub fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> Result<(), StoreError> {
        let (key, value) = (key.borrow(), value.borrow());
        self.redo.borrow_mut().insert(
            self.name,
            K::as_bytes(key).as_ref(),
            V::as_bytes(value).as_ref(),
        );
        self.table.insert(key, value)?;
        Ok(())
    }

    /// Removes `key`, if present.
    pub fn remove<'k>(&mut self, key: impl Borrow<K::SelfType<'k>>) -> Result<(), StoreError> {
        let key = key.borrow();
        self.redo
            .borrow_mut()
            .remove(self.name, K::as_bytes(key).as_ref());
        self.table.remove(key)?;
        Ok(())
    }

    /// Removes every entry in `range`. The redo log cannot express this, so the
    /// transaction will commit durably instead of through the journal.
    pub fn remove_range<'k, KR>(
        &mut self,
        range: impl RangeBounds<KR> + 'k,
    ) -> Result<(), StoreError>
    where
        KR: Borrow<K::SelfType<'k>> + 'k,
    {
        self.redo.borrow_mut().incomplete();
        self.table.retain_in(range, |_, _| false)?;
        Ok(())
    }
}

/// A borrowed open table of a write transaction, for reading: it holds every write made
/// to it so far.
pub struct Reading<'a, 'txn, K: Key + 'static, V: Value + 'static> {
    pub(super) table: RefMut<'a, Table<'txn, K, V>>,
}

impl<K: Key + 'static, V: Value + 'static> ReadableTableMetadata for Reading<'_, '_, K, V> {
    fn stats(&self) -> redb::Result<TableStats> {
        self.table.stats()
    }

    fn len(&self) -> redb::Result<u64> {
        self.table.len()
    }
}

impl<K: Key + 'static, V: Value + 'static> ReadableTable<K, V> for Reading<'_, '_, K, V> {
    fn get<'a>(
        &self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> redb::Result<Option<AccessGuard<'_, V>>> {
        self.table.get(key)
    }

    fn range<'a, KR>(&self, range: impl RangeBounds<KR> + 'a) -> redb::Result<Range<'_, K, V>>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        self.table.range(range)
    }

    fn first(&self) -> redb::Result<Option<(AccessGuard<'_, K>, AccessGuard<'_, V>)>> {
        self.table.first()
    }

    fn last(&self) -> redb::Result<Option<(AccessGuard<'_, K>, AccessGuard<'_, V>)>> {
        self.table.last()
    }
}
