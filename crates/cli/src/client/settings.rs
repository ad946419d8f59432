//! Where the command-line client keeps its login: `$XDG_CONFIG_HOME/tickler/client.toml`
//! (else `~/.config/tickler/client.toml`), readable by its owner only (mode 0600), holding
//! the server's URL and a personal API token. `TICKLER_SERVER` and `TICKLER_TOKEN` override
//! the file.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::outcome::CliError;

/// The server a fresh `tickler login` talks to.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// What `tickler login` stores.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// The server's base URL.
    pub server: String,
    /// A personal API token (`tkl_...`).
    pub token: String,
    /// The token's id, so `tickler logout` can revoke it; absent for a token given with
    /// `--token` (it belongs to the person, who revokes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Returns the client file's path: `$XDG_CONFIG_HOME/tickler/client.toml`, or
/// `$HOME/.config/tickler/client.toml` when `XDG_CONFIG_HOME` is unset or not absolute (as
/// the XDG base directory specification says).
pub fn path() -> Result<PathBuf, CliError> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => match std::env::var_os("HOME").map(PathBuf::from) {
            Some(home) if home.is_absolute() => home.join(".config"),
            _ => {
                return Err(CliError::failure(
                    "cannot find the config directory: set XDG_CONFIG_HOME or HOME",
                ));
            }
        },
    };
    Ok(base.join("tickler").join("client.toml"))
}

/// Reads the stored login, if any.
pub fn read(path: &Path) -> Result<Option<Login>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(CliError::failure(format!(
                "cannot read {}: {error}",
                path.display()
            )));
        }
    };
    toml::from_str(&text).map(Some).map_err(|error| {
        CliError::failure(format!(
            "{} is damaged ({}): run tickler login again",
            path.display(),
            error.message()
        ))
    })
}

/// Stores a login, creating the directory (0700) and the file (0600); an existing file is
/// made 0600 before the token is written into it.
pub fn write(path: &Path, login: &Login) -> Result<(), CliError> {
    let failed = |error: std::io::Error| {
        CliError::failure(format!("cannot write {}: {error}", path.display()))
    };
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(failed)?;
    }
    let text = toml::to_string(login)
        .map_err(|error| CliError::failure(format!("cannot encode the login: {error}")))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(failed)?;
    file.set_len(0).map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)
}

/// Forgets the stored login; true if there was one.
pub fn remove(path: &Path) -> Result<bool, CliError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(CliError::failure(format!(
            "cannot remove {}: {error}",
            path.display()
        ))),
    }
}

/// The server and token a command uses: `TICKLER_SERVER` and `TICKLER_TOKEN` override the
/// stored login, field by field.
pub fn effective(stored: Option<Login>) -> Result<Login, CliError> {
    let server = non_empty_env("TICKLER_SERVER");
    let token = non_empty_env("TICKLER_TOKEN");
    match (stored, server, token) {
        (_, Some(server), Some(token)) => Ok(Login {
            server,
            token,
            token_id: None,
        }),
        (Some(mut login), server, token) => {
            if let Some(server) = server {
                login.server = server;
            }
            if let Some(token) = token {
                login.token = token;
                login.token_id = None;
            }
            Ok(login)
        }
        (None, server, Some(token)) => Ok(Login {
            server: server.unwrap_or_else(|| DEFAULT_SERVER.to_owned()),
            token,
            token_id: None,
        }),
        (None, _, None) => Err(CliError::failure("not logged in: run tickler login")),
    }
}

/// Reads an environment variable, treating an empty value as unset.
pub fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_round_trips_through_a_file_only_its_owner_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickler").join("client.toml");
        let login = Login {
            server: "http://127.0.0.1:9".into(),
            token: "tkl_secret".into(),
            token_id: Some("0193".into()),
        };
        write(&path, &login).unwrap();
        assert_eq!(read(&path).unwrap(), Some(login.clone()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!format!("{login:?}").contains("tkl_secret"));
        assert!(remove(&path).unwrap());
        assert_eq!(read(&path).unwrap(), None);
    }

    #[test]
    fn a_damaged_file_says_how_to_repair_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.toml");
        std::fs::write(&path, "server = ").unwrap();
        let error = read(&path).unwrap_err();
        assert!(
            error.message.contains("run tickler login"),
            "{}",
            error.message
        );
    }
}
