//! Accounts, sessions and personal API tokens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tickler_domain::{ApiTokenId, User, UserId};
use utoipa::ToSchema;

/// The body of `POST /api/v1/auth/register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Login e-mail address: something `@` a domain, without spaces or control characters
    /// (surrounding spaces are trimmed; stored lowercase); at most 254 bytes.
    #[schema(
        max_length = 254,
        pattern = "^\\s*[^@\\s\\x00-\\x1f\\x7f-\\x9f]+@[^@\\s\\x00-\\x1f\\x7f-\\x9f.](?:[^@\\s\\x00-\\x1f\\x7f-\\x9f]*[^@\\s\\x00-\\x1f\\x7f-\\x9f.])?\\s*$"
    )]
    pub email: String,
    /// At least 8 characters, at most 1,024 bytes.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    /// Display name: at most 200 characters, no control characters (blank: none).
    #[serde(default)]
    #[schema(max_length = 200, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub name: Option<String>,
    /// IANA time zone tasks default to; `UTC` when absent.
    #[serde(default)]
    #[schema(value_type = Option<crate::time_zone::TimeZoneName>)]
    pub timezone: Option<String>,
    /// How the session's credentials are handed over (`body` when absent).
    #[serde(default)]
    pub session: Option<SessionTransport>,
}

/// How a sign-in (or a refresh) hands over the session's credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionTransport {
    /// In the response body ([`SessionBody`]): for scripts and other JSON clients, which send
    /// `Authorization: Bearer <access_token>` and refresh with the refresh token in the body.
    #[default]
    Body,
    /// As `HttpOnly` cookies, for the web app ([`CookieSessionBody`]): the tokens never reach
    /// page scripts; state-changing requests must echo the CSRF token in `X-CSRF-Token`. Only
    /// accepted from a browser page of this server (its `Origin`).
    Cookie,
}

/// The body of `POST /api/v1/auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login e-mail address.
    pub email: String,
    /// Password.
    pub password: String,
    /// How the session's credentials are handed over (`body` when absent).
    #[serde(default)]
    pub session: Option<SessionTransport>,
}

/// A session: a short-lived JWT access token, the refresh token that renews it, and the
/// account they belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionBody {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// Exchange it at `POST /api/v1/auth/refresh` for new tokens before the access token
    /// expires; it works once (a second use signs the session out). Absent only from servers
    /// older than sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds until the refresh token expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<u64>,
    /// The account.
    pub user: UserBody,
}

/// A browser session whose tokens were set as `HttpOnly` cookies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CookieSessionBody {
    /// Echo it in `X-CSRF-Token` on every state-changing request (it is also in the
    /// `tickler_csrf` cookie, readable by the page).
    pub csrf_token: String,
    /// Seconds until the access cookie expires (refresh before).
    pub expires_in: u64,
    /// Seconds until the refresh cookie expires.
    pub refresh_expires_in: u64,
    /// The account.
    pub user: UserBody,
}

/// The body of `POST /api/v1/auth/refresh` and `POST /api/v1/auth/logout`: the refresh token,
/// unless it travels in the browser's cookie (then the body may be empty or absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last sign-in or refresh.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// An account as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserBody {
    /// The account id.
    pub id: UserId,
    /// Login e-mail address.
    pub email: String,
    /// Display name, if any.
    pub name: Option<String>,
    /// IANA time zone tasks default to.
    pub timezone: String,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the profile last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&User> for UserBody {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            email: user.email.as_str().to_owned(),
            name: user.name.clone(),
            timezone: user.timezone.name().to_owned(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// The body of `PATCH /api/v1/me`. Changing the password needs `current_password` and signs
/// out every session (access tokens issued before stop working; API tokens keep working).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// New display name: at most 200 characters, no control characters (blank or null clears
    /// it).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub name: Option<Option<String>>,
    /// New IANA time zone.
    #[serde(default)]
    #[schema(value_type = Option<crate::time_zone::TimeZoneName>)]
    pub timezone: Option<String>,
    /// New password: at least 8 characters, at most 1,024 bytes.
    #[serde(default)]
    #[schema(min_length = 8, max_length = 1024)]
    pub password: Option<String>,
    /// The current password, required with `password`.
    #[serde(default)]
    pub current_password: Option<String>,
}

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiTokenRequest {
    /// A label to recognise the token by (1 to 100 characters once trimmed, no control
    /// characters).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub name: String,
    /// Days until it expires (1 to 3650); never when absent.
    #[serde(default, deserialize_with = "crate::integer::optional")]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
    /// What the token may do: `read` (safe methods, read-only MCP tools), `write` (every
    /// other method and tool), `mcp` (the `/mcp` endpoint). Default: all three. A token
    /// cannot be given a scope its creator's credential lacks.
    #[serde(default)]
    #[schema(example = json!(["read"]), value_type = Option<Vec<TokenScope>>, min_items = 1)]
    pub scopes: Option<Vec<String>>,
}

/// What a personal API token may do (the wire names of `scopes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// Safe methods and the read-only MCP tools.
    Read,
    /// Every other method and tool.
    Write,
    /// The `/mcp` endpoint.
    Mcp,
}

/// A personal API token's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiTokenBody {
    /// The token id (for revoking it).
    pub id: ApiTokenId,
    /// Its label.
    pub name: String,
    /// The first characters of the secret.
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used, if ever.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it expires, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// What it may do (`read`, `write`, `mcp`).
    pub scopes: Vec<String>,
}

/// A newly created token: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedApiTokenBody {
    /// The secret; send as `Authorization: Bearer <token>`. Not retrievable later.
    pub token: String,
    /// Its metadata.
    #[serde(flatten)]
    pub details: ApiTokenBody,
}

/// Serde helper telling an absent field (`None`) from an explicit `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}
