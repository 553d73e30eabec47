//! The `contract!` macro: each test of the store contract, written once
//! against [`Store`], becomes one test per backend.

use wsprobe::state::store::Store;

/// A fresh SQLite store.
pub fn sqlite_store() -> Store {
    Store::open_in_memory().expect("open an in-memory SQLite store")
}

/// `contract! { async fn name(store) { … } … }`: each test once per backend,
/// as `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! contract {
    ($( $(#[$meta:meta])* async fn $name:ident($store:ident) $body:block )*) => {
        $( $(#[$meta])* async fn $name($store: Store) $body )*

        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::store_contract_support::sqlite_store()).await
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                #[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
                async fn $name() {
                    // One server per test: tests run in parallel, each on its own.
                    let server = $crate::pg_support::PgServer::start();
                    let store = server.store("contract", "contract-test").await;
                    super::$name(store).await;
                    drop(server);
                }
            )*
        }
    };
}
