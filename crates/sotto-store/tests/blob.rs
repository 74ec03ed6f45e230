//! BlobStore behaviour, on the local file system and in memory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use sotto_store::{BlobStore, StoreError};

async fn exercise(b: &BlobStore) {
    let k1 = "t/acme/s/0192a3b4-0000-7000-8000-000000000001/0192a3b4-0000-7000-8000-0000000000aa";
    let k2 = "t/acme/s/0192a3b4-0000-7000-8000-000000000001/0192a3b4-0000-7000-8000-0000000000bb";
    let k3 = "t/acme/s/0192a3b4-0000-7000-8000-000000000002/0192a3b4-0000-7000-8000-0000000000cc";
    let k4 = "t/acme-2/s/0192a3b4-0000-7000-8000-000000000003/x";

    assert!(matches!(b.get(k1).await, Err(StoreError::NotFound(_))));
    assert!(matches!(b.size(k1).await, Err(StoreError::NotFound(_))));
    assert!(matches!(
        b.get_range(k1, 0..1).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        b.get_range(k1, 0..0).await,
        Err(StoreError::NotFound(_))
    ));

    let data = Bytes::from((0..=255u8).cycle().take(10_000).collect::<Vec<u8>>());
    b.put(k1, data.clone()).await.unwrap();
    b.put(k2, Bytes::from_static(b"second")).await.unwrap();
    b.put(k3, Bytes::new()).await.unwrap();
    b.put(k4, Bytes::from_static(b"other tenant"))
        .await
        .unwrap();

    assert_eq!(b.get(k1).await.unwrap(), data);
    assert_eq!(b.size(k1).await.unwrap(), 10_000);
    assert_eq!(b.size(k3).await.unwrap(), 0);
    assert_eq!(b.get(k3).await.unwrap(), Bytes::new());
    assert_eq!(
        b.get_range(k1, 100..356).await.unwrap(),
        data.slice(100..356)
    );
    assert_eq!(
        b.get_range(k1, 9_990..10_000).await.unwrap(),
        data.slice(9_990..)
    );
    assert_eq!(b.get_range(k1, 5..5).await.unwrap(), Bytes::new());
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = 10..5;
    assert!(b.get_range(k1, reversed).await.is_err());

    // Overwrite replaces.
    b.put(k2, Bytes::from_static(b"replaced")).await.unwrap();
    assert_eq!(b.get(k2).await.unwrap(), Bytes::from_static(b"replaced"));

    // Listing by prefix matches whole segments.
    assert_eq!(
        b.list("t/acme/s/0192a3b4-0000-7000-8000-000000000001")
            .await
            .unwrap(),
        vec![k1, k2]
    );
    assert_eq!(
        b.list("t/acme/s/0192a3b4-0000-7000-8000-000000000001/")
            .await
            .unwrap(),
        vec![k1, k2]
    );
    assert_eq!(b.list("t/acme").await.unwrap(), vec![k1, k2, k3]);
    let mut everything = vec![k1, k2, k3, k4];
    everything.sort();
    assert_eq!(b.list("").await.unwrap(), everything);
    assert!(b.list("t/nobody").await.unwrap().is_empty());

    // Delete is idempotent.
    b.delete(k1).await.unwrap();
    b.delete(k1).await.unwrap();
    b.delete("t/never/s/existed").await.unwrap();
    assert!(matches!(b.get(k1).await, Err(StoreError::NotFound(_))));
    assert_eq!(b.list("t/acme").await.unwrap(), vec![k2, k3]);

    // Bad keys are refused by every method.
    for bad in [
        "", "/t/a", "t/a/", "t//a", "t/../a", "..", "t/./a", "t/a#1", "t/a b", "t/a\\b", "t/ä",
    ] {
        assert!(
            matches!(b.put(bad, Bytes::new()).await, Err(StoreError::Blob(_))),
            "{bad:?}"
        );
        assert!(b.get(bad).await.is_err(), "{bad:?}");
        assert!(b.delete(bad).await.is_err(), "{bad:?}");
        assert!(b.size(bad).await.is_err(), "{bad:?}");
    }
    assert!(b.list("t/../x").await.is_err());
}

#[tokio::test]
async fn in_memory_blob_store() {
    exercise(&BlobStore::in_memory()).await;
}

#[tokio::test]
async fn local_blob_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs/nested");
    let b = BlobStore::local(&root).unwrap();
    exercise(&b).await;

    // Blobs are plain files under the root; no staging (`#n`) or probe files are left behind.
    let k = "t/acme/s/s1/o1";
    b.put(k, Bytes::from_static(b"sealed")).await.unwrap();
    assert_eq!(std::fs::read(root.join(k)).unwrap(), b"sealed");
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            assert!(
                !name.contains('#') && !name.starts_with(".sotto-write-probe"),
                "{}",
                p.display()
            );
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    // A second store on the same directory sees the same blobs.
    let again = BlobStore::local(&root).unwrap();
    assert_eq!(again.get(k).await.unwrap(), Bytes::from_static(b"sealed"));
}
