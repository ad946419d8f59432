//! Throttling of the unauthenticated routes: password guessing per account and per client
//! network, and account creation per client network.
//!
//! Every attempt is counted *before* the password is verified, under one lock, so parallel
//! guesses cannot all pass a check that reads a counter which the failures update later. An
//! account is slowed down, never locked out: its budget of guesses refills one at a time
//! (a token bucket), so an attacker guessing at one account gets one guess per refill interval,
//! and its owner always gets in once a guess is available again (a success refills the
//! budget).
//!
//! Counters live in this process (a replica behind a load balancer counts its own share).
//! Clients are keyed by network: an IPv4 address, or the /64 prefix of an IPv6 address (one
//! subscriber's allocation; keying whole IPv6 addresses lets a client walk around the limit).
//! The client address is the socket peer, or what a trusted proxy says it is (the HTTP layer
//! decides, from `server.trusted_proxies`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Limits for login attempts and registrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Guesses an account allows in a burst (its bucket's size).
    pub failures_per_account: u32,
    /// How long the account bucket takes to refill completely; one guess comes back every
    /// `account_window / failures_per_account`.
    pub account_window: Duration,
    /// Login attempts allowed per client network within `address_window`.
    pub attempts_per_address: u32,
    /// The address window.
    pub address_window: Duration,
    /// Accounts one client network may create within `registration_window`; 0: no limit.
    pub registrations_per_network: u32,
    /// The registration window.
    pub registration_window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            failures_per_account: 10,
            account_window: Duration::from_secs(15 * 60),
            attempts_per_address: 30,
            address_window: Duration::from_secs(60),
            registrations_per_network: 20,
            registration_window: Duration::from_secs(3600),
        }
    }
}

/// Beyond this many tracked keys, expired entries are swept before inserting.
const SWEEP_THRESHOLD: usize = 100_000;

/// Returns the key a client address is counted under: the IPv4 address (also when written
/// as an IPv4-mapped IPv6 address), or the /64 network of an IPv6 address.
pub fn client_network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// An account's guess budget: `available` guesses as of `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    available: f64,
    at: Instant,
}

/// A guess the throttle admitted; report its outcome with [`LoginThrottle::record_success`]
/// (a failure needs no report: the guess was spent when admitted).
#[derive(Debug)]
#[must_use]
pub struct AdmittedGuess {
    account: String,
}

/// Counters keyed by account and by client network.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    settings: ThrottleSettings,
    accounts: Mutex<HashMap<String, Bucket>>,
    addresses: Mutex<HashMap<IpAddr, Window>>,
    registrations: Mutex<HashMap<IpAddr, Window>>,
}

impl LoginThrottle {
    /// Builds a throttle with these limits.
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    /// Counts a login attempt from `address` for `account` and spends one of the account's
    /// guesses; returns the seconds to wait when either limit is exhausted (nothing is spent
    /// then).
    pub fn admit(
        &self,
        account: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<AdmittedGuess, u64> {
        if let Some(address) = address {
            let mut addresses = self.addresses.lock();
            let window = bump(
                &mut addresses,
                client_network(address),
                self.settings.address_window,
                now,
            );
            if window.count > self.settings.attempts_per_address {
                return Err(retry_after(window, self.settings.address_window, now));
            }
        }
        let capacity = f64::from(self.settings.failures_per_account.max(1));
        let refill_per_second = capacity / self.settings.account_window.as_secs_f64().max(1e-3);
        let mut accounts = self.accounts.lock();
        if accounts.len() >= SWEEP_THRESHOLD {
            accounts.retain(|_, bucket| {
                bucket.available + now.duration_since(bucket.at).as_secs_f64() * refill_per_second
                    < capacity
            });
        }
        let bucket = accounts.entry(account.to_owned()).or_insert(Bucket {
            available: capacity,
            at: now,
        });
        let refilled = (bucket.available
            + now.duration_since(bucket.at).as_secs_f64() * refill_per_second)
            .min(capacity);
        *bucket = Bucket {
            available: refilled,
            at: now,
        };
        if refilled < 1.0 {
            let wait = (1.0 - refilled) / refill_per_second;
            return Err((wait.ceil() as u64).max(1));
        }
        bucket.available -= 1.0;
        Ok(AdmittedGuess {
            account: account.to_owned(),
        })
    }

    /// Gives the account its whole budget back after a successful login.
    pub fn record_success(&self, guess: AdmittedGuess) {
        self.accounts.lock().remove(&guess.account);
    }

    /// Counts an account creation from `address`; returns the seconds to wait when the
    /// client network created its share already.
    pub fn admit_registration(&self, address: Option<IpAddr>, now: Instant) -> Result<(), u64> {
        let (Some(address), limit) = (address, self.settings.registrations_per_network) else {
            return Ok(());
        };
        if limit == 0 {
            return Ok(());
        }
        let mut registrations = self.registrations.lock();
        let window = bump(
            &mut registrations,
            client_network(address),
            self.settings.registration_window,
            now,
        );
        if window.count > limit {
            return Err(retry_after(window, self.settings.registration_window, now));
        }
        Ok(())
    }
}

fn bump<K: std::hash::Hash + Eq>(
    windows: &mut HashMap<K, Window>,
    key: K,
    length: Duration,
    now: Instant,
) -> Window {
    if windows.len() >= SWEEP_THRESHOLD {
        windows.retain(|_, window| now.duration_since(window.started) < length);
    }
    let window = windows.entry(key).or_insert(Window {
        started: now,
        count: 0,
    });
    if now.duration_since(window.started) >= length {
        *window = Window {
            started: now,
            count: 0,
        };
    }
    window.count = window.count.saturating_add(1);
    *window
}

fn retry_after(window: Window, length: Duration, now: Instant) -> u64 {
    length
        .saturating_sub(now.duration_since(window.started))
        .as_secs()
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(ThrottleSettings {
            failures_per_account: 3,
            account_window: Duration::from_secs(60),
            attempts_per_address: 5,
            address_window: Duration::from_secs(10),
            registrations_per_network: 2,
            registration_window: Duration::from_secs(3600),
        })
    }

    #[test]
    fn an_account_is_slowed_down_to_one_guess_per_refill_interval_not_locked_out() {
        let throttle = throttle();
        let start = Instant::now();
        for _ in 0..3 {
            let _failed = throttle.admit("a@x.org", None, start).unwrap();
        }
        // The budget is spent: one guess comes back every 60 s / 3 = 20 s.
        assert_eq!(throttle.admit("a@x.org", None, start).unwrap_err(), 20);
        assert!(throttle.admit("b@x.org", None, start).is_ok());
        let later = start + Duration::from_secs(21);
        let _one = throttle.admit("a@x.org", None, later).unwrap();
        assert!(throttle.admit("a@x.org", None, later).is_err());
    }

    #[test]
    fn a_success_gives_the_account_its_budget_back() {
        let throttle = throttle();
        let now = Instant::now();
        let _first = throttle.admit("a@x.org", None, now).unwrap();
        let _second = throttle.admit("a@x.org", None, now).unwrap();
        let third = throttle.admit("a@x.org", None, now).unwrap();
        throttle.record_success(third);
        for _ in 0..3 {
            let _guess = throttle.admit("a@x.org", None, now).unwrap();
        }
    }

    #[test]
    fn an_address_is_limited_across_accounts() {
        let throttle = throttle();
        let now = Instant::now();
        let address: IpAddr = "203.0.113.9".parse().unwrap();
        for index in 0..5 {
            let _guess = throttle
                .admit(&format!("u{index}@x.org"), Some(address), now)
                .unwrap();
        }
        assert!(throttle.admit("u9@x.org", Some(address), now).is_err());
        let other: IpAddr = "203.0.113.10".parse().unwrap();
        assert!(throttle.admit("u9@x.org", Some(other), now).is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_network() {
        let throttle = throttle();
        let now = Instant::now();
        for host in 0..5 {
            let address: IpAddr = format!("2001:db8:1:2::{host:x}").parse().unwrap();
            let _guess = throttle
                .admit(&format!("u{host}@x.org"), Some(address), now)
                .unwrap();
        }
        let same_network: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert!(throttle.admit("z@x.org", Some(same_network), now).is_err());
        let next_network: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(throttle.admit("z@x.org", Some(next_network), now).is_ok());
        assert_eq!(
            client_network("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn registrations_are_limited_per_client_network() {
        let throttle = throttle();
        let now = Instant::now();
        let address: IpAddr = "2001:db8::1".parse().unwrap();
        let neighbour: IpAddr = "2001:db8::2".parse().unwrap();
        assert!(throttle.admit_registration(Some(address), now).is_ok());
        assert!(throttle.admit_registration(Some(neighbour), now).is_ok());
        assert_eq!(
            throttle.admit_registration(Some(address), now).unwrap_err(),
            3600
        );
        assert!(
            throttle
                .admit_registration(Some("2001:db9::1".parse().unwrap()), now)
                .is_ok()
        );
        assert!(throttle.admit_registration(None, now).is_ok());
    }
}
