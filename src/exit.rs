//! The process exit status, shared by every command.

/// Nothing to change, no findings.
pub const EXIT_CLEAN: u8 = 0;
/// Changes found (or made), or findings.
pub const EXIT_CHANGES: u8 = 1;
/// An error: bad input, bad usage, a file that could not be read or written.
pub const EXIT_ERROR: u8 = 2;
