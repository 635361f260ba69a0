//! The Redis path of `#[cache(store = REDIS)]` beside a raw `redis` crate `GET` of the same
//! bytes on one multiplexed connection, in one run, against a `redis-server` the benchmark
//! starts on a free port (and stops). Runtime: tokio's current-thread scheduler.
//!
//! Run with `cargo bench -p cached-benches --bench redis`; BENCHMARKS.md records the ratios.

use std::hint::black_box;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use cached_core::{cache, RedisStore};
use criterion::{criterion_group, criterion_main, Criterion};
use redis::AsyncCommands;

/// A `redis-server` of the benchmark's own, on a free port of 127.0.0.1.
struct Server {
    port: u16,
    child: Child,
}

impl Server {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .unwrap_or_else(|error| panic!("no free port: {error}"));
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("redis-server is not on PATH: {error}"));
        for _ in 0..500 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Server { port, child };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server did not start");
    }
}

static SERVER: LazyLock<std::sync::Mutex<Server>> =
    LazyLock::new(|| std::sync::Mutex::new(Server::start()));

fn url() -> String {
    let port = SERVER.lock().unwrap_or_else(|e| e.into_inner()).port;
    format!("redis://127.0.0.1:{port}/")
}

static REDIS: LazyLock<RedisStore> = LazyLock::new(|| {
    RedisStore::builder(&url())
        .prefix("bench")
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap_or_else(|error| panic!("{error}"))
});

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Profile {
    id: u64,
    name: String,
    email: String,
}

fn profile_of(id: u64) -> Profile {
    Profile {
        id,
        name: format!("user {id}"),
        email: format!("user{id}@example.com"),
    }
}

#[cache(store = REDIS, name = "profile", ttl = 3600)]
async fn profile(id: u64) -> Profile {
    profile_of(id)
}

static NEXT: AtomicU64 = AtomicU64::new(1_000_000);

fn redis_paths(c: &mut Criterion) {
    // One thread: the caller and the connection's I/O task share it, as do both contenders,
    // so that the timings do not depend on where the scheduler puts each thread (on this
    // two-vCPU machine, that alone moved a round trip between 60 and 80 us).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("{error}"));
    let client = redis::Client::open(url()).unwrap_or_else(|error| panic!("{error}"));
    let connection = runtime
        .block_on(client.get_multiplexed_async_connection())
        .unwrap_or_else(|error| panic!("{error}"));
    runtime.block_on(profile(7));
    let key = "bench:profile:%13%00%00%00%00%00%00%00%07";
    let bytes: Vec<u8> = runtime
        .block_on(connection.clone().get(key))
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(!bytes.is_empty(), "the cached value is at {key}");

    let mut group = c.benchmark_group("redis hit");
    group.bench_function("raw GET", |b| {
        b.to_async(&runtime).iter(|| {
            let mut connection = connection.clone();
            async move { black_box(connection.get::<_, Vec<u8>>(key).await.ok()) }
        })
    });
    // What a hit asks Redis for: the value and its function's generation, in one command.
    group.bench_function("raw MGET of value and generation", |b| {
        b.to_async(&runtime).iter(|| {
            let mut connection = connection.clone();
            async move {
                let keys = [key, "bench:profile:%gen"];
                black_box(connection.mget::<_, Vec<Option<Vec<u8>>>>(&keys).await.ok())
            }
        })
    });
    group.bench_function("#[cache(store = REDIS)]", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(profile(black_box(7)).await) })
    });
    group.finish();

    let mut group = c.benchmark_group("redis miss");
    group.bench_function("raw GET + SET", |b| {
        b.to_async(&runtime).iter(|| {
            let mut connection = connection.clone();
            let bytes = &bytes;
            async move {
                let key = format!("raw:{}", NEXT.fetch_add(1, Ordering::Relaxed));
                let found: Option<Vec<u8>> = connection.get(&key).await.ok().flatten();
                if found.is_none() {
                    let _: Result<(), _> = connection.set_ex(&key, bytes, 3600).await;
                }
            }
        })
    });
    group.bench_function("#[cache(store = REDIS)]", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(profile(NEXT.fetch_add(1, Ordering::Relaxed)).await) })
    });
    group.finish();

    const TASKS: usize = 64;
    let mut group = c.benchmark_group("redis hit, 64 tasks");
    group.throughput(criterion::Throughput::Elements(TASKS as u64));
    group.bench_function("raw GET", |b| {
        b.to_async(&runtime).iter(|| {
            let connection = connection.clone();
            async move {
                let mut tasks = tokio::task::JoinSet::new();
                for _ in 0..TASKS {
                    let mut connection = connection.clone();
                    tasks.spawn(async move { connection.get::<_, Vec<u8>>(key).await.ok() });
                }
                tasks.join_all().await
            }
        })
    });
    group.bench_function("#[cache(store = REDIS)]", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..TASKS {
                tasks.spawn(profile(7));
            }
            tasks.join_all().await
        })
    });
    group.finish();

    let stats = cached_core::stats();
    if let Some(row) = stats.iter().find(|s| s.name == "profile") {
        assert_eq!(row.errors, 0, "Redis failed during the benchmark: {row:?}");
    }
    let mut server = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let _ = server.child.kill();
    let _ = server.child.wait();
}

criterion_group!(benches, redis_paths);
criterion_main!(benches);
