//! Key ids and key masks: the fixed vocabulary of flow keys as small integers.
//!
//! Every flow key this workspace produces from a fixed name (the packet walker's keys of
//! [`crate::packet::keys`], the sFlow sample keys and the normalised NetFlow/IPFIX keys) has a
//! [`KeyId`], an index into [`KeyId::NAMES`]; the `ipfix:<name>` keys of the information
//! element registry share one id, [`KeyId::IPFIX`]. A [`KeyMask`] is a set of ids: a consumer
//! says through [`crate::KeyVisitor::mask`] which keys it reads, and producers skip the others
//! (their values are then neither computed nor delivered). A mask says nothing about tunnel
//! depth: a producer delivers a wanted key at every depth it finds it.

use core::fmt;

/// One key of the fixed vocabulary (an index into [`KeyId::NAMES`]), or [`KeyId::IPFIX`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(u8);

macro_rules! key_ids {
    ($($konst:ident = $i:literal, $name:literal;)*) => {
        impl KeyId {
            $(
                #[doc = concat!("`", $name, "`.")]
                pub const $konst: KeyId = KeyId($i);
            )*
            /// The names of the ids, by index (`NAMES[id.index()]`).
            pub const NAMES: &'static [&'static str] = &[$($name),*];
        }
    };
}

key_ids! {
    STACK = 0, "stack";
    IP_OFFSET = 1, "ip_offset";
    TUNNELOVERHEAD_BYTES = 2, "tunneloverhead_bytes";
    MACSOURCE = 3, "macsource";
    MACDESTINATION = 4, "macdestination";
    ISUNICAST = 5, "isunicast";
    ISMULTICAST = 6, "ismulticast";
    ISBROADCAST = 7, "isbroadcast";
    ETHERNETPROTOCOL = 8, "ethernetprotocol";
    VLAN = 9, "vlan";
    PRIORITY = 10, "priority";
    VLANSTACK = 11, "vlanstack";
    MPLSLABELS = 12, "mplslabels";
    ARPOPERATION = 13, "arpoperation";
    ARPIPSENDER = 14, "arpipsender";
    ARPIPTARGET = 15, "arpiptarget";
    IPSOURCE = 16, "ipsource";
    IPDESTINATION = 17, "ipdestination";
    IPPROTOCOL = 18, "ipprotocol";
    IPTOS = 19, "iptos";
    IPDSCP = 20, "ipdscp";
    IPDSCPNAME = 21, "ipdscpname";
    IPECN = 22, "ipecn";
    IPTTL = 23, "ipttl";
    IPFLAGS = 24, "ipflags";
    IPDONTFRAGMENT = 25, "ipdontfragment";
    IPFRAGOFFSET = 26, "ipfragoffset";
    IPBYTES = 27, "ipbytes";
    IP6SOURCE = 28, "ip6source";
    IP6DESTINATION = 29, "ip6destination";
    IP6NEXTHDR = 30, "ip6nexthdr";
    IP6TOS = 31, "ip6tos";
    IP6DSCP = 32, "ip6dscp";
    IP6DSCPNAME = 33, "ip6dscpname";
    IP6ECN = 34, "ip6ecn";
    IP6FLOWLABEL = 35, "ip6flowlabel";
    IP6HOPLIMIT = 36, "ip6hoplimit";
    IP6FRAGM = 37, "ip6fragm";
    IP6FRAGOFFSET = 38, "ip6fragoffset";
    IP6BYTES = 39, "ip6bytes";
    TCPSOURCEPORT = 40, "tcpsourceport";
    TCPDESTINATIONPORT = 41, "tcpdestinationport";
    TCPFLAGS = 42, "tcpflags";
    TCPWINDOW = 43, "tcpwindow";
    TCPMSS = 44, "tcpmss";
    UDPSOURCEPORT = 45, "udpsourceport";
    UDPDESTINATIONPORT = 46, "udpdestinationport";
    ICMPTYPE = 47, "icmptype";
    ICMPCODE = 48, "icmpcode";
    ICMP6TYPE = 49, "icmp6type";
    ICMP6CODE = 50, "icmp6code";
    ICMPID = 51, "icmpid";
    ICMPSEQNO = 52, "icmpseqno";
    ICMPNEXTHOPMTU = 53, "icmpnexthopmtu";
    ICMPTOOBIGHOST = 54, "icmptoobighost";
    ICMPUNREACHABLENET = 55, "icmpunreachablenet";
    ICMPUNREACHABLEHOST = 56, "icmpunreachablehost";
    ICMPUNREACHABLEPROTOCOL = 57, "icmpunreachableprotocol";
    ICMPUNREACHABLEPORT = 58, "icmpunreachableport";
    DNSID = 59, "dnsid";
    DNSQR = 60, "dnsqr";
    DNSOPCODE = 61, "dnsopcode";
    DNSAA = 62, "dnsaa";
    DNSTC = 63, "dnstc";
    DNSRD = 64, "dnsrd";
    DNSRA = 65, "dnsra";
    DNSZ = 66, "dnsz";
    DNSRCODE = 67, "dnsrcode";
    DNSQDCOUNT = 68, "dnsqdcount";
    DNSANCOUNT = 69, "dnsancount";
    DNSNSCOUNT = 70, "dnsnscount";
    DNSARCOUNT = 71, "dnsarcount";
    DNSQNAME = 72, "dnsqname";
    DNSQTYPE = 73, "dnsqtype";
    DNSQTYPENAME = 74, "dnsqtypename";
    DNSQCLASS = 75, "dnsqclass";
    GREVERSION = 76, "greversion";
    GREPROTOCOL = 77, "greprotocol";
    GREKEY = 78, "grekey";
    GRESEQ = 79, "greseq";
    GREVSID = 80, "grevsid";
    NVGREFLOWID = 81, "nvgreflowid";
    ERSPANVERSION = 82, "erspanversion";
    ERSPANSESSIONID = 83, "erspansessionid";
    ERSPANVLAN = 84, "erspanvlan";
    VXLANVNI = 85, "vxlanvni";
    GENEVEVNI = 86, "genevevni";
    GENEVEPROTOCOL = 87, "geneveprotocol";
    GTPTEID = 88, "gtpteid";
    STTCONTEXTID = 89, "sttcontextid";
    AGENT = 90, "agent";
    DATASOURCE = 91, "datasource";
    INPUTIFINDEX = 92, "inputifindex";
    OUTPUTIFINDEX = 93, "outputifindex";
    DIRECTION = 94, "direction";
    SAMPLINGRATE = 95, "samplingrate";
    BYTES = 96, "bytes";
    STRIPPED = 97, "stripped";
    FRAMES = 98, "frames";
    REASON = 99, "reason";
    VLANSOURCE = 100, "vlansource";
    VLANDESTINATION = 101, "vlandestination";
    PRIORITYSOURCE = 102, "prioritysource";
    PRIORITYDESTINATION = 103, "prioritydestination";
    IPNEXTHOPROUTER = 104, "ipnexthoprouter";
    IPSOURCEMASKBITS = 105, "ipsourcemaskbits";
    IPDESTINATIONMASKBITS = 106, "ipdestinationmaskbits";
    BGPNEXTHOP = 107, "bgpnexthop";
    BGPAS = 108, "bgpas";
    BGPSOURCEAS = 109, "bgpsourceas";
    BGPSOURCEPEERAS = 110, "bgpsourcepeeras";
    BGPDESTINATIONPEERAS = 111, "bgpdestinationpeeras";
    BGPDESTINATIONAS = 112, "bgpdestinationas";
    BGPDESTINATIONASPATH = 113, "bgpdestinationaspath";
    BGPCOMMUNITIES = 114, "bgpcommunities";
    BGPLOCALPREF = 115, "bgplocalpref";
    VNI = 116, "vni";
    QUEUEINDEX = 117, "queueindex";
    TRANSITDELAY = 118, "transitdelay";
    QUEUEDEPTH = 119, "queuedepth";
    FLOWSTART_MS = 120, "flowstart_ms";
    FLOWEND_MS = 121, "flowend_ms";
}

// A mask has one bit per id.
const _: () = assert!(KeyId::COUNT <= 128);

/// Byte-wise equality usable in `const fn`.
const fn bytes_eq(mut a: &[u8], mut b: &[u8]) -> bool {
    loop {
        match (a, b) {
            ([], []) => return true,
            ([x, ra @ ..], [y, rb @ ..]) if *x == *y => {
                a = ra;
                b = rb;
            }
            _ => return false,
        }
    }
}

/// Ids below this one are produced by the packet walker ([`KeyMask::PACKET`]).
const PACKET_END: u8 = KeyId::AGENT.0;

impl KeyId {
    /// Any `ipfix:<name>` key (registry elements without a normalised key); its name is the
    /// element's, not [`KeyId::name`].
    pub const IPFIX: KeyId = KeyId(KeyId::NAMES.len() as u8);

    /// Number of ids, [`KeyId::IPFIX`] included.
    pub const COUNT: usize = KeyId::NAMES.len() + 1;

    /// The id of a key name: one of [`KeyId::NAMES`], [`KeyId::IPFIX`] for `ipfix:…` names,
    /// `None` for names no producer here emits.
    pub const fn lookup(name: &str) -> Option<KeyId> {
        let n = name.as_bytes();
        if let [b'i', b'p', b'f', b'i', b'x', b':', _, ..] = n {
            return Some(KeyId::IPFIX);
        }
        let mut rest = KeyId::NAMES;
        let mut i = 0u8;
        while let [first, tail @ ..] = rest {
            if bytes_eq(first.as_bytes(), n) {
                return Some(KeyId(i));
            }
            rest = tail;
            i += 1;
        }
        None
    }

    /// The key's name (`"ipfix:*"` for [`KeyId::IPFIX`]).
    pub fn name(self) -> &'static str {
        KeyId::NAMES.get(self.index()).copied().unwrap_or("ipfix:*")
    }

    /// The id as an index, `0..KeyId::COUNT`.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.name())
    }
}

/// A set of [`KeyId`]s, one bit each.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct KeyMask(u128);

impl KeyMask {
    /// No key.
    pub const NONE: KeyMask = KeyMask(0);
    /// Every key.
    pub const ALL: KeyMask = KeyMask(u128::MAX >> (128 - KeyId::COUNT));
    /// The keys the packet walker produces ([`crate::packet::Walk::visit_keys`]).
    pub const PACKET: KeyMask = KeyMask((1u128 << PACKET_END) - 1);

    /// The set of one key.
    pub const fn of(id: KeyId) -> KeyMask {
        KeyMask(1 << id.0)
    }

    /// The set of the keys in `ids`.
    pub const fn of_all(ids: &[KeyId]) -> KeyMask {
        let mut m = KeyMask::NONE;
        let mut rest = ids;
        while let [first, tail @ ..] = rest {
            m = m.with(*first);
            rest = tail;
        }
        m
    }

    /// This set with `id` added.
    #[must_use]
    pub const fn with(self, id: KeyId) -> KeyMask {
        KeyMask(self.0 | 1 << id.0)
    }

    /// The union of two sets.
    #[must_use]
    pub const fn union(self, other: KeyMask) -> KeyMask {
        KeyMask(self.0 | other.0)
    }

    /// True when `id` is in the set.
    #[inline]
    pub const fn has(self, id: KeyId) -> bool {
        self.0 >> id.0 & 1 == 1
    }

    /// True when the sets share a key.
    #[inline]
    pub const fn intersects(self, other: KeyMask) -> bool {
        self.0 & other.0 != 0
    }

    /// The ids in the set, in id order.
    pub fn iter(self) -> impl Iterator<Item = KeyId> {
        (0..KeyId::COUNT as u8)
            .map(KeyId)
            .filter(move |&id| self.has(id))
    }
}

impl fmt::Debug for KeyMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(KeyId::name)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_fit_the_mask() {
        for (i, n) in KeyId::NAMES.iter().enumerate() {
            let id = KeyId::lookup(n).unwrap();
            assert_eq!((id.index(), id.name()), (i, *n));
        }
        assert_eq!(KeyId::lookup("ipfix:flowEndReason"), Some(KeyId::IPFIX));
        assert_eq!(KeyId::lookup("nosuchkey"), None);
        assert_eq!(KeyId::lookup("ipfix:"), None);
        assert!(KeyMask::ALL.has(KeyId::IPFIX));
        assert!(KeyMask::PACKET.has(KeyId::STTCONTEXTID));
        assert!(!KeyMask::PACKET.has(KeyId::AGENT));
        let m = KeyMask::NONE.with(KeyId::IPSOURCE);
        assert!(m.has(KeyId::IPSOURCE) && !m.has(KeyId::IPDESTINATION));
        assert!(m.intersects(KeyMask::PACKET));
    }
}
