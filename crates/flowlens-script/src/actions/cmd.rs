//! sFlow-RT's `runCmd(cmd[] [, envp[] [, dir]])`: run a program (no shell) and return
//! `{status, stdout:[lines], stderr:[lines]}`, with a time limit and an output cap.
//!
//! The program runs in a process group of its own, so that on a timeout the whole group
//! (the program and whatever it started) is killed. Its standard input is `/dev/null`;
//! its standard output and error are read concurrently by two threads, so a child writing
//! a lot to both cannot deadlock.

use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wait_timeout::ChildExt as _;

use crate::{Error, Result};

/// The line added after output cut at the cap.
pub const TRUNCATED: &str = "[output truncated]";

/// What a finished program left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The exit code; -1 when the program was ended by a signal.
    pub status: i32,
    /// Standard output as lines (split at `\n`, a trailing `\r` removed, lossy UTF-8), the
    /// last one `[output truncated]` when it was cut.
    pub stdout: Vec<String>,
    /// Standard error, as `stdout`.
    pub stderr: Vec<String>,
}

/// Runs `argv[0]` (looked up in `PATH` when it has no `/`; no shell) with arguments
/// `argv[1..]`.
///
/// - `env`: when `Some`, `NAME=value` strings that replace the whole environment (as Java's
///   `Runtime.exec` envp does); when `None` the program inherits this process's.
/// - `dir`: the working directory; `None` = this process's.
/// - `timeout`: how long the program (and any process holding its output open) may run;
///   after it the program's process group is killed (SIGKILL) and the call fails.
/// - `max_output_bytes`: the bytes kept of each stream; the rest is read and dropped, and
///   a last line [`TRUNCATED`] is added.
///
/// Errors: [`Error::Arguments`] (`runCmd`) for an empty `argv` or an `env` entry without
/// `=`; [`Error::Action`] (`runCmd`) for a program that cannot be started
/// (`cannot run ovs-ofctl: No such file or directory`) or that ran out of time.
pub fn run(
    argv: &[String],
    env: Option<&[String]>,
    dir: Option<&Path>,
    timeout: Duration,
    max_output_bytes: usize,
) -> Result<Output> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::Arguments {
            function: "runCmd".into(),
            reason: "the command must name a program".to_owned(),
        });
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(env) = env {
        command.env_clear();
        for entry in env {
            let Some((name, value)) = entry.split_once('=') else {
                return Err(Error::Arguments {
                    function: "runCmd".into(),
                    reason: format!("environment entry {entry:?} is not NAME=value"),
                });
            };
            if name.is_empty() {
                return Err(Error::Arguments {
                    function: "runCmd".into(),
                    reason: format!("environment entry {entry:?} has no name"),
                });
            }
            command.env(name, value);
        }
    }
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| {
        let message = match dir {
            Some(dir) if !dir.is_dir() => format!(
                "cannot run {program}: working directory {} is not a directory",
                dir.display()
            ),
            _ => format!("cannot run {program}: {}", super::io_text(&e)),
        };
        Error::Action {
            action: "runCmd",
            message,
        }
    })?;

    let (tx, rx) = mpsc::channel();
    let readers = [
        child
            .stdout
            .take()
            .map(|out| spawn_reader(out, false, tx.clone(), max_output_bytes)),
        child
            .stderr
            .take()
            .map(|err| spawn_reader(err, true, tx, max_output_bytes)),
    ];
    for started in readers.into_iter().flatten() {
        if let Err(e) = started {
            kill(&mut child);
            return Err(Error::Action {
                action: "runCmd",
                message: format!("cannot start a thread to read {program}'s output: {e}"),
            });
        }
    }

    let timed_out = || Error::Action {
        action: "runCmd",
        message: format!("{program} ran longer than {timeout:?} and was killed"),
    };
    let status = match child.wait_timeout(timeout) {
        Ok(Some(status)) => status,
        Ok(None) => {
            kill(&mut child);
            return Err(timed_out());
        }
        Err(e) => {
            kill(&mut child);
            return Err(Error::Action {
                action: "runCmd",
                message: format!("cannot wait for {program}: {}", super::io_text(&e)),
            });
        }
    };

    // The program has ended; its output ends when every process holding the pipes has
    // closed them (a background child may still), within what is left of the timeout.
    let deadline = started + timeout;
    let mut stdout = None;
    let mut stderr = None;
    while stdout.is_none() || stderr.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((false, lines)) => stdout = Some(lines),
            Ok((true, lines)) => stderr = Some(lines),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                kill_group(&child);
                return Err(timed_out());
            }
        }
    }
    Ok(Output {
        status: status.code().unwrap_or(-1),
        stdout: stdout.unwrap_or_default(),
        stderr: stderr.unwrap_or_default(),
    })
}

/// Reads `stream` to its end in a thread, keeping the first `max` bytes, and sends
/// `(is_stderr, lines)`.
fn spawn_reader(
    mut stream: impl Read + Send + 'static,
    is_stderr: bool,
    tx: mpsc::Sender<(bool, Vec<String>)>,
    max: usize,
) -> std::io::Result<()> {
    let name = if is_stderr {
        "runCmd-stderr"
    } else {
        "runCmd-stdout"
    };
    let builder = std::thread::Builder::new().name(name.to_owned());
    builder.spawn(move || {
        let mut kept = Vec::new();
        let mut truncated = false;
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let chunk = buf.get(..n).unwrap_or_default();
                    let room = max.saturating_sub(kept.len());
                    if chunk.len() > room {
                        truncated = true;
                    }
                    kept.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let mut lines = to_lines(&kept);
        if truncated {
            lines.push(TRUNCATED.to_owned());
        }
        // The receiver is gone when the caller gave up (timeout); nothing to do then.
        let _ = tx.send((is_stderr, lines));
    })?;
    Ok(())
}

/// Output bytes as lines: split at `\n`, a trailing `\r` dropped, no empty last line for
/// output ending in a newline.
fn to_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Kills the child's process group and the child, and reaps it.
fn kill(child: &mut Child) {
    kill_group(child);
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends SIGKILL to the child's process group (it leads one: `process_group(0)`).
fn kill_group(child: &Child) {
    let pid = rustix::process::Pid::from_child(child);
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    const T: Duration = Duration::from_secs(10);

    #[test]
    fn echo_lines() {
        let out = run(&args(&["echo", "hello world"]), None, None, T, 1 << 20).unwrap();
        assert_eq!(
            out,
            Output {
                status: 0,
                stdout: vec!["hello world".to_owned()],
                stderr: vec![]
            }
        );
        let out = run(&args(&["printf", "a\\nb\\r\\nc"]), None, None, T, 1 << 20).unwrap();
        assert_eq!(out.stdout, ["a", "b", "c"]);
    }

    #[test]
    fn status_and_stderr() {
        let out = run(
            &args(&["sh", "-c", "echo out; echo err >&2; exit 3"]),
            None,
            None,
            T,
            1 << 20,
        )
        .unwrap();
        assert_eq!(out.status, 3);
        assert_eq!(out.stdout, ["out"]);
        assert_eq!(out.stderr, ["err"]);
    }

    #[test]
    fn killed_by_signal_is_minus_one() {
        let out = run(&args(&["sh", "-c", "kill -9 $$"]), None, None, T, 1024).unwrap();
        assert_eq!(out.status, -1);
    }

    #[test]
    fn env_replaces_the_environment() {
        let env = args(&["A=1"]);
        let out = run(&args(&["env"]), Some(&env), None, T, 1 << 20).unwrap();
        assert_eq!(out.stdout, ["A=1"]);
        assert_eq!(out.status, 0);
        let bad = args(&["NOEQUALS"]);
        assert!(matches!(
            run(&args(&["env"]), Some(&bad), None, T, 1024),
            Err(Error::Arguments { function, .. }) if function == "runCmd"
        ));
    }

    #[test]
    fn working_directory() {
        let dir = std::env::temp_dir().canonicalize().unwrap();
        let out = run(&args(&["pwd"]), None, Some(&dir), T, 1 << 20).unwrap();
        assert_eq!(out.stdout, [dir.to_string_lossy().into_owned()]);
    }

    #[test]
    fn missing_working_directory() {
        let dir = Path::new("/nonexistent/flowlens-test-dir");
        match run(&args(&["pwd"]), None, Some(dir), T, 1024) {
            Err(Error::Action { action: "runCmd", message }) => assert_eq!(
                message,
                "cannot run pwd: working directory /nonexistent/flowlens-test-dir is not a directory"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_program() {
        match run(&args(&["flowlens-no-such-program"]), None, None, T, 1024) {
            Err(Error::Action {
                action: "runCmd",
                message,
            }) => assert_eq!(
                message,
                "cannot run flowlens-no-such-program: No such file or directory"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            run(&[], None, None, T, 1024),
            Err(Error::Arguments { function, .. }) if function == "runCmd"
        ));
    }

    #[test]
    fn timeout_kills_quickly() {
        let start = Instant::now();
        match run(
            &args(&["sleep", "5"]),
            None,
            None,
            Duration::from_millis(200),
            1024,
        ) {
            Err(Error::Action {
                action: "runCmd",
                message,
            }) => {
                assert!(message.contains("ran longer than"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn background_child_holding_output_is_killed_at_timeout() {
        // sh exits at once but leaves `sleep` holding stdout open.
        let start = Instant::now();
        let r = run(
            &args(&["sh", "-c", "sleep 5 & echo started"]),
            None,
            None,
            Duration::from_millis(300),
            1024,
        );
        assert!(matches!(r, Err(Error::Action { .. })), "{r:?}");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn output_cap() {
        // 100000 bytes of 'y' lines on stdout and stderr; keep 10 bytes of each.
        let out = run(
            &args(&["sh", "-c", "yes | head -c 100000; yes | head -c 100000 >&2"]),
            None,
            None,
            T,
            10,
        )
        .unwrap();
        assert_eq!(out.status, 0);
        assert_eq!(out.stdout, ["y", "y", "y", "y", "y", TRUNCATED]);
        assert_eq!(out.stderr, ["y", "y", "y", "y", "y", TRUNCATED]);
        // Exactly at the cap: not truncated.
        let out = run(&args(&["printf", "abcd"]), None, None, T, 4).unwrap();
        assert_eq!(out.stdout, ["abcd"]);
    }
}
