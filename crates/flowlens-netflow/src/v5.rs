//! NetFlow v5 records presented as data records of a built-in template of IANA elements, so
//! that they are decoded and normalised by the same code as NetFlow v9 / IPFIX records. The
//! framing (header, record count, record boundaries) is `flowlens_wire::netflow::v5`'s.

use std::sync::LazyLock;

use flowlens_wire::netflow::{data_records, v5, DataRecord, FieldSpec};

use crate::keys::Plan;

/// The fixed 48-byte NetFlow v5 record layout as a template of IANA elements.
pub(crate) static V5_TEMPLATE: [FieldSpec; 20] = [
    FieldSpec::iana(8, 4),   // srcaddr: sourceIPv4Address
    FieldSpec::iana(12, 4),  // dstaddr: destinationIPv4Address
    FieldSpec::iana(15, 4),  // nexthop: ipNextHopIPv4Address
    FieldSpec::iana(10, 2),  // input: ingressInterface
    FieldSpec::iana(14, 2),  // output: egressInterface
    FieldSpec::iana(2, 4),   // dPkts: packetDeltaCount
    FieldSpec::iana(1, 4),   // dOctets: octetDeltaCount
    FieldSpec::iana(22, 4),  // first: flowStartSysUpTime (ms)
    FieldSpec::iana(21, 4),  // last: flowEndSysUpTime (ms)
    FieldSpec::iana(7, 2),   // srcport: sourceTransportPort
    FieldSpec::iana(11, 2),  // dstport: destinationTransportPort
    FieldSpec::iana(210, 1), // pad1: paddingOctets
    FieldSpec::iana(6, 1),   // tcp_flags: tcpControlBits
    FieldSpec::iana(4, 1),   // prot: protocolIdentifier
    FieldSpec::iana(5, 1),   // tos: ipClassOfService
    FieldSpec::iana(16, 2),  // src_as: bgpSourceAsNumber
    FieldSpec::iana(17, 2),  // dst_as: bgpDestinationAsNumber
    FieldSpec::iana(9, 1),   // src_mask: sourceIPv4PrefixLength
    FieldSpec::iana(13, 1),  // dst_mask: destinationIPv4PrefixLength
    FieldSpec::iana(210, 2), // pad2: paddingOctets
];

/// [`V5_TEMPLATE`] compiled for key extraction.
pub(crate) fn plan() -> &'static Plan {
    static PLAN: LazyLock<Plan> = LazyLock::new(|| Plan::compile(&V5_TEMPLATE, false));
    &PLAN
}

/// The records of a v5 packet, each as a data record of [`V5_TEMPLATE`] (absolute offsets).
pub(crate) fn records<'a>(
    packet: &v5::Packet<'a>,
) -> impl Iterator<Item = DataRecord<'static, 'a>> + 'a {
    packet.records().filter_map(|r| {
        data_records(&V5_TEMPLATE, r.bytes(), r.offset())
            .next()?
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v5_template_is_one_record() {
        let n: usize = V5_TEMPLATE.iter().map(|f| usize::from(f.length)).sum();
        assert_eq!(n, v5::RECORD_LEN);
    }

    #[test]
    fn records_follow_the_wire_framing() {
        let mut d = vec![0u8; v5::HEADER_LEN + 2 * v5::RECORD_LEN + 3];
        d[1] = 5;
        d[3] = 2;
        d[v5::HEADER_LEN + v5::RECORD_LEN + 38] = 17; // second record: prot
        let p = v5::Packet::parse(&d).unwrap();
        let r: Vec<_> = records(&p).collect();
        assert_eq!(r.len(), 2);
        let prot = |i: usize| {
            r[i].fields()
                .find(|(f, _)| f.id == 4)
                .map(|(_, b)| b.to_vec())
        };
        assert_eq!((prot(0), prot(1)), (Some(vec![0]), Some(vec![17])));
    }
}
