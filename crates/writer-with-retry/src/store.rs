//! The synchronous `Store` trait and the key rules every store in this crate shares.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use crate::StoreError;

/// The longest key accepted, in bytes: S3's limit, so keys that work here also work there.
pub const MAX_KEY_LEN: usize = 1024;

/// A synchronous object store: a flat map from string keys to byte objects.
///
/// Implementations are shared between writer threads, so they are `Send + Sync` and take `&self`.
/// Keys are `/`-separated relative paths; see [`validate_key`] for the rules.
pub trait Store: Send + Sync {
    /// Stores `bytes` under `key`, replacing any previous object. A put is atomic: readers see
    /// the old object or the new one, never a part. Putting the same bytes twice is harmless,
    /// which is what makes retries safe.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError>;

    /// Stores the contents of the local file at `path` under `key`, with the guarantees of
    /// [`Store::put`]. The file is left in place, unchanged, so a failed put can be retried
    /// with the same file; the caller removes it when done.
    ///
    /// This is how large objects are stored without holding them in memory. The default
    /// implementation reads the whole file and calls [`Store::put`], which suits in-memory
    /// stores; [`crate::FileStore`] links or copies the file instead. A file that cannot be
    /// read is an I/O error on `key` (permanent unless its kind is transient).
    fn put_file(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        let bytes = std::fs::read(path).map_err(|source| StoreError::KeyIo {
            key: key.to_owned(),
            path: path.to_owned(),
            source,
        })?;
        self.put(key, &bytes)
    }

    /// Reads the whole object under `key`.
    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;

    /// Reads the bytes `range` of the object under `key`. A range reaching past the end is
    /// [`StoreError::RangeOutOfBounds`].
    fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>, StoreError>;

    /// True when an object is stored under `key`.
    fn exists(&self, key: &str) -> Result<bool, StoreError>;

    /// Every key starting with `prefix`, sorted.
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Removes the object under `key`. Deleting a missing key succeeds, as in S3, so that a
    /// retried delete is harmless.
    fn delete(&self, key: &str) -> Result<(), StoreError>;
}

macro_rules! forward_store {
    ($($ty:ty),*) => {$(
        impl<S: Store + ?Sized> Store for $ty {
            fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
                (**self).put(key, bytes)
            }
            fn put_file(&self, key: &str, path: &Path) -> Result<(), StoreError> {
                (**self).put_file(key, path)
            }
            fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
                (**self).get(key)
            }
            fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>, StoreError> {
                (**self).get_range(key, range)
            }
            fn exists(&self, key: &str) -> Result<bool, StoreError> {
                (**self).exists(key)
            }
            fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
                (**self).list(prefix)
            }
            fn delete(&self, key: &str) -> Result<(), StoreError> {
                (**self).delete(key)
            }
        }
    )*};
}

forward_store!(&S, Box<S>, Arc<S>);

/// Prefix of the temporary files [`crate::FileStore`] writes; keys may not use it.
pub(crate) const TEMP_PREFIX: &str = ".tessera-tmp-";

/// Checks a key against the rules all stores of this crate share.
///
/// A key is a `/`-separated relative path of at most [`MAX_KEY_LEN`] bytes. It is rejected when
/// it is empty, absolute (leading `/`), contains NUL, a backslash or another control character,
/// has an empty, `.` or `..` component (so `a//b` and `a/` are rejected too), or has a component
/// starting with the temporary-file prefix `.tessera-tmp-`. These rules keep a key inside a
/// [`crate::FileStore`]'s root on every platform: backslashes are separators on Windows, and a
/// drive prefix such as `C:` needs a backslash or leads nowhere outside the root on Unix.
pub fn validate_key(key: &str) -> Result<(), StoreError> {
    let bad = |reason| {
        Err(StoreError::InvalidKey {
            key: key.to_owned(),
            reason,
        })
    };
    if key.is_empty() {
        return bad("the key is empty");
    }
    if key.len() > MAX_KEY_LEN {
        return bad("the key is longer than 1024 bytes");
    }
    if key.contains('\0') {
        return bad("the key contains a NUL byte");
    }
    if key.contains('\\') {
        return bad("the key contains a backslash");
    }
    if key.chars().any(char::is_control) {
        return bad("the key contains a control character");
    }
    if key.starts_with('/') {
        return bad("the key is an absolute path");
    }
    if key.len() >= 2 && key.as_bytes()[1] == b':' && key.as_bytes()[0].is_ascii_alphabetic() {
        return bad("the key starts with a drive prefix");
    }
    for component in key.split('/') {
        match component {
            "" => return bad("the key has an empty path component"),
            "." | ".." => return bad("the key has a `.` or `..` component"),
            c if c.starts_with(TEMP_PREFIX) => {
                return bad("the key uses the reserved temporary-file prefix");
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks `range` against an object of `len` bytes and returns it as `usize` bounds.
pub(crate) fn check_range(
    key: &str,
    range: &Range<u64>,
    len: u64,
) -> Result<Range<usize>, StoreError> {
    if range.start > range.end || range.end > len {
        return Err(StoreError::RangeOutOfBounds {
            key: key.to_owned(),
            start: range.start,
            end: range.end,
            len,
        });
    }
    // Both bounds are at most `len`, the length of an object in memory or a file we read whole.
    Ok(range.start as usize..range.end as usize)
}
