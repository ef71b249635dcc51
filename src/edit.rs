//! Edits, fixes and findings: the values transforms produce.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// Replace `range` of the current text with `text`. Byte offsets, never lines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Edit {
    start: usize,
    end: usize,
    text: String,
}

impl Edit {
    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Edit {
            start: at,
            end: at,
            text: text.into(),
        }
    }
    pub fn delete(range: Range<usize>) -> Self {
        Edit {
            start: range.start,
            end: range.end,
            text: String::new(),
        }
    }
    pub fn replace(range: Range<usize>, text: impl Into<String>) -> Self {
        Edit {
            start: range.start,
            end: range.end,
            text: text.into(),
        }
    }
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
    pub fn text(&self) -> &str {
        &self.text
    }
    /// The edit that undoes this one once applied to `before`, given the
    /// offset shift of the edits applied before it.
    pub fn inverse(&self, before: &str, shift: isize) -> Edit {
        let start = (self.start as isize + shift) as usize;
        Edit {
            start,
            end: start + self.text.len(),
            text: before[self.range()].to_string(),
        }
    }
}

/// How much a fix may be trusted to keep what the image does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Safety {
    /// Changes how the image is built or run: needs a human (`--unsafe-fixes`).
    Unsafe,
    /// Keeps what the image does; applied by `fix`.
    Safe,
}

impl fmt::Display for Safety {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Safety::Safe => "safe",
            Safety::Unsafe => "unsafe",
        })
    }
}

/// Edits to a file other than the Dockerfile (a compose file, a CI
/// workflow, a script, `.dockerignore`), against its text as the transform
/// read it through [`crate::transform::Context::read_text`]: the same byte
/// ranges and the same rules as the Dockerfile's edits. An insert into a file
/// that does not exist creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdits {
    /// Relative to the build context, or absolute.
    pub path: PathBuf,
    pub edits: Vec<Edit>,
}

/// Edits that apply together or not at all: the Dockerfile's, and those of
/// the other files the same change needs (a build secret also changes the
/// compose file that passed the build argument).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub edits: Vec<Edit>,
    pub safety: Safety,
    /// Edits to other files, one entry per file. Empty for almost every fix,
    /// and then free: an empty `Vec` allocates nothing.
    pub files: Vec<FileEdits>,
}

impl Fix {
    pub fn new(safety: Safety, mut edits: Vec<Edit>) -> Self {
        sort_checked(&mut edits);
        Fix {
            edits,
            safety,
            files: Vec::new(),
        }
    }
    /// The same fix, also editing the file at `path` (relative to the build
    /// context, or absolute); a second call for one path adds to its edits.
    pub fn with_file(mut self, path: impl Into<PathBuf>, edits: Vec<Edit>) -> Self {
        let path = path.into();
        match self.files.iter_mut().find(|f| f.path == path) {
            Some(f) => f.edits.extend(edits),
            None => self.files.push(FileEdits { path, edits }),
        }
        for f in &mut self.files {
            sort_checked(&mut f.edits);
        }
        self
    }
    pub fn safe(edits: Vec<Edit>) -> Self {
        Self::new(Safety::Safe, edits)
    }
    pub fn unsafe_(edits: Vec<Edit>) -> Self {
        Self::new(Safety::Unsafe, edits)
    }
    /// The covered span, from the first edit's start to the last edit's end.
    pub fn span(&self) -> Range<usize> {
        let start = self.edits.first().map_or(0, |e| e.start);
        let end = self.edits.iter().map(|e| e.end).max().unwrap_or(start);
        start..end
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A change made, or one that could be made.
    Info,
    /// Something to look at; dockwright did not or could not fix it.
    Warning,
    /// Something already wrong (a leaked secret).
    Error,
}

/// Sorts edits into their total order; overlapping edits in one fix are a
/// bug in the transform that made them.
fn sort_checked(edits: &mut [Edit]) {
    edits.sort();
    debug_assert!(
        edits.windows(2).all(|w| w[0].end <= w[1].start),
        "overlapping edits in one fix: {edits:?}"
    );
}

/// What a transform found at one place, with the fix when it has one.
#[derive(Debug, Clone)]
pub struct Finding {
    pub transform: &'static str,
    /// Byte offset in the text the transform saw.
    pub offset: usize,
    pub message: String,
    pub level: Level,
    pub fix: Option<Fix>,
}

impl Finding {
    pub fn fix(
        transform: &'static str,
        offset: usize,
        message: impl Into<String>,
        fix: Fix,
    ) -> Self {
        Finding {
            transform,
            offset,
            message: message.into(),
            level: Level::Info,
            fix: Some(fix),
        }
    }
    /// A note without a fix: a skipped rewrite and why, or a warning.
    pub fn note(
        transform: &'static str,
        offset: usize,
        level: Level,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            transform,
            offset,
            message: message.into(),
            level,
            fix: None,
        }
    }
    pub fn with_level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }
}

/// Applies sorted, non-overlapping edits to `text`.
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut pos = 0;
    for e in edits {
        debug_assert!(e.start >= pos, "edits overlap or are unsorted");
        out.push_str(&text[pos..e.start]);
        out.push_str(&e.text);
        pos = e.end;
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_and_invert() {
        let text = "FROM a\nRUN b\n";
        let edits = vec![Edit::insert(0, "# syntax=x\n"), Edit::replace(11..12, "c")];
        let after = apply_edits(text, &edits);
        assert_eq!(after, "# syntax=x\nFROM a\nRUN c\n");
        let mut shift = 0isize;
        let inverses: Vec<Edit> = edits
            .iter()
            .map(|e| {
                let inv = e.inverse(text, shift);
                shift += e.text().len() as isize - e.range().len() as isize;
                inv
            })
            .collect();
        assert_eq!(apply_edits(&after, &inverses), text);
    }

    #[test]
    fn safety_orders_unsafe_below_safe() {
        assert!(Safety::Unsafe < Safety::Safe);
    }

    #[test]
    #[should_panic(expected = "overlapping")]
    #[cfg(debug_assertions)]
    fn overlapping_edits_in_one_fix_are_a_bug() {
        Fix::safe(vec![Edit::replace(0..5, "a"), Edit::replace(3..8, "b")]);
    }

    #[test]
    #[should_panic(expected = "overlapping")]
    #[cfg(debug_assertions)]
    fn overlapping_edits_to_another_file_are_a_bug_too() {
        Fix::safe(Vec::new())
            .with_file("compose.yaml", vec![Edit::replace(0..5, "a")])
            .with_file("compose.yaml", vec![Edit::replace(3..8, "b")]);
    }

    #[test]
    fn edits_to_one_other_file_gather_in_order() {
        let fix = Fix::safe(vec![Edit::insert(0, "x")])
            .with_file("a.yaml", vec![Edit::insert(9, "b")])
            .with_file(".dockerignore", vec![Edit::insert(0, ".git\n")])
            .with_file("a.yaml", vec![Edit::insert(1, "a")]);
        assert_eq!(fix.files.len(), 2);
        assert_eq!(
            fix.files[0].edits,
            vec![Edit::insert(1, "a"), Edit::insert(9, "b")]
        );
    }
}
