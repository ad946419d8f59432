//! The chat assistant's optional language model: [`OpenAiChatModel`] implements
//! [`tickler_app::chat::model::ChatModel`] for any endpoint that speaks OpenAI's chat
//! completions format with function calling (`POST {url}/v1/chat/completions`): Ollama,
//! llama.cpp's server, vLLM, LocalAI, or OpenAI itself.
//!
//! The registry's tools are offered as functions (`tools: [{"type": "function", "function":
//! {"name", "description", "parameters"}}]`); the model's `tool_calls` come back with their
//! arguments as JSON text, which the assistant checks against the tool's schema before running
//! anything. This crate only speaks the wire format; what to do with the answer is
//! `tickler-app`'s business. It owns no business rules and reaches nothing but the model.
//!
//! No language model runs on the machines this project is built and tested on: the adapter is
//! tested against a local HTTP server that answers in the documented format.

mod wire;

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tickler_app::chat::model::{ChatModel, ModelError, ModelMessage, ModelReply};
use tickler_app::tools::ToolDefinition;

/// Settings of the model endpoint.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// The base URL (`http://127.0.0.1:11434` for Ollama); `/v1/chat/completions` is appended.
    pub url: String,
    /// The model name, e.g. `llama3.1`.
    pub model: String,
    /// A bearer key, if the endpoint needs one.
    pub api_key: Option<SecretString>,
    /// How long one completion may take.
    pub timeout: Duration,
}

/// A language model behind an OpenAI-compatible chat completions endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiChatModel {
    http: reqwest::Client,
    endpoint: String,
    model: String,
    api_key: Option<SecretString>,
}

impl OpenAiChatModel {
    /// Builds the client. Fails only if the HTTP client cannot be built (no TLS provider).
    pub fn new(settings: LlmSettings) -> Result<Self, ModelError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(5).min(settings.timeout))
            .build()
            .map_err(|error| ModelError::Unavailable(error.to_string()))?;
        Ok(Self {
            http,
            endpoint: format!("{}/v1/chat/completions", settings.url.trim_end_matches('/')),
            model: settings.model,
            api_key: settings.api_key,
        })
    }
}

#[async_trait]
impl ChatModel for OpenAiChatModel {
    async fn complete(
        &self,
        messages: &[ModelMessage],
        tools: &[ToolDefinition],
    ) -> Result<ModelReply, ModelError> {
        let body = wire::request(&self.model, messages, tools);
        let mut request = self.http.post(&self.endpoint).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = request
            .send()
            .await
            .map_err(|error| ModelError::Unavailable(error.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|error| ModelError::Unavailable(error.to_string()))?;
        if !status.is_success() {
            let start: String = text.chars().take(200).collect();
            return Err(ModelError::Unavailable(format!("status {status}: {start}")));
        }
        wire::reply(&text)
    }
}

#[cfg(test)]
mod tests;
