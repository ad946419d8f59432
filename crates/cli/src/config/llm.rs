//! `[llm]`: the chat assistant's optional language model.

use std::time::Duration;

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::values::redact;

/// `[llm]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LlmConfig {
    /// Base URL of an OpenAI-compatible endpoint; empty disables the model.
    pub url: String,
    /// Model name.
    pub model: String,
    /// Bearer key, if the endpoint needs one.
    #[serde(serialize_with = "redact")]
    pub api_key: SecretString,
    /// How long one completion may take.
    pub timeout_seconds: u64,
}

impl LlmConfig {
    /// Returns the language model's settings, or `None` when no model is configured.
    pub fn settings(&self) -> Option<tickler_llm::LlmSettings> {
        let url = self.url.trim();
        (!url.is_empty()).then(|| tickler_llm::LlmSettings {
            url: url.to_owned(),
            model: self.model.trim().to_owned(),
            api_key: Some(self.api_key.clone()).filter(|key| !key.expose_secret().is_empty()),
            timeout: Duration::from_secs(self.timeout_seconds),
        })
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        let url = self.url.trim();
        if !url.is_empty() {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("llm.url must be an http:// or https:// URL (or empty to disable the model)");
            }
            if self.model.trim().is_empty() {
                bail!("llm.model must name the model when llm.url is set (--llm-model)");
            }
            if self.timeout_seconds == 0 {
                bail!("llm.timeout_seconds must be positive");
            }
        }
        Ok(())
    }
}
