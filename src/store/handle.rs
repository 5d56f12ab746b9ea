//! A table kept open by a write transaction, lent out to one user at a time.

use redb::{
    AccessGuard, Key, Range, ReadableTable, ReadableTableMetadata, Table, TableStats, Value,
};
use std::borrow::Borrow;
use std::cell::RefMut;
use std::ops::{Deref, DerefMut, RangeBounds};

/// A borrowed open table: reads through [`ReadableTable`], writes through `DerefMut`.
pub struct Handle<'a, 'txn, K: Key + 'static, V: Value + 'static>(
    pub(super) RefMut<'a, Table<'txn, K, V>>,
);

impl<'txn, K: Key + 'static, V: Value + 'static> Deref for Handle<'_, 'txn, K, V> {
    type Target = Table<'txn, K, V>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<K: Key + 'static, V: Value + 'static> DerefMut for Handle<'_, '_, K, V> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<K: Key + 'static, V: Value + 'static> ReadableTableMetadata for Handle<'_, '_, K, V> {
    fn stats(&self) -> redb::Result<TableStats> {
        self.0.stats()
    }

    fn len(&self) -> redb::Result<u64> {
        self.0.len()
    }
}

impl<K: Key + 'static, V: Value + 'static> ReadableTable<K, V> for Handle<'_, '_, K, V> {
    fn get<'a>(
        &self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> redb::Result<Option<AccessGuard<'_, V>>> {
        self.0.get(key)
    }

    fn range<'a, KR>(&self, range: impl RangeBounds<KR> + 'a) -> redb::Result<Range<'_, K, V>>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        self.0.range(range)
    }

    fn first(&self) -> redb::Result<Option<(AccessGuard<'_, K>, AccessGuard<'_, V>)>> {
        self.0.first()
    }

    fn last(&self) -> redb::Result<Option<(AccessGuard<'_, K>, AccessGuard<'_, V>)>> {
        self.0.last()
    }
}
