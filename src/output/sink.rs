//! Where result bytes go: stdout, or a file written atomically (a temporary file beside it,
//! renamed into place only when every statement succeeded; a failure leaves no file).

use std::fs::File;
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
        path: PathBuf,
    },
    Append {
        file: BufWriter<File>,
        path: PathBuf,
    },
}

impl Sink {
    /// Standard output.
    pub fn stdout() -> Self {
        Self::new(Target::Stdout(BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        )))
    }

    /// A new file at `path`, which appears only when [`Sink::commit`] is called.
    pub fn file(path: &Path) -> Result<Self> {
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if path.is_dir() {
            return Err(Error::io(
                path,
                std::io::Error::other("is a directory, not a file"),
            ));
        }
        let temp = tempfile::Builder::new()
            .prefix(".salesql-")
            .suffix(".partial")
            .tempfile_in(parent)
            .map_err(|e| Error::io(path, e))?;
        Ok(Self::new(Target::File {
            temp: BufWriter::with_capacity(256 * 1024, temp),
            path: path.to_path_buf(),
        }))
    }

    /// The end of an existing file (created if missing), as the REPL's `\o FILE` wants: each
    /// result is added after the previous ones.
    pub fn append(path: &Path) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(Self::new(Target::Append {
            file: BufWriter::new(file),
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
            Target::File { temp, path } => {
                let temp = temp
                    .into_inner()
                    .map_err(|e| Error::io(&path, e.into_error()))?;
                temp.as_file().sync_all().map_err(|e| Error::io(&path, e))?;
                set_readable(temp.as_file(), &path)?;
                temp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
                Ok(())
            }
            Target::Append { mut file, path } => file.flush().map_err(|e| Error::io(&path, e)),
        }
    }
}

/// Gives a finished output file the usual `rw-r--r--` mode instead of the temporary file's
/// private one.
#[cfg(unix)]
fn set_readable(file: &File, path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(|e| Error::io(path, e))
}

#[cfg(not(unix))]
fn set_readable(_file: &File, _path: &Path) -> Result<()> {
    Ok(())
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(hook) = self.before_first_write.take() {
            hook();
        }
        match &mut self.target {
            Target::Stdout(out) => out.write(buf),
            Target::File { temp, .. } => temp.write(buf),
            Target::Append { file, .. } => file.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.target {
            Target::Stdout(out) => out.flush(),
            Target::File { temp, .. } => temp.flush(),
            Target::Append { file, .. } => file.flush(),
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
}
