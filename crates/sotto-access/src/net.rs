//! Client addresses: the socket's peer, or — only behind an explicitly trusted proxy — the
//! rightmost untrusted hop of `X-Forwarded-For`.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// An address that matches no allowlist entry short of `::/0`: what a request gets whose
/// forwarding header is garbage (fail closed, never the proxy's own address).
pub const UNPARSEABLE_CLIENT: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

fn trusted(addr: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|n| n.contains(&addr))
}

/// Parses one `X-Forwarded-For` hop: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`,
/// `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

/// The client address of a request. `X-Forwarded-For` is read only when the socket's peer is
/// in `proxies`; then hops are walked from the right, skipping trusted proxies, and the first
/// untrusted one is the client. A client can prepend anything to the header, so nothing left
/// of that hop is believed. An unparseable hop yields [`UNPARSEABLE_CLIENT`].
pub fn client_ip(peer: SocketAddr, forwarded_for: Option<&str>, proxies: &[IpNet]) -> IpAddr {
    let peer_ip = peer.ip().to_canonical();
    if !trusted(peer_ip, proxies) {
        return peer_ip;
    }
    let Some(xff) = forwarded_for.filter(|h| !h.trim().is_empty()) else {
        return peer_ip;
    };
    let mut last = peer_ip;
    for hop in xff.rsplit(',') {
        match parse_hop(hop) {
            Some(ip) if trusted(ip, proxies) => last = ip,
            Some(ip) => return ip,
            None => return UNPARSEABLE_CLIENT,
        }
    }
    // Every hop was a trusted proxy: the leftmost is as far as we can see.
    last
}

/// Whether `ip` is allowed by `list` (an empty list allows every address).
pub(crate) fn allowed_by(list: &[IpNet], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    list.is_empty() || list.iter().any(|n| n.contains(&ip))
}

/// The key failures from an address are counted under: the address itself for IPv4, its /64
/// for IPv6 (one host usually owns a whole /64).
pub(crate) fn failure_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let proxies = nets(&["10.0.0.0/8"]);
        let peer: SocketAddr = "203.0.113.9:5555".parse().unwrap();
        assert_eq!(
            client_ip(peer, Some("192.168.1.1"), &proxies),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(peer, Some("192.168.1.1"), &[]),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn forwarded_for_from_a_trusted_proxy_takes_the_rightmost_untrusted_hop() {
        let proxies = nets(&["10.0.0.0/8", "fd00::/8"]);
        let peer: SocketAddr = "10.1.1.1:443".parse().unwrap();
        // The client prepended a spoofed office address; the proxy appended the real one.
        assert_eq!(
            client_ip(peer, Some("192.168.1.1, 198.51.100.7, 10.2.2.2"), &proxies),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(peer, Some("[2001:db8::5]:1234"), &proxies),
            "2001:db8::5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(peer, Some("garbage, 10.2.2.2"), &proxies),
            UNPARSEABLE_CLIENT
        );
        assert_eq!(
            client_ip(peer, Some("10.9.9.9"), &proxies),
            "10.9.9.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(peer, None, &proxies),
            "10.1.1.1".parse::<IpAddr>().unwrap()
        );
        // IPv4-mapped IPv6 peers are treated as IPv4.
        let mapped: SocketAddr = "[::ffff:10.1.1.1]:443".parse().unwrap();
        assert_eq!(
            client_ip(mapped, Some("198.51.100.7"), &proxies),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn allowlists_and_failure_keys() {
        let list = nets(&["192.0.2.0/24", "2001:db8::/32"]);
        assert!(allowed_by(&list, "192.0.2.77".parse().unwrap()));
        assert!(allowed_by(&list, "::ffff:192.0.2.77".parse().unwrap()));
        assert!(allowed_by(&list, "2001:db8:1::9".parse().unwrap()));
        assert!(!allowed_by(&list, "198.51.100.1".parse().unwrap()));
        assert!(!allowed_by(&list, UNPARSEABLE_CLIENT));
        assert!(allowed_by(&[], "198.51.100.1".parse().unwrap()));
        assert_eq!(
            failure_key("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            failure_key("2001:db8:1:2:ffff::1".parse().unwrap())
        );
        assert_ne!(
            failure_key("192.0.2.1".parse().unwrap()),
            failure_key("192.0.2.2".parse().unwrap())
        );
    }

    proptest::proptest! {
        /// Whatever the header says, an untrusted peer is its own client, and a trusted
        /// peer's answer is one of the header's hops, the peer, or the fail-closed address.
        #[test]
        fn forwarded_for_never_panics_or_invents_addresses(xff in "[0-9a-f.:, \\[\\]]{0,60}") {
            let proxies = nets(&["10.0.0.0/8"]);
            let outside: SocketAddr = "203.0.113.9:1".parse().unwrap();
            proptest::prop_assert_eq!(client_ip(outside, Some(&xff), &proxies), outside.ip());
            let inside: SocketAddr = "10.0.0.1:1".parse().unwrap();
            let got = client_ip(inside, Some(&xff), &proxies);
            let hops: Vec<IpAddr> = xff.split(',').filter_map(parse_hop).collect();
            proptest::prop_assert!(
                got == inside.ip() || got == UNPARSEABLE_CLIENT || hops.contains(&got)
            );
        }
    }
}
