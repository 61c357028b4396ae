//! Writing output files: all or nothing, and never over something that is not a regular file.
//!
//! - A regular file (or a path that does not exist yet) is written through a temporary file
//!   beside it, created exclusively (`O_EXCL`) under an unpredictable name, synced, and renamed
//!   over the target only when every file of the batch is written: nothing lands unless
//!   everything does, and an interrupted run leaves the old file as it was.
//! - A symbolic link is followed first: the temporary file goes beside the file it points to,
//!   and the link stays a link.
//! - A device, a FIFO or a socket (`/dev/null`, `/dev/stdout`, a named pipe) is written
//!   directly: renaming over it would replace the device node.
//! - A directory is an error.

use crate::error::{Error, ErrorKind, Result};
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a path leads once symbolic links are followed, and what is there.
enum Target {
    /// A regular file, or nothing yet: written through a temporary file and a rename.
    File(PathBuf),
    /// A device, FIFO or socket: written directly.
    Special(PathBuf),
}

fn io_error(path: &Path, e: &std::io::Error) -> Error {
    Error::io(e, &path.display().to_string())
}

/// Follows symbolic links (at most 40, as the kernel does) to the path that is written.
fn resolve(path: &Path) -> Result<Target> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::File(p)),
            Err(e) => return Err(io_error(&p, &e)),
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&p).map_err(|e| io_error(&p, &e))?;
                p = match p.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(m) if m.is_dir() => {
                return Err(Error::new(ErrorKind::Io, "is a directory, not a file")
                    .with_path(p.display().to_string()));
            }
            Ok(m) if m.is_file() => return Ok(Target::File(p)),
            Ok(_) => return Ok(Target::Special(p)),
        }
    }
    Err(
        Error::new(ErrorKind::Io, "too many levels of symbolic links")
            .with_path(path.display().to_string()),
    )
}

/// A name no other process can guess: 64 bits from the process's randomly keyed hasher.
fn unpredictable(n: usize) -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(n);
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!("{:016x}", h.finish())
}

/// Creates a temporary file beside `target`, exclusively, and writes `data` to it.
fn write_temp(target: &Path, data: &[u8], n: usize) -> Result<PathBuf> {
    let (mut file, tmp) = create_temp(target, n)?;
    let res = file.write_all(data).and_then(|()| file.sync_all());
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(target, &e));
    }
    Ok(tmp)
}

/// Creates a temporary file beside `target`, exclusively, under an unpredictable name, with the
/// permissions of the file it will replace.
fn create_temp(target: &Path, n: usize) -> Result<(std::fs::File, PathBuf)> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_owned());
    for attempt in 0..16 {
        let tmp = dir.join(format!(".{name}.{}.tmp", unpredictable(n * 16 + attempt)));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp);
        let file = match file {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_error(target, &e)),
        };
        // The file being replaced keeps its permissions.
        if let Ok(m) = std::fs::metadata(target) {
            let _ = file.set_permissions(m.permissions());
        }
        return Ok((file, tmp));
    }
    Err(
        Error::new(ErrorKind::Io, "could not create a temporary file")
            .with_path(target.display().to_string()),
    )
}

/// Writes every file of `files`, or none of them (see the module docs).
///
/// ```
/// let dir = std::env::temp_dir().join(format!("leastpriv-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("policy.json");
/// leastpriv::write_files(&[(path.clone(), b"{}\n".to_vec())]).unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"{}\n");
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn write_files(files: &[(PathBuf, Vec<u8>)]) -> Result<()> {
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut direct: Vec<(PathBuf, &[u8])> = Vec::new();
    let cleanup = |temps: &[(PathBuf, PathBuf)]| {
        for (t, _) in temps {
            let _ = std::fs::remove_file(t);
        }
    };
    for (i, (path, data)) in files.iter().enumerate() {
        let target = match resolve(path) {
            Ok(t) => t,
            Err(e) => {
                cleanup(&temps);
                return Err(e);
            }
        };
        match target {
            Target::File(real) => match write_temp(&real, data, i) {
                Ok(tmp) => temps.push((tmp, real)),
                Err(e) => {
                    cleanup(&temps);
                    return Err(e);
                }
            },
            Target::Special(real) => direct.push((real, data)),
        }
    }
    for (path, data) in direct {
        let res = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| f.write_all(data).and_then(|()| f.flush()));
        if let Err(e) = res {
            cleanup(&temps);
            return Err(io_error(&path, &e));
        }
    }
    for (tmp, real) in &temps {
        if let Err(e) = std::fs::rename(tmp, real) {
            cleanup(&temps);
            return Err(io_error(real, &e));
        }
    }
    Ok(())
}

/// A file written as its data comes and landing whole at the end, by the rules of the module
/// docs: through a temporary file beside a regular target, renamed over it by
/// [`StreamedFile::finish`] (dropped unfinished, the temporary file is removed and the target
/// left as it was); a device or FIFO is written directly.
///
/// ```
/// use std::io::Write;
/// let dir = std::env::temp_dir().join(format!("leastpriv-doc-stream-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("calls.jsonl");
/// let mut f = leastpriv::StreamedFile::create(&path).unwrap();
/// writeln!(f, "{{}}").unwrap();
/// assert!(!path.exists());
/// f.finish().unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug)]
pub struct StreamedFile {
    file: Option<std::io::BufWriter<std::fs::File>>,
    /// The temporary file and the target it replaces (none for a device or FIFO).
    rename: Option<(PathBuf, PathBuf)>,
}

impl StreamedFile {
    /// Starts writing `path`.
    pub fn create(path: &Path) -> Result<StreamedFile> {
        match resolve(path)? {
            Target::File(real) => {
                let (file, tmp) = create_temp(&real, 0)?;
                Ok(StreamedFile {
                    file: Some(std::io::BufWriter::new(file)),
                    rename: Some((tmp, real)),
                })
            }
            Target::Special(real) => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&real)
                    .map_err(|e| io_error(&real, &e))?;
                Ok(StreamedFile {
                    file: Some(std::io::BufWriter::new(file)),
                    rename: None,
                })
            }
        }
    }

    /// Flushes, syncs and puts the file in place.
    pub fn finish(mut self) -> Result<()> {
        let Some(mut w) = self.file.take() else {
            return Ok(());
        };
        let target = self.rename.as_ref().map(|(_, t)| t.clone());
        let place = |e: std::io::Error| match &target {
            Some(t) => io_error(t, &e),
            None => Error::io(&e, ""),
        };
        w.flush().map_err(place)?;
        if let Some((tmp, real)) = self.rename.take() {
            w.get_ref().sync_all().map_err(place)?;
            drop(w);
            if let Err(e) = std::fs::rename(&tmp, &real) {
                let _ = std::fs::remove_file(&tmp);
                return Err(io_error(&real, &e));
            }
        }
        Ok(())
    }
}

impl Write for StreamedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("finished")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for StreamedFile {
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.rename.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("leastpriv-out-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn regular_files_are_replaced_whole_and_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt;
        let d = scratch("regular");
        let p = d.join("p.json");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_files(&[(p.clone(), b"new".to_vec())]).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        // Nothing else is left in the directory.
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_symlink_is_written_through_and_stays_a_link() {
        let d = scratch("link");
        std::fs::create_dir_all(d.join("real")).unwrap();
        let real = d.join("real/p.json");
        std::fs::write(&real, "old").unwrap();
        let link = d.join("p.json");
        std::os::unix::fs::symlink("real/p.json", &link).unwrap();
        write_files(&[(link.clone(), b"new".to_vec())]).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_device_is_written_directly_never_replaced() {
        let before = std::fs::metadata("/dev/null").unwrap();
        write_files(&[(PathBuf::from("/dev/null"), b"x".to_vec())]).unwrap();
        let after = std::fs::metadata("/dev/null").unwrap();
        assert!(!after.is_file(), "/dev/null is still a device");
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&before),
            std::os::unix::fs::MetadataExt::ino(&after)
        );
    }

    #[test]
    fn a_streamed_file_lands_whole_or_not_at_all() {
        let d = scratch("stream");
        let p = d.join("calls.jsonl");
        std::fs::write(&p, "old").unwrap();
        let mut f = StreamedFile::create(&p).unwrap();
        f.write_all(b"new").unwrap();
        drop(f);
        // Dropped unfinished: the old file stays, no temporary file is left.
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        let mut f = StreamedFile::create(&p).unwrap();
        f.write_all(b"new").unwrap();
        f.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        // A device is written directly.
        let mut f = StreamedFile::create(Path::new("/dev/null")).unwrap();
        f.write_all(b"x").unwrap();
        f.finish().unwrap();
        assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_failure_writes_nothing() {
        let d = scratch("fail");
        let ok = d.join("a.json");
        let bad = d.join("missing-dir/b.json");
        let err = write_files(&[(ok.clone(), b"a".to_vec()), (bad, b"b".to_vec())]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(!ok.exists());
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
        let err = write_files(&[(d.clone(), b"x".to_vec())]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
