//! A token bucket per client address: `burst` requests at once, refilled at `per_minute`.
//! Time comes from the injected clock, so tests move it by hand.

use sotto_core::UnixMillis;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Buckets beyond this many are pruned (full ones first) so a flood of addresses cannot grow
/// memory without bound.
const MAX_BUCKETS: usize = 100_000;

#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: UnixMillis,
}

impl RateLimiter {
    /// `per_minute == 0` disables the limit.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_minute,
            burst: burst.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip`; `Err(seconds)` says when the next one will be there.
    pub fn check(&self, ip: IpAddr, now_ms: UnixMillis) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let rate_per_ms = f64::from(self.per_minute) / 60_000.0;
        let burst = f64::from(self.burst);
        let mut map = match self.buckets.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.len() >= MAX_BUCKETS && !map.contains_key(&ip) {
            map.retain(|_, b| {
                let refill = (now_ms - b.at_ms).max(0) as f64 * rate_per_ms;
                b.tokens + refill < burst
            });
        }
        let b = map.entry(ip).or_insert(Bucket {
            tokens: burst,
            at_ms: now_ms,
        });
        let elapsed = (now_ms - b.at_ms).max(0) as f64;
        b.tokens = (b.tokens + elapsed * rate_per_ms).min(burst);
        b.at_ms = now_ms.max(b.at_ms);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait_ms = (1.0 - b.tokens) / rate_per_ms;
            Err((wait_ms / 1000.0).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill_per_address() {
        let l = RateLimiter::new(60, 3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check(a, 0).is_ok());
        }
        assert_eq!(l.check(a, 0), Err(1));
        assert!(l.check(b, 0).is_ok(), "another address has its own bucket");
        assert!(l.check(a, 999).is_err());
        assert!(l.check(a, 1000).is_ok(), "one token per second comes back");
        assert!(RateLimiter::new(0, 0).check(a, 0).is_ok());
    }
}
