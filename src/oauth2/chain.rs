//! Rotated refresh tokens, kept in the database (`oauth2_grants`, migration
//! 0013) the moment they arrive, so a restart or a replica uses the newest.
//! Never logged: only this module and the token request see them.

use crate::config::Secret;
use crate::store::{Store, StoreError};

#[derive(Clone)]
pub struct Chain {
    store: Store,
    key: String,
    /// SHA-256 of the refresh token in the config: whose chain is ours.
    configured_sha256: String,
    configured: Secret,
}

impl Chain {
    pub fn new(store: Store, key: String, configured: Secret) -> Self {
        let configured_sha256 = crate::crypto::sha256_hex(configured.expose().as_bytes());
        Self {
            store,
            key,
            configured_sha256,
            configured,
        }
    }

    /// The refresh token to use now: the newest of the chain that started
    /// from the configured token, else the configured one (a new grant).
    pub async fn current(&self) -> Result<Secret, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT configured_sha256, refresh_token FROM oauth2_grants WHERE grant_key = $1",
        )
        .bind(&self.key)
        .fetch_optional(self.store.pool())
        .await?;
        Ok(match row {
            Some((configured, refresh)) if configured == self.configured_sha256 => {
                Secret::new(refresh)
            }
            _ => self.configured.clone(),
        })
    }

    /// Keeps `token` as the newest of the chain.
    pub async fn save(&self, token: &Secret) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth2_grants (grant_key, configured_sha256, refresh_token, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (grant_key) DO UPDATE SET \
             configured_sha256 = excluded.configured_sha256, refresh_token = excluded.refresh_token, \
             updated_at = excluded.updated_at",
        )
        .bind(&self.key)
        .bind(&self.configured_sha256)
        .bind(token.expose())
        .bind(self.store.now())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }
}
