#!/usr/bin/env python3
"""Writes the small MaxMind-format test databases in testdata/ (ours, synthetic).

testdata/geo-country-test.mmdb: GeoIP2-Country layout ({"country": {"iso_code", "names"}})
testdata/geo-asn-test.mmdb:     GeoLite2-ASN layout ({"autonomous_system_number",
                                "autonomous_system_organization"})
Needs `pip install mmdb-writer` (MIT); the outputs are committed, so tests do not.
Networks are documentation and private ranges (RFC 5737, RFC 3849, RFC 1918); the countries
and AS numbers are made up (AS 64496-64511 are reserved for documentation, RFC 5398).
"""
import os
import sys

from mmdb_writer import MMDBWriter
from netaddr import IPSet

out = sys.argv[1] if len(sys.argv) > 1 else "testdata"

country = MMDBWriter(ip_version=6, ipv4_compatible=True, int_type="u32", database_type="GeoIP2-Country", languages=["en"],
                     description="flowlens test country database")
for nets, iso, name in [
    (["192.0.2.0/24"], "NL", "Netherlands"),
    (["198.51.100.0/24", "2001:db8::/32"], "JP", "Japan"),
    (["203.0.113.0/25"], "BR", "Brazil"),
]:
    country.insert_network(IPSet(nets), {"country": {"iso_code": iso, "names": {"en": name}}})
country.to_db_file(os.path.join(out, "geo-country-test.mmdb"))

asn = MMDBWriter(ip_version=6, ipv4_compatible=True, int_type="u32", database_type="GeoLite2-ASN", languages=["en"],
                 description="flowlens test ASN database")
for nets, number, org in [
    (["192.0.2.0/24"], 64496, "Example Transit"),
    (["198.51.100.0/24", "2001:db8::/32"], 64500, "Example Hosting"),
]:
    asn.insert_network(IPSet(nets), {"autonomous_system_number": number,
                                     "autonomous_system_organization": org})
asn.to_db_file(os.path.join(out, "geo-asn-test.mmdb"))
