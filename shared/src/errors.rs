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
///
/// At most [`MAX_LISTED`] problems are listed, then one line says how many more there are: a
/// file with a thousand broken tasks gets an answer of readable size, whose first problems
/// are the ones to fix first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors {
    errors: Vec<ValidationError>,
    /// Problems found past [`MAX_LISTED`], counted in the last line.
    #[serde(skip)]
    unlisted: usize,
}

/// The most problems listed one by one.
pub const MAX_LISTED: usize = 100;
/// The longest path or message kept (a path can hold a key the file made up, a message can
/// quote a value): longer ones are cut, with "…".
const MAX_TEXT: usize = 1000;

fn cut(mut text: String) -> String {
    if text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
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
        if self.errors.len() < MAX_LISTED {
            self.errors.push(ValidationError {
                path: cut(path.into()),
                message: cut(message.into()),
            });
            return;
        }
        self.unlisted += 1;
        let more = ValidationError {
            path: String::new(),
            message: format!(
                "and {} more problem{} not listed; fix the ones above and validate again",
                self.unlisted,
                if self.unlisted == 1 { "" } else { "s" }
            ),
        };
        if self.unlisted == 1 {
            self.errors.push(more);
        } else if let Some(last) = self.errors.last_mut() {
            *last = more;
        }
    }

    /// The problems, in document order.
    pub fn errors(&self) -> &[ValidationError] {
        &self.errors
    }

    /// How many problems were found, listed or not.
    pub fn len(&self) -> usize {
        self.errors.len() - usize::from(self.unlisted > 0) + self.unlisted
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
