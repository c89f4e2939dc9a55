//! `uri:<key>:<part>`: one component of a URL or a request target.
//!
//! sFlow-RT documents the function by example only (`prefix:[uri:httpurl:path]:/:2` on
//! `http://localhost:8008/metrics/json` gives `/metrics`, define_flow.php). The part names
//! follow the components of `java.net.URI` (sFlow-RT runs on the JVM; inferred): `scheme`,
//! `authority`, `userinfo`, `host`, `port`, `path`, `query`, `fragment`. Values are returned as
//! they appear (no percent-decoding). A request target without scheme (`/a/b?x=1`) has a path
//! and query only. A part that is absent is null; `path` is empty text when the URL has none.

/// A URL component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UriPart {
    Scheme,
    Authority,
    UserInfo,
    Host,
    Port,
    Path,
    Query,
    Fragment,
}

impl UriPart {
    pub(crate) const NAMES: &'static str =
        "scheme, authority, userinfo, host, port, path, query, fragment";

    pub(crate) fn parse(t: &str) -> Option<UriPart> {
        Some(match t {
            "scheme" => UriPart::Scheme,
            "authority" => UriPart::Authority,
            "userinfo" => UriPart::UserInfo,
            "host" => UriPart::Host,
            "port" => UriPart::Port,
            "path" => UriPart::Path,
            "query" => UriPart::Query,
            "fragment" => UriPart::Fragment,
            _ => return None,
        })
    }
}

fn is_scheme(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// The `part` of `url`, as a slice of it.
pub(crate) fn uri_part(url: &str, part: UriPart) -> Option<&str> {
    let (rest, fragment) = match url.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (url, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (scheme, rest) = match rest.split_once("://") {
        Some((s, r)) if is_scheme(s) => (Some(s), Some(r)),
        _ => (None, rest.strip_prefix("//")),
    };
    let (authority, path) = match rest {
        Some(r) => match r.find('/') {
            Some(i) => (r.get(..i), r.get(i..).unwrap_or("")),
            None => (Some(r), ""),
        },
        None => (
            None,
            match rest {
                Some(r) => r,
                None => strip_fragment_query(url),
            },
        ),
    };
    let (userinfo, hostport) = match authority {
        Some(a) => match a.rsplit_once('@') {
            Some((u, h)) => (Some(u), Some(h)),
            None => (None, Some(a)),
        },
        None => (None, None),
    };
    let (host, port) = match hostport {
        Some(h) if h.starts_with('[') => match h.find(']') {
            Some(i) => (
                h.get(..=i),
                h.get(i + 1..).and_then(|p| p.strip_prefix(':')),
            ),
            None => (Some(h), None),
        },
        Some(h) => match h.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(h), None),
        },
        None => (None, None),
    };
    let v = match part {
        UriPart::Scheme => scheme,
        UriPart::Authority => authority,
        UriPart::UserInfo => userinfo,
        UriPart::Host => host,
        UriPart::Port => port,
        UriPart::Path => Some(path),
        UriPart::Query => query,
        UriPart::Fragment => fragment,
    };
    v.filter(|s| !s.is_empty() || part == UriPart::Path)
}

fn strip_fragment_query(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url.get(..end).unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use UriPart::*;

    #[test]
    fn full_url() {
        let u = "https://bob:pw@www.example.com:8443/a/b.html?x=1&y=2#top";
        assert_eq!(uri_part(u, Scheme), Some("https"));
        assert_eq!(uri_part(u, Authority), Some("bob:pw@www.example.com:8443"));
        assert_eq!(uri_part(u, UserInfo), Some("bob:pw"));
        assert_eq!(uri_part(u, Host), Some("www.example.com"));
        assert_eq!(uri_part(u, Port), Some("8443"));
        assert_eq!(uri_part(u, Path), Some("/a/b.html"));
        assert_eq!(uri_part(u, Query), Some("x=1&y=2"));
        assert_eq!(uri_part(u, Fragment), Some("top"));
    }

    #[test]
    fn partial_urls() {
        assert_eq!(
            uri_part("http://localhost:8008/metrics/json", Path),
            Some("/metrics/json")
        );
        assert_eq!(uri_part("http://h", Path), Some(""));
        assert_eq!(uri_part("http://h", Port), None);
        assert_eq!(uri_part("http://[::1]:80/x", Host), Some("[::1]"));
        assert_eq!(uri_part("http://[::1]:80/x", Port), Some("80"));
        assert_eq!(uri_part("/a/b?q=1", Path), Some("/a/b"));
        assert_eq!(uri_part("/a/b?q=1", Query), Some("q=1"));
        assert_eq!(uri_part("/a/b?q=1", Host), None);
        assert_eq!(uri_part("/a/b?q=1", Scheme), None);
        assert_eq!(uri_part("//cdn.example/x", Host), Some("cdn.example"));
    }
}
