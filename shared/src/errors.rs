//! [`ValidationErrors`]: every problem with a configuration, each naming where it is and what
//! would be right.
//!
//! Validation collects all problems instead of stopping at the first, because the user fixes
//! them in one pass (in the app's form or in the JSON file). The API returns the list as JSON.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One problem: where (`scheduled_tasks[2].times[0]`, or `""` for the whole document) and a
/// sentence saying what is wrong and what to write instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// All the problems found, in document order. Never empty when returned as an error.
///
/// Serializes as a JSON array of `{"path": ..., "message": ...}`; displays as one line per
/// problem.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors {
    errors: Vec<ValidationError>,
}

impl ValidationErrors {
    pub(crate) fn new() -> ValidationErrors {
        ValidationErrors::default()
    }

    pub(crate) fn one(path: impl Into<String>, message: impl Into<String>) -> ValidationErrors {
        let mut e = ValidationErrors::new();
        e.push(path, message);
        e
    }

    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ValidationError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// The problems, in document order.
    pub fn errors(&self) -> &[ValidationError] {
        &self.errors
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl IntoIterator for ValidationErrors {
    type Item = ValidationError;
    type IntoIter = std::vec::IntoIter<ValidationError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}
