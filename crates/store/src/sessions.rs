//! Sign-in sessions: the refresh-token families behind short-lived access tokens.
//!
//! A session starts at sign-in with one refresh token. Every refresh rotates it: the presented
//! token is marked used and a successor is stored, in one transaction. Presenting a token that
//! was already rotated is reuse (someone holds a copy): the store revokes the whole session,
//! so both the thief and the victim are signed out, unless the rotation happened within a
//! short grace window (two tabs of one browser refreshing at once), which is refused without
//! revoking anything. Only keyed hashes of refresh tokens are stored.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use tickler_domain::{User, UserId};
use uuid::Uuid;

/// Identifies a session (a refresh-token family); carried in its access tokens as `sid`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub Uuid);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.as_hyphenated().fmt(f)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.0.as_hyphenated())
    }
}

/// Why a session ended before it expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRevocation {
    /// Its owner signed out of it.
    Logout,
    /// A rotated refresh token of it was presented again.
    Reuse,
    /// Its owner signed out everywhere.
    SignOutEverywhere,
}

impl SessionRevocation {
    /// Returns the stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            SessionRevocation::Logout => "logout",
            SessionRevocation::Reuse => "reuse",
            SessionRevocation::SignOutEverywhere => "sign_out_everywhere",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "logout" => Some(SessionRevocation::Logout),
            "reuse" => Some(SessionRevocation::Reuse),
            "sign_out_everywhere" => Some(SessionRevocation::SignOutEverywhere),
            _ => None,
        }
    }
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSession {
    /// Its id.
    pub id: SessionId,
    /// Whose session.
    pub owner: UserId,
    /// When its owner signed in.
    pub created_at: DateTime<Utc>,
    /// When its refresh token was last rotated (the sign-in time before the first rotation).
    pub refreshed_at: DateTime<Utc>,
    /// When its current refresh token stops working (each rotation moves it forward).
    pub expires_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked, if it was.
    pub revoked_reason: Option<SessionRevocation>,
}

impl AuthSession {
    /// Returns whether access tokens and refresh tokens of this session work at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A session to store with its first refresh token.
#[derive(Debug, Clone)]
pub struct NewAuthSession {
    /// The session (not revoked).
    pub session: AuthSession,
    /// The keyed hash of its first refresh token.
    pub refresh_hash: Vec<u8>,
}

/// A refresh: the presented token is exchanged for its successor.
#[derive(Debug, Clone)]
pub struct RefreshRotation {
    /// The keyed hash of the presented refresh token.
    pub presented_hash: Vec<u8>,
    /// The keyed hash of the successor to store when the presented token is current.
    pub successor_hash: Vec<u8>,
    /// The time of the refresh.
    pub now: DateTime<Utc>,
    /// When the successor expires (the session's new `expires_at`).
    pub expires_at: DateTime<Utc>,
    /// A token rotated less than this long ago is [`RefreshOutcome::Superseded`], not reuse.
    pub reuse_grace: TimeDelta,
}

/// What a refresh found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current: the successor is stored; the session and its owner as they are
    /// now.
    Rotated(AuthSession, Box<User>),
    /// No such token (never issued, or its session is gone).
    Unknown,
    /// The session expired or was revoked earlier.
    Inactive,
    /// The token was rotated within the grace window: nothing changed; the caller should use
    /// its successor (a browser's other tab already refreshed).
    Superseded,
    /// The token had been rotated before the grace window: the session is revoked now.
    ReuseDetected(SessionId),
}
