//! How scripts reach the flow engine: the [`Host`] the server implements.
//!
//! The engine is owned by one thread of the server; a script thread hands it an
//! [`EngineJob`] and blocks until the answer comes back. Jobs copy out what they need (as
//! JSON) so the engine thread is held only briefly.

use flowlens_engine::Engine;
use serde_json::Value as Json;

/// A query or change run on the engine thread with the engine and its clock (`now_ms`, Unix
/// milliseconds).
pub type EngineJob =
    Box<dyn FnOnce(&mut Engine, u64) -> Result<Json, flowlens_engine::Error> + Send>;

/// The server side of the script API.
pub trait Host: Send + Sync + 'static {
    /// Runs `job` on the engine thread and returns its answer.
    ///
    /// # Errors
    /// [`Error::Engine`](crate::Error::Engine) when the job fails,
    /// [`Error::Unavailable`](crate::Error::Unavailable) when the engine is too busy or stopped.
    fn engine(&self, job: EngineJob) -> crate::Result<Json>;

    /// sFlow-RT's `analyzer()`: the `/analyzer/json` document.
    ///
    /// # Errors
    /// As [`Host::engine`].
    fn analyzer(&self) -> crate::Result<Json>;

    /// sFlow-RT's `setForward(name, address, port)` (`to` = `Some((address, port))`) and
    /// `clearForward(name)` (`to` = `None`): the server's sFlow forwarding, as
    /// `PUT`/`DELETE /forwarding/{name}/json` (address as given; port 6343 by default).
    ///
    /// # Errors
    /// Why the server refused (bad address, unknown name, not saved), as one line; hosts
    /// without forwarding refuse every call (the default).
    fn forward(&self, name: &str, to: Option<(&str, u16)>) -> Result<(), String> {
        let _ = (name, to);
        Err("sFlow forwarding is not available here".into())
    }

    /// sFlow-RT's BGP functions (`bgpAddNeighbor`, `bgpAddRoute`, `bgpAddFlow`, …): `function`
    /// is the JavaScript name, `args` its arguments as JSON. The default: no BGP speaker.
    ///
    /// # Errors
    /// [`Error::Arguments`](crate::Error::Arguments) for unusable arguments or when the server
    /// runs no BGP speaker.
    fn bgp(&self, function: &str, args: &[Json]) -> crate::Result<Json> {
        let _ = args;
        Err(crate::Error::Arguments {
            function: function.to_string().into(),
            reason: "this server runs no BGP speaker".into(),
        })
    }
}
