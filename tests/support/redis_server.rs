//! A `redis-server` of the test's own: started from `PATH` on a free port of 127.0.0.1, never
//! the one on 6379, and stopped when the test process ends (a watchdog shell polls the test
//! process and stops the server after it).

#![allow(dead_code)] // each test file uses part of it

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub port: u16,
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1");
    let port = listener.local_addr().expect("its address").port();
    assert_ne!(port, 6379, "never the shared Redis port");
    port
}

impl RedisServer {
    /// A new server on a free port.
    pub fn start() -> Self {
        let server = RedisServer { port: free_port() };
        server.launch();
        server
    }

    /// A new server that speaks TLS only, with the certificate and key in `dir` (`cert.pem`,
    /// `key.pem`); `cli` does not reach it.
    pub fn start_tls(dir: &std::path::Path) -> Self {
        let server = RedisServer { port: free_port() };
        let cert = dir.join("cert.pem").display().to_string();
        let key = dir.join("key.pem").display().to_string();
        server.watched(&[
            "--port",
            "0",
            "--tls-port",
            &server.port.to_string(),
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &cert,
            "--tls-auth-clients",
            "no",
        ]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the TLS redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// Starts `redis-server` with `args` (and settings of the tests' own) under a watchdog
    /// shell, which stops it after the test process ends.
    // The watchdog outlives the test process on purpose.
    #[allow(clippy::zombie_processes)]
    fn watched(&self, args: &[&str]) {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            panic!(
                "redis-server is not on PATH: the Redis tests start their own server. \
                 Install it (Debian: apt-get install redis-server) and run the tests again."
            );
        }
        let script = r#"
            test_process=$1; shift
            redis-server --bind 127.0.0.1 --save "" --appendonly no --logfile "" \
                --loglevel warning "$@" &
            server=$!
            while kill -0 "$test_process" 2>/dev/null && kill -0 "$server" 2>/dev/null; do
                sleep 0.2
            done
            kill -9 "$server" 2>/dev/null
        "#;
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("redis-watchdog")
            .arg(std::process::id().to_string())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh");
    }

    fn launch(&self) {
        self.watched(&["--port", &self.port.to_string()]);
        self.wait_until(true);
    }

    /// Waits until the server answers (or no longer does).
    fn wait_until(&self, up: bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let answers = self.cli(&["PING"]).is_some_and(|out| out.trim() == "PONG");
            if answers == up {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "redis-server on port {} did not {}",
            self.port,
            if up { "start" } else { "stop" }
        );
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// `redis-cli` against this server; its output, if it ran.
    pub fn cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Binary-safe `redis-cli` output (`--no-raw` quoting off): the raw bytes of a reply.
    pub fn cli_raw(&self, args: &[&str]) -> Vec<u8> {
        Command::new("redis-cli")
            .arg("-p")
            .arg(self.port.to_string())
            .arg("--raw")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli")
            .stdout
    }

    fn pid(&self) -> String {
        let info = self.cli(&["INFO", "server"]).expect("INFO");
        info.lines()
            .find_map(|line| line.strip_prefix("process_id:"))
            .expect("process_id")
            .trim()
            .to_owned()
    }

    /// Kills the server, as a crash would.
    pub fn kill(&self) {
        let pid = self.pid();
        Command::new("kill")
            .arg("-9")
            .arg(&pid)
            .status()
            .expect("kill");
        self.wait_until(false);
    }

    /// Starts the server again on the same port, empty.
    pub fn restart(&self) {
        self.launch();
    }

    /// Freezes the server (it accepts connections, and answers nothing) until `resume`.
    pub fn pause(&self) -> String {
        let pid = self.pid();
        Command::new("kill")
            .arg("-STOP")
            .arg(&pid)
            .status()
            .expect("kill -STOP");
        pid
    }

    pub fn resume(&self, pid: &str) {
        Command::new("kill")
            .arg("-CONT")
            .arg(pid)
            .status()
            .expect("kill -CONT");
    }

    /// The keys matching `pattern`, for assertions on names.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .cli(&["--scan", "--pattern", pattern])
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        keys.sort();
        keys
    }
}
