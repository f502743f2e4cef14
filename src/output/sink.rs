//! Where result bytes go: stdout, or a file written atomically (a temporary file beside it,
//! renamed into place only when every statement succeeded; a failure leaves no file).
//!
//! A symlink is followed, so the file it points to is replaced and the link kept. A path that
//! is not a regular file (a FIFO, a terminal, `/dev/null`) or that names an open descriptor
//! (`/dev/stdout`, `/dev/fd/3`) is written in place, as a shell's `>` would: it cannot be
//! replaced, and nothing is left behind in it to remove.

use std::fs::{File, Permissions};
use std::io::{BufWriter, IsTerminal, Stdout, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// A destination for result bytes.
pub struct Sink {
    target: Target,
    /// Runs once, just before the first byte is written (the REPL erases its progress line).
    before_first_write: Option<Box<dyn FnOnce() + Send>>,
}

enum Target {
    Stdout(BufWriter<Stdout>),
    File {
        temp: BufWriter<NamedTempFile>,
        /// The permissions of the file replaced, which the new one keeps.
        mode: Option<Permissions>,
        /// Where the file goes: `path` with its symlinks followed.
        destination: PathBuf,
        /// The path as given, for messages.
        path: PathBuf,
    },
    /// A regular file appended to, or a FIFO or device written in place.
    Append {
        file: Appended,
        path: PathBuf,
    },
}

/// A file written at its end. When `undo_to` is set (the REPL's `\o FILE`, a regular file), a
/// result dropped without being committed is cut off again at that length, so a failed
/// statement leaves no partial rows in the file.
struct Appended {
    /// `None` only once dropped.
    writer: Option<BufWriter<File>>,
    undo_to: Option<u64>,
}

impl Appended {
    fn writer(&mut self) -> std::io::Result<&mut BufWriter<File>> {
        self.writer
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the output file is closed"))
    }

    /// Flushes, and keeps what was written.
    fn commit(mut self) -> std::io::Result<()> {
        self.undo_to = None;
        self.writer()?.flush()
    }
}

impl Drop for Appended {
    fn drop(&mut self) {
        if let (Some(writer), Some(length)) = (self.writer.take(), self.undo_to) {
            // Unwritten bytes are discarded, not flushed after the cut.
            let (file, _unwritten) = writer.into_parts();
            let _ = file.set_len(length);
        }
    }
}

/// How many symlinks [`destination`] follows before giving up, as Linux's `ELOOP` does.
const MAX_SYMLINKS: usize = 40;

/// Where the kernel's per-process links live (`/dev/stdout` is one: `/proc/self/fd/1`). They
/// name open descriptors (`pipe:[…]`, or a file the shell opened, perhaps for `>>`), so they
/// are written through, never followed by name and replaced.
const DESCRIPTOR_LINKS: &str = "/proc";

/// The path `path` leads to once symlinks are followed, even a dangling one's target (which
/// `-o` then creates); `path` itself when it is no symlink. Following stops at a descriptor
/// link under `/proc`, which is returned as is.
pub fn destination(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        if current.starts_with(DESCRIPTOR_LINKS) {
            return Ok(current);
        }
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current).map_err(|e| Error::io(path, e))?;
                current = match current.parent() {
                    Some(parent) => parent.join(target),
                    None => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(Error::io(
        path,
        std::io::Error::other(format!("more than {MAX_SYMLINKS} symlinks to follow")),
    ))
}

impl Sink {
    /// Standard output.
    pub fn stdout() -> Self {
        Self::new(Target::Stdout(BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        )))
    }

    /// A new file at `path` (at its [`destination`]), which appears only when
    /// [`Sink::commit`] is called; a FIFO, a device or a descriptor link there is written in
    /// place.
    pub fn file(path: &Path) -> Result<Self> {
        let existing = std::fs::metadata(path).ok();
        if existing.as_ref().is_some_and(|meta| meta.is_dir()) {
            return Err(Error::io(
                path,
                std::io::Error::other("is a directory, not a file"),
            ));
        }
        let destination = destination(path)?;
        let is_regular_file = existing.as_ref().is_none_or(|meta| meta.is_file());
        if !is_regular_file || destination.starts_with(DESCRIPTOR_LINKS) {
            // Appending, so a descriptor the shell opened with `>>` keeps what it holds.
            let file = std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(|e| Error::io(path, e))?;
            return Ok(Self::new(Target::Append {
                file: Appended {
                    writer: Some(BufWriter::with_capacity(256 * 1024, file)),
                    undo_to: None,
                },
                path: path.to_path_buf(),
            }));
        }
        let parent = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".salesql-")
            .suffix(".partial")
            .tempfile_in(parent)
            .map_err(|e| Error::io(path, e))?;
        Ok(Self::new(Target::File {
            temp: BufWriter::with_capacity(256 * 1024, temp),
            mode: existing.map(|meta| meta.permissions()),
            destination,
            path: path.to_path_buf(),
        }))
    }

    /// The end of an existing file (created if missing), as the REPL's `\o FILE` wants: each
    /// result is added after the previous ones. A result that is not committed (its statement
    /// failed) is cut off again when the file is a regular one.
    pub fn append(path: &Path) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let metadata = file.metadata().map_err(|e| Error::io(path, e))?;
        Ok(Self::new(Target::Append {
            file: Appended {
                writer: Some(BufWriter::new(file)),
                undo_to: metadata.is_file().then_some(metadata.len()),
            },
            path: path.to_path_buf(),
        }))
    }

    fn new(target: Target) -> Self {
        Self {
            target,
            before_first_write: None,
        }
    }

    /// Runs `hook` once, just before the first byte is written.
    pub fn before_first_write(&mut self, hook: impl FnOnce() + Send + 'static) {
        self.before_first_write = Some(Box::new(hook));
    }

    /// True when the bytes go to a terminal.
    pub fn is_terminal(&self) -> bool {
        matches!(&self.target, Target::Stdout(out) if out.get_ref().is_terminal())
    }

    /// `stdout` or the file's path, for messages.
    pub fn describe(&self) -> String {
        match &self.target {
            Target::Stdout(_) => "stdout".into(),
            Target::File { path, .. } | Target::Append { path, .. } => path.display().to_string(),
        }
    }

    /// Flushes, and moves a file into place. Dropping a sink without committing it removes
    /// the temporary file.
    pub fn commit(self) -> Result<()> {
        match self.target {
            Target::Stdout(mut out) => out.flush().map_err(|e| Error::Output {
                destination: "stdout".into(),
                message: e.to_string(),
            }),
            Target::File {
                temp,
                mode,
                destination,
                path,
            } => {
                let temp = temp
                    .into_inner()
                    .map_err(|e| Error::io(&path, e.into_error()))?;
                temp.as_file().sync_all().map_err(|e| Error::io(&path, e))?;
                if let Some(mode) = mode.or_else(new_file_mode) {
                    temp.as_file()
                        .set_permissions(mode)
                        .map_err(|e| Error::io(&path, e))?;
                }
                temp.persist(&destination)
                    .map_err(|e| Error::io(&path, e.error))?;
                Ok(())
            }
            Target::Append { file, path } => file.commit().map_err(|e| Error::io(&path, e)),
        }
    }
}

/// The usual `rw-r--r--` mode for a new output file, instead of the temporary file's private
/// one (outside Unix, the temporary file's own permissions are already the usual ones).
fn new_file_mode() -> Option<Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(Permissions::from_mode(0o644))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(hook) = self.before_first_write.take() {
            hook();
        }
        match &mut self.target {
            Target::Stdout(out) => out.write(buf),
            Target::File { temp, .. } => temp.write(buf),
            Target::Append { file, .. } => file.writer()?.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.target {
            Target::Stdout(out) => out.flush(),
            Target::File { temp, .. } => temp.flush(),
            Target::Append { file, .. } => file.writer()?.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_on_commit_and_not_at_all_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut sink = Sink::file(&path).unwrap();
        sink.write_all(b"a\n1\n").unwrap();
        assert!(!path.exists());
        sink.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\n1\n");

        let other = dir.path().join("other.csv");
        let mut sink = Sink::file(&other).unwrap();
        sink.write_all(b"partial").unwrap();
        drop(sink);
        assert!(!other.exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "only out.csv remains");
    }

    #[test]
    fn an_appended_result_stays_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        std::fs::write(&path, "before\n").unwrap();
        let mut sink = Sink::append(&path).unwrap();
        sink.write_all(b"kept\n").unwrap();
        sink.commit().unwrap();

        let mut sink = Sink::append(&path).unwrap();
        // More than the buffer holds, so part of it reaches the file before the drop.
        sink.write_all(&vec![b'x'; 100_000]).unwrap();
        drop(sink);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "before\nkept\n");
    }
}
