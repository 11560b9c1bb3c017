//! Giving the heap back to the OS once a burst is over.
//!
//! glibc's malloc keeps what the program frees in its arenas (one per
//! thread that allocated: tokio's workers, each SQLite connection's own
//! thread in sqlx, the blocking pool) and returns to the OS only what lies
//! at the very top of the main heap. After a burst of mail the daemon's live
//! data is small again, but its RSS stays near the peak: the freed pages are
//! scattered through every arena. `malloc_trim(0)` hands back each arena's
//! free pages. Elsewhere (other platforms, musl) it is a no-op.

/// Returns the allocator's free memory to the OS; true when glibc released
/// any. Costs a walk over malloc's free lists (about a millisecond after a
/// burst), so it runs once a scheduler pass, not per message.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // the one call into libc; see SAFETY
pub fn release_free_memory() -> bool {
    // SAFETY: malloc_trim takes a plain byte count, touches only the
    // allocator's own state under its own locks, and may be called from any
    // thread at any time.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Returns the allocator's free memory to the OS: nothing to do here.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() -> bool {
    false
}

/// Idle database connections the pool keeps between scheduler passes: the
/// scheduler and the inbox reader each need one at once.
pub const IDLE_CONNECTIONS_KEPT: usize = 2;

/// Closes the pool's idle connections beyond `keep`; how many it closed. A
/// burst opens every connection the pool allows (one per outbox lane, plus
/// the inbox's), and sqlx keeps them for ten minutes after their last use,
/// so a pool used round-robin once a minute never lets one go. Each open
/// SQLite connection holds its own thread, page cache and prepared
/// statements (about 0.6 MB after a burst); the pool opens new ones, in a
/// millisecond, when the next burst needs them.
pub async fn shed_idle_connections(pool: &sqlx::AnyPool, keep: usize) -> usize {
    let mut closed = 0;
    while pool.num_idle() > keep {
        // None: a task is waiting for a connection, so it is not idle after all.
        let Some(conn) = pool.try_acquire() else {
            break;
        };
        // A connection that fails to close cleanly is gone all the same.
        let _ = conn.close().await;
        closed += 1;
    }
    closed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_connections_beyond_the_kept_ones_are_closed_and_the_pool_still_serves() {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(6)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        // A burst: six connections in use at once, then all back in the pool.
        let mut held = Vec::new();
        for _ in 0..6 {
            held.push(pool.acquire().await.unwrap());
        }
        drop(held);
        while pool.num_idle() < 6 {
            tokio::task::yield_now().await;
        }
        assert_eq!(shed_idle_connections(&pool, 2).await, 4);
        assert_eq!((pool.size(), pool.num_idle()), (2, 2));
        assert_eq!(shed_idle_connections(&pool, 2).await, 0);
        let one: i64 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(one, 1);
    }

    #[test]
    fn freed_memory_is_released_and_the_heap_still_works() {
        // A burst's worth of small allocations, then all freed; one live
        // allocation after them keeps free() from trimming the heap's top.
        let burst: Vec<Vec<u8>> = (0..20_000).map(|i| vec![i as u8; 1000]).collect();
        let pin = vec![1u8; 1000];
        drop(burst);
        let released = release_free_memory();
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(released, "20 MB freed, yet glibc released nothing");
        } else {
            assert!(!released);
        }
        let after: Vec<u8> = vec![7; 1 << 20];
        assert!(after.iter().all(|&b| b == 7) && pin[999] == 1);
    }
}
