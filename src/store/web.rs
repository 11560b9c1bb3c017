//! The web console's sessions and sign-in codes (migration 0015). Only SHA-256
//! hashes of the secrets are stored: a copy of the database signs nobody in.

use super::{Result, Store, Tx};

/// A signed-in admin, as the session row has it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebSession {
    pub admin: String,
    /// The form token every POST of this session must carry.
    pub csrf: String,
    pub expires_at: i64,
}

/// A sign-in code as mailed (hash only).
#[derive(Debug, Clone)]
pub struct NewLoginCode<'a> {
    pub code_hash: &'a str,
    pub admin: &'a str,
    pub client: &'a str,
    pub expires_at: i64,
}

impl Store {
    pub async fn web_session_create(
        &self,
        token_hash: &str,
        session: &WebSession,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO web_sessions (token_hash, admin, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(session.admin.to_lowercase())
        .bind(&session.csrf)
        .bind(now)
        .bind(session.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The live session with this token hash, if any.
    pub async fn web_session(&self, token_hash: &str, now: i64) -> Result<Option<WebSession>> {
        Ok(sqlx::query_as(
            "SELECT admin, csrf, expires_at FROM web_sessions \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Ends one session (logout); expired ones are swept at the same time.
    pub async fn web_session_end(&self, token_hash: &str, now: i64) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1 OR expires_at <= $2")
            .bind(token_hash)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn web_login_code_insert(&self, code: &NewLoginCode<'_>, now: i64) -> Result<()> {
        insert_login_code(self.pool(), code, now).await
    }

    /// The same, inside the transaction that queues the code's mail.
    pub async fn web_login_code_insert_tx(
        &self,
        tx: &mut Tx<'_>,
        code: &NewLoginCode<'_>,
        now: i64,
    ) -> Result<()> {
        insert_login_code(&mut **tx, code, now).await
    }

    /// Marks a live, unused code used and returns its admin; `None` when the
    /// code is unknown, expired or already used. One UPDATE, so two tabs (or
    /// two replicas) presenting the same code sign in at most once.
    pub async fn web_login_code_consume(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "UPDATE web_login_codes SET used_at = $2 \
             WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING admin",
        )
        .bind(code_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Codes asked for since `since`, for one address and for one client (the
    /// rate limits).
    pub async fn web_login_codes_since(
        &self,
        admin: &str,
        client: &str,
        since: i64,
    ) -> Result<(i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT \
               COALESCE(SUM(CASE WHEN admin = $1 THEN 1 ELSE 0 END), 0) AS by_admin, \
               COALESCE(SUM(CASE WHEN client = $2 THEN 1 ELSE 0 END), 0) AS by_client \
             FROM web_login_codes WHERE created_at >= $3 AND (admin = $1 OR client = $2)",
        )
        .bind(admin.to_lowercase())
        .bind(client)
        .bind(since)
        .fetch_one(self.pool())
        .await?)
    }
}

async fn insert_login_code<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    code: &NewLoginCode<'_>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO web_login_codes (code_hash, admin, client, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(code.code_hash)
    .bind(code.admin.to_lowercase())
    .bind(code.client)
    .bind(now)
    .bind(code.expires_at)
    .execute(db)
    .await?;
    Ok(())
}
