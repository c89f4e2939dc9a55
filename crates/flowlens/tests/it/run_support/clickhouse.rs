//! A real `clickhouse-server` (Debian 12's `clickhouse-server` package, 18.16) started by a
//! test on loopback with its own config, data directory and ports; no systemd. Queries go
//! over its HTTP interface with the test's HTTP client.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to answer `/ping`.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// A running clickhouse-server.
pub(crate) struct ClickHouse {
    child: Option<Child>,
    dir: PathBuf,
    /// Its HTTP interface.
    pub(crate) http: SocketAddr,
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ClickHouse {
    /// Starts a server with its data in `dir` (created), user `default` without a password
    /// and user `flowlens` with password `s3cret`, and a one-shard cluster `fabric` (itself,
    /// for `Distributed` tables); waits until it answers.
    pub(crate) fn start(dir: &Path) -> ClickHouse {
        assert!(
            Path::new("/usr/sbin/clickhouse-server").exists()
                || Command::new("clickhouse-server")
                    .arg("--help")
                    .output()
                    .is_ok(),
            "clickhouse-server is missing: apt-get install clickhouse-server clickhouse-client"
        );
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let http = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let tcp = free_port();
        let d = dir.display();
        std::fs::write(
            dir.join("config.xml"),
            format!(
                r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/err.log</errorlog></logger>
  <http_port>{}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>16</max_concurrent_queries>
  <remote_servers>
    <fabric><shard><replica><host>127.0.0.1</host><port>{tcp}</port></replica></shard></fabric>
  </remote_servers>
</yandex>
"#,
                http.port(),
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("users.xml"),
            r#"<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>1000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <flowlens><password>s3cret</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></flowlens>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"#,
        )
        .unwrap();
        let mut ch = ClickHouse {
            child: None,
            dir: dir.to_path_buf(),
            http,
        };
        ch.restart();
        ch
    }

    /// Starts the server again (same config, data and ports) and waits until it answers.
    pub(crate) fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("clickhouse-server")
            .arg(format!(
                "--config-file={}",
                self.dir.join("config.xml").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn clickhouse-server");
        self.child = Some(child);
        let start = Instant::now();
        loop {
            if let Ok(r) = super::http(self.http, "GET", "/ping", None, "text/plain") {
                if r.status == 200 {
                    return;
                }
            }
            if let Some(s) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let err = std::fs::read_to_string(self.dir.join("err.log")).unwrap_or_default();
                panic!("clickhouse-server exited with {s}: {err}");
            }
            assert!(
                start.elapsed() < READY_WITHIN,
                "clickhouse-server not ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL after 30 s) and waits for it.
    pub(crate) fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The URL for `flowlens run --clickhouse`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Runs `sql` as `default` and returns the answer (TabSeparated), failing the test on an
    /// error.
    pub(crate) fn query(&self, sql: &str) -> String {
        let r = super::http(self.http, "POST", "/", Some(sql), "text/plain").unwrap();
        assert_eq!(r.status, 200, "{sql}: {}", r.body);
        r.body
    }
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
