//! Where each object of a manifest stands: restored, being restored, archived and not asked for,
//! not archived, missing.

use crate::backend::{Backend, ObjectHead, ObjectRef};
use crate::errors::Result;
use crate::ops::Progress;
use crate::ops::manifest::Manifest;

/// Objects asked about per round trip of the backend.
const CHUNK: usize = 1_000;

/// Where one object stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectState {
    Restored,
    InProgress,
    NotRequested,
    NotArchived,
    Missing,
    Unknown,
}

/// The state a HEAD answer (or its error) shows.
pub fn state_of(head: &Result<ObjectHead>) -> ObjectState {
    let h = match head {
        Ok(h) => h,
        Err(e) if is_missing_code(&e.code) => return ObjectState::Missing,
        Err(_) => return ObjectState::Unknown,
    };
    let archived = h.storage_class.is_archive() || h.archive_status.is_some();
    match (&h.restore, archived) {
        (Some(r), _) if r.ongoing => ObjectState::InProgress,
        (Some(_), _) => ObjectState::Restored,
        (None, true) => ObjectState::NotRequested,
        (None, false) => ObjectState::NotArchived,
    }
}

/// The error codes that mean "this object is not there".
pub fn is_missing_code(code: &str) -> bool {
    matches!(
        code,
        "NoSuchKey" | "NoSuchVersion" | "NoSuchBucket" | "NotFound"
    )
}

/// Row `i` of `m` as an object reference.
pub fn object_ref(m: &Manifest, i: usize) -> ObjectRef {
    let row = m.row(i);
    ObjectRef {
        bucket: row.bucket.to_string(),
        key: row.key.to_string(),
        version_id: row.version_id.map(str::to_string),
    }
}

/// The state of the objects at `indices` of `m`, asked in chunks of `concurrency` requests at
/// once; `progress` counts the objects checked.
pub fn states(
    backend: &dyn Backend,
    m: &Manifest,
    indices: &[usize],
    concurrency: usize,
    progress: &mut dyn Progress,
) -> Vec<ObjectState> {
    let mut out = Vec::with_capacity(indices.len());
    for chunk in indices.chunks(CHUNK) {
        let refs: Vec<ObjectRef> = chunk.iter().map(|&i| object_ref(m, i)).collect();
        out.extend(
            backend
                .head_objects(&refs, concurrency)
                .iter()
                .map(state_of),
        );
        progress.set(out.len() as u64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::Simulator;
    use crate::backend::{PutObject, RestoreRequest, StorageClass, Tier};

    struct Seen(Vec<u64>);

    impl Progress for Seen {
        fn set(&mut self, done: u64) {
            self.0.push(done);
        }
    }

    #[test]
    fn states_of_a_manifest_with_progress() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let sim = Simulator::open(dir.path()).expect("a simulator");
        sim.create_bucket("cold-bucket", None).expect("a bucket");
        let put = |key: &str, class: StorageClass| {
            sim.put_object(PutObject {
                bucket: "cold-bucket".into(),
                key: key.into(),
                body: b"x".to_vec(),
                storage_class: Some(class),
                ..PutObject::default()
            })
            .expect("an object");
        };
        put("cold", StorageClass::Glacier);
        put("asked", StorageClass::Glacier);
        put("warm", StorageClass::Standard);
        let request = RestoreRequest {
            days: Some(1),
            tier: Tier::Bulk,
        };
        sim.restore_object("cold-bucket", "asked", None, request)
            .expect("a restore");
        let mut m = Manifest::default();
        for key in ["cold", "asked", "warm", "gone"] {
            m.push("cold-bucket", key, None).expect("a row");
        }
        let mut seen = Seen(Vec::new());
        let states = states(&sim, &m, &[0, 1, 2, 3], 4, &mut seen);
        assert_eq!(
            states,
            [
                ObjectState::NotRequested,
                ObjectState::InProgress,
                ObjectState::NotArchived,
                ObjectState::Missing
            ]
        );
        assert_eq!(seen.0, [4]);
    }
}
