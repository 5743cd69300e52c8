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
-- Restores are rows of `restores`. (States of builds before it also have the columns
-- restore_tier, restore_days, restore_requested, restore_done and restore_expiry here, copied
-- into `restores` when such a state is opened and not read since.)
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
    headers           TEXT,     -- JSON: Cache-Control, Content-Disposition... (STORED_HEADERS)
    synthetic         TEXT,     -- a synthetic object's pattern key (NULL: its own key; see s3.rs)
    owner_id          TEXT,     -- NULL: the world's own account
    owner_name        TEXT,
    segments          INTEGER   -- how many files (`body_files`) hold the body; NULL: none
);
CREATE INDEX IF NOT EXISTS objects_by_key ON objects (bucket, key, is_latest);
-- ListObjectVersions' order: by key, newest version first.
CREATE INDEX IF NOT EXISTS objects_versions ON objects (bucket, key, id DESC);
-- The restore last requested of each object version (RestoreObject, a job's restore task),
-- kept after its copy expires until another replaces it. Its state is kept as instants, so
-- "ongoing", "restored" and "expired" follow from the clock without any background work. A
-- table of its own, not columns of `objects`: a job appends its restores to a narrow table in
-- object order where it rewrote (and split) every object's row, half of a restore job's time.
CREATE TABLE IF NOT EXISTS restores (
    object_id INTEGER PRIMARY KEY,
    tier      TEXT NOT NULL,
    days      INTEGER,          -- NULL: Intelligent-Tiering (no expiry)
    requested INTEGER NOT NULL,
    done      INTEGER NOT NULL,
    expiry    INTEGER
);
CREATE TRIGGER IF NOT EXISTS objects_restores_follow AFTER DELETE ON objects BEGIN
    DELETE FROM restores WHERE object_id = old.id;
END;
-- When restores finish and restored copies expire (`s3::next_event`): how many restores finish
-- (`finishing`) and how many restored copies expire (`expiring`) at each instant. Restores
-- finish on whole minutes and copies expire at midnight UTC, so a job over millions of objects
-- adds to a few hundred rows (summed per chunk of tasks by `s3::RestoreWrites`, which also
-- takes away what a restore replaces) where an index would take an entry per object. The
-- trigger takes away a restore that is removed, whatever removes it.
CREATE TABLE IF NOT EXISTS restore_events (
    at        INTEGER PRIMARY KEY,
    finishing INTEGER NOT NULL DEFAULT 0,
    expiring  INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER IF NOT EXISTS restores_events_follow AFTER DELETE ON restores BEGIN
    UPDATE restore_events SET finishing = finishing - 1 WHERE at = old.done;
    UPDATE restore_events SET expiring = expiring - 1 WHERE at = old.expiry;
END;
-- ACLs (`acl.rs`): a canned ACL, or explicit grants (JSON, `acl` then says private); a bucket
-- or object version without a row is private.
CREATE TABLE IF NOT EXISTS bucket_acls (
    bucket TEXT PRIMARY KEY,
    acl    TEXT NOT NULL,
    grants TEXT
);
CREATE TABLE IF NOT EXISTS object_acls (
    object_id INTEGER PRIMARY KEY,
    acl       TEXT NOT NULL,
    grants    TEXT
);
-- Accounts ACLs may grant to by canonical id besides the world's own: the identities `serve`
-- was started with. Not part of the world: `sim::reset` keeps them.
CREATE TABLE IF NOT EXISTS accounts (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL
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
-- A job's tasks, `control::TASK_BLOCK` to a row (a row per task was a fifth of a restore job's
-- time): `seq` is the first task's number, `tasks` a JSON array of the tasks' `[bucket, key,
-- version_id]`. What became of them: `task_runs` (succeeded) and `tasks` (failed).
CREATE TABLE IF NOT EXISTS task_blocks (
    job_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    tasks  TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
-- Failed tasks. (Builds before `task_blocks` kept a row here for every task, NULL until it
-- ran; `control::tasks_into_blocks` turns such rows into blocks and runs when a state from one
-- is opened.)
CREATE TABLE IF NOT EXISTS tasks (
    job_id      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    bucket      TEXT NOT NULL,
    key         TEXT NOT NULL,
    version_id  TEXT,
    status      TEXT,                   -- 'failed'
    http_status INTEGER,
    error_code  TEXT,
    message     TEXT,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
-- Runs of consecutive tasks that succeeded with one HTTP status, `seq_start` to `seq_end - 1`.
CREATE TABLE IF NOT EXISTS task_runs (
    job_id      TEXT NOT NULL,
    seq_start   INTEGER NOT NULL,
    seq_end     INTEGER NOT NULL,
    http_status INTEGER NOT NULL,
    PRIMARY KEY (job_id, seq_start)
) WITHOUT ROWID;
-- Multipart uploads in progress (`uploads.rs`): their parts' bytes live here, not in memory,
-- so an upload survives a restart of `serve`; each write is one transaction (kill -9 safe).
CREATE TABLE IF NOT EXISTS uploads (
    id            TEXT PRIMARY KEY,
    bucket        TEXT NOT NULL,
    key           TEXT NOT NULL,
    storage_class TEXT,
    content_type  TEXT,
    metadata      TEXT NOT NULL,
    headers       TEXT NOT NULL,
    initiated     INTEGER NOT NULL,
    owner_id      TEXT,     -- who initiated it; NULL: the world's own account
    owner_name    TEXT
);
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, initiated);
CREATE INDEX IF NOT EXISTS uploads_by_age ON uploads (initiated);
CREATE TABLE IF NOT EXISTS upload_parts (
    upload_id TEXT NOT NULL,
    number    INTEGER NOT NULL,
    size      INTEGER NOT NULL,
    md5       BLOB NOT NULL,
    uploaded  INTEGER NOT NULL,
    body      BLOB NOT NULL,  -- empty for a range of a seeded object (UploadPartCopy of one)
    pattern_key TEXT,         -- that seeded object's pattern key (NULL: the part is `body`)
    range_start INTEGER,      -- and where the range starts in it (it is `size` bytes long)
    segments  INTEGER,        -- how many files (`body_files`) hold the part; NULL: none
    PRIMARY KEY (upload_id, number)
);
-- Bodies kept as files under the state directory's `bodies/` (`s3.rs`, "Bodies in files"):
-- each file belongs to one object version or one upload part (a copy links the file under a
-- new name), `seq` orders an owner's files, `start`/`len` is the piece of the file it holds.
-- A file leaves with its owner: its name goes to `dead_body_files` and the file is removed
-- once that transaction commits (files no row names are swept when the state is opened).
CREATE TABLE IF NOT EXISTS body_files (
    name        TEXT PRIMARY KEY,
    object_id   INTEGER,
    upload_id   TEXT,
    part_number INTEGER,
    seq         INTEGER NOT NULL,
    start       INTEGER NOT NULL,
    len         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS body_files_of_object ON body_files (object_id, seq)
    WHERE object_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS body_files_of_part ON body_files (upload_id, part_number, seq)
    WHERE upload_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS dead_body_files (
    name TEXT PRIMARY KEY
);
CREATE TRIGGER IF NOT EXISTS body_files_die AFTER DELETE ON body_files BEGIN
    INSERT OR IGNORE INTO dead_body_files (name) VALUES (old.name);
END;
-- What a completed upload answered, so that completing it again answers the same.
CREATE TABLE IF NOT EXISTS completed_uploads (
    id         TEXT PRIMARY KEY,
    bucket     TEXT NOT NULL,
    key        TEXT NOT NULL,
    etag       TEXT NOT NULL,
    version_id TEXT,
    completed  INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS upload_parts_follow AFTER DELETE ON uploads BEGIN
    DELETE FROM upload_parts WHERE upload_id = old.id;
END;
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

/// Schema that names columns of [`ADDED_COLUMNS`]: run once they exist.
const SCHEMA_AFTER_COLUMNS: &str = r#"
CREATE TRIGGER IF NOT EXISTS objects_drop_files AFTER DELETE ON objects
    WHEN old.segments IS NOT NULL BEGIN
    DELETE FROM body_files WHERE object_id = old.id;
END;
CREATE TRIGGER IF NOT EXISTS upload_parts_drop_files AFTER DELETE ON upload_parts
    WHEN old.segments IS NOT NULL BEGIN
    DELETE FROM body_files WHERE upload_id = old.upload_id AND part_number = old.number;
END;
"#;

const WORLD_TABLES: &[&str] = &[
    "buckets",
    "objects",
    "bucket_acls",
    "object_acls",
    "bucket_settings",
    "jobs",
    "tasks",
    "task_blocks",
    "task_runs",
    "restores",
    "restore_events",
    "roles",
    "policies",
    "role_attachments",
    "role_inline",
    "uploads",
    "upload_parts",
    "completed_uploads",
    // Files left without an owner (their names go to `dead_body_files`, removed after commit).
    "body_files",
];

pub(super) fn open(
    path: &Path,
    busy_try: std::time::Duration,
    busy_limit: std::time::Duration,
) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|e| {
        Error::invalid_argument(format!(
            "cannot open simulator state {}: {e}",
            path.display()
        ))
    })?;
    // One try at a lock waits `busy_try` (SQLite's busy handler backs off between polls);
    // the simulator retries whole tries up to `BUSY_LIMIT`, checking for Ctrl-C between them.
    conn.busy_timeout(busy_try)?;
    // Every statement of a request and of a job's tasks stays prepared (the default 16 made
    // the task loop re-prepare its statements on every task).
    conn.set_prepared_statement_cache_capacity(256);
    // 16 MiB of page cache (SQLite's default is 2 MiB): a job's task loop and report reread
    // index pages from the OS far less; memory stays flat in the number of objects.
    conn.pragma_update(None, "cache_size", -16_384)?;
    let started = std::time::Instant::now();
    loop {
        match prepare_schema(&conn) {
            Err(e) if is_busy(&e) && started.elapsed() < busy_limit => continue,
            Err(e) if is_busy(&e) => {
                return Err(Error::state_busy(format!(
                    "the simulator state {} stayed locked by another process for {} s",
                    path.display(),
                    busy_limit.as_secs_f64()
                )));
            }
            other => other?,
        }
        break;
    }
    Ok(conn)
}

/// Whether SQLite refused for a lock another connection holds.
pub(super) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Creates what is missing of the schema and the meta defaults, writing only when something is
/// missing (so opening a state another process is writing to waits for nothing).
fn prepare_schema(conn: &Connection) -> rusqlite::Result<()> {
    // Every table, index and trigger of the schema by name (an older state may have as many
    // objects, some of them dropped since), none of the dropped ones, every meta default.
    let names: Vec<&str> = [SCHEMA, SCHEMA_AFTER_COLUMNS]
        .iter()
        .flat_map(|schema| schema.split("IF NOT EXISTS ").skip(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    let quoted = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ready: bool = conn
        .query_row(
            &format!(
                "SELECT (SELECT COUNT(*) FROM sqlite_master WHERE name IN ({})) = {}
                    AND NOT EXISTS (SELECT 1 FROM sqlite_master WHERE name IN ({}))
                    AND (SELECT COUNT(*) FROM meta WHERE name IN
                         ('account_id', 'region', 'seed', 'clock_offset_ms', 'job_seq',
                          'tasks_in_blocks')) = 6",
                quoted(&names),
                names.len(),
                quoted(&DROPPED)
            ),
            [],
            |r| r.get(0),
        )
        .unwrap_or(false);
    let wal: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    if !wal.eq_ignore_ascii_case("wal") {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A big object passes through the write-ahead log: truncate the log back to 64 MiB after
    // checkpoints instead of keeping it at its largest.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    if ready && missing_columns(conn)?.is_empty() {
        return Ok(());
    }
    let tx = Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    for name in DROPPED {
        tx.execute_batch(&format!(
            "DROP INDEX IF EXISTS {name}; DROP TRIGGER IF EXISTS {name};"
        ))?;
    }
    let exists = |name: &str| -> rusqlite::Result<bool> {
        tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = ?1)",
            [name],
            |r| r.get(0),
        )
    };
    let (restores_missing, events_missing) = (!exists("restores")?, !exists("restore_events")?);
    let restore_columns: bool = tx.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_xinfo('objects') WHERE name = 'restore_done'",
        [],
        |r| r.get(0),
    )?;
    tx.execute_batch(SCHEMA)?;
    if restores_missing && restore_columns {
        // A state from before `restores`: its objects' restore columns.
        tx.execute_batch(
            "INSERT INTO restores (object_id, tier, days, requested, done, expiry)
                 SELECT id, restore_tier, restore_days, COALESCE(restore_requested, 0),
                     restore_done, restore_expiry
                 FROM objects WHERE restore_tier IS NOT NULL AND restore_done IS NOT NULL",
        )?;
    }
    if events_missing || restores_missing {
        // A state from before `restore_events` (or `restores`): count the restores it holds.
        tx.execute_batch(
            "DELETE FROM restore_events;
             INSERT INTO restore_events (at, finishing)
                 SELECT done, COUNT(*) FROM restores GROUP BY done;
             INSERT INTO restore_events (at, expiring)
                 SELECT expiry, COUNT(*) FROM restores WHERE expiry IS NOT NULL GROUP BY expiry
                 ON CONFLICT (at) DO UPDATE SET expiring = excluded.expiring;",
        )?;
    }
    // Columns added after the first release: older state directories gain them here.
    for (table, column, kind) in missing_columns(&tx)? {
        tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
    }
    tx.execute_batch(SCHEMA_AFTER_COLUMNS)?;
    let defaults = [
        ("account_id", DEFAULT_ACCOUNT_ID.to_string()),
        ("region", DEFAULT_REGION.to_string()),
        ("seed", "42".to_string()),
        ("clock_offset_ms", "0".to_string()),
        ("job_seq", "0".to_string()),
    ];
    for (name, value) in defaults {
        tx.execute(
            "INSERT OR IGNORE INTO meta (name, value) VALUES (?1, ?2)",
            params![name, value],
        )?;
    }
    // Every job's tasks in `task_blocks`: a state from an older build has a row per task.
    let in_blocks: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM meta WHERE name = 'tasks_in_blocks')",
        [],
        |r| r.get(0),
    )?;
    if !in_blocks {
        super::control::tasks_into_blocks(&tx)?;
        tx.execute(
            "INSERT INTO meta (name, value) VALUES ('tasks_in_blocks', '1')",
            [],
        )?;
    }
    tx.commit()
}

/// Indexes and triggers of older builds that the schema replaced: dropped when a state is
/// opened. The indexes of restores by instant were replaced by `restore_events`, the trigger by
/// those of `restores`.
const DROPPED: [&str; 4] = [
    "objects_restore_done",
    "objects_restore_due",
    "objects_restore_expiry",
    "objects_restore_deleted",
];

/// Columns added to the schema after the first release: (table, column, type).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("objects", "headers", "TEXT"),
    ("jobs", "generated_manifest", "TEXT"),
    ("objects", "synthetic", "TEXT"),
    ("upload_parts", "pattern_key", "TEXT"),
    ("upload_parts", "range_start", "INTEGER"),
    ("objects", "owner_id", "TEXT"),
    ("objects", "owner_name", "TEXT"),
    ("buckets", "owner_id", "TEXT"),
    ("buckets", "owner_name", "TEXT"),
    ("uploads", "owner_id", "TEXT"),
    ("uploads", "owner_name", "TEXT"),
    ("bucket_acls", "grants", "TEXT"),
    ("object_acls", "grants", "TEXT"),
    ("objects", "segments", "INTEGER"),
    ("upload_parts", "segments", "INTEGER"),
];

/// The added columns a state directory made by an older build lacks.
fn missing_columns(
    conn: &Connection,
) -> rusqlite::Result<Vec<(&'static str, &'static str, &'static str)>> {
    let mut missing = Vec::new();
    for &(table, column, kind) in ADDED_COLUMNS {
        let present: bool = conn.query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_xinfo(?1) WHERE name = ?2",
            [table, column],
            |r| r.get(0),
        )?;
        if !present {
            missing.push((table, column, kind));
        }
    }
    Ok(missing)
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
