//! sFlow-RT's `http(url[, op, contentType, body, user, password, accept])`, `http2({...})`
//! and `httpAsync`: an HTTP/1.1 client (RFC 9110, RFC 9112) with an overall timeout and a
//! cap on response bodies, built on [`ureq`].
//!
//! `http` and `https` URLs are supported; HTTPS uses rustls with the Mozilla root
//! certificates compiled in (`webpki-roots`), not the system's store. Up to 10 redirects are
//! followed (an `Authorization` header is not carried to the new location). Proxy
//! environment variables (`http_proxy`…) are ignored. Responses are not decompressed
//! (no `Accept-Encoding` is sent).

use std::time::Duration;

use base64::Engine as _;
use ureq::http;

use crate::{Error, Result};

/// One request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// An absolute `http://` or `https://` URL.
    pub url: String,
    /// `get`, `post`, `put`, `delete`, `head` or `patch`, in any case; empty = `get`.
    pub method: String,
    /// Request headers in order, e.g. `("Content-Type", "application/json")`,
    /// `("Accept", "application/json")`. An `Authorization` header is replaced when
    /// [`user`](Request::user) is given; `Content-Length` and `Transfer-Encoding` are
    /// ignored (the client sets them from [`body`](Request::body)). Without an `Accept`
    /// header, `Accept: */*` is sent.
    pub headers: Vec<(String, String)>,
    /// The body, sent as UTF-8 with its `Content-Length`, whatever the method; `None` sends
    /// none (an empty one, `Content-Length: 0`, for `post`, `put`, `patch`).
    pub body: Option<String>,
    /// With [`password`](Request::password), HTTP Basic authentication (RFC 7617):
    /// `Authorization: Basic base64(user:password)`.
    pub user: Option<String>,
    /// The password for [`user`](Request::user); `None` = empty.
    pub password: Option<String>,
}

/// One response, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code, e.g. 200, 404.
    pub status: u16,
    /// The body as text (invalid UTF-8 replaced by U+FFFD); empty for `head`.
    pub body: String,
    /// Response headers in order, names in lower case, values as text (lossy).
    pub headers: Vec<(String, String)>,
}

/// An HTTP client: a [`ureq::Agent`] (connection pool and settings), cheap to clone,
/// `Send + Sync`.
#[derive(Debug, Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    max_body_bytes: u64,
}

impl HttpClient {
    /// A client whose requests each end after `timeout` overall (resolving, connecting,
    /// sending, receiving the whole body) and which refuses response bodies over
    /// `max_body_bytes` bytes.
    pub fn new(timeout: Duration, max_body_bytes: u64) -> HttpClient {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .proxy(None)
            .accept_encoding("")
            .user_agent(concat!("flowlens/", env!("CARGO_PKG_VERSION")))
            .build();
        HttpClient {
            agent: ureq::Agent::new_with_config(config),
            max_body_bytes,
        }
    }

    /// Sends `req` and returns the response, whatever its status (4xx and 5xx are
    /// responses, not errors).
    ///
    /// Errors: [`Error::Arguments`] (`http`) for a URL that is not `http`/`https` or does
    /// not parse, an unknown method or a header that is not valid;
    /// [`Error::Action`] (`http`) for a transport failure (refused, timeout, DNS, TLS) or
    /// a response body over the limit.
    pub fn send(&self, req: &Request) -> Result<Response> {
        let method = method(&req.method)?;
        let url = req.url.trim();
        let scheme_ok = url.split_once("://").is_some_and(|(s, _)| {
            s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https")
        });
        if !scheme_ok {
            return Err(arguments(format!(
                "URL {url:?} must start with http:// or https://"
            )));
        }
        let uri: http::Uri = url
            .parse()
            .map_err(|e| arguments(format!("URL {url:?}: {e}")))?;
        let mut builder = http::Request::builder().method(method.clone()).uri(uri);
        let auth = req.user.as_ref().map(|user| {
            let pair = format!("{user}:{}", req.password.as_deref().unwrap_or(""));
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        for (name, value) in &req.headers {
            let framing = name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("transfer-encoding");
            if framing || (auth.is_some() && name.eq_ignore_ascii_case("authorization")) {
                continue;
            }
            let name = http::HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| arguments(format!("header name {name:?} is not valid")))?;
            let value = http::HeaderValue::from_str(value.trim())
                .map_err(|_| arguments(format!("header {name} value {value:?} is not valid")))?;
            builder = builder.header(name, value);
        }
        if let Some(auth) = auth {
            let value = http::HeaderValue::from_str(&auth)
                .map_err(|_| arguments("user or password is not valid".to_owned()))?;
            builder = builder.header(http::header::AUTHORIZATION, value);
        }
        let needs_body = method == http::Method::POST
            || method == http::Method::PUT
            || method == http::Method::PATCH;
        let body = match &req.body {
            Some(body) => Some(body.as_str()),
            None if needs_body => Some(""),
            None => None,
        };
        let transport = |e: ureq::Error| Error::Action {
            action: "http",
            message: format!("{method} {url}: {e}"),
        };
        let mut response = match body {
            Some(body) => {
                let request = builder
                    .body(body)
                    .map_err(|e| arguments(format!("{method} {url}: {e}")))?;
                self.agent.run(request)
            }
            None => {
                let request = builder
                    .body(())
                    .map_err(|e| arguments(format!("{method} {url}: {e}")))?;
                self.agent.run(request)
            }
        }
        .map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(self.max_body_bytes)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(limit) => Error::Action {
                    action: "http",
                    message: format!("{method} {url}: response body is over {limit} bytes"),
                },
                other => transport(other),
            })?;
        Ok(Response {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            headers,
        })
    }
}

/// An [`Error::Arguments`] of `http`.
fn arguments(reason: String) -> Error {
    Error::Arguments {
        function: "http".into(),
        reason,
    }
}

/// The method named `name` (any case; empty = GET).
fn method(name: &str) -> Result<http::Method> {
    let name = name.trim();
    let method = match name.to_ascii_lowercase().as_str() {
        "" | "get" => http::Method::GET,
        "post" => http::Method::POST,
        "put" => http::Method::PUT,
        "delete" => http::Method::DELETE,
        "head" => http::Method::HEAD,
        "patch" => http::Method::PATCH,
        _ => {
            return Err(arguments(format!(
                "method {name:?} must be get, post, put, delete, head or patch"
            )))
        }
    };
    Ok(method)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::thread::JoinHandle;

    /// What the test server saw.
    #[derive(Debug, Default)]
    struct Seen {
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// A server answering one request with `response` (the whole HTTP text); returns its
    /// base URL and a handle giving what it saw.
    fn serve_once(response: &'static str) -> (String, JoinHandle<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (conn, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(conn);
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let mut seen = Seen {
                method: parts.next().unwrap().to_owned(),
                path: parts.next().unwrap().to_owned(),
                ..Seen::default()
            };
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (n, v) = line.split_once(':').unwrap();
                seen.headers
                    .push((n.trim().to_owned(), v.trim().to_owned()));
            }
            let len: usize = seen
                .header("content-length")
                .map(|v| v.parse().unwrap())
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            seen.body = String::from_utf8(body).unwrap();
            let mut conn = reader.into_inner();
            conn.write_all(response.as_bytes()).unwrap();
            seen
        });
        (url, handle)
    }

    const OK: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Test: yes\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

    fn client() -> HttpClient {
        HttpClient::new(Duration::from_secs(10), 1 << 20)
    }

    #[test]
    fn get() {
        let (url, server) = serve_once(OK);
        let resp = client()
            .send(&Request {
                url: format!("{url}/api/v1?x=1"),
                method: "GET".to_owned(),
                ..Request::default()
            })
            .unwrap();
        let seen = server.join().unwrap();
        assert_eq!(seen.method, "GET");
        assert_eq!(seen.path, "/api/v1?x=1");
        assert_eq!(seen.body, "");
        assert_eq!(seen.header("authorization"), None);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, "hello");
        assert!(resp
            .headers
            .contains(&("x-test".to_owned(), "yes".to_owned())));
    }

    #[test]
    fn post_with_content_type_and_body() {
        let (url, server) = serve_once(OK);
        let resp = client()
            .send(&Request {
                url: format!("{url}/post"),
                method: "post".to_owned(),
                headers: vec![
                    ("Content-Type".to_owned(), "application/json".to_owned()),
                    ("Accept".to_owned(), "text/plain".to_owned()),
                    ("Content-Length".to_owned(), "999".to_owned()),
                ],
                body: Some("{\"a\":1}".to_owned()),
                ..Request::default()
            })
            .unwrap();
        let seen = server.join().unwrap();
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.path, "/post");
        assert_eq!(seen.header("content-type"), Some("application/json"));
        assert_eq!(seen.header("accept"), Some("text/plain"));
        let count = |name: &str| {
            seen.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .count()
        };
        assert_eq!(count("accept"), 1);
        assert_eq!(count("content-length"), 1);
        assert_eq!(seen.header("content-length"), Some("7"));
        assert_eq!(seen.body, "{\"a\":1}");
        assert_eq!(resp.status, 200);
    }

    #[test]
    fn basic_auth() {
        let (url, server) = serve_once(OK);
        client()
            .send(&Request {
                url,
                method: "Put".to_owned(),
                headers: vec![("Authorization".to_owned(), "Bearer old".to_owned())],
                user: Some("Aladdin".to_owned()),
                password: Some("open sesame".to_owned()),
                ..Request::default()
            })
            .unwrap();
        let seen = server.join().unwrap();
        assert_eq!(seen.method, "PUT");
        // RFC 7617 §2's example.
        assert_eq!(
            seen.header("authorization"),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        assert_eq!(
            seen.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
                .count(),
            1
        );
        assert_eq!(seen.header("content-length"), Some("0"));
    }

    #[test]
    fn not_found_is_a_response() {
        let (url, server) = serve_once(
            "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
        );
        let resp = client()
            .send(&Request {
                url: format!("{url}/missing"),
                method: "delete".to_owned(),
                ..Request::default()
            })
            .unwrap();
        assert_eq!(server.join().unwrap().method, "DELETE");
        assert_eq!(resp.status, 404);
        assert_eq!(resp.body, "not found");
    }

    #[test]
    fn body_over_the_limit() {
        let (url, server) = serve_once(OK);
        let small = HttpClient::new(Duration::from_secs(10), 4);
        match small.send(&Request {
            url,
            ..Request::default()
        }) {
            Err(Error::Action {
                action: "http",
                message,
            }) => {
                assert!(message.contains("over 4 bytes"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        server.join().unwrap();
    }

    #[test]
    fn refused_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        match client().send(&Request {
            url: format!("http://{addr}/"),
            ..Request::default()
        }) {
            Err(Error::Action {
                action: "http",
                message,
            }) => {
                assert!(message.contains(&addr.to_string()), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        // Accepts and never answers; holds the connection until the test is done.
        let server = std::thread::spawn(move || {
            let (_conn, _) = listener.accept().unwrap();
            let _ = done_rx.recv();
        });
        let start = std::time::Instant::now();
        let r = HttpClient::new(Duration::from_millis(300), 1024).send(&Request {
            url: format!("http://{addr}/slow"),
            ..Request::default()
        });
        let elapsed = start.elapsed();
        drop(done_tx);
        server.join().unwrap();
        match r {
            Err(Error::Action {
                action: "http",
                message,
            }) => {
                assert!(message.contains("timeout"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    }

    #[test]
    fn https_is_compiled_in() {
        // A plain HTTP server answering a TLS client: rustls runs the handshake and rejects
        // the answer (without TLS, ureq would refuse https URLs outright).
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}/", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let _ = conn.write_all(OK.as_bytes());
            let _ = conn.read(&mut [0u8; 4096]);
        });
        match client().send(&Request {
            url,
            ..Request::default()
        }) {
            Err(Error::Action {
                action: "http",
                message,
            }) => {
                // rustls' own complaint about the plain-text answer.
                assert!(message.contains("corrupt message"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        server.join().unwrap();
    }

    #[test]
    fn bad_arguments() {
        let c = client();
        for (url, method) in [
            ("ftp://example.com/", "get"),
            ("example.com", "get"),
            ("http://exa mple.com/", "get"),
            ("http://127.0.0.1:1/", "options"),
        ] {
            let r = c.send(&Request {
                url: url.to_owned(),
                method: method.to_owned(),
                ..Request::default()
            });
            assert!(
                matches!(
                    &r,
                    Err(Error::Arguments { function, .. }) if function == "http"
                ),
                "{url} {method}: {r:?}"
            );
        }
        let r = c.send(&Request {
            url: "http://127.0.0.1:1/".to_owned(),
            headers: vec![("Bad Name".to_owned(), "v".to_owned())],
            ..Request::default()
        });
        assert!(matches!(r, Err(Error::Arguments { .. })), "{r:?}");
    }
}
