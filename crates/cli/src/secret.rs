//! The server secret that signs access tokens and keys API token hashes: from the
//! configuration, or generated once and kept in the data directory; and, with
//! `secrets.provider = "dapr"`, the database URL and that secret read from Dapr's secret store.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use secrecy::ExposeSecret;

use crate::config::{Config, SecretsProvider};

/// The file in the data directory holding the generated secret.
pub const SECRET_FILE: &str = "jwt-secret";

/// How long start-up waits for the Dapr sidecar to answer (it starts beside this process).
const SIDECAR_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// With `secrets.provider = "dapr"`, replaces `database_url` and `auth.jwt_secret` by the
/// values of Dapr's secret store (`secrets.dapr_store`, keys `secrets.database_url_key` and
/// `secrets.jwt_secret_key`), waiting up to a minute for the sidecar; otherwise returns the
/// configuration unchanged. The result is validated again.
pub async fn resolve(mut config: Config) -> anyhow::Result<Config> {
    if config.secrets.provider != SecretsProvider::Dapr {
        return Ok(config);
    }
    let base = config.bus.dapr_base();
    let token = Some(config.bus.dapr_api_token.clone());
    let store = config.secrets.dapr_store.clone();
    let secret_name = config.secrets.dapr_secret_name.trim().to_owned();
    let deadline = std::time::Instant::now() + SIDECAR_PATIENCE;
    let read = |key: String| {
        let (base, store, token) = (base.clone(), store.clone(), token.clone());
        let name = if secret_name.is_empty() {
            key.clone()
        } else {
            secret_name.clone()
        };
        async move {
            loop {
                match tickler_workers::dapr::read_secret(&base, &store, &name, &key, token.as_ref())
                    .await
                {
                    Ok(value) => return Ok(value),
                    Err(error) if std::time::Instant::now() < deadline => {
                        tracing::debug!(%error, "waiting for the dapr sidecar's secret store");
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    }
                    Err(error) => {
                        return Err(error.context(format!(
                            "secrets.provider is dapr: cannot read {key} from the secret store {store}"
                        )));
                    }
                }
            }
        }
    };
    config.database_url = read(config.secrets.database_url_key.clone()).await?;
    config.auth.jwt_secret = read(config.secrets.jwt_secret_key.clone()).await?;
    config.validate()?;
    tracing::info!(store = %store, "database URL and signing key read from the dapr secret store");
    Ok(config)
}

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
    write_new(path, &secret)?;
    tracing::info!(path = %path.display(), "generated a new signing secret");
    Ok(secret.into_bytes())
}

/// Returns the secret generated into the data directory, if there is one.
pub fn generated(config: &Config) -> anyhow::Result<Option<String>> {
    let path = config.data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes `text` to a new file readable by its owner only, flushed to disk.
pub fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
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
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}
