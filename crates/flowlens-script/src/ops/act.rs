//! Script functions that act outside the process: `syslog`, `graphite`, `http`, `http2`,
//! `httpAsync`, `runCmd`, `dnsGetAllByName`, and `setForward`/`clearForward` (through the
//! [`crate::Host`]). Arguments follow sFlow-RT; the work is done by
//! [`crate::actions`]. Every call is counted in the script's status (sent / errors per
//! action).

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::SystemTime;

use serde_json::{json, Value as Json};

use super::{json_text, Args, Ops};
use crate::actions::{cmd, graphite, http};
use crate::state::Action;
use crate::{Error, Result};

/// Most `httpAsync` requests in flight per script.
const MAX_ASYNC: usize = 64;

pub(super) fn call(ops: &mut Ops, a: Args<'_>) -> Result<Json> {
    let (action, r) = match a.function {
        "syslog" => (Action::Syslog, syslog(ops, a)),
        "graphite" => (Action::Graphite, graphite(ops, a)),
        "http" => (Action::Http, http1(ops, a)),
        "http2" => (Action::Http, http2(ops, a)),
        "httpAsync" => (Action::Http, http_async(ops, a)),
        "runCmd" => (Action::RunCmd, run_cmd(ops, a)),
        "dnsGetAllByName" => return dns(a),
        "setForward" => return set_forward(ops, a),
        "clearForward" => {
            let name = a.str(0, "name")?;
            ops.host.forward(&name, None).map_err(|e| a.bad(e))?;
            return Ok(Json::Null);
        }
        _ => return Err(a.bad("not an action")),
    };
    ops.shared.count(action, r.is_ok());
    log_outage(ops, action, r.as_ref().err());
    r
}

/// Logs the first failure of a run of failures of `action` with its context, and the first
/// success after it; the calls between are counted in the script's status only.
fn log_outage(ops: &Ops, action: Action, error: Option<&Error>) {
    let was_failing = ops.shared.set_failing(action, error.is_some());
    let (id, name) = (&ops.id, action.name());
    match error {
        Some(e) if !was_failing => tracing::warn!(
            script = %id,
            action = name,
            "script {id}: {name} failed: {e} (further failures are counted in /scripts/json \
             until it works again)"
        ),
        None if was_failing => {
            let failed = ops
                .shared
                .actions
                .get(action as usize)
                .and_then(|a| a.get(1))
                .map_or(0, |n| n.load(std::sync::atomic::Ordering::Relaxed));
            tracing::info!(
                script = %id,
                action = name,
                failed_total = failed,
                "script {id}: {name} works again ({failed} failures since start)"
            );
        }
        _ => {}
    }
}

/// `setForward(name, address[, port])`: forward every sFlow datagram to `address:port`
/// (6343 by default), as `PUT /forwarding/{name}/json`.
fn set_forward(ops: &Ops, a: Args<'_>) -> Result<Json> {
    let name = a.str(0, "name")?;
    let address = a.str(1, "address")?;
    let port = opt_u16(&a, 2, "port")?.unwrap_or(6343);
    ops.host
        .forward(&name, Some((&address, port)))
        .map_err(|e| a.bad(e))?;
    Ok(Json::Null)
}

/// `syslog(host, port|null, facility|null, severity|null, {key: value})`.
fn syslog(ops: &Ops, a: Args<'_>) -> Result<Json> {
    let host = a.str(0, "host")?;
    let port = opt_u16(&a, 1, "port")?;
    let facility = opt_u8(&a, 2, "facility")?;
    let severity = opt_u8(&a, 3, "severity")?;
    let empty = serde_json::Map::new();
    let fields = match a.get(4) {
        Json::Null => &empty,
        _ => a.object(4, "message")?,
    };
    ops.syslog
        .send(&host, port, facility, severity, fields, SystemTime::now())?;
    Ok(Json::Null)
}

/// `graphite(host, port|null, {name: value})`.
fn graphite(ops: &Ops, a: Args<'_>) -> Result<Json> {
    let host = a.str(0, "host")?;
    let port = opt_u16(&a, 1, "port")?;
    let metrics = a.object(2, "metrics")?;
    let n = graphite::send(
        &host,
        port,
        metrics,
        SystemTime::now(),
        ops.config.graphite_timeout,
    )?;
    Ok(Json::from(n))
}

/// `http(url[, operation[, contentType, body][, user, password[, accept]]])` → the body; a
/// status outside 200–299 throws.
///
/// sFlow-RT's forms: `http(url)`, `http(url,'get'[,user,pw[,accept]])`,
/// `http(url,'put'|'post'|'delete',contentType,body[,user,pw[,accept]])`.
fn http1(ops: &Ops, a: Args<'_>) -> Result<Json> {
    let url = a.str(0, "url")?;
    let method = a.opt_str(1, "operation")?.unwrap_or_else(|| "get".into());
    let lower = method.to_ascii_lowercase();
    let mut req = http::Request {
        url,
        method: lower.clone(),
        headers: Vec::new(),
        body: None,
        user: None,
        password: None,
    };
    let rest = if matches!(lower.as_str(), "get" | "head") {
        2
    } else {
        if let Some(ct) = a.opt_str(2, "contentType")? {
            req.headers.push(("Content-Type".into(), ct));
        }
        req.body = a.opt_str(3, "body")?;
        4
    };
    req.user = a.opt_str(rest, "user")?;
    req.password = a.opt_str(rest + 1, "password")?;
    if let Some(accept) = a.opt_str(rest + 2, "accept")? {
        req.headers.push(("Accept".into(), accept));
    }
    let res = ops.http.send(&req)?;
    if !(200..300).contains(&res.status) {
        return Err(Error::Action {
            action: "http",
            message: format!("HTTP {} from {}", res.status, req.url),
        });
    }
    Ok(Json::from(res.body))
}

/// A request from `http2`/`httpAsync`'s object `{url, operation, headers, body, user,
/// password}`.
fn request_of(a: &Args<'_>, o: &serde_json::Map<String, Json>) -> Result<http::Request> {
    let text = |k: &str| o.get(k).and_then(json_text);
    let url = text("url").ok_or_else(|| a.bad("the request needs a url"))?;
    let mut headers = Vec::new();
    if let Some(h) = o.get("headers").and_then(Json::as_object) {
        for (k, v) in h {
            if let Some(v) = json_text(v) {
                headers.push((k.clone(), v));
            }
        }
    }
    let body = match o.get("body") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(v) => Some(v.to_string()),
    };
    Ok(http::Request {
        url,
        method: text("operation").unwrap_or_else(|| "get".into()),
        headers,
        body,
        user: text("user"),
        password: text("password"),
    })
}

/// The script's view of a response: `{status, url, body, headers}`.
fn response_json(url: &str, r: &http::Response) -> Json {
    let headers: serde_json::Map<String, Json> = r
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Json::from(v.clone())))
        .collect();
    json!({"status": r.status, "url": url, "body": r.body, "headers": headers})
}

/// `http2({url, operation, headers, body, user, password})` → `{status, url, body, headers}`.
fn http2(ops: &Ops, a: Args<'_>) -> Result<Json> {
    let req = request_of(&a, a.object(0, "request")?)?;
    let res = ops.http.send(&req)?;
    Ok(response_json(&req.url, &res))
}

/// `httpAsync(request)` (the prelude keeps the callbacks and passes an id): the request runs
/// on its own thread; the answer `{id, ok, res}` comes back through the script's inbox.
fn http_async(ops: &Ops, a: Args<'_>) -> Result<Json> {
    let id = a
        .opt_f64(0, "id")?
        .ok_or_else(|| a.bad("internal: missing request id"))?;
    let req = request_of(&a, a.object(1, "request")?)?;
    if !ops.shared.async_begin(MAX_ASYNC) {
        return Err(Error::Action {
            action: "httpAsync",
            message: format!("more than {MAX_ASYNC} requests in flight"),
        });
    }
    let client = ops.http.clone();
    let reply = ops.async_reply.clone();
    let shared = ops.shared.clone();
    let spawned = std::thread::Builder::new()
        .name("script-http".into())
        .spawn(move || {
            let answer = match client.send(&req) {
                Ok(res) => {
                    json!({"id": id, "ok": (200..300).contains(&res.status), "res": response_json(&req.url, &res)})
                }
                Err(e) => {
                    json!({"id": id, "ok": false, "res": {"status": 0, "url": req.url, "body": e.to_string()}})
                }
            };
            shared.async_end();
            let _ = reply(answer);
        });
    if let Err(e) = spawned {
        ops.shared.async_end();
        return Err(Error::Action {
            action: "httpAsync",
            message: format!("cannot start a thread: {e}"),
        });
    }
    Ok(Json::Null)
}

/// `runCmd(cmd[] [, envp[] [, dir]])` → `{status, stdout:[lines], stderr:[lines]}`.
fn run_cmd(ops: &Ops, a: Args<'_>) -> Result<Json> {
    if !ops.config.allow_run_cmd {
        return Err(Error::RunCmdDisabled);
    }
    let argv: Vec<String> = match a.get(0) {
        Json::Array(v) => v.iter().filter_map(json_text).collect(),
        Json::String(s) => s.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    };
    if argv.is_empty() {
        return Err(a.bad("cmd (argument 1) must be a non-empty array of strings"));
    }
    let env: Option<Vec<String>> = match a.get(1) {
        Json::Array(v) => Some(v.iter().filter_map(json_text).collect()),
        _ => None,
    };
    let dir = a.opt_str(2, "dir")?.map(PathBuf::from);
    let out = cmd::run(
        &argv,
        env.as_deref(),
        dir.as_deref(),
        ops.config.cmd_timeout,
        ops.config.cmd_max_output_bytes,
    )?;
    Ok(json!({"status": out.status, "stdout": out.stdout, "stderr": out.stderr}))
}

/// `dnsGetAllByName(name)` → the addresses as strings.
fn dns(a: Args<'_>) -> Result<Json> {
    let name = a.str(0, "name")?;
    let addrs = (name.as_str(), 0)
        .to_socket_addrs()
        .map_err(|e| Error::Action {
            action: "dnsGetAllByName",
            message: format!("{name}: {e}"),
        })?;
    let mut out: Vec<String> = Vec::new();
    for s in addrs {
        let ip = s.ip().to_string();
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(Json::from(out))
}

fn opt_u16(a: &Args<'_>, i: usize, what: &str) -> Result<Option<u16>> {
    match a.opt_f64(i, what)? {
        None => Ok(None),
        Some(p) if (1.0..=65535.0).contains(&p) && p.fract() == 0.0 => Ok(Some(p as u16)),
        Some(p) => Err(a.bad(format!("{what} must be 1 to 65535, not {p}"))),
    }
}

fn opt_u8(a: &Args<'_>, i: usize, what: &str) -> Result<Option<u8>> {
    match a.opt_f64(i, what)? {
        None => Ok(None),
        Some(p) if (0.0..=255.0).contains(&p) && p.fract() == 0.0 => Ok(Some(p as u8)),
        Some(p) => Err(a.bad(format!("{what} must be a small whole number, not {p}"))),
    }
}
