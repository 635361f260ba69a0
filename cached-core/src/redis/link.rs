//! The way to Redis: one multiplexed connection per tokio runtime, every operation bounded by
//! the timeout, and a circuit breaker that skips Redis for a cool-down after repeated failures.
//!
//! A connection belongs to the runtime that opened it (its I/O task runs there), so a store in
//! a `static` keeps one per runtime it is used from: a test's runtime, or a service's only one.
//! A connection that failed is dropped; the next operation opens another, so a Redis that comes
//! back is used again without a restart.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;

use crate::error::Error;
use crate::sync::lock;

/// Consecutive failures after which Redis is skipped for the cool-down.
const TRIP_AFTER: u32 = 3;

/// How often, at most, a failing store logs a warning.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Nanoseconds since the first use of this module: a clock that fits in an atomic.
fn now_nanos() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Skips Redis after repeated failures: closed (every call goes), open (none goes, until the
/// cool-down ends), then one probe at a time until one succeeds.
struct Breaker {
    failures: AtomicU32,
    open_until: AtomicU64,
    probing: AtomicBool,
    cooldown: Duration,
}

/// Leave for one operation to use Redis. The breaker's probe holds it until it ends, however
/// it ends: cancelled (a caller's `timeout`, an aborted task) included, so that a probe that
/// never finished cannot keep every later operation from Redis.
struct Pass<'a> {
    /// The breaker whose probe this is, if it is one.
    probe: Option<&'a Breaker>,
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        if let Some(breaker) = self.probe {
            breaker.probing.store(false, Ordering::Release);
        }
    }
}

impl Breaker {
    /// Leave to use Redis, unless the breaker skips it.
    fn allow(&self) -> Option<Pass<'_>> {
        if self.failures.load(Ordering::Acquire) < TRIP_AFTER {
            return Some(Pass { probe: None });
        }
        let probe = now_nanos() >= self.open_until.load(Ordering::Acquire)
            && self
                .probing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
        probe.then_some(Pass { probe: Some(self) })
    }

    fn succeeded(&self) {
        self.failures.store(0, Ordering::Release);
    }

    fn failed(&self) {
        let failures = self
            .failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if failures >= TRIP_AFTER {
            let cooldown = u64::try_from(self.cooldown.as_nanos()).unwrap_or(u64::MAX);
            self.open_until
                .store(now_nanos().saturating_add(cooldown), Ordering::Release);
        }
    }
}

/// The connection to one Redis, for every runtime that uses it.
pub(crate) struct Link {
    client: redis::Client,
    timeout: Duration,
    connections: Mutex<Vec<(tokio::runtime::Id, MultiplexedConnection)>>,
    /// Held while connecting, so that callers arriving meanwhile wait for that connection
    /// rather than open one each.
    connecting: tokio::sync::Mutex<()>,
    /// The runtime that last opened a connection: where a task can reach Redis from code that
    /// runs outside any runtime (a plain function's invalidation).
    last_runtime: Mutex<Option<tokio::runtime::Handle>>,
    breaker: Breaker,
    errors: AtomicU64,
    last_warning: AtomicU64,
    /// Where the store is, for log lines (the URL without its password).
    pub(crate) address: String,
}

impl Link {
    pub(crate) fn new(client: redis::Client, timeout: Duration, cooldown: Duration) -> Self {
        let address = client.get_connection_info().addr().to_string();
        Link {
            client,
            timeout,
            connections: Mutex::new(Vec::new()),
            connecting: tokio::sync::Mutex::new(()),
            last_runtime: Mutex::new(None),
            breaker: Breaker {
                failures: AtomicU32::new(0),
                open_until: AtomicU64::new(0),
                probing: AtomicBool::new(false),
                cooldown,
            },
            errors: AtomicU64::new(0),
            last_warning: AtomicU64::new(0),
            address,
        }
    }

    /// How long Redis is skipped after repeated failures.
    pub(crate) fn cooldown(&self) -> Duration {
        self.breaker.cooldown
    }

    /// This runtime's connection, opened if there is none.
    async fn connection(&self) -> Result<MultiplexedConnection, Error> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::remote("a Redis store must be used from within a tokio runtime"))?
            .id();
        let found = self.find(runtime);
        match found {
            Some(connection) => Ok(connection),
            // Boxed: connecting is rare, and its future is large.
            None => Box::pin(self.connect(runtime)).await,
        }
    }

    fn find(&self, runtime: tokio::runtime::Id) -> Option<MultiplexedConnection> {
        lock(&self.connections)
            .iter()
            .find(|(id, _)| *id == runtime)
            .map(|(_, connection)| connection.clone())
    }

    /// Opens this runtime's connection; callers arriving meanwhile wait for it.
    async fn connect(&self, runtime: tokio::runtime::Id) -> Result<MultiplexedConnection, Error> {
        let _connecting = self.connecting.lock().await;
        if let Some(connection) = self.find(runtime) {
            return Ok(connection);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(Error::remote)?;
        let mut connections = lock(&self.connections);
        // Connections of runtimes that are gone are never found again: keep a few at most.
        if connections.len() >= 8 {
            connections.remove(0);
        }
        connections.push((runtime, connection.clone()));
        drop(connections);
        if let Ok(current) = tokio::runtime::Handle::try_current() {
            *lock(&self.last_runtime) = Some(current);
        }
        Ok(connection)
    }

    /// The runtime to run a task that uses Redis on: the current one, or else the one that
    /// last connected (if it has shut down since, a task spawned there never runs).
    pub(crate) fn runtime(&self) -> Option<tokio::runtime::Handle> {
        tokio::runtime::Handle::try_current()
            .ok()
            .or_else(|| lock(&self.last_runtime).clone())
    }

    /// Forgets this runtime's connection, after it failed.
    fn drop_connection(&self) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let runtime = runtime.id();
            lock(&self.connections).retain(|(id, _)| *id != runtime);
        }
    }

    /// Runs one operation (a command or a pipeline) on this runtime's connection, within the
    /// timeout, unless the breaker skips Redis.
    pub(crate) async fn run<T, F>(
        &self,
        operation: impl FnOnce(MultiplexedConnection) -> F,
    ) -> Result<T, Error>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let Some(_pass) = self.breaker.allow() else {
            return Err(self.failed(Error::unavailable()));
        };
        // Connecting is bounded here; a command, by the connection's own response timeout
        // (cheaper than a timer per command under load).
        // `Err(answered)`: whether Redis answered (with an error about this command, such as
        // a key of another type) rather than failed to answer.
        let outcome = match tokio::time::timeout(self.timeout, self.connection()).await {
            Ok(Ok(connection)) => operation(connection).await.map_err(|error| {
                if error.is_timeout() {
                    (Error::timeout(self.timeout), false)
                } else {
                    let answered = !(error.is_io_error()
                        || error.is_connection_dropped()
                        || error.is_unrecoverable_error());
                    (Error::remote(error), answered)
                }
            }),
            Ok(Err(error)) => Err((error, false)),
            Err(_) => Err((Error::timeout(self.timeout), false)),
        };
        match outcome {
            Ok(value) => {
                self.breaker.succeeded();
                Ok(value)
            }
            // Redis is there: its connection stays, and the breaker does not count it as down.
            Err((error, true)) => {
                self.breaker.succeeded();
                Err(self.failed(error))
            }
            Err((error, false)) => {
                self.drop_connection();
                self.breaker.failed();
                Err(self.failed(error))
            }
        }
    }

    /// Counts a failure, and logs it unless another was logged in the last few seconds.
    fn failed(&self, error: Error) -> Error {
        let errors = self.errors.fetch_add(1, Ordering::Relaxed) + 1;
        let now = now_nanos();
        let last = self.last_warning.load(Ordering::Relaxed);
        let every = u64::try_from(WARN_EVERY.as_nanos()).unwrap_or(u64::MAX);
        if (last == 0 || now.saturating_sub(last) >= every)
            && self
                .last_warning
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                store = %self.address,
                %error,
                errors,
                "Redis cache store failed (logged at most every 10 s)"
            );
        }
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A breaker probe whose caller gives up (a `timeout` around it, an aborted task) must not
    /// leave Redis skipped for good.
    #[tokio::test]
    async fn a_cancelled_probe_lets_the_next_operation_through() {
        // A server that accepts and never answers: the probe hangs until cancelled.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (accepted, on_accept) = std::sync::mpsc::channel();
        let (done, on_done) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let connection = listener.accept();
            let _ = accepted.send(());
            let _ = on_done.recv(); // the connection stays open, silent, until the test ends
            drop(connection);
        });
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
        let link = Arc::new(Link::new(client, Duration::from_secs(30), Duration::ZERO));
        for _ in 0..TRIP_AFTER {
            link.breaker.failed();
        }
        let probing = Arc::clone(&link);
        let probe = tokio::spawn(async move {
            probing
                .run(|mut connection| async move {
                    redis::cmd("PING").query_async::<()>(&mut connection).await
                })
                .await
        });
        tokio::task::spawn_blocking(move || on_accept.recv().unwrap())
            .await
            .unwrap();
        probe.abort();
        assert!(probe.await.unwrap_err().is_cancelled());
        assert!(
            link.breaker.allow().is_some(),
            "the cancelled probe left the breaker half-open for good"
        );
        drop(done);
    }

    #[test]
    fn one_probe_at_a_time_and_a_failed_one_opens_the_breaker_again() {
        let breaker = Breaker {
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            cooldown: Duration::ZERO,
        };
        for _ in 0..TRIP_AFTER {
            assert!(breaker.allow().is_some_and(|pass| pass.probe.is_none()));
            breaker.failed();
        }
        let probe = breaker.allow().expect("the cool-down is over: a probe");
        assert!(probe.probe.is_some());
        assert!(breaker.allow().is_none(), "one probe at a time");
        breaker.failed();
        drop(probe);
        assert!(breaker.allow().is_some(), "no cool-down: the next probe");
        breaker.succeeded();
        assert!(breaker.allow().is_some_and(|pass| pass.probe.is_none()));
    }
}
