//! Verifying e-mail channels (`migrations/0021`): the rate limit of verification mails and
//! spending a channel's code.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use tickler_domain::{ChannelId, UserId};
use tickler_store::{StoreError, VerificationLimits, VerificationMail};

use crate::error::ResultExt;

/// Records a verification mail unless a limit is reached (see
/// [`tickler_store::NotificationStore::reserve_verification_mail`]). The owner's row and a transaction
/// lock on the address serialize concurrent reservations for either.
pub(crate) async fn reserve_mail(
    pool: &PgPool,
    mail: &VerificationMail,
    limits: &VerificationLimits,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let owner_since = mail.sent_at - limits.owner_window;
    let address_since = mail.sent_at - limits.address_window;
    let mut transaction = pool.begin().await.store()?;
    let owner: Option<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(*mail.owner.as_uuid())
            .fetch_optional(&mut *transaction)
            .await
            .store()?;
    owner.ok_or(StoreError::NotFound)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('tickler verification ' || $1, 0))")
        .bind(mail.address.clone())
        .execute(&mut *transaction)
        .await
        .store()?;
    sqlx::query(
        "DELETE FROM verification_mails
         WHERE (user_id = $1 OR address = $2) AND sent_at <= least($3, $4)",
    )
    .bind(*mail.owner.as_uuid())
    .bind(mail.address.clone())
    .bind(owner_since)
    .bind(address_since)
    .execute(&mut *transaction)
    .await
    .store()?;
    let offset = |limit: u32| i64::from(limit.max(1)) - 1;
    // The oldest mail still counting when the window is full: the limit frees up as it leaves.
    let oldest: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT sent_at FROM verification_mails WHERE user_id = $1 AND sent_at > $2
         ORDER BY sent_at DESC LIMIT 1 OFFSET $3",
    )
    .bind(*mail.owner.as_uuid())
    .bind(owner_since)
    .bind(offset(limits.per_owner))
    .fetch_optional(&mut *transaction)
    .await
    .store()?;
    if let Some(oldest) = oldest {
        return Ok(Some(oldest + limits.owner_window));
    }
    let oldest: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT sent_at FROM verification_mails WHERE address = $1 AND sent_at > $2
         ORDER BY sent_at DESC LIMIT 1 OFFSET $3",
    )
    .bind(mail.address.clone())
    .bind(address_since)
    .bind(offset(limits.per_address))
    .fetch_optional(&mut *transaction)
    .await
    .store()?;
    if let Some(oldest) = oldest {
        return Ok(Some(oldest + limits.address_window));
    }
    sqlx::query(
        "INSERT INTO verification_mails (id, user_id, address, sent_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(mail.id)
    .bind(*mail.owner.as_uuid())
    .bind(mail.address.clone())
    .bind(mail.sent_at)
    .execute(&mut *transaction)
    .await
    .store()?;
    transaction.commit().await.store()?;
    Ok(None)
}

/// Spends a channel's code or counts a wrong one (see
/// [`tickler_store::NotificationStore::verify_channel`]).
pub(crate) async fn verify_channel(
    connection: &mut PgConnection,
    owner: UserId,
    id: ChannelId,
    code_hash: &[u8],
    now: DateTime<Utc>,
    max_failures: u32,
) -> Result<bool, StoreError> {
    // One statement: the code is spent by exactly one of two concurrent uses, and a wrong
    // code is counted atomically.
    let outcome: Option<bool> = sqlx::query_scalar(
        "UPDATE notification_channels c
         SET verified_at = CASE WHEN m.matches THEN $3 ELSE c.verified_at END,
             verification_code_hash = CASE WHEN m.matches THEN NULL
                                           ELSE c.verification_code_hash END,
             verification_expires_at = CASE WHEN m.matches THEN NULL
                                            ELSE c.verification_expires_at END,
             verification_failures = CASE WHEN m.matches OR c.verified_at IS NOT NULL
                                          THEN c.verification_failures
                                          ELSE c.verification_failures + 1 END,
             updated_at = CASE WHEN m.matches THEN $3 ELSE c.updated_at END
         FROM (SELECT id, coalesce(verified_at IS NULL AND verification_code_hash = $4
                      AND verification_expires_at > $3 AND verification_failures < $5, false)
                      AS matches
               FROM notification_channels WHERE id = $1 AND user_id = $2 FOR UPDATE) m
         WHERE c.id = m.id
         RETURNING m.matches",
    )
    .bind(*id.as_uuid())
    .bind(*owner.as_uuid())
    .bind(now)
    .bind(code_hash.to_vec())
    .bind(i32::try_from(max_failures).unwrap_or(i32::MAX))
    .fetch_optional(connection)
    .await
    .store()?;
    outcome.ok_or(StoreError::NotFound)
}
