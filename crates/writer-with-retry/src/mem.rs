//! `MemStore`: a store in memory, for tests and as the reference model of the others.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::store::{check_range, validate_key};
use crate::{Store, StoreError};

/// A store in memory: a sorted map behind a read-write lock.
///
/// It applies the same key rules as [`crate::FileStore`] (see [`validate_key`]), so a test that
/// passes against it behaves the same against files.
#[derive(Debug, Default)]
pub struct MemStore {
    objects: RwLock<BTreeMap<String, Arc<[u8]>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of objects stored.
    pub fn len(&self) -> usize {
        self.objects.read().len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.objects.read().is_empty()
    }

    /// The total size of all objects, in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.objects.read().values().map(|v| v.len() as u64).sum()
    }
}

impl Store for MemStore {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        validate_key(key)?;
        self.objects
            .write()
            .insert(key.to_owned(), Arc::from(bytes));
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        validate_key(key)?;
        self.objects
            .read()
            .get(key)
            .map(|v| v.to_vec())
            .ok_or_else(|| StoreError::NotFound {
                key: key.to_owned(),
            })
    }

    fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>, StoreError> {
        validate_key(key)?;
        let objects = self.objects.read();
        let value = objects.get(key).ok_or_else(|| StoreError::NotFound {
            key: key.to_owned(),
        })?;
        let range = check_range(key, &range, value.len() as u64)?;
        Ok(value.get(range).unwrap_or_default().to_vec())
    }

    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        validate_key(key)?;
        Ok(self.objects.read().contains_key(key))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .objects
            .read()
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        self.objects.write().remove(key);
        Ok(())
    }
}
