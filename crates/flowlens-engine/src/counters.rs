//! (in progress)
use std::net::IpAddr;
/// stub
#[derive(Debug, Default, Clone)]
pub struct CounterLimits;
/// stub
#[derive(Debug)]
pub enum Metric {
    /// n
    Num(f64),
    /// t
    Text(String),
}
/// stub
#[derive(Debug, Default)]
pub struct Counters;
impl Counters {
    /// stub
    pub fn new(_l: CounterLimits) -> Self {
        Counters
    }
    /// stub
    pub fn add_sample(
        &mut self,
        _now_ms: u64,
        _agent: IpAddr,
        _s: &flowlens_wire::sflow::CounterSample<'_>,
    ) {
    }
    /// stub
    pub fn expire(&mut self, _now_ms: u64) {}
    /// stub
    pub fn each(&self, _metric: &str, _f: impl FnMut(IpAddr, &str, &Metric, u64)) {}
    /// stub
    pub fn value(&self, _agent: IpAddr, _ds: &str, _metric: &str) -> Option<&Metric> {
        None
    }
}
