use sotto_core::{ProcessingMode, TenantId};
use sotto_store::{SqliteStore, Store, TenantRow};

#[tokio::test]
async fn smoke() {
    let dir = tempfile::tempdir().unwrap();
    for store in [
        SqliteStore::in_memory().await.unwrap(),
        SqliteStore::open(&dir.path().join("db/sotto.db"))
            .await
            .unwrap(),
    ] {
        let t = TenantRow {
            id: TenantId::new("acme").unwrap(),
            name: "Acme".into(),
            mode: ProcessingMode::Record,
            created_ms: 1,
        };
        store.put_tenant(&t).await.unwrap();
        assert_eq!(store.get_tenant(&t.id).await.unwrap(), Some(t.clone()));
        assert_eq!(store.list_tenants().await.unwrap(), vec![t]);
    }
}
