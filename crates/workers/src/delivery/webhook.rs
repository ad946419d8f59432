//! Sending webhooks: a signed POST per Standard Webhooks, guarded against server-side request
//! forgery.
//!
//! The guard sits where the connection is made. Host names are resolved by our own resolver,
//! which hands the HTTP client only the addresses the policy permits, so the client connects
//! to exactly the addresses that were checked (a name cannot resolve to a public address for
//! the check and to a private one for the connection). Addresses written in the URL skip
//! resolution and are checked before sending. Redirects are never followed, proxies from the
//! environment are ignored, connecting and the whole exchange have timeouts, and at most
//! `max_response_bytes` of the answer are read.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tickler_app::notifications::{AllowList, WebhookSecret};
use url::{Host, Url};

use super::outcome::AttemptResult;

/// Settings of the webhook client.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Hosts and networks exempt from the forgery guard.
    pub allow: AllowList,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long the whole exchange may take.
    pub timeout: Duration,
    /// At most this much of an answer is read.
    pub max_response_bytes: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow: AllowList::default(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            max_response_bytes: 64 * 1024,
        }
    }
}

/// A connection the guard refused: the host resolves only to addresses webhooks may not reach.
#[derive(Debug, thiserror::Error)]
#[error(
    "{host} resolves only to addresses webhooks may not reach (loopback, private, link-local or reserved)"
)]
struct Forbidden {
    host: String,
}

/// Looks a host name up: the system's resolver in production; tests substitute a DNS server
/// that changes its answer (rebinding).
pub type Lookup = Arc<
    dyn Fn(
            String,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>,
        > + Send
        + Sync,
>;

/// The system's resolver.
fn system_lookup() -> Lookup {
    Arc::new(|host: String| {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) })
    })
}

/// Resolves host names and keeps only the addresses the policy permits: every connection
/// resolves afresh and is made only to addresses checked in that same resolution, so a name
/// whose answer changes between a check and a connection (DNS rebinding) gains nothing.
struct GuardedResolver {
    allow: Arc<AllowList>,
    lookup: Lookup,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allow = Arc::clone(&self.allow);
        let lookup = Arc::clone(&self.lookup);
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = lookup(host.clone()).await?;
            let permitted: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|address| allow.permits(&host, address.ip()))
                .collect();
            if permitted.is_empty() {
                return Err(
                    Box::new(Forbidden { host }) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

/// Posts signed webhooks.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    allow: Arc<AllowList>,
    max_response_bytes: usize,
}

/// One webhook to send.
#[derive(Debug)]
pub struct Webhook<'a> {
    /// Where to.
    pub url: &'a str,
    /// `webhook-id`: the delivery id, the same on every attempt.
    pub id: &'a str,
    /// `webhook-timestamp`, in seconds.
    pub timestamp: i64,
    /// The JSON body.
    pub body: Vec<u8>,
    /// The secrets to sign with (two while a rotated-out one still signs).
    pub secrets: &'a [WebhookSecret],
}

impl WebhookSender {
    /// Builds the client.
    pub fn new(settings: &WebhookSettings) -> anyhow::Result<Self> {
        Self::with_lookup(settings, system_lookup())
    }

    /// Builds the client looking host names up with `lookup` (tests: a rebinding DNS).
    pub fn with_lookup(settings: &WebhookSettings, lookup: Lookup) -> anyhow::Result<Self> {
        let allow = Arc::new(settings.allow.clone());
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                allow: Arc::clone(&allow),
                lookup,
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("tickler/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            allow,
            max_response_bytes: settings.max_response_bytes,
        })
    }

    /// Checks a URL's scheme and, when it names an address, the address.
    fn check(&self, url: &str) -> Result<Url, AttemptResult> {
        let rejected = |error: String| AttemptResult::Rejected {
            status: None,
            error,
        };
        let url = Url::parse(url).map_err(|_| rejected("the webhook URL is invalid".into()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(rejected(format!("scheme {} is not allowed", url.scheme())));
        }
        let literal = match url.host() {
            Some(Host::Ipv4(address)) => Some(IpAddr::V4(address)),
            Some(Host::Ipv6(address)) => Some(IpAddr::V6(address)),
            Some(Host::Domain(_)) => None,
            None => return Err(rejected("the webhook URL has no host".into())),
        };
        if let Some(address) = literal
            && !self.allow.permits("", address)
        {
            return Err(rejected(format!(
                "{address} is an address webhooks may not reach"
            )));
        }
        Ok(url)
    }

    /// Sends one webhook and classifies the answer: 2xx delivered; 410 gone; 429 failed with
    /// its `Retry-After`; any other status (redirects included: they are not followed),
    /// timeouts and connection errors failed; a forbidden address rejected.
    pub async fn send(&self, webhook: Webhook<'_>) -> AttemptResult {
        let url = match self.check(webhook.url) {
            Ok(url) => url,
            Err(result) => return result,
        };
        let signature = webhook
            .secrets
            .iter()
            .map(|secret| secret.sign(webhook.id, webhook.timestamp, &webhook.body))
            .collect::<Vec<_>>()
            .join(" ");
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", webhook.id)
            .header("webhook-timestamp", webhook.timestamp.to_string())
            .header("webhook-signature", signature)
            .body(webhook.body)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => return classify_error(&error),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // Read (and drop) a bounded part of the answer, so the connection can be reused.
        let mut read = 0;
        while read < self.max_response_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        let code = status.as_u16();
        match code {
            200..=299 => AttemptResult::Delivered { status: Some(code) },
            410 => AttemptResult::Gone,
            _ => AttemptResult::Failed {
                status: Some(code),
                error: match code {
                    300..=399 => format!("answered {status} (redirects are not followed)"),
                    _ => format!("answered {status}"),
                },
                retry_after: retry_after.filter(|_| code == 429 || code == 503),
            },
        }
    }
}

fn classify_error(error: &reqwest::Error) -> AttemptResult {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(forbidden) = cause.downcast_ref::<Forbidden>() {
            return AttemptResult::Rejected {
                status: None,
                error: forbidden.to_string(),
            };
        }
        source = cause.source();
    }
    let error = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        format!("could not connect: {}", root_cause(error))
    } else {
        format!("the request failed: {}", root_cause(error))
    };
    AttemptResult::Failed {
        status: None,
        error,
        retry_after: None,
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
