//! The client's address, as throttling sees it: the socket peer, or, when the peer is a
//! trusted reverse proxy (`server.trusted_proxies`), the address the proxies forwarded in
//! `Forwarded` (RFC 7239) or `X-Forwarded-For`.
//!
//! The forwarded chain is read from the right: each proxy appends the address it received the
//! request from, so the rightmost entries were written by our own proxies and the first entry
//! from the right that is not a trusted proxy is the client. Entries to its left were written
//! by the client itself and are never believed. Without trusted proxies the headers are
//! ignored entirely, so a client cannot choose its own address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use http::HeaderMap;

/// A network written as CIDR (`10.0.0.0/8`, `fd00::/8`) or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR network"))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= bits)
                .ok_or_else(|| format!("{text:?} has a prefix length outside 0..={bits}"))?,
        };
        Ok(Self { network, prefix })
    }
}

impl Cidr {
    /// Returns whether the network contains `address` (an IPv4-mapped IPv6 address counts as
    /// its IPv4 address).
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<Cidr>);

impl TrustedProxies {
    /// Parses networks as configured; the first bad one is the error.
    pub fn parse<S: AsRef<str>>(networks: &[S]) -> Result<Self, String> {
        networks
            .iter()
            .map(|network| network.as_ref().parse())
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(address))
    }

    /// Returns the client's address for a request from `peer` with these headers.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let chain = forwarded_chain(headers);
        let mut client = peer;
        for hop in chain.iter().rev() {
            let Some(address) = hop else {
                // An obfuscated or unknown hop: nothing further left can be checked.
                return client;
            };
            client = *address;
            if !self.trusts(*address) {
                return client;
            }
        }
        client
    }
}

/// The `for=` addresses of every `Forwarded` element, or else of `X-Forwarded-For`, in order;
/// `None` for an entry that is not an address (`unknown`, an obfuscated name, garbage).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<Option<IpAddr>> = headers
        .get_all(http::header::FORWARDED)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("").split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_node(value))
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("").split(','))
        .map(parse_node)
        .collect()
}

/// Parses a node: `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(address) = text.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    text.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(address, _)| address.parse().ok())
}

/// The client's address of a request (see the module), set for every request by the
/// outermost middleware.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

/// Records the request's [`ClientAddress`] (done for every route by
/// [`RequestLayer`](crate::middleware::RequestLayer)).
pub(crate) fn record(proxies: &TrustedProxies, request: &mut Request) {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    if let Some(peer) = peer {
        let client = proxies.client_address(peer, request.headers());
        request.extensions_mut().insert(ClientAddress(client));
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let network: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(network.contains(ip("10.1.200.3")));
        assert!(network.contains(ip("::ffff:10.1.0.1")));
        assert!(!network.contains(ip("10.2.0.1")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("proxy.local".parse::<Cidr>().is_err());
    }

    #[test]
    fn forwarding_headers_are_ignored_unless_the_peer_is_a_trusted_proxy() {
        let spoofed = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("forwarded", "for=198.51.100.8"),
        ]);
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_address(ip("203.0.113.1"), &spoofed),
            ip("203.0.113.1")
        );
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        assert_eq!(
            proxies.client_address(ip("203.0.113.1"), &spoofed),
            ip("203.0.113.1")
        );
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "fd00::/8"]).unwrap();
        // The client forged the leftmost entry; our two proxies appended the rest.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.5")]);
        assert_eq!(
            proxies.client_address(ip("10.0.0.9"), &chain),
            ip("198.51.100.7")
        );
        let forwarded = headers(&[(
            "forwarded",
            "for=1.2.3.4, for=\"[2001:db8::7]:4711\";proto=https, for=\"[fd00::2]\"",
        )]);
        assert_eq!(
            proxies.client_address(ip("fd00::1"), &forwarded),
            ip("2001:db8::7")
        );
        let unknown = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(
            proxies.client_address(ip("10.0.0.9"), &unknown),
            ip("10.0.0.9")
        );
        let only_proxies = headers(&[("x-forwarded-for", "10.0.0.1")]);
        assert_eq!(
            proxies.client_address(ip("10.0.0.9"), &only_proxies),
            ip("10.0.0.1")
        );
    }
}
