//! Who is asking (R-SEC-6): the client's address, read from a forwarding header only when the
//! connection comes from a configured trusted proxy, and per-client rate limits on the
//! answers an attacker repeats (sign-in, password links, failed API authentication, unknown
//! slugs). Known links are never limited: the redirect path does not come here.

use std::hash::RandomState;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::HeaderMap;
use ipnet::IpNet;
use jiff::Timestamp;
use qrlink_core::error::Invalid;

/// A client as the limits see it: an IPv4 address, or the /64 an IPv6 address is in (one
/// subscriber usually holds a whole /64, so its addresses are one client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    pub fn of(address: IpAddr) -> ClientKey {
        match address.to_canonical() {
            IpAddr::V4(v4) => ClientKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                ClientKey(IpAddr::V6(Ipv6Addr::from(prefix)))
            }
        }
    }
}

impl std::fmt::Display for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// Which header a trusted proxy writes the client's address into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

impl ForwardedHeader {
    pub fn parse(input: &str) -> Result<ForwardedHeader, Invalid> {
        match input.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
            "forwarded" => Ok(ForwardedHeader::Forwarded),
            _ => Err(Invalid::new(
                "forwarded_header",
                "one_of",
                "the forwarded header is x-forwarded-for or forwarded",
            )),
        }
    }
}

/// The proxies whose forwarding header is believed. Without any, the client is the peer.
#[derive(Debug, Clone)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    pub fn none() -> TrustedProxies {
        TrustedProxies {
            nets: Vec::new(),
            header: ForwardedHeader::XForwardedFor,
        }
    }

    /// `cidrs` as given (`10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`).
    pub fn parse(cidrs: &[String], header: ForwardedHeader) -> Result<TrustedProxies, Invalid> {
        let nets = cidrs
            .iter()
            .map(|cidr| {
                let cidr = cidr.trim();
                cidr.parse::<IpNet>()
                    .or_else(|_| cidr.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| {
                        Invalid::new(
                            "trusted_proxy",
                            "cidr",
                            format!(
                                "{cidr:?} is not an address or a CIDR block such as 10.0.0.0/8"
                            ),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { nets, header })
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.nets.iter().any(|net| net.contains(&address))
    }

    /// The client's address: the peer, unless the peer is a trusted proxy; then, reading the
    /// forwarding header from its right end (the entry the nearest proxy wrote), the first
    /// address that is not a trusted proxy. Entries to the left of that one were written by
    /// the client itself and are never believed. An entry that is not an address stops the
    /// walk at the last trusted hop.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        let name = match self.header {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        };
        let entries: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        for entry in entries.iter().rev() {
            let address = match self.header {
                ForwardedHeader::XForwardedFor => parse_node(entry.trim()),
                ForwardedHeader::Forwarded => forwarded_for(entry),
            };
            let Some(address) = address else { break };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }
}

/// The `for=` parameter of one RFC 7239 element (`for=192.0.2.1;proto=https`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(value.trim().trim_matches('"')))
            .flatten()
    })
}

/// An address as forwarding headers write it: `192.0.2.1`, `192.0.2.1:443`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:443`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// How often a client may do something: `burst` at once, then one more every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub every: Duration,
}

/// The per-client limits of one server (documented in docs/SECURITY.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRates {
    /// Sign-in attempts (each costs an Argon2 hash).
    pub sign_in: Rate,
    /// Requests to one-time password links.
    pub password_link: Rate,
    /// API requests whose bearer token is missing, unknown, expired or revoked.
    pub api_auth_failure: Rate,
    /// Answers for slugs that do not exist (slug enumeration).
    pub unknown_slug: Rate,
}

impl ClientRates {
    pub const DEFAULT: ClientRates = ClientRates {
        sign_in: Rate {
            burst: 10,
            every: Duration::from_secs(6),
        },
        password_link: Rate {
            burst: 10,
            every: Duration::from_secs(6),
        },
        api_auth_failure: Rate {
            burst: 20,
            every: Duration::from_secs(3),
        },
        unknown_slug: Rate {
            burst: 60,
            every: Duration::from_secs(1),
        },
    };
}

/// Clients remembered per limit; past this many the least recently seen is forgotten (a
/// refilled bucket is the same as a forgotten one), so an attacker with more addresses than
/// this makes the limits forget, never grow. A few MiB per limit at most.
pub const REMEMBERED_CLIENTS: usize = 50_000;

/// One per-client limit: a GCRA bucket per client (only its "theoretical arrival time"), in
/// a least-recently-used map of bounded size.
#[derive(Debug)]
pub struct ClientLimiter {
    rate: Rate,
    buckets: Mutex<lru::LruCache<ClientKey, Timestamp, RandomState>>,
}

impl ClientLimiter {
    pub fn new(rate: Rate) -> ClientLimiter {
        let capacity = NonZeroUsize::new(REMEMBERED_CLIENTS).expect("not zero");
        ClientLimiter {
            rate,
            buckets: Mutex::new(lru::LruCache::with_hasher(capacity, RandomState::new())),
        }
    }

    /// Takes one from `client`'s bucket, or says how long until one is there.
    pub fn take(&self, client: ClientKey, now: Timestamp) -> Result<(), Duration> {
        self.admit(client, now, true)
    }

    /// Whether [`ClientLimiter::take`] would succeed, without taking: for limits that only
    /// count failures, checked before the attempt and taken after it fails.
    pub fn check(&self, client: ClientKey, now: Timestamp) -> Result<(), Duration> {
        self.admit(client, now, false)
    }

    fn admit(&self, client: ClientKey, now: Timestamp, take: bool) -> Result<(), Duration> {
        let every = jiff::SignedDuration::try_from(self.rate.every).expect("a short duration");
        let tolerance = every * i32::try_from(self.rate.burst.saturating_sub(1)).unwrap_or(0);
        let mut buckets = self.buckets.lock().expect("never poisoned");
        // A bucket never holds more than a full burst's wait, even if the clock was set back
        // after it was filled.
        let tat = buckets
            .get(&client)
            .copied()
            .unwrap_or(now)
            .clamp(now, now + tolerance + every);
        let next = tat + every;
        if next - now > tolerance + every {
            let wait = (next - now) - tolerance - every;
            return Err(Duration::try_from(wait)
                .unwrap_or(Duration::ZERO)
                .max(Duration::from_secs(1)));
        }
        if take {
            buckets.put(client, next);
        }
        Ok(())
    }
}

/// The four limits of a server.
#[derive(Debug)]
pub struct ClientLimits {
    pub sign_in: ClientLimiter,
    pub password_link: ClientLimiter,
    pub api_auth_failure: ClientLimiter,
    pub unknown_slug: ClientLimiter,
}

impl ClientLimits {
    pub fn new(rates: ClientRates) -> ClientLimits {
        ClientLimits {
            sign_in: ClientLimiter::new(rates.sign_in),
            password_link: ClientLimiter::new(rates.password_link),
            api_auth_failure: ClientLimiter::new(rates.api_auth_failure),
            unknown_slug: ClientLimiter::new(rates.unknown_slug),
        }
    }
}

/// The client of a request that went through the router, as the connection found it.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

impl Peer {
    /// The peer address the connection left on a routed request; `0.0.0.0` for a request
    /// that did not come through a connection (a router called directly), so that such
    /// requests share one bucket rather than escape the limits.
    pub fn address(extensions: &axum::http::Extensions) -> IpAddr {
        extensions
            .get::<Peer>()
            .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |peer| peer.0.ip())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_from_a_trusted_proxy_and_only_right_of_it() {
        let proxies = TrustedProxies::parse(
            &["10.0.0.0/8".into(), "192.0.2.7".into()],
            ForwardedHeader::XForwardedFor,
        )
        .unwrap();
        let xff = |values: &[&str]| headers("x-forwarded-for", values);
        // Straight from the internet: the header is the client's own claim.
        assert_eq!(
            proxies.client(ip("198.51.100.9"), &xff(&["203.0.113.1"])),
            ip("198.51.100.9")
        );
        // Through one proxy.
        assert_eq!(
            proxies.client(ip("10.1.2.3"), &xff(&["203.0.113.1"])),
            ip("203.0.113.1")
        );
        // The client wrote a fake entry first; the proxy appended the real address.
        assert_eq!(
            proxies.client(ip("10.1.2.3"), &xff(&["1.1.1.1, 203.0.113.1"])),
            ip("203.0.113.1")
        );
        // Two trusted proxies, in two header lines.
        assert_eq!(
            proxies.client(ip("10.1.2.3"), &xff(&["6.6.6.6, 203.0.113.1", "192.0.2.7"])),
            ip("203.0.113.1")
        );
        // Garbage stops the walk at the last trusted hop; no header means the proxy itself.
        assert_eq!(
            proxies.client(ip("10.1.2.3"), &xff(&["203.0.113.1, nonsense"])),
            ip("10.1.2.3")
        );
        assert_eq!(
            proxies.client(ip("10.1.2.3"), &HeaderMap::new()),
            ip("10.1.2.3")
        );
        // With a port, IPv6 in brackets, IPv4-mapped peers.
        assert_eq!(
            proxies.client(ip("::ffff:10.0.0.1"), &xff(&["203.0.113.1:5555"])),
            ip("203.0.113.1")
        );
        assert_eq!(
            proxies.client(ip("10.0.0.1"), &xff(&["[2001:db8::1]:443"])),
            ip("2001:db8::1")
        );
        // The proxy writes `Forwarded` instead; an `X-Forwarded-For` is then not believed.
        let rfc =
            TrustedProxies::parse(&["10.0.0.0/8".into()], ForwardedHeader::Forwarded).unwrap();
        let mut both = headers(
            "forwarded",
            &["for=1.1.1.1, for=\"[2001:db8::7]\";proto=https"],
        );
        both.append("x-forwarded-for", HeaderValue::from_static("5.5.5.5"));
        assert_eq!(rfc.client(ip("10.0.0.1"), &both), ip("2001:db8::7"));
        assert_eq!(
            TrustedProxies::parse(&["10.0.0.0/33".into()], ForwardedHeader::Forwarded)
                .unwrap_err()
                .rule,
            "cidr"
        );
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        assert_eq!(
            ClientKey::of(ip("2001:db8:1:2:aaaa::1")),
            ClientKey::of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            ClientKey::of(ip("2001:db8:1:2::1")),
            ClientKey::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            ClientKey::of(ip("2001:db8:1:2::1")).to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            ClientKey::of(ip("::ffff:192.0.2.1")).to_string(),
            "192.0.2.1"
        );
    }

    #[test]
    fn a_bucket_gives_its_burst_then_one_per_interval_per_client() {
        let limiter = ClientLimiter::new(Rate {
            burst: 3,
            every: Duration::from_secs(10),
        });
        let t0: Timestamp = "2026-06-01T10:00:00Z".parse().unwrap();
        let (a, b) = (
            ClientKey::of(ip("192.0.2.1")),
            ClientKey::of(ip("192.0.2.2")),
        );
        for _ in 0..3 {
            assert_eq!(limiter.take(a, t0), Ok(()));
        }
        assert_eq!(limiter.check(a, t0), Err(Duration::from_secs(10)));
        assert_eq!(limiter.take(a, t0), Err(Duration::from_secs(10)));
        assert_eq!(
            limiter.take(b, t0),
            Ok(()),
            "another client has its own bucket"
        );
        let later = t0 + jiff::SignedDuration::from_secs(10);
        assert_eq!(limiter.check(a, later), Ok(()));
        assert_eq!(limiter.take(a, later), Ok(()));
        assert!(limiter.take(a, later).is_err(), "one per interval");
        // The clock set back an hour: the client waits no longer than a full bucket's refill.
        let earlier = t0 - jiff::SignedDuration::from_secs(3600);
        assert_eq!(limiter.take(a, earlier), Err(Duration::from_secs(10)));
        let much_later = t0 + jiff::SignedDuration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(
                limiter.take(a, much_later),
                Ok(()),
                "refilled, not beyond the burst"
            );
        }
        assert!(limiter.take(a, much_later).is_err());
    }
}
