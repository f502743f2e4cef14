//! Atomic replacement of files under a data root. Every new file is first written complete in a
//! hidden staging folder inside the root (same file system, so a rename is atomic); only when
//! all are written are they renamed into place, each replacing its predecessor in one step, and
//! files that must go are removed. A failure before [`Staging::commit`] leaves the root as it was
//! and the staging folder is removed.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Files being prepared for a data root.
pub struct Staging {
    root: PathBuf,
    dir: tempfile::TempDir,
    writes: Vec<PathBuf>,
    removals: Vec<PathBuf>,
}

impl Staging {
    /// Starts staging for `root` (created if missing).
    pub fn new(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        let dir = tempfile::Builder::new()
            .prefix(".salesql-import-")
            .tempdir_in(root)
            .map_err(|e| Error::io(root, e))?;
        Ok(Self {
            root: root.to_path_buf(),
            dir,
            writes: Vec::new(),
            removals: Vec::new(),
        })
    }

    /// Where to write the new version of `relative` (a path under the root); the caller writes
    /// it completely, then it is committed with the rest.
    pub fn file(&mut self, relative: &Path) -> Result<PathBuf> {
        let staged = self.dir.path().join(relative);
        if let Some(parent) = staged.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        self.writes.push(relative.to_path_buf());
        Ok(staged)
    }

    /// Marks `relative` for removal at commit (if it exists then).
    pub fn remove(&mut self, relative: &Path) {
        self.removals.push(relative.to_path_buf());
    }

    /// True when `relative` is staged.
    pub fn is_staged(&self, relative: &Path) -> bool {
        self.writes.iter().any(|w| w == relative)
    }

    /// True when a file under the folder `relative` is staged.
    pub fn stages_under(&self, folder: &str) -> bool {
        self.writes.iter().any(|w| w.starts_with(folder))
    }

    /// Renames every staged file into place, then removes the files marked for removal (and
    /// folders left empty by that).
    pub fn commit(self) -> Result<()> {
        for relative in &self.writes {
            let target = self.root.join(relative);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            let staged = self.dir.path().join(relative);
            // On disk before it replaces anything, so a crash cannot leave an empty file.
            std::fs::File::open(&staged)
                .and_then(|file| file.sync_all())
                .map_err(|e| Error::io(&staged, e))?;
            std::fs::rename(&staged, &target).map_err(|e| Error::io(&target, e))?;
        }
        for relative in &self.removals {
            if self.writes.contains(relative) {
                continue;
            }
            let target = self.root.join(relative);
            match std::fs::remove_file(&target) {
                Ok(()) => remove_empty_parents(&self.root, &target),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&target, e)),
            }
        }
        Ok(())
    }
}

/// Removes the folders above `file` that are left empty, up to `root` (kept).
pub(crate) fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(current) = dir {
        if current == root || std::fs::remove_dir(current).is_err() {
            break;
        }
        dir = current.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_changes_until_commit_and_a_dropped_staging_leaves_no_trace() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("keep.txt"), "old").unwrap();
        {
            let mut staging = Staging::new(root.path()).unwrap();
            std::fs::write(staging.file(Path::new("keep.txt")).unwrap(), "new").unwrap();
        }
        let names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["keep.txt"]);
        assert_eq!(
            std::fs::read_to_string(root.path().join("keep.txt")).unwrap(),
            "old"
        );

        let mut staging = Staging::new(root.path()).unwrap();
        std::fs::write(
            staging.file(Path::new("t/year=1/part-0.parquet")).unwrap(),
            "x",
        )
        .unwrap();
        staging.remove(Path::new("keep.txt"));
        staging.commit().unwrap();
        assert!(!root.path().join("keep.txt").exists());
        assert!(root.path().join("t/year=1/part-0.parquet").exists());
        let names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["t"]);
    }
}
