//! The crate's one error type.

use core::fmt;

/// An error of the script runtime, its API or its actions.
///
/// A script sees every error as a thrown JavaScript `Error` whose `message` is this
/// [`Display`](fmt::Display) text.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A script API function was called with arguments it cannot use
    /// (`function` = its JavaScript name).
    Arguments {
        /// The JavaScript function, e.g. `syslog`.
        function: std::borrow::Cow<'static, str>,
        /// What is wrong, e.g. `"port must be 1 to 65535"`.
        reason: String,
    },
    /// An action reached outside and failed: `action` = `syslog`, `graphite`, `http`,
    /// `runCmd`; `message` says why (connection refused, timeout, HTTP status…).
    Action {
        /// The JavaScript function.
        action: &'static str,
        /// Why.
        message: String,
    },
    /// `runCmd()` is disabled: the operator did not give `--allow-run-cmd`.
    RunCmdDisabled,
    /// The flow engine refused a request (bad definition, unknown name).
    Engine(flowlens_engine::Error),
    /// The engine did not answer: too busy, or stopped.
    Unavailable(&'static str),
    /// The script could not be loaded or was stopped (syntax error, exception at top level,
    /// limit exceeded).
    Script(String),
    /// A file of the script or its store could not be read or written.
    Io {
        /// What was being done, e.g. `"cannot read /etc/flowlens/ddos.js"`.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Arguments { function, reason } => write!(f, "{function}(): {reason}"),
            Error::Action { action, message } => write!(f, "{action}(): {message}"),
            Error::RunCmdDisabled => f.write_str(
                "runCmd(): disabled; start flowlens with --allow-run-cmd (or allow-run-cmd = true in the config) to let scripts run programs",
            ),
            Error::Engine(e) => write!(f, "{e}"),
            Error::Unavailable(why) => write!(f, "engine unavailable: {why}"),
            Error::Script(msg) => f.write_str(msg),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Engine(e) => Some(e),
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<flowlens_engine::Error> for Error {
    fn from(e: flowlens_engine::Error) -> Error {
        Error::Engine(e)
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
