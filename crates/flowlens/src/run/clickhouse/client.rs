//! The HTTP side of ClickHouse: statements and `INSERT … FORMAT JSONEachRow` over its HTTP
//! interface (port 8123), through [`ureq`]. Works with every server that has the HTTP
//! interface and `JSONEachRow` (18.16, Debian 12's, and later); see the README.

use std::time::Duration;

use base64::Engine as _;

/// What went wrong talking to ClickHouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Error {
    /// No answer: refused, timed out, DNS, a broken connection.
    Transport(String),
    /// The server answered with an error status; `message` is its first line (ClickHouse's
    /// `Code: …, e.displayText() = …`).
    Server {
        /// The HTTP status (401/403: credentials; 404: database; 500: the statement).
        status: u16,
        /// The server's message.
        message: String,
    },
    /// Ours: the database was written by a newer flowlens, or a spool file cannot be used.
    Local(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Transport(m) => write!(f, "cannot reach ClickHouse: {m}"),
            Error::Server { status, message } if *status == 401 || *status == 403 => {
                write!(
                    f,
                    "ClickHouse refused the credentials (HTTP {status}): {message}"
                )
            }
            Error::Server { status, message } => {
                write!(f, "ClickHouse answered HTTP {status}: {message}")
            }
            Error::Local(m) => f.write_str(m),
        }
    }
}

/// Longest answer body read, bytes (errors and small `SELECT`s only).
const MAX_ANSWER: u64 = 1 << 20;

/// A ClickHouse HTTP endpoint with credentials.
#[derive(Clone)]
pub(crate) struct Client {
    agent: ureq::Agent,
    url: String,
    /// `Basic …` when a user is set.
    auth: Option<String>,
}

impl Client {
    /// A client of `url` (`http://host:8123`), logging in as `user` with `password` when a
    /// user is given; each request ends after `timeout`.
    pub(crate) fn new(url: &str, user: Option<&str>, password: &str, timeout: Duration) -> Client {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .proxy(None)
            .user_agent(concat!("flowlens/", env!("CARGO_PKG_VERSION")))
            .build();
        let auth = user.map(|u| {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{password}"));
            format!("Basic {token}")
        });
        Client {
            agent: ureq::Agent::new_with_config(config),
            url: url.trim_end_matches('/').to_string(),
            auth,
        }
    }

    /// Runs `sql` (a statement, or a query whose answer is small) and returns the answer body.
    pub(crate) fn query(&self, sql: &str) -> Result<String, Error> {
        self.post(&format!("{}/", self.url), sql.as_bytes())
    }

    /// Inserts `rows` (`JSONEachRow` lines) into `table` (`db.table`).
    pub(crate) fn insert(&self, table: &str, rows: &[u8]) -> Result<(), Error> {
        let q = format!("INSERT INTO {table} FORMAT JSONEachRow");
        let q = percent_encoding::utf8_percent_encode(&q, percent_encoding::NON_ALPHANUMERIC);
        self.post(&format!("{}/?query={q}", self.url), rows)
            .map(|_| ())
    }

    fn post(&self, url: &str, body: &[u8]) -> Result<String, Error> {
        let mut req = self.agent.post(url);
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let mut resp = req
            .send(body)
            .map_err(|e| Error::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| Error::Transport(e.to_string()))?;
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            let message = text.lines().next().unwrap_or("").trim().to_string();
            Err(Error::Server { status, message })
        }
    }
}
