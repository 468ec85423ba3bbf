//! Private key material in node files: never printed, wiped from memory when dropped, and
//! written to files nobody else can read, from their first byte.

use serde::{Deserialize, Serialize};
use std::{io::Write as _, path::Path};
use zeroize::Zeroize;

/// A secret string (a hex private key or key share). Its `Debug` says `<redacted>`; its bytes
/// are overwritten when it is dropped.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself, to parse it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Writes `text` to `path` readable and writable by its owner only (mode 0600 on Unix) from
/// the start: a temporary file created with that mode in the same directory, synced, then
/// renamed over `path`. No moment exists at which another user could open it.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// Refuses a file holding private keys that its group or others may read or write (as ssh
/// does), naming the file and the fix.
pub fn check_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| format!("cannot read the permissions of {}: {e}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} holds this node's private keys but its group or others may access it (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_private_files_are_private() {
        let secret = Secret::new("deadbeef".into());
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(secret.expose(), "deadbeef");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        write_private(&path, "key = 1\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "key = 1\n");
        assert_eq!(check_private(&path), Ok(()));
        // Rewriting keeps it private; nothing temporary is left behind.
        write_private(&path, "key = 2\n").unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            let err = check_private(&path).unwrap_err();
            assert!(
                err.contains("mode 640") && err.contains("chmod 600"),
                "{err}"
            );
        }
    }
}
