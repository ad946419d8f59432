//! Where webhooks may go: the server-side request forgery guard.
//!
//! A webhook URL is the user's, so without a guard any user could make the server reach its
//! own network: the loopback interface, private ranges, the cloud metadata endpoint
//! (169.254.169.254). [`is_public`] says which addresses are fair game; the operator's
//! [`AllowList`] (`notifier.webhook_allow_hosts`) exempts named hosts and networks, e.g. a
//! receiver on `127.0.0.1`. [`validate_webhook_url`] checks a URL when a channel is saved;
//! the notifier checks every address a name resolves to again when it connects (and connects
//! only to the addresses it checked), so DNS cannot change the answer in between.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tickler_domain::FieldError;
use url::{Host, Url};

/// Longest webhook URL accepted, in bytes.
pub const MAX_URL_BYTES: usize = 2_048;

/// Host names and networks exempt from the guard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    hosts: Vec<String>,
    networks: Vec<(IpAddr, u8)>,
}

impl AllowList {
    /// Parses entries: host names (`hooks.internal`), addresses (`127.0.0.1`, `::1`) and
    /// networks in CIDR notation (`10.1.0.0/16`); the reason if one cannot be read.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let mut list = Self::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            if let Some((address, prefix)) = entry.split_once('/') {
                let address: IpAddr = address
                    .parse()
                    .map_err(|_| format!("{entry:?} is not a network (address/prefix)"))?;
                let longest = if address.is_ipv4() { 32 } else { 128 };
                let prefix: u8 = prefix
                    .parse()
                    .ok()
                    .filter(|prefix| *prefix <= longest)
                    .ok_or_else(|| format!("{entry:?} has an invalid prefix length"))?;
                list.networks.push((address, prefix));
            } else if let Ok(address) = entry.trim_matches(['[', ']']).parse::<IpAddr>() {
                let prefix = if address.is_ipv4() { 32 } else { 128 };
                list.networks.push((address, prefix));
            } else if entry
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                list.hosts
                    .push(entry.trim_end_matches('.').to_ascii_lowercase());
            } else {
                return Err(format!("{entry:?} is neither a host name nor an address"));
            }
        }
        Ok(list)
    }

    /// Returns whether the list names this host (compared without case).
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.hosts
            .iter()
            .any(|name| name.eq_ignore_ascii_case(host))
    }

    /// Returns whether one of the listed networks contains this address (an IPv4-mapped IPv6
    /// address counts as its IPv4 address).
    pub fn allows_address(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.networks
            .iter()
            .any(|(network, prefix)| match (canonical(*network), address) {
                (IpAddr::V4(network), IpAddr::V4(address)) => {
                    let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
                    u32::from(network) & mask == u32::from(address) & mask
                }
                (IpAddr::V6(network), IpAddr::V6(address)) => {
                    let mask = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
                    u128::from(network) & mask == u128::from(address) & mask
                }
                _ => false,
            })
    }

    /// Returns whether a webhook may connect to `address` of `host`: a public address, or
    /// one the list allows (by the host's name or by the address).
    pub fn permits(&self, host: &str, address: IpAddr) -> bool {
        is_public(address) || self.allows_host(host) || self.allows_address(address)
    }

    /// Returns whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.networks.is_empty()
    }
}

/// Reads an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) as the IPv4 address it is.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Returns whether an address is on the public internet: not loopback, private, link-local
/// (which holds the cloud metadata endpoints), shared (CGNAT), unspecified, multicast,
/// broadcast, reserved or documentation, nor an IPv6 form embedding such an IPv4 address.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    let private = a == 0 // "this network", including 0.0.0.0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254) // link-local, metadata endpoints
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    !private
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    let segments = address.segments();
    if address.is_unspecified() || address.is_loopback() {
        return false;
    }
    // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d)
    // and 6to4 (2002:AABB:CCDD::) addresses reach an IPv4 address: judge that one.
    let [a, b, c, d, e, f, g, h] = segments;
    let embedded = |high: u16, low: u16| {
        Ipv4Addr::new(
            (high >> 8) as u8,
            (high & 0xff) as u8,
            (low >> 8) as u8,
            (low & 0xff) as u8,
        )
    };
    if [a, b, c, d, e] == [0; 5] && (f == 0xffff || f == 0) {
        return is_public_v4(embedded(g, h));
    }
    if [a, b, c, d, e, f] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded(g, h));
    }
    if a == 0x2002 {
        return is_public_v4(embedded(b, c));
    }
    let private = (a & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (a & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (a & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || (a & 0xff00) == 0xff00 // multicast
        || (a == 0x2001 && b == 0x0db8) // documentation
        || (a == 0x0100 && [b, c, d] == [0, 0, 0]); // discard-only
    !private
}

/// Checks a webhook URL: `http` or `https`, a host, no user info, at most
/// [`MAX_URL_BYTES`]; an address (however written: `2130706433` and `0177.0.0.1` are read as
/// the URL standard reads them) must be public or allowed, and `localhost` names are refused
/// unless allowed. Returns the URL as parsed.
pub fn validate_webhook_url(raw: &str, allow: &AllowList) -> Result<Url, FieldError> {
    let invalid = |code: &'static str, message: &str| FieldError::new("url", code, message);
    let raw = raw.trim();
    if raw.len() > MAX_URL_BYTES {
        return Err(invalid(
            "too_long",
            &format!("url must be at most {MAX_URL_BYTES} bytes"),
        ));
    }
    let url = Url::parse(raw).map_err(|_| invalid("invalid_url", "url is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            "unsupported_scheme",
            "url must be an http:// or https:// URL",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials_in_url",
            "url must not contain a user name or password",
        ));
    }
    let refused = || {
        invalid(
            "forbidden_address",
            "url must point to a public address (the operator can allow others)",
        )
    };
    match url.host() {
        None => return Err(invalid("invalid_url", "url must have a host")),
        Some(Host::Ipv4(address)) => {
            if !allow.permits("", IpAddr::V4(address)) {
                return Err(refused());
            }
        }
        Some(Host::Ipv6(address)) => {
            if !allow.permits("", IpAddr::V6(address)) {
                return Err(refused());
            }
        }
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let local = name == "localhost" || name.ends_with(".localhost");
            if local && !allow.allows_host(&name) {
                return Err(refused());
            }
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFUSED: &[&str] = &[
        "http://127.0.0.1/hook",
        "http://127.1.2.3:8080/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://10.0.0.7/",
        "http://172.16.0.1/",
        "http://172.31.255.255/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://[64:ff9b::a00:1]/",
        "http://[2002:7f00:1::]/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://0x7f.0.0.1/",
        "http://127.000.000.001/",
        "http://localhost:8080/",
        "http://api.localhost/",
        "file:///etc/passwd",
        "gopher://example.org/",
        "ftp://example.org/",
        "https://user:pass@example.org/",
        "https://user@example.org/",
        "not a url",
        "http://",
    ];

    #[test]
    fn the_forgery_corpus_is_refused_every_time() {
        let allow = AllowList::default();
        for raw in REFUSED {
            assert!(
                validate_webhook_url(raw, &allow).is_err(),
                "{raw} was accepted"
            );
        }
    }

    #[test]
    fn public_addresses_and_names_are_accepted() {
        let allow = AllowList::default();
        for raw in [
            "https://hooks.example.org/in?x=1",
            "http://93.184.216.34:8080/",
            "https://[2606:2800:220:1::1]/",
            "http://8.8.8.8/",
        ] {
            assert!(validate_webhook_url(raw, &allow).is_ok(), "{raw}");
        }
        let long = format!("https://example.org/{}", "a".repeat(MAX_URL_BYTES));
        assert!(validate_webhook_url(&long, &allow).is_err());
    }

    #[test]
    fn the_allow_list_admits_exactly_what_it_lists() {
        let allow = AllowList::parse(&["127.0.0.1", "10.1.0.0/16", "Hooks.Internal"]).unwrap();
        assert!(validate_webhook_url("http://127.0.0.1:9000/", &allow).is_ok());
        assert!(validate_webhook_url("http://2130706433:9000/", &allow).is_ok());
        assert!(validate_webhook_url("http://[::ffff:127.0.0.1]/", &allow).is_ok());
        assert!(validate_webhook_url("http://127.0.0.2/", &allow).is_err());
        assert!(validate_webhook_url("http://[::1]/", &allow).is_err());
        assert!(validate_webhook_url("http://localhost/", &allow).is_err());
        assert!(validate_webhook_url("http://10.1.200.3/", &allow).is_ok());
        assert!(validate_webhook_url("http://10.2.0.1/", &allow).is_err());
        assert!(allow.permits("hooks.internal", "192.168.0.9".parse().unwrap()));
        assert!(!allow.permits("other.internal", "192.168.0.9".parse().unwrap()));
        assert!(AllowList::parse(&["10.0.0.0/33"]).is_err());
        assert!(AllowList::parse(&["not a host"]).is_err());
        let everything = AllowList::parse(&["0.0.0.0/0"]).unwrap();
        assert!(everything.allows_address("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn only_public_addresses_are_public() {
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "100.128.0.1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for private in ["::ffff:10.0.0.1", "::127.0.0.1", "ff02::1", "2001:db8::1"] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
    }
}
