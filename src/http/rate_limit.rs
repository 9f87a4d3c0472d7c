//! Rate limits, one token bucket per key (client address or appkey), kept by
//! `governor`.

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota};

/// Size at which buckets of keys idle long enough to be full again are swept.
const SWEEP_AT: usize = 10_000;

/// A limit of `rate` calls per second with bursts of twice that; a rate of 0 is off.
#[derive(Debug)]
pub struct RateLimiter {
    rate: u32,
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl RateLimiter {
    /// A limiter of `per_second` calls, bursting to twice that.
    pub fn new(per_second: u32) -> Self {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
            DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            rate: per_second,
            limiter,
        }
    }

    /// A limiter of `count` attempts a minute per key, all of them usable at once (the
    /// console's sign-in); 0 is off.
    pub fn per_minute(count: u32) -> Self {
        let limiter = NonZeroU32::new(count)
            .map(|count| DefaultKeyedRateLimiter::keyed(Quota::per_minute(count)));
        Self { rate: 0, limiter }
    }

    /// The configured rate per second (0 = off, or counted per minute).
    pub fn per_second(&self) -> u32 {
        self.rate
    }

    /// Takes one call for `key`; `false` means refuse the call.
    pub fn allow(&self, key: &str) -> bool {
        let Some(limiter) = &self.limiter else {
            return true;
        };
        // Keys come from outside: forget the idle ones before the map grows large.
        if limiter.len() >= SWEEP_AT {
            limiter.retain_recent();
        }
        limiter.check_key(&key.to_owned()).is_ok()
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
    fn per_minute_allows_its_count_at_once() {
        let limiter = RateLimiter::per_minute(5);
        assert_eq!((0..20).filter(|_| limiter.allow("a")).count(), 5);
        assert!(limiter.allow("b"));
    }

    #[test]
    fn zero_is_off() {
        let limiter = RateLimiter::new(0);
        assert!((0..1000).all(|_| limiter.allow("a")));
    }
}
