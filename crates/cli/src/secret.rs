//! The server secret that signs access tokens and keys API token hashes: from the
//! configuration, or generated once and kept in the data directory.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use secrecy::ExposeSecret;

use crate::config::Config;

const SECRET_FILE: &str = "jwt-secret";

/// Returns the configured secret, or the one in `<data_dir>/jwt-secret`, creating it (32
/// random bytes, hex, mode 0600) on first start.
pub fn load_or_generate(config: &Config) -> anyhow::Result<Vec<u8>> {
    let configured = config.auth.jwt_secret.expose_secret();
    if !configured.is_empty() {
        return Ok(configured.as_bytes().to_vec());
    }
    let path = config.data_dir.join(SECRET_FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let secret = text.trim();
        if secret.len() < 32 {
            bail!("{} is shorter than 32 bytes", path.display());
        }
        return Ok(secret.as_bytes().to_vec());
    }
    generate(&path)
}

fn generate(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    let secret = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated a new signing secret");
    Ok(secret.into_bytes())
}
