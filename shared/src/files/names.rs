//! The names of a session's files: the fixed object names under a session's id.

use crate::domain::FileFormat;

/// The files a session can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionFile {
    Input(FileFormat),
    Output(FileFormat),
    /// The output's header and failed rows only.
    Failed(FileFormat),
    /// The output's header and skipped rows only.
    Skipped(FileFormat),
    /// The per-row log, one JSON object per line.
    Rows,
}

impl SessionFile {
    pub(super) fn file_name(self) -> String {
        match self {
            Self::Input(f) => format!("input.{}", f.extension()),
            Self::Output(f) => format!("output.{}", f.extension()),
            Self::Failed(f) => format!("failed.{}", f.extension()),
            Self::Skipped(f) => format!("skipped.{}", f.extension()),
            Self::Rows => "rows.jsonl".to_owned(),
        }
    }
}
