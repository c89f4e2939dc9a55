//! `country:` and `asn:` lookups from MaxMind DB files (GeoIP2/GeoLite2 Country or City, and
//! ASN), through the `maxminddb` crate. Sans-IO: the caller reads the files and hands over the
//! bytes; sFlow-RT's `geo.country`/`geo.asn` properties name the same databases.

use std::fmt;
use std::net::IpAddr;

use maxminddb::{geoip2, Reader};

use crate::env::GeoLookup;
use crate::error::{Error, Result};

/// Country and/or ASN databases.
pub struct MaxMindGeo {
    country: Option<Reader<Vec<u8>>>,
    asn: Option<Reader<Vec<u8>>>,
}

impl fmt::Debug for MaxMindGeo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind =
            |r: &Option<Reader<Vec<u8>>>| r.as_ref().map(|r| r.metadata().database_type.clone());
        f.debug_struct("MaxMindGeo")
            .field("country", &kind(&self.country))
            .field("asn", &kind(&self.asn))
            .finish()
    }
}

fn open(what: &'static str, bytes: Vec<u8>) -> Result<Reader<Vec<u8>>> {
    Reader::from_source(bytes)
        .map_err(|e| Error::invalid("geo", what, format!("not a MaxMind DB: {e}")))
}

impl MaxMindGeo {
    /// From the bytes of a Country (or City) database and of an ASN database; either may be
    /// absent. Errors: bytes that are not a MaxMind DB (named `country` or `asn`).
    pub fn new(country: Option<Vec<u8>>, asn: Option<Vec<u8>>) -> Result<MaxMindGeo> {
        Ok(MaxMindGeo {
            country: country.map(|b| open("country", b)).transpose()?,
            asn: asn.map(|b| open("asn", b)).transpose()?,
        })
    }
}

impl GeoLookup for MaxMindGeo {
    fn country(&self, ip: IpAddr) -> Option<String> {
        let r = self.country.as_ref()?;
        let c: geoip2::Country<'_> = r.lookup(ip).ok()?.decode().ok()??;
        c.country.iso_code.map(str::to_string)
    }

    fn asn(&self, ip: IpAddr) -> Option<(u32, String)> {
        let r = self.asn.as_ref()?;
        let a: geoip2::Asn<'_> = r.lookup(ip).ok()?.decode().ok()??;
        Some((
            a.autonomous_system_number?,
            a.autonomous_system_organization.unwrap_or("").to_string(),
        ))
    }
}
