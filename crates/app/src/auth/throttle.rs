//! Login throttling: bounds password guessing per account and per client address.
//!
//! Counters live in this process (a replica behind a load balancer counts its own share); the
//! client address is the socket peer, never a spoofable `X-Forwarded-For`, unless the operator
//! configures a trusted proxy in the HTTP layer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Limits for login attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failed logins allowed per account within `account_window`.
    pub failures_per_account: u32,
    /// The account window.
    pub account_window: Duration,
    /// Login attempts allowed per client address within `address_window`.
    pub attempts_per_address: u32,
    /// The address window.
    pub address_window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            failures_per_account: 10,
            account_window: Duration::from_secs(15 * 60),
            attempts_per_address: 30,
            address_window: Duration::from_secs(60),
        }
    }
}

/// Beyond this many tracked keys, expired windows are swept before inserting.
const SWEEP_THRESHOLD: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// Fixed-window counters keyed by account and by address.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    settings: ThrottleSettings,
    accounts: Mutex<HashMap<String, Window>>,
    addresses: Mutex<HashMap<IpAddr, Window>>,
}

impl LoginThrottle {
    /// Builds a throttle with these limits.
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    /// Counts an attempt from `address` for `account`; returns the seconds to wait when
    /// either limit is exhausted.
    pub fn check(&self, account: &str, address: Option<IpAddr>, now: Instant) -> Result<(), u64> {
        if let Some(address) = address {
            let mut addresses = self.addresses.lock();
            let window = bump(&mut addresses, address, self.settings.address_window, now);
            if window.count > self.settings.attempts_per_address {
                return Err(retry_after(window, self.settings.address_window, now));
            }
        }
        let accounts = self.accounts.lock();
        if let Some(window) = accounts.get(account)
            && now.duration_since(window.started) < self.settings.account_window
            && window.count >= self.settings.failures_per_account
        {
            return Err(retry_after(*window, self.settings.account_window, now));
        }
        Ok(())
    }

    /// Records a failed login for `account`.
    pub fn record_failure(&self, account: &str, now: Instant) {
        let mut accounts = self.accounts.lock();
        bump(
            &mut accounts,
            account.to_owned(),
            self.settings.account_window,
            now,
        );
    }

    /// Forgets the failures of `account` after a successful login.
    pub fn record_success(&self, account: &str) {
        self.accounts.lock().remove(account);
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
    window.count += 1;
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
        })
    }

    #[test]
    fn an_account_is_locked_after_its_failures_until_the_window_ends() {
        let throttle = throttle();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(throttle.check("a@x.org", None, start).is_ok());
            throttle.record_failure("a@x.org", start);
        }
        let wait = throttle.check("a@x.org", None, start).unwrap_err();
        assert_eq!(wait, 60);
        assert!(throttle.check("b@x.org", None, start).is_ok());
        assert!(
            throttle
                .check("a@x.org", None, start + Duration::from_secs(61))
                .is_ok()
        );
    }

    #[test]
    fn a_success_clears_the_account_failures() {
        let throttle = throttle();
        let now = Instant::now();
        throttle.record_failure("a@x.org", now);
        throttle.record_failure("a@x.org", now);
        throttle.record_success("a@x.org");
        throttle.record_failure("a@x.org", now);
        assert!(throttle.check("a@x.org", None, now).is_ok());
    }

    #[test]
    fn an_address_is_limited_across_accounts() {
        let throttle = throttle();
        let now = Instant::now();
        let address: IpAddr = "203.0.113.9".parse().unwrap();
        for index in 0..5 {
            assert!(
                throttle
                    .check(&format!("u{index}@x.org"), Some(address), now)
                    .is_ok()
            );
        }
        assert!(throttle.check("u9@x.org", Some(address), now).is_err());
        let other: IpAddr = "203.0.113.10".parse().unwrap();
        assert!(throttle.check("u9@x.org", Some(other), now).is_ok());
    }
}
