//! Blob storage (sealed audio and other large objects) over `object_store`.
//!
//! Keys look like `t/<tenant>/s/<subject>/<object-id>`; the vault builds them. Only ASCII letters,
//! digits, `-`, `_` and `.` are allowed in a segment, and no segment may be empty, `.` or `..`,
//! so a key can never leave the store's directory or collide with `object_store`'s staging
//! files (`<name>#<n>`).
//!
//! Atomicity: `LocalFileSystem::put` (object_store 0.12, `local.rs`, `put_opts`) writes the
//! payload to a staging file `<path>#<n>` created with `create_new`, closes it and `rename`s it
//! over the destination, so readers see either no blob or the whole blob — never a torn one, even
//! if the process dies mid-write (a leftover staging file is never listed or read as a blob).
//! object_store does not fsync; [`BlobStore::put`] does (file, then directory) on the local
//! store, so a blob whose `put` returned survives power loss before the metadata that points at
//! it is committed.
//!
//! Deleting unlinks the file. Blobs are ciphertext under a per-subject key; erasure relies on
//! destroying that key (crypto-shredding), not on overwriting disk blocks.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};

use crate::sqlite::{io_error, probe_writable};
use crate::StoreError;

#[derive(Clone, Debug)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    /// Root directory of the local store (for fsync); `None` in memory.
    root: Option<PathBuf>,
}

/// Checks a key and turns it into an object path. Messages name the rule, not the key's text
/// beyond what is needed (keys hold only ids).
fn object_path(key: &str) -> Result<ObjectPath, StoreError> {
    if key.is_empty() {
        return Err(StoreError::Blob("empty blob key".into()));
    }
    validate_segments(key)?;
    ObjectPath::parse(key).map_err(|e| StoreError::Blob(format!("invalid blob key: {e}")))
}

fn validate_segments(key: &str) -> Result<(), StoreError> {
    for seg in key.split('/') {
        if seg.is_empty() {
            return Err(StoreError::Blob(format!(
                "invalid blob key `{key}`: empty segment"
            )));
        }
        if seg == "." || seg == ".." {
            return Err(StoreError::Blob(format!(
                "invalid blob key `{key}`: `.` or `..` segment"
            )));
        }
        if !seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(StoreError::Blob(format!(
                "invalid blob key `{key}`: only A-Z a-z 0-9 - _ . are allowed in a segment"
            )));
        }
    }
    Ok(())
}

fn map_os(op: &'static str, e: object_store::Error) -> StoreError {
    if let object_store::Error::NotFound { path, .. } = &e {
        return StoreError::NotFound(format!("blob {path} ({op})"));
    }
    // Permission problems of the local store arrive as an io::Error somewhere in the source chain.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) {
                return StoreError::ReadOnly(format!("{op}: {e}"));
            }
        }
        source = err.source();
    }
    StoreError::Blob(format!("{op}: {e}"))
}

impl BlobStore {
    /// A store in directory `dir` (created if missing). A directory we may not write is
    /// [`StoreError::ReadOnly`].
    pub fn local(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| io_error("create blob directory", dir, e))?;
        probe_writable(dir)?;
        let root = dir
            .canonicalize()
            .map_err(|e| io_error("resolve blob directory", dir, e))?;
        let fs = LocalFileSystem::new_with_prefix(&root)
            .map_err(|e| StoreError::Blob(format!("open blob directory: {e}")))?;
        Ok(Self {
            inner: Arc::new(fs),
            root: Some(root),
        })
    }

    /// A store in memory, for tests.
    pub fn in_memory() -> Self {
        Self {
            inner: Arc::new(InMemory::new()),
            root: None,
        }
    }

    /// Writes `bytes` under `key`, replacing any blob there. Atomic (see the module docs) and,
    /// on the local store, durable when it returns.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StoreError> {
        let path = object_path(key)?;
        self.inner
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|e| map_os("put", e))?;
        if let Some(root) = &self.root {
            let file = root.join(key);
            tokio::task::spawn_blocking(move || sync_file_and_dir(&file))
                .await
                .map_err(|e| StoreError::Blob(format!("put: sync task failed: {e}")))?
                .map_err(|e| StoreError::Blob(format!("put: fsync failed: {e}")))?;
        }
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        let path = object_path(key)?;
        let res = self.inner.get(&path).await.map_err(|e| map_os("get", e))?;
        res.bytes().await.map_err(|e| map_os("get", e))
    }

    /// Bytes `range` of the blob. A range past the end is an error.
    pub async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        let path = object_path(key)?;
        if range.start > range.end {
            return Err(StoreError::Blob(format!(
                "get_range: start {} is after end {}",
                range.start, range.end
            )));
        }
        if range.start == range.end {
            // object_store refuses empty ranges; still report a missing blob.
            self.size(key).await?;
            return Ok(Bytes::new());
        }
        self.inner
            .get_range(&path, range)
            .await
            .map_err(|e| map_os("get_range", e))
    }

    pub async fn size(&self, key: &str) -> Result<u64, StoreError> {
        let path = object_path(key)?;
        let meta = self
            .inner
            .head(&path)
            .await
            .map_err(|e| map_os("size", e))?;
        Ok(meta.size)
    }

    /// Deletes the blob; a missing blob is fine (erasure must be idempotent).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = object_path(key)?;
        match self.inner.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(map_os("delete", e)),
        }
    }

    /// Keys under `prefix`, sorted. The prefix matches whole segments: `t/a` lists `t/a/...`,
    /// not `t/ab/...`. An empty prefix lists everything; a trailing `/` is ignored.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let prefix = prefix.trim_end_matches('/');
        let path = if prefix.is_empty() {
            None
        } else {
            Some(object_path(prefix)?)
        };
        let mut keys: Vec<String> = self
            .inner
            .list(path.as_ref())
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .map_err(|e| map_os("list", e))?;
        keys.sort();
        Ok(keys)
    }
}

fn sync_file_and_dir(file: &Path) -> std::io::Result<()> {
    std::fs::File::open(file)?.sync_all()?;
    if let Some(dir) = file.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn permission_errors_in_the_source_chain_are_read_only() {
        let e = object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
        };
        assert!(matches!(map_os("put", e), StoreError::ReadOnly(_)));
        let e = object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::from(std::io::ErrorKind::StorageFull)),
        };
        assert!(matches!(map_os("put", e), StoreError::Blob(_)));
    }

    #[test]
    fn keys_are_checked() {
        assert!(object_path("t/default/s/0192/abc").is_ok());
        for bad in [
            "", "/a", "a/", "a//b", "a/../b", "..", "a/./b", "a/b#1", "a/b c", "a\\b",
        ] {
            assert!(object_path(bad).is_err(), "{bad:?} accepted");
        }
    }
}
