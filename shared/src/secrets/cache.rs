//! The in-memory secret cache used in Lambda.
//!
//! Why not the `aws_secretsmanager_caching` crate: it has no rate-limited refresh after a
//! verification miss, it calls `DescribeSecret` when an entry expires (a second IAM action for
//! no gain here), it does not remember that `AWSPREVIOUS` is absent (a call per expiry), and it
//! serves a stale value only for errors it classes as transient. Our needs are one secret with
//! two stages, so the cache is this one small type.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{Refresh, SecretError, SecretSet, SecretSource};
use crate::metrics::{self, Metric};
use crate::secret::VersionedSecret;

/// Loads the current and (when it exists) previous versions of a secret.
pub trait FetchSecrets: Send + Sync {
    /// Fetches the candidates, current first.
    fn fetch(
        &self,
    ) -> impl std::future::Future<Output = Result<Vec<VersionedSecret>, SecretError>> + Send;
}

/// How long to keep serving a stale value before trying the store again after it failed.
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct State {
    value: Option<SecretSet>,
    next_fetch: Option<Instant>,
    last_miss_refresh: Option<Instant>,
    last_miss_refresh_failed: bool,
    /// The value is served after a failed refresh (until a fetch succeeds).
    stale: bool,
    /// The store said the secret is not usable (deleted, scheduled for deletion, access denied):
    /// answered until `next_fetch`, without asking again.
    refused: Option<SecretError>,
}

/// A TTL cache over a [`FetchSecrets`]: fresh values for `ttl`, a stale value while the store
/// is unreachable (and only then: a secret the store says is deleted, revoked or not ours to
/// read stops verification at the next fetch), and at most one refresh per `miss_interval` after
/// a verification miss.
#[derive(Debug)]
pub struct CachedSecrets<F> {
    fetcher: F,
    ttl: Duration,
    miss_interval: Duration,
    state: Mutex<State>,
}

impl<F: FetchSecrets> CachedSecrets<F> {
    /// Default minimum time between two refreshes caused by verification misses.
    pub const DEFAULT_MISS_INTERVAL: Duration = Duration::from_secs(30);

    /// A cache with the given TTL and miss-refresh interval.
    pub fn new(fetcher: F, ttl: Duration, miss_interval: Duration) -> Self {
        Self {
            fetcher,
            ttl,
            miss_interval,
            state: Mutex::new(State::default()),
        }
    }

    /// Loads the secrets now (cold start), so the first webhook does not wait for them.
    ///
    /// # Errors
    /// The store's error when nothing could be loaded.
    pub async fn warm(&self) -> Result<(), SecretError> {
        self.secrets().await.map(drop)
    }

    async fn load(&self, state: &mut State) -> Result<SecretSet, SecretError> {
        let now = Instant::now();
        match self.fetcher.fetch().await {
            Ok(fetched) => {
                let set: SecretSet = Arc::from(fetched);
                state.value = Some(set.clone());
                state.next_fetch = Some(now + self.ttl);
                state.stale = false;
                state.refused = None;
                Ok(set)
            }
            Err(error @ SecretError::NotUsable(_)) => {
                metrics::record(Metric::SecretRefreshFailed, 1.0);
                revoke(state, &error, now + RETRY_AFTER_ERROR.min(self.ttl));
                Err(error)
            }
            Err(error) => {
                metrics::record(Metric::SecretRefreshFailed, 1.0);
                match state.value.clone() {
                    Some(cached) => {
                        tracing::warn!(error = %error, "secret refresh failed; serving the cached value");
                        state.next_fetch = Some(now + RETRY_AFTER_ERROR.min(self.ttl));
                        state.stale = true;
                        metrics::record(Metric::StaleSecretServed, 1.0);
                        Ok(cached)
                    }
                    None => Err(error),
                }
            }
        }
    }
}

/// Forgets the value: the store says it may no longer be used. Requests are answered with
/// `error` until `retry`.
fn revoke(state: &mut State, error: &SecretError, retry: Instant) {
    if state.value.take().is_some() {
        tracing::error!(error = %error, "the secret is no longer usable (deleted, revoked or access denied): verification stops until it is");
    }
    state.stale = false;
    state.next_fetch = Some(retry);
    state.refused = Some(error.clone());
}

impl<F: FetchSecrets> SecretSource for CachedSecrets<F> {
    async fn secrets(&self) -> Result<SecretSet, SecretError> {
        let mut state = self.state.lock().await;
        if let (None, Some(refused), Some(next)) = (&state.value, &state.refused, state.next_fetch)
            && Instant::now() < next
        {
            return Err(refused.clone());
        }
        if let (Some(value), Some(next)) = (&state.value, state.next_fetch)
            && Instant::now() < next
        {
            if state.stale {
                metrics::record(Metric::StaleSecretServed, 1.0);
            }
            return Ok(value.clone());
        }
        self.load(&mut state).await
    }

    async fn refresh_after_miss(&self) -> Refresh {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        if state
            .last_miss_refresh
            .is_some_and(|last| now.duration_since(last) < self.miss_interval)
        {
            return if state.last_miss_refresh_failed {
                Refresh::Unavailable
            } else {
                Refresh::Unchanged
            };
        }
        state.last_miss_refresh = Some(now);
        let before = state.value.clone();
        match self.fetcher.fetch().await {
            Ok(fetched) => {
                let set: SecretSet = Arc::from(fetched);
                state.value = Some(set.clone());
                state.next_fetch = Some(now + self.ttl);
                state.last_miss_refresh_failed = false;
                state.stale = false;
                if before.as_deref() == Some(&*set) {
                    Refresh::Unchanged
                } else {
                    Refresh::Changed(set)
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "secret refresh after a verification miss failed");
                metrics::record(Metric::SecretRefreshFailed, 1.0);
                if matches!(error, SecretError::NotUsable(_)) {
                    revoke(&mut state, &error, now + RETRY_AFTER_ERROR.min(self.ttl));
                }
                state.last_miss_refresh_failed = true;
                Refresh::Unavailable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Mutex as StdMutex, PoisonError};

    use super::*;

    /// A fetcher whose answer the test sets, counting calls.
    #[derive(Debug, Default)]
    struct Scripted {
        answer: StdMutex<Option<Result<Vec<VersionedSecret>, SecretError>>>,
        calls: AtomicUsize,
    }

    impl Scripted {
        fn answer(&self, answer: Result<Vec<VersionedSecret>, SecretError>) {
            *self.answer.lock().unwrap_or_else(PoisonError::into_inner) = Some(answer);
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl FetchSecrets for &Scripted {
        async fn fetch(&self) -> Result<Vec<VersionedSecret>, SecretError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.answer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
                .unwrap_or_else(|| Err(SecretError::Unavailable("unscripted".into())))
        }
    }

    fn down() -> Result<Vec<VersionedSecret>, SecretError> {
        Err(SecretError::Unavailable("connection refused".into()))
    }

    const TTL: Duration = Duration::from_secs(300);
    const MISS: Duration = Duration::from_secs(30);

    #[tokio::test(start_paused = true)]
    async fn serves_from_cache_within_the_ttl_and_refetches_after() {
        let fetcher = Scripted::default();
        fetcher.answer(Ok(vec![VersionedSecret::current("one")]));
        let cache = CachedSecrets::new(&fetcher, TTL, MISS);

        assert_eq!(
            &*cache.secrets().await.unwrap(),
            &[VersionedSecret::current("one")]
        );
        tokio::time::advance(Duration::from_secs(299)).await;
        fetcher.answer(Ok(vec![VersionedSecret::current("two")]));
        assert_eq!(
            &*cache.secrets().await.unwrap(),
            &[VersionedSecret::current("one")]
        );
        assert_eq!(fetcher.calls(), 1);

        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(
            &*cache.secrets().await.unwrap(),
            &[VersionedSecret::current("two")]
        );
        assert_eq!(fetcher.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn serves_the_stale_value_when_the_store_is_down() {
        let fetcher = Scripted::default();
        fetcher.answer(Ok(vec![VersionedSecret::current("one")]));
        let cache = CachedSecrets::new(&fetcher, TTL, MISS);
        cache.warm().await.unwrap();

        fetcher.answer(down());
        tokio::time::advance(TTL * 2).await;
        assert_eq!(
            &*cache.secrets().await.unwrap(),
            &[VersionedSecret::current("one")]
        );
        // The failed store is not asked again on every request.
        assert_eq!(
            &*cache.secrets().await.unwrap(),
            &[VersionedSecret::current("one")]
        );
        assert_eq!(fetcher.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn each_request_served_a_stale_value_is_counted_until_a_fetch_succeeds() {
        let fetcher = Scripted::default();
        fetcher.answer(Ok(vec![VersionedSecret::current("one")]));
        let cache = CachedSecrets::new(&fetcher, TTL, MISS);
        let (_, fresh) = metrics::measure(cache.warm()).await;
        assert!(fresh.is_empty(), "{fresh:?}");

        fetcher.answer(down());
        tokio::time::advance(TTL * 2).await;
        let (_, failed) = metrics::measure(cache.secrets()).await;
        assert_eq!(failed.count(Metric::SecretRefreshFailed), 1);
        assert_eq!(failed.count(Metric::StaleSecretServed), 1);
        // Served from the cache without asking the store again: still stale.
        let (_, cached) = metrics::measure(cache.secrets()).await;
        assert_eq!(cached.count(Metric::StaleSecretServed), 1);
        assert_eq!(cached.count(Metric::SecretRefreshFailed), 0);

        fetcher.answer(Ok(vec![VersionedSecret::current("one")]));
        tokio::time::advance(RETRY_AFTER_ERROR).await;
        let (_, recovered) = metrics::measure(cache.secrets()).await;
        let (_, after) = metrics::measure(cache.secrets()).await;
        assert!(
            recovered.is_empty() && after.is_empty(),
            "{recovered:?} {after:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn fails_when_nothing_was_ever_loaded() {
        let fetcher = Scripted::default();
        fetcher.answer(down());
        let cache = CachedSecrets::new(&fetcher, TTL, MISS);
        assert!(matches!(
            cache.secrets().await,
            Err(SecretError::Unavailable(_))
        ));
        // The next request tries again rather than caching the failure.
        fetcher.answer(Ok(vec![VersionedSecret::current("one")]));
        assert!(cache.secrets().await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_after_a_miss_at_most_once_per_interval() {
        let fetcher = Scripted::default();
        fetcher.answer(Ok(vec![VersionedSecret::current("one")]));
        let cache = CachedSecrets::new(&fetcher, TTL, MISS);
        cache.warm().await.unwrap();

        // Unchanged secrets: a reload happens but nothing new is offered.
        assert_eq!(cache.refresh_after_miss().await, Refresh::Unchanged);
        assert_eq!(fetcher.calls(), 2);

        // Rotated within the interval: no reload yet.
        fetcher.answer(Ok(vec![
            VersionedSecret::current("two"),
            VersionedSecret::previous("one"),
        ]));
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(cache.refresh_after_miss().await, Refresh::Unchanged);
        assert_eq!(fetcher.calls(), 2);

        // After the interval the rotation is picked up and cached.
        tokio::time::advance(Duration::from_secs(1)).await;
        let Refresh::Changed(fresh) = cache.refresh_after_miss().await else {
            panic!("the rotation was not picked up")
        };
        assert_eq!(fresh[0], VersionedSecret::current("two"));
        assert_eq!(cache.secrets().await.unwrap(), fresh);
        assert_eq!(fetcher.calls(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_miss_while_the_store_is_down_is_undecidable_until_a_refresh_succeeds() {
        let fetcher = Scripted::default();
        fetcher.answer(Ok(vec![VersionedSecret::current("one")]));
        let cache = CachedSecrets::new(&fetcher, TTL, MISS);
        cache.warm().await.unwrap();

        fetcher.answer(down());
        assert_eq!(cache.refresh_after_miss().await, Refresh::Unavailable);
        // Within the interval the last failure still stands, without asking the store again.
        assert_eq!(cache.refresh_after_miss().await, Refresh::Unavailable);
        assert_eq!(fetcher.calls(), 2);

        fetcher.answer(Ok(vec![VersionedSecret::current("one")]));
        tokio::time::advance(MISS).await;
        assert_eq!(cache.refresh_after_miss().await, Refresh::Unchanged);
        assert_eq!(cache.refresh_after_miss().await, Refresh::Unchanged);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deleted_or_revoked_secret_stops_verification_at_the_next_fetch() {
        let fetcher = Scripted::default();
        fetcher.answer(Ok(vec![VersionedSecret::current("leaked")]));
        let cache = CachedSecrets::new(&fetcher, TTL, MISS);
        cache.warm().await.unwrap();

        let revoked = || Err(SecretError::NotUsable("AccessDeniedException".into()));
        fetcher.answer(revoked());
        // Within the TTL the value is still served (no fetch)...
        assert!(cache.secrets().await.is_ok());
        // ...after it, the store's refusal is the answer, not the cached value, and it counts
        // as a failed refresh, never as a stale value served.
        tokio::time::advance(TTL).await;
        let (answer, measured) = metrics::measure(cache.secrets()).await;
        assert_eq!(
            answer,
            Err(SecretError::NotUsable("AccessDeniedException".into()))
        );
        assert_eq!(measured.count(Metric::SecretRefreshFailed), 1);
        assert_eq!(measured.count(Metric::StaleSecretServed), 0);
        // Answered again without asking the store on every request.
        assert!(cache.secrets().await.is_err());
        assert_eq!(fetcher.calls(), 2);
        // A refresh after a miss that hears the same forgets the value too.
        fetcher.answer(Ok(vec![VersionedSecret::current("new")]));
        tokio::time::advance(RETRY_AFTER_ERROR).await;
        assert!(cache.secrets().await.is_ok());
        fetcher.answer(revoked());
        assert_eq!(cache.refresh_after_miss().await, Refresh::Unavailable);
        assert!(cache.secrets().await.is_err());
        // Once usable again, it verifies again.
        fetcher.answer(Ok(vec![VersionedSecret::current("new")]));
        tokio::time::advance(RETRY_AFTER_ERROR).await;
        assert!(cache.secrets().await.is_ok());
    }
}
