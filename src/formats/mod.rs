//! AWS's file formats for S3 Batch Operations: CSV manifests, completion reports and S3 Inventory
//! reports used as manifests.
//!
//! Everything here streams (readers are iterators over rows) because manifests and reports can
//! hold millions of objects.

pub mod inventory;
pub mod keys;
pub mod manifest;
pub mod report;

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read};

/// A malformed manifest, report or inventory file, with the 1-based line where that is known.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatError {
    /// 1-based line (of the record start, for multi-line CSV records), when known.
    pub line: Option<u64>,
    /// What is wrong, for a person to read.
    pub message: String,
}

impl FormatError {
    /// An error tied to a line of the input.
    pub(crate) fn at(line: u64, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            message: message.into(),
        }
    }

    /// An error about the file as a whole (JSON documents, checksums, I/O).
    pub(crate) fn whole(message: impl Into<String>) -> Self {
        Self {
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for FormatError {}

/// Reads CSV records without a header and tells the line where each starts.
///
/// The csv crate skips blank lines without a trace, so the line of its record positions is
/// stale after one; [`LineTracker`] notes where non-blank lines begin to correct that.
pub(crate) struct CsvRows<R: Read> {
    csv: csv::Reader<LineTracker<R>>,
    record: csv::StringRecord,
    done: bool,
    /// Names the kind of file in messages about unreadable input.
    what: &'static str,
}

impl<R: Read> CsvRows<R> {
    /// Reads from `reader`; `what` starts messages about rows the csv crate cannot read.
    pub(crate) fn new(reader: R, what: &'static str) -> Self {
        let tracker = LineTracker {
            inner: reader,
            offset: 0,
            line: 1,
            at_line_start: true,
            starts: VecDeque::new(),
        };
        Self {
            csv: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(tracker),
            record: csv::StringRecord::new(),
            done: false,
            what,
        }
    }

    /// The next record and the 1-based line it starts on; `None` at the end, and after an
    /// error of the CSV or I/O layer, where the stream position can no longer be trusted.
    pub(crate) fn next_record(&mut self) -> Option<Result<(u64, &csv::StringRecord), FormatError>> {
        if self.done {
            return None;
        }
        match self.csv.read_record(&mut self.record) {
            Ok(true) => {
                let line = self.line_of(self.record.position().cloned());
                Some(Ok((line.unwrap_or(0), &self.record)))
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(err) => {
                self.done = true;
                let line = self.line_of(err.position().cloned());
                let message = match err.kind() {
                    csv::ErrorKind::Utf8 { .. } => format!("{}: row is not valid UTF-8", self.what),
                    _ => format!("{}: {err}", self.what),
                };
                Some(Err(FormatError { line, message }))
            }
        }
    }

    fn line_of(&mut self, pos: Option<csv::Position>) -> Option<u64> {
        let pos = pos?;
        Some(
            self.csv
                .get_mut()
                .line_from(pos.byte())
                .unwrap_or(pos.line()),
        )
    }
}

/// Passes bytes through, noting where non-blank lines begin (offset and line number).
struct LineTracker<R> {
    inner: R,
    offset: u64,
    line: u64,
    at_line_start: bool,
    /// Starts of non-blank lines not yet reached by the CSV parser, oldest first.
    starts: VecDeque<(u64, u64)>,
}

impl<R> LineTracker<R> {
    /// The line of the first non-blank line starting at or after `offset`; a record starting
    /// at `offset` (after skipped blank lines) begins there.
    fn line_from(&mut self, offset: u64) -> Option<u64> {
        while self
            .starts
            .front()
            .is_some_and(|&(start, _)| start < offset)
        {
            self.starts.pop_front();
        }
        self.starts.front().map(|&(_, line)| line)
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if self.at_line_start && b != b'\n' && b != b'\r' {
                self.starts.push_back((self.offset, self.line));
            }
            self.at_line_start = b == b'\n';
            self.line += u64::from(b == b'\n');
            self.offset += 1;
        }
        Ok(n)
    }
}

/// Reads a file under `tests/fixtures/` (AWS's own formats, shared with the integration tests).
#[cfg(test)]
pub(crate) fn fixture(path: &str) -> Vec<u8> {
    let full = format!(
        "{}{path}",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/")
    );
    std::fs::read(&full).unwrap_or_else(|e| panic!("reading fixture {full}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::FormatError;

    #[test]
    fn display_names_the_line_when_known() {
        assert_eq!(FormatError::at(7, "bad row").to_string(), "line 7: bad row");
        assert_eq!(FormatError::whole("bad file").to_string(), "bad file");
    }
}
