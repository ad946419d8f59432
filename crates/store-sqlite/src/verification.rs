//! Verifying e-mail channels (`migrations/0021`): the rate limit of verification mails and
//! spending a channel's code. Both run as writer commands, so each is atomic.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use tickler_domain::{ChannelId, UserId};
use tickler_store::{StoreError, VerificationLimits, VerificationMail};

use crate::codec::{self, micros};
use crate::error::ResultExt;

/// Records a verification mail unless a limit is reached (see
/// [`tickler_store::NotificationStore::reserve_verification_mail`]).
pub(crate) fn reserve_mail(
    connection: &Connection,
    mail: &VerificationMail,
    limits: &VerificationLimits,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let owner_since = micros(mail.sent_at - limits.owner_window);
    let address_since = micros(mail.sent_at - limits.address_window);
    connection
        .prepare_cached(
            "DELETE FROM verification_mails
             WHERE (user_id = ?1 OR address = ?2) AND sent_at <= min(?3, ?4)",
        )
        .store()?
        .execute(params![
            mail.owner.as_uuid(),
            mail.address,
            owner_since,
            address_since
        ])
        .store()?;
    // The oldest mail still counting when the window is full: the limit frees up as it leaves.
    let full = |sql: &str, key: &dyn rusqlite::ToSql, since: i64, limit: u32| {
        let oldest: Option<i64> = connection
            .prepare_cached(sql)
            .store()?
            .query_row(params![key, since, i64::from(limit.max(1)) - 1], |row| {
                row.get(0)
            })
            .optional()
            .store()?;
        oldest.map(codec::instant).transpose()
    };
    if let Some(oldest) = full(
        "SELECT sent_at FROM verification_mails WHERE user_id = ?1 AND sent_at > ?2
         ORDER BY sent_at DESC LIMIT 1 OFFSET ?3",
        mail.owner.as_uuid(),
        owner_since,
        limits.per_owner,
    )? {
        return Ok(Some(oldest + limits.owner_window));
    }
    if let Some(oldest) = full(
        "SELECT sent_at FROM verification_mails WHERE address = ?1 AND sent_at > ?2
         ORDER BY sent_at DESC LIMIT 1 OFFSET ?3",
        &mail.address,
        address_since,
        limits.per_address,
    )? {
        return Ok(Some(oldest + limits.address_window));
    }
    connection
        .prepare_cached(
            "INSERT INTO verification_mails (id, user_id, address, sent_at)
             VALUES (?1, ?2, ?3, ?4)",
        )
        .store()?
        .execute(params![
            mail.id,
            mail.owner.as_uuid(),
            mail.address,
            micros(mail.sent_at)
        ])
        .store()?;
    Ok(None)
}

/// Spends a channel's code or counts a wrong one (see
/// [`tickler_store::NotificationStore::verify_channel`]).
pub(crate) fn verify_channel(
    connection: &Connection,
    owner: UserId,
    id: ChannelId,
    code_hash: &[u8],
    now: DateTime<Utc>,
    max_failures: u32,
) -> Result<bool, StoreError> {
    let exists: bool = connection
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM notification_channels WHERE id = ?1 AND user_id = ?2)",
        )
        .store()?
        .query_row(params![id.as_uuid(), owner.as_uuid()], |row| row.get(0))
        .store()?;
    if !exists {
        return Err(StoreError::NotFound);
    }
    let verified = connection
        .prepare_cached(
            "UPDATE notification_channels
             SET verified_at = ?3, verification_code_hash = NULL, verification_expires_at = NULL,
                 updated_at = ?3
             WHERE id = ?1 AND user_id = ?2 AND verified_at IS NULL
               AND verification_code_hash = ?4 AND verification_expires_at > ?3
               AND verification_failures < ?5",
        )
        .store()?
        .execute(params![
            id.as_uuid(),
            owner.as_uuid(),
            micros(now),
            code_hash,
            max_failures
        ])
        .store()?;
    if verified == 1 {
        return Ok(true);
    }
    connection
        .prepare_cached(
            "UPDATE notification_channels SET verification_failures = verification_failures + 1
             WHERE id = ?1 AND user_id = ?2 AND verified_at IS NULL",
        )
        .store()?
        .execute(params![id.as_uuid(), owner.as_uuid()])
        .store()?;
    Ok(false)
}
