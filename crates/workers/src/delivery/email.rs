//! Sending reminder e-mails over SMTP (lettre, rustls): plain text and HTML alternatives, and a
//! `Message-ID` derived from the delivery id, so a resent e-mail is recognisably the same
//! message.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::{Error as SmtpError, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use tickler_domain::DeliveryId;
use tickler_store::Notification;

use super::outcome::AttemptResult;

/// How `smtp://` connections are secured (`smtps://` is always TLS from the start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Upgrade with STARTTLS, refusing servers that cannot.
    Starttls,
    /// Upgrade with STARTTLS when the server offers it (plain text otherwise).
    Opportunistic,
    /// Plain text: only for a relay on a trusted network.
    None,
}

/// Settings of the SMTP client.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// `smtp://HOST[:PORT]` or `smtps://HOST[:PORT]`.
    pub url: String,
    /// How `smtp://` is secured.
    pub tls: SmtpTls,
    /// The login, if the server needs one.
    pub username: Option<String>,
    /// Its password.
    pub password: Option<SecretString>,
    /// The sender, `Name <address>` or an address.
    pub from: String,
    /// How long one SMTP exchange may take.
    pub timeout: Duration,
    /// Connections kept open to the server.
    pub connections: u32,
}

/// Sends reminder e-mails.
#[derive(Debug, Clone)]
pub struct EmailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
}

impl EmailSender {
    /// Builds the client (no connection is made until the first e-mail).
    pub fn new(settings: &EmailSettings) -> anyhow::Result<Self> {
        let url = url::Url::parse(&settings.url)
            .map_err(|error| anyhow::anyhow!("invalid SMTP URL: {error}"))?;
        let host = url
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("the SMTP URL has no host"))?
            .trim_matches(['[', ']'])
            .to_owned();
        let implicit_tls = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => anyhow::bail!("the SMTP URL must be smtp:// or smtps://, not {other}://"),
        };
        let port = url.port().unwrap_or(if implicit_tls { 465 } else { 587 });
        let parameters = || TlsParameters::new(host.clone());
        let tls = match (implicit_tls, settings.tls) {
            (true, _) => Tls::Wrapper(parameters()?),
            (false, SmtpTls::Starttls) => Tls::Required(parameters()?),
            (false, SmtpTls::Opportunistic) => Tls::Opportunistic(parameters()?),
            (false, SmtpTls::None) => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(settings.timeout))
            .pool_config(PoolConfig::new().max_size(settings.connections.max(1)));
        if let Some(username) = &settings.username {
            let password = settings
                .password
                .as_ref()
                .map(|password| password.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        let from: Mailbox = settings.from.parse().map_err(|error| {
            anyhow::anyhow!("invalid sender address {:?}: {error}", settings.from)
        })?;
        let domain = from.email.domain().to_owned();
        Ok(Self {
            transport: builder.build(),
            from,
            domain,
        })
    }

    /// Returns the `Message-ID` of a delivery's e-mail: the same on every attempt.
    pub fn message_id(&self, delivery: DeliveryId) -> String {
        format!("<{delivery}@{}>", self.domain)
    }

    /// Sends one reminder: the SMTP server queueing it is delivery; a permanent (5xx) reply
    /// rejects it for good; a transient (4xx) reply, a timeout or an unreachable server fail
    /// it, to be tried again.
    pub async fn send(
        &self,
        delivery: DeliveryId,
        to: &str,
        notification: &Notification,
    ) -> AttemptResult {
        let message = match self.message(delivery, to, notification) {
            Ok(message) => message,
            Err(rejected) => return rejected,
        };
        match self.transport.send(message).await {
            Ok(response) => AttemptResult::Delivered {
                status: Some(u16::from(response.code())),
            },
            Err(error) => classify(&error),
        }
    }
}

impl EmailSender {
    /// Builds the e-mail of a reminder. No user-chosen text goes into a header: the recipient
    /// is a bare address (no display name), and the subject is fixed (with the due time, which
    /// tickler formats); the task's title is only in the bodies. A mail relayed through
    /// tickler therefore cannot carry someone's advertisement in its subject line.
    fn message(
        &self,
        delivery: DeliveryId,
        to: &str,
        notification: &Notification,
    ) -> Result<Message, AttemptResult> {
        let rejected = |error: String| AttemptResult::Rejected {
            status: None,
            error,
        };
        let address: lettre::Address = to
            .trim()
            .parse()
            .map_err(|error| rejected(format!("invalid recipient address: {error}")))?;
        let subject = match notification.due_at {
            Some(due) => format!("tickler reminder: due {}", due.format("%Y-%m-%d %H:%M UTC")),
            None => "tickler reminder".to_owned(),
        };
        let (text, html) = bodies(notification);
        Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, address))
            .subject(subject)
            .message_id(Some(self.message_id(delivery)))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|error| rejected(format!("the e-mail could not be built: {error}")))
    }
}

/// Mails the codes that verify e-mail channels. The mail carries nothing the requester
/// chose but the recipient's bare address: a fixed subject, and a body of fixed text and the
/// code, so it cannot carry someone's message to a stranger.
#[async_trait::async_trait]
impl tickler_app::notifications::VerificationMailer for EmailSender {
    async fn send_code(&self, to: &str, code: &str, valid_for: Duration) -> Result<(), String> {
        let address: lettre::Address = to
            .trim()
            .parse()
            .map_err(|error| format!("invalid recipient address: {error}"))?;
        let hours = valid_for.as_secs().div_ceil(3600).max(1);
        let text = format!(
            "Someone asked tickler to send task reminders to this address.\n\n\
             If it was you, enter this code to confirm: {code}\n\
             It is valid for {hours} hour(s).\n\n\
             If it was not you, ignore this e-mail: nothing more will be sent to you.\n"
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, address))
            .subject("Confirm your address for tickler reminders")
            .message_id(Some(format!("<{}@{}>", uuid::Uuid::now_v7(), self.domain)))
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(text)
            .map_err(|error| format!("the e-mail could not be built: {error}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|error| error.to_string())
    }
}

fn classify(error: &SmtpError) -> AttemptResult {
    let status = error.status().map(u16::from);
    let text = error.to_string();
    if error.is_permanent() {
        AttemptResult::Rejected {
            status,
            error: text,
        }
    } else {
        AttemptResult::Failed {
            status,
            error: if error.is_timeout() {
                "the SMTP server timed out".to_owned()
            } else {
                text
            },
            retry_after: None,
        }
    }
}

/// Returns the plain-text and HTML bodies of a reminder.
fn bodies(notification: &Notification) -> (String, String) {
    let due = notification
        .due_at
        .map(|due| format!("Due: {}\n", due.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    let text = format!("{}\n\n{due}", notification.body);
    let html = format!(
        "<!DOCTYPE html><html><body><p>{}</p>{}</body></html>",
        escape(&notification.body),
        notification
            .due_at
            .map(|due| format!(
                "<p>Due: <time datetime=\"{}\">{}</time></p>",
                due.to_rfc3339(),
                due.format("%Y-%m-%d %H:%M UTC")
            ))
            .unwrap_or_default()
    );
    (text, html)
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_bodies_escape_the_title() {
        assert_eq!(
            escape("<b>\"rent\" & 'tax'</b>"),
            "&lt;b&gt;&quot;rent&quot; &amp; &#39;tax&#39;&lt;/b&gt;"
        );
    }

    #[tokio::test]
    async fn no_user_chosen_text_reaches_a_header() {
        let sender = EmailSender::new(&EmailSettings {
            url: "smtp://127.0.0.1:2525".into(),
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "tickler <t@example.org>".into(),
            timeout: Duration::from_secs(5),
            connections: 1,
        })
        .unwrap();
        let spam = "CHEAP WATCHES\r\nBcc: everyone@example.net\r\n\r\nbuy now";
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let notification = Notification {
            id: tickler_domain::NotificationId::from_uuid(uuid::Uuid::from_u128(1)),
            owner: tickler_domain::UserId::from_uuid(uuid::Uuid::from_u128(2)),
            reminder_id: "r".into(),
            event_id: tickler_domain::EventId::from_uuid(uuid::Uuid::from_u128(3)),
            task_id: tickler_domain::TaskId::from_uuid(uuid::Uuid::from_u128(4)),
            title: spam.into(),
            body: spam.into(),
            due_at: Some(at),
            fire_at: at,
            fired_at: at,
            in_app: true,
            created_at: at,
            read_at: None,
            traceparent: None,
        };
        let id = DeliveryId::from_uuid(uuid::Uuid::from_u128(7));
        let message = sender
            .message(id, "ada@example.org", &notification)
            .unwrap();
        let formatted = String::from_utf8(message.formatted()).unwrap();
        let (headers, _) = formatted.split_once("\r\n\r\n").unwrap();
        assert!(
            !headers.contains("WATCHES") && !headers.contains("Bcc"),
            "{headers}"
        );
        assert!(
            headers.contains("Subject: tickler reminder: due 2027-01-15 08:00 UTC"),
            "{headers}"
        );
        assert!(headers.contains("To: ada@example.org\r\n"), "{headers}");
        // A display name or a second recipient is refused, not sent.
        for to in [
            "Buy now <ada@example.org>",
            "ada@example.org, bob@example.org",
        ] {
            assert!(matches!(
                sender.message(id, to, &notification),
                Err(AttemptResult::Rejected { .. })
            ));
        }
    }

    #[tokio::test]
    async fn settings_are_checked_when_the_client_is_built() {
        let settings = |url: &str, from: &str| EmailSettings {
            url: url.into(),
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: from.into(),
            timeout: Duration::from_secs(5),
            connections: 2,
        };
        let sender = EmailSender::new(&settings(
            "smtp://127.0.0.1:2525",
            "tickler <t@example.org>",
        ))
        .unwrap();
        let id = DeliveryId::from_uuid(uuid::Uuid::from_u128(7));
        assert_eq!(sender.message_id(id), format!("<{id}@example.org>"));
        assert!(EmailSender::new(&settings("http://x", "t@example.org")).is_err());
        assert!(EmailSender::new(&settings("smtp://x", "not an address")).is_err());
    }
}
