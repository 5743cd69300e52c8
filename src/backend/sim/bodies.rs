//! Bodies in files: object and part bodies past what SQLite keeps well (every body `serve`
//! receives, and any other over [`INLINE_LIMIT`]) live as files under the state directory's
//! `bodies/`, named by a fresh UUID, never modified once written. Table `body_files` says
//! which object version or upload part each file belongs to, in which order, and which bytes
//! of it (`start`, `len`): a part copied from a range of an object is a hard link to the
//! source's file with its own range, so no copy of a body ever reads it into memory, and
//! neither does Complete (the parts' files change owner and become the object's, in order).
//!
//! Crash safety: a file is created (or linked) inside the transaction that names it, while
//! that transaction holds the state's write lock; it is removed when the transaction fails
//! (the names it made are kept per thread, see [`begin`]) or, after a kill, by the sweep when
//! the state is next opened ([`sweep`], under the write lock, so it never sees a file of a
//! transaction still running). A file whose owner goes (delete, overwrite, expiry, abort,
//! reset) has its name moved to `dead_body_files` by a trigger, in the same transaction, and
//! is removed once it commits; a kill between the two leaves the name for the sweep. So no
//! file is removed while a committed row names it, and none is left behind for good.

use std::cell::RefCell;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, params};

use crate::errors::{Error, Result};

/// Bodies held in memory (scripts' `s3::put_object`, small parts) up to this size stay in
/// SQLite; larger ones are written to a file.
pub(super) const INLINE_LIMIT: u64 = 16 * 1024 * 1024;

/// The directory of body files, under the state directory.
pub(super) const DIR: &str = "bodies";

/// One file holding a piece of a body: the bytes `start..start + len` of `bodies/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub name: String,
    pub start: u64,
    pub len: u64,
}

/// The body files directory of the state `conn` is open on.
pub(super) fn dir_of(conn: &Connection) -> Result<PathBuf> {
    let db = conn
        .path()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| Error::internal("the simulator state has no directory"))?;
    Ok(Path::new(db)
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(DIR))
}

thread_local! {
    /// Files made by the transaction this thread runs, removed if it does not commit.
    static CREATED: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

/// A transaction starts on this thread.
pub(super) fn begin() {
    CREATED.with(|c| c.borrow_mut().clear());
}

/// The transaction was rolled back: the files it made go.
pub(super) fn rolled_back() {
    for path in CREATED.with(|c| std::mem::take(&mut *c.borrow_mut())) {
        let _ = std::fs::remove_file(path);
    }
}

/// The transaction committed: its files stay.
pub(super) fn committed() {
    begin();
}

/// The files whose owners the transaction removed (their rows are cleared in it): remove
/// them with [`remove`] once it commits.
pub(super) fn take_dead(conn: &Connection) -> Result<Vec<String>> {
    let names = conn
        .prepare_cached("SELECT name FROM dead_body_files")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    if !names.is_empty() {
        conn.prepare_cached("DELETE FROM dead_body_files")?
            .execute([])?;
    }
    Ok(names)
}

/// Removes the files `names` from `dir` (a missing one is already gone).
pub(super) fn remove(dir: &Path, names: &[String]) {
    for name in names {
        let _ = std::fs::remove_file(dir.join(name));
    }
}

fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::internal(format!("cannot {what} a body file: {e}"))
}

/// A fresh path for a new body file (its directory made), recorded as the transaction's.
fn new_path(conn: &Connection) -> Result<(String, PathBuf)> {
    let dir = dir_of(conn)?;
    std::fs::create_dir_all(&dir).map_err(|e| io_error("make the directory of", e))?;
    let name = uuid::Uuid::new_v4().simple().to_string();
    let path = dir.join(&name);
    CREATED.with(|c| c.borrow_mut().push(path.clone()));
    Ok((name, path))
}

/// The file at `from` (a staged body, or another body file) under a new name: a hard link,
/// or a copy where the file system refuses one (another device). Bodies are never modified,
/// so both names may share the bytes.
pub(super) fn link(conn: &Connection, from: &Path) -> Result<String> {
    let (name, path) = new_path(conn)?;
    if std::fs::hard_link(from, &path).is_err() {
        std::fs::copy(from, &path).map_err(|e| io_error("copy", e))?;
    }
    Ok(name)
}

/// A new body file of the next `len` bytes of `from`, written through a 1 MiB buffer.
pub(super) fn write_new(conn: &Connection, from: &mut dyn Read, len: u64) -> Result<StoredFile> {
    let (name, path) = new_path(conn)?;
    let file = std::fs::File::create(&path).map_err(|e| io_error("create", e))?;
    let mut out = std::io::BufWriter::with_capacity(1024 * 1024, file);
    super::uploads::copy(from, &mut out, len)?;
    let file = out
        .into_inner()
        .map_err(|e| io_error("write", e.into_error()))?;
    file.sync_data().map_err(|e| io_error("write", e))?;
    Ok(StoredFile {
        name,
        start: 0,
        len,
    })
}

/// The bytes `range` of the body held by `files`, as new files (links to the same bytes,
/// each with its piece).
pub(super) fn link_range(
    conn: &Connection,
    files: &[StoredFile],
    range: std::ops::Range<u64>,
) -> Result<Vec<StoredFile>> {
    let dir = dir_of(conn)?;
    let mut out = Vec::new();
    let mut at = 0u64;
    for file in files {
        let (from, to) = (at, at + file.len);
        at = to;
        let (lo, hi) = (range.start.max(from), range.end.min(to));
        if lo >= hi {
            continue;
        }
        out.push(StoredFile {
            name: link(conn, &dir.join(&file.name))?,
            start: file.start + (lo - from),
            len: hi - lo,
        });
    }
    Ok(out)
}

fn files_of(rows: &mut rusqlite::Rows) -> Result<Vec<StoredFile>> {
    let mut files = Vec::new();
    while let Some(r) = rows.next()? {
        files.push(StoredFile {
            name: r.get(0)?,
            start: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            len: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
        });
    }
    Ok(files)
}

/// The files of object row `id`, in order.
pub(super) fn of_object(conn: &Connection, id: i64) -> Result<Vec<StoredFile>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, start, len FROM body_files WHERE object_id = ?1 ORDER BY seq",
    )?;
    files_of(&mut stmt.query([id])?)
}

/// The files of part `number` of upload `upload_id`, in order.
pub(super) fn of_part(conn: &Connection, upload_id: &str, number: u32) -> Result<Vec<StoredFile>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, start, len FROM body_files
         WHERE upload_id = ?1 AND part_number = ?2 ORDER BY seq",
    )?;
    files_of(&mut stmt.query(params![upload_id, number])?)
}

/// Makes `files` (new, or a part's) the body of object row `id`, in order.
pub(super) fn attach_to_object(conn: &Connection, id: i64, files: &[StoredFile]) -> Result<()> {
    attach(conn, Some(id), None, files)
}

/// Makes `files` (new) the body of part `number` of upload `upload_id`, in order.
pub(super) fn attach_to_part(
    conn: &Connection,
    upload_id: &str,
    number: u32,
    files: &[StoredFile],
) -> Result<()> {
    attach(conn, None, Some((upload_id, number)), files)
}

fn attach(
    conn: &Connection,
    object: Option<i64>,
    part: Option<(&str, u32)>,
    files: &[StoredFile],
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO body_files (name, object_id, upload_id, part_number, seq, start, len)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (name) DO UPDATE SET object_id = excluded.object_id,
             upload_id = excluded.upload_id, part_number = excluded.part_number,
             seq = excluded.seq, start = excluded.start, len = excluded.len",
    )?;
    for (seq, file) in files.iter().enumerate() {
        stmt.execute(params![
            file.name,
            object,
            part.map(|p| p.0),
            part.map(|p| p.1),
            seq as i64,
            file.start as i64,
            file.len as i64,
        ])?;
    }
    Ok(())
}

/// The body a row's files hold was removed while being read (the row was deleted or
/// replaced since it was opened).
fn gone() -> Error {
    Error::new(
        "InternalError",
        "the object was replaced or deleted while it was being read",
    )
    .status(500)
}

fn open(dir: &Path, name: &str) -> Result<std::fs::File> {
    std::fs::File::open(dir.join(name)).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => gone(),
        _ => io_error("read", e),
    })
}

/// Reads bytes of the body held by `files` (in `dir`) from `offset` into `buf`: 0 at its end.
pub(super) fn read_at(
    dir: &Path,
    files: &[StoredFile],
    offset: u64,
    buf: &mut [u8],
) -> Result<usize> {
    let mut at = 0u64;
    for file in files {
        if offset < at + file.len {
            let within = offset - at;
            let want = (file.len - within).min(buf.len() as u64) as usize;
            let n = open(dir, &file.name)?
                .read_at(&mut buf[..want], file.start + within)
                .map_err(|e| io_error("read", e))?;
            if n == 0 && want > 0 {
                return Err(Error::internal(format!(
                    "the body file {} is shorter than its row says",
                    file.name
                )));
            }
            return Ok(n);
        }
        at += file.len;
    }
    Ok(0)
}

/// The bytes `range` of the body held by `files`, read in order, each file kept open while
/// it is read (a body deleted meanwhile is still read whole).
pub(crate) struct FilesReader {
    dir: PathBuf,
    files: Arc<Vec<StoredFile>>,
    pos: u64,
    end: u64,
    open: Option<(usize, std::fs::File)>,
}

impl FilesReader {
    pub(super) fn new(
        dir: PathBuf,
        files: Arc<Vec<StoredFile>>,
        range: std::ops::Range<u64>,
    ) -> FilesReader {
        FilesReader {
            dir,
            files,
            pos: range.start,
            end: range.end,
            open: None,
        }
    }
}

impl Read for FilesReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.end || buf.is_empty() {
            return Ok(0);
        }
        let mut at = 0u64;
        for (i, file) in self.files.iter().enumerate() {
            if self.pos < at + file.len {
                let within = self.pos - at;
                let want = (file.len - within)
                    .min(self.end - self.pos)
                    .min(buf.len() as u64) as usize;
                if self.open.as_ref().is_none_or(|(j, _)| *j != i) {
                    let f = open(&self.dir, &file.name).map_err(std::io::Error::other)?;
                    self.open = Some((i, f));
                }
                let Some((_, f)) = &self.open else {
                    return Ok(0);
                };
                let n = f.read_at(&mut buf[..want], file.start + within)?;
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "a body file is shorter than its row says",
                    ));
                }
                self.pos += n as u64;
                return Ok(n);
            }
            at += file.len;
        }
        Ok(0)
    }
}

/// Removes body files no row names (left by a kill between a file's creation and its
/// transaction's commit, or between a commit and the removal of the files it dropped), under
/// the write lock so that no transaction in progress owns them. Skipped when another process
/// holds the state.
pub(super) fn sweep(conn: &Connection) -> Result<usize> {
    let dir = dir_of(conn)?;
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(0);
    };
    let entries: Vec<std::fs::DirEntry> = entries.flatten().collect();
    if entries.is_empty() {
        return Ok(0);
    }
    let tx = match rusqlite::Transaction::new_unchecked(
        conn,
        rusqlite::TransactionBehavior::Immediate,
    ) {
        Ok(tx) => tx,
        Err(e) if super::store::is_busy(&e) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut removed = 0;
    {
        let mut named = tx.prepare("SELECT COUNT(*) > 0 FROM body_files WHERE name = ?1")?;
        for entry in entries {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !named.query_row([name], |r| r.get::<_, bool>(0))? {
                let _ = std::fs::remove_file(entry.path());
                removed += 1;
            }
        }
    }
    tx.execute("DELETE FROM dead_body_files", [])?;
    tx.commit()?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::Simulator;
    use crate::backend::{Backend, BodyFile, PutObject};

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(DIR))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Whatever a kill interrupts, no file is lost while a row names it and none stays for
    /// good: a file a transaction made before it failed goes at once; a file no row names (a
    /// kill between its creation and the commit) and one whose row went (a kill between the
    /// commit and its removal) go when the state is next opened; a named one stays.
    #[test]
    fn files_follow_their_rows_through_failures_and_kills() {
        let dir = tempfile::tempdir().unwrap();
        let sim = Simulator::open(dir.path())
            .unwrap()
            .without_client_retries();
        sim.create_bucket("bkt", None).unwrap();
        let body = vec![5u8; (INLINE_LIMIT + 1) as usize];
        sim.put_object(PutObject {
            bucket: "bkt".into(),
            key: "kept".into(),
            body: body.clone(),
            ..PutObject::default()
        })
        .unwrap();
        let kept = names(dir.path());
        assert_eq!(kept.len(), 1, "a body over the inline limit is a file");

        // A PUT refused after its file was linked (no such bucket) leaves no file.
        let staged = dir.path().join("staged");
        std::fs::write(&staged, b"staged bytes").unwrap();
        let refused = sim
            .put_object_file(
                PutObject {
                    bucket: "nope".into(),
                    key: "k".into(),
                    ..PutObject::default()
                },
                &BodyFile {
                    path: staged.clone(),
                    len: 12,
                    md5: [0; 16],
                },
            )
            .unwrap_err();
        assert_eq!(refused.code, "NoSuchBucket");
        assert_eq!(names(dir.path()), kept);

        // What kills leave: a file no row names, and one whose row went in a commit that was
        // not followed by its removal.
        let bodies = dir.path().join(DIR);
        let orphan = "0123456789abcdef0123456789abcdef";
        std::fs::write(bodies.join(orphan), b"orphan").unwrap();
        sim.put_object(PutObject {
            bucket: "bkt".into(),
            key: "gone".into(),
            body: body.clone(),
            ..PutObject::default()
        })
        .unwrap();
        let gone: Vec<String> = names(dir.path())
            .into_iter()
            .filter(|n| !kept.contains(n) && n != orphan)
            .collect();
        assert_eq!(gone.len(), 1);
        let saved = std::fs::read(bodies.join(&gone[0])).unwrap();
        sim.delete_object("bkt", "gone", None).unwrap();
        std::fs::write(bodies.join(&gone[0]), saved).unwrap();
        assert_eq!(names(dir.path()).len(), 3);
        drop(sim);

        let sim = Simulator::open(dir.path()).unwrap();
        assert_eq!(names(dir.path()), kept);
        assert_eq!(sim.get_object("bkt", "kept", None).unwrap(), body);
        // Reset empties the world and its files.
        sim.reset().unwrap();
        assert!(names(dir.path()).is_empty());
    }
}
