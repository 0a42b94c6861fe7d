//! Throwaway databases for tests: a fresh SQLite directory, or a fresh PostgreSQL database per
//! test, created from `QRLINK_TEST_DATABASE_URL` and dropped afterwards.
//!
//! When that variable is unset, PostgreSQL tests print a loud notice and skip; when
//! `QRLINK_REQUIRE_POSTGRES=1` (CI sets it) a missing PostgreSQL fails the test instead.

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

use crate::store::{Store, StoreLocation};

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    pub store: Store,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Sqlite(tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl TestDatabase {
    pub async fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = Store::open(StoreLocation::SqliteDir(dir.path()))
            .await
            .expect("open SQLite store");
        TestDatabase {
            store,
            kind: Kind::Sqlite(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` (after a loud notice) when none is configured.
    pub async fn postgres() -> Option<TestDatabase> {
        let (admin_url, name, url) = fresh_postgres_database().await?;
        let store = Store::open(StoreLocation::Postgres(&url))
            .await
            .expect("open PostgreSQL store");
        Some(TestDatabase {
            store,
            kind: Kind::Postgres {
                admin_url,
                name,
                url,
            },
        })
    }

    /// Another fresh, empty database of the same backend.
    pub async fn sibling(&self) -> TestDatabase {
        match self.kind {
            Kind::Sqlite(_) => TestDatabase::sqlite().await,
            Kind::Postgres { .. } => TestDatabase::postgres()
                .await
                .expect("PostgreSQL answered a moment ago"),
        }
    }

    /// A new `Store` on the same database, for reading after the first one was closed.
    pub async fn reopen(&self) -> Store {
        let location = match &self.kind {
            Kind::Sqlite(dir) => StoreLocation::SqliteDir(dir.path()),
            Kind::Postgres { url, .. } => StoreLocation::Postgres(url),
        };
        Store::open(location)
            .await
            .expect("reopen the test database")
    }

    /// The SQLite data directory, if this is SQLite.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        match &self.kind {
            Kind::Sqlite(dir) => Some(dir.path()),
            Kind::Postgres { .. } => None,
        }
    }

    /// The PostgreSQL URL of this database, if this is PostgreSQL.
    pub fn postgres_url(&self) -> Option<&str> {
        match &self.kind {
            Kind::Sqlite(_) => None,
            Kind::Postgres { url, .. } => Some(url),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Kind::Postgres {
            admin_url, name, ..
        } = &self.kind
        {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async; a small runtime on its own thread does the cleanup.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut admin)
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

/// Creates an empty PostgreSQL database and returns `(admin URL, name, URL of the new one)`,
/// for tests that start `qrlink` processes against it.
pub async fn fresh_postgres_database() -> Option<(String, String, String)> {
    let admin_url = postgres_admin_url()?;
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "qrlink_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    );
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!("QRLINK_TEST_DATABASE_URL is set but PostgreSQL does not answer: {e}")
        });
    sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let mut url = url::Url::from_str(&admin_url).expect("QRLINK_TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    Some((admin_url, name, url.to_string()))
}

fn postgres_admin_url() -> Option<String> {
    match std::env::var("QRLINK_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("QRLINK_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("QRLINK_REQUIRE_POSTGRES=1 but QRLINK_TEST_DATABASE_URL is not set");
            }
            eprintln!(
                "\n!!! SKIPPED: PostgreSQL test, QRLINK_TEST_DATABASE_URL is not set \
                 (e.g. postgres://postgres@127.0.0.1:5432/postgres) !!!\n"
            );
            None
        }
    }
}
