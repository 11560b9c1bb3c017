//! Named leases: one holder at a time, taken over once the holder stops
//! renewing. They keep a single inbox reader among several daemons that share
//! one database.

use super::{Result, Store};

impl Store {
    /// Takes or renews `name` for `holder` until `now + seconds`. True when
    /// `holder` has it: it was free, expired, or already `holder`'s.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        seconds: i64,
    ) -> Result<bool> {
        // One statement, so two daemons racing for a free lease cannot both win.
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= $4",
        )
        .bind(name)
        .bind(holder)
        .bind(now + seconds)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives `name` up at once if `holder` has it (a clean stop: the next
    /// daemon need not wait for it to expire).
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Hands `name` from `from` (known dead) to `to`; false when `from` no
    /// longer holds it.
    pub async fn take_lease_from(
        &self,
        name: &str,
        from: &str,
        to: &str,
        now: i64,
        seconds: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE leases SET holder = $1, expires_at = $2 WHERE name = $3 AND holder = $4",
        )
        .bind(to)
        .bind(now + seconds)
        .bind(name)
        .bind(from)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Who holds `name` now, if anyone does.
    pub async fn lease_holder(&self, name: &str, now: i64) -> Result<Option<String>> {
        let holder: Option<(String,)> =
            sqlx::query_as("SELECT holder FROM leases WHERE name = $1 AND expires_at > $2")
                .bind(name)
                .bind(now)
                .fetch_optional(self.pool())
                .await?;
        Ok(holder.map(|h| h.0))
    }
}
