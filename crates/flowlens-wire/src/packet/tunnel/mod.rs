//! Tunnel encapsulation headers: GRE (incl. NVGRE and PPTP enhanced GRE), ERSPAN I/II/III,
//! VXLAN, Geneve, GTP-U, Teredo and STT; [`mirror`] strips a port-mirror copy's GRE/ERSPAN
//! encapsulation.

pub mod erspan;
pub mod geneve;
pub mod gre;
pub mod gtp;
pub mod mirror;
pub mod stt;
pub mod teredo;
pub mod vxlan;

pub use erspan::ErspanHeader;
pub use geneve::{GeneveHeader, GeneveOption, GeneveOptions};
pub use gre::GreHeader;
pub use gtp::GtpHeader;
pub use stt::SttHeader;
pub use teredo::TeredoHeader;
pub use vxlan::VxlanHeader;
