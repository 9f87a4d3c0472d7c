//! Token-bucket rate limits, one bucket per key (client address or appkey).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets whose keys have been idle this long are dropped when the map grows.
const IDLE_SECS: f64 = 60.0;
/// Size at which idle buckets are swept.
const SWEEP_AT: usize = 10_000;

/// A limit of `rate` calls per second with bursts of up to `burst`; `rate == 0` is off.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter of `per_second` calls, bursting to twice that.
    pub fn new(per_second: u32) -> Self {
        Self {
            rate: f64::from(per_second),
            burst: f64::from(per_second) * 2.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The configured rate (0 = off).
    pub fn per_second(&self) -> u32 {
        self.rate as u32
    }

    /// Takes one token for `key`; `false` means refuse the call.
    pub fn allow(&self, key: &str) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock must not turn into refusing everyone.
            return true;
        };
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, (_, seen)| now.duration_since(*seen).as_secs_f64() < IDLE_SECS);
        }
        let (tokens, seen) = buckets.entry(key.to_owned()).or_insert((self.burst, now));
        let refill = now.duration_since(*seen).as_secs_f64() * self.rate;
        *tokens = (*tokens + refill).min(self.burst);
        *seen = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refuses_per_key() {
        let limiter = RateLimiter::new(5);
        let allowed = (0..20).filter(|_| limiter.allow("a")).count();
        assert_eq!(allowed, 10, "the burst is twice the rate");
        assert!(limiter.allow("b"), "keys are independent");
        std::thread::sleep(std::time::Duration::from_millis(450));
        assert!(limiter.allow("a"), "tokens come back with time");
    }

    #[test]
    fn zero_is_off() {
        let limiter = RateLimiter::new(0);
        assert!((0..1000).all(|_| limiter.allow("a")));
    }
}
