//! The SQLite schema of the simulated world and its small key-value `meta` table.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{DEFAULT_ACCOUNT_ID, DEFAULT_REGION, World};
use crate::errors::{Error, Result};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS buckets (
    name       TEXT PRIMARY KEY,
    region     TEXT NOT NULL,
    created    INTEGER NOT NULL,
    versioning INTEGER NOT NULL DEFAULT 0,  -- 0 never enabled, 1 enabled, 2 suspended
    owner_id   TEXT,                        -- NULL: the world's own account
    owner_name TEXT
);
-- One row per object version (unversioned objects have version_id NULL) or delete marker.
-- A NULL body means a synthetic object whose bytes derive from its key (sim::seed_objects).
-- Restore state is kept as instants, so "ongoing", "restored" and "expired" follow from the
-- clock without any background work.
CREATE TABLE IF NOT EXISTS objects (
    id                INTEGER PRIMARY KEY,
    bucket            TEXT NOT NULL,
    key               TEXT NOT NULL,
    version_id        TEXT,
    is_latest         INTEGER NOT NULL,
    is_delete_marker  INTEGER NOT NULL DEFAULT 0,
    size              INTEGER NOT NULL DEFAULT 0,
    etag              TEXT NOT NULL DEFAULT '',
    storage_class     TEXT NOT NULL DEFAULT 'STANDARD',
    archive_tier      TEXT,
    last_modified     INTEGER NOT NULL,
    content_type      TEXT,
    metadata          TEXT,
    body              BLOB,
    restore_tier      TEXT,
    restore_days      INTEGER,
    restore_requested INTEGER,
    restore_done      INTEGER,
    restore_expiry    INTEGER,
    headers           TEXT,     -- JSON: Cache-Control, Content-Disposition... (STORED_HEADERS)
    synthetic         TEXT,     -- a synthetic object's pattern key (NULL: its own key; see s3.rs)
    owner_id          TEXT,     -- NULL: the world's own account
    owner_name        TEXT
);
CREATE INDEX IF NOT EXISTS objects_by_key ON objects (bucket, key, is_latest);
-- ListObjectVersions' order: by key, newest version first.
CREATE INDEX IF NOT EXISTS objects_versions ON objects (bucket, key, id DESC);
CREATE INDEX IF NOT EXISTS objects_restore_done ON objects (restore_done)
    WHERE restore_done IS NOT NULL;
CREATE INDEX IF NOT EXISTS objects_restore_expiry ON objects (restore_expiry)
    WHERE restore_expiry IS NOT NULL;
-- Canned ACLs; a bucket or object version without a row is private.
CREATE TABLE IF NOT EXISTS bucket_acls (
    bucket TEXT PRIMARY KEY,
    acl    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS object_acls (
    object_id INTEGER PRIMARY KEY,
    acl       TEXT NOT NULL
);
-- Bucket-level settings by name: `ownership` (ObjectOwnership), `public_access_block` (JSON).
CREATE TABLE IF NOT EXISTS bucket_settings (
    bucket TEXT NOT NULL,
    name   TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (bucket, name)
);
CREATE TRIGGER IF NOT EXISTS bucket_acls_follow AFTER DELETE ON buckets BEGIN
    DELETE FROM bucket_acls WHERE bucket = old.name;
    DELETE FROM bucket_settings WHERE bucket = old.name;
END;
CREATE TRIGGER IF NOT EXISTS object_acls_follow AFTER DELETE ON objects BEGIN
    DELETE FROM object_acls WHERE object_id = old.id;
END;
CREATE TABLE IF NOT EXISTS jobs (
    id                   TEXT PRIMARY KEY,
    seq                  INTEGER NOT NULL,
    status               TEXT NOT NULL,
    priority             INTEGER NOT NULL,
    description          TEXT,
    role_arn             TEXT NOT NULL,
    created              INTEGER NOT NULL,
    terminated           INTEGER,
    spec                 TEXT NOT NULL,
    client_request_token TEXT NOT NULL,
    tags                 TEXT NOT NULL DEFAULT '{}',
    total                INTEGER NOT NULL DEFAULT 0,
    succeeded            INTEGER NOT NULL DEFAULT 0,
    failed               INTEGER NOT NULL DEFAULT 0,
    failure_reasons      TEXT NOT NULL DEFAULT '[]',
    status_update_reason TEXT,
    next_at              INTEGER,       -- when the current status's step is due; NULL waits for a caller
    active_since         INTEGER,       -- start of the current run of tasks
    tasks_at_active      INTEGER NOT NULL DEFAULT 0,  -- tasks done when that run started
    generated_manifest   TEXT           -- JSON: where a generator job wrote its manifest
);
CREATE INDEX IF NOT EXISTS jobs_next ON jobs (next_at) WHERE next_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS tasks (
    job_id      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    bucket      TEXT NOT NULL,
    key         TEXT NOT NULL,
    version_id  TEXT,
    status      TEXT,                   -- NULL until the task runs
    http_status INTEGER,
    error_code  TEXT,
    message     TEXT,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roles (
    name         TEXT PRIMARY KEY,
    id           TEXT NOT NULL,
    arn          TEXT NOT NULL,
    trust_policy TEXT NOT NULL,
    description  TEXT,
    tags         TEXT NOT NULL DEFAULT '{}',
    created      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS policies (
    arn      TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    id       TEXT NOT NULL,
    document TEXT NOT NULL,
    created  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS role_attachments (
    role       TEXT NOT NULL,
    policy_arn TEXT NOT NULL,
    PRIMARY KEY (role, policy_arn)
);
CREATE TABLE IF NOT EXISTS role_inline (
    role     TEXT NOT NULL,
    name     TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (role, name)
);
"#;

const WORLD_TABLES: &[&str] = &[
    "buckets",
    "objects",
    "bucket_acls",
    "object_acls",
    "bucket_settings",
    "jobs",
    "tasks",
    "roles",
    "policies",
    "role_attachments",
    "role_inline",
];

pub(super) fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|e| {
        Error::invalid_argument(format!(
            "cannot open simulator state {}: {e}",
            path.display()
        ))
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(SCHEMA)?;
    // Columns added after the first release: older state directories gain them here.
    let added = [
        ("objects", "headers"),
        ("objects", "owner_id"),
        ("objects", "owner_name"),
        ("buckets", "owner_id"),
        ("buckets", "owner_name"),
    ];
    for (table, column) in added {
        let has: bool = conn.query_row(
            &format!("SELECT COUNT(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
            [column],
            |r| r.get(0),
        )?;
        if !has {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} TEXT"))?;
        }
    }
    let has_generated: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('jobs') WHERE name = 'generated_manifest'",
        [],
        |r| r.get(0),
    )?;
    if !has_generated {
        conn.execute_batch("ALTER TABLE jobs ADD COLUMN generated_manifest TEXT")?;
    }
    let has_synthetic: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('objects') WHERE name = 'synthetic'",
        [],
        |r| r.get(0),
    )?;
    if !has_synthetic {
        conn.execute_batch("ALTER TABLE objects ADD COLUMN synthetic TEXT")?;
    }
    let defaults = [
        ("account_id", DEFAULT_ACCOUNT_ID.to_string()),
        ("region", DEFAULT_REGION.to_string()),
        ("seed", "42".to_string()),
        ("clock_offset_ms", "0".to_string()),
        ("job_seq", "0".to_string()),
    ];
    for (name, value) in defaults {
        conn.execute(
            "INSERT OR IGNORE INTO meta (name, value) VALUES (?1, ?2)",
            params![name, value],
        )?;
    }
    Ok(conn)
}

pub(super) fn meta(tx: &Transaction, name: &str) -> Result<String> {
    tx.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| Error::internal(format!("simulator state lacks `{name}`")))
}

pub(super) fn set_meta(tx: &Transaction, name: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        params![name, value],
    )?;
    Ok(())
}

/// Empties every table of the world; the clock, account, region and seed stay.
pub(super) fn reset(w: &World) -> Result<()> {
    for table in WORLD_TABLES {
        w.tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    Ok(())
}
