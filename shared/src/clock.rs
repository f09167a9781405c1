//! Where "now" comes from: the system clock, or a fixed instant in tests.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in unix milliseconds (0 before 1970, `i64::MAX` past the year 292 million).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// The clock a pipeline reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// A fixed time, unix milliseconds.
    Fixed(i64),
}

impl Clock {
    /// Unix milliseconds.
    pub fn now_ms(self) -> i64 {
        match self {
            Self::System => now_ms(),
            Self::Fixed(ms) => ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_is_after_2025_and_a_fixed_one_is_fixed() {
        assert!(Clock::System.now_ms() > 1_735_689_600_000);
        assert_eq!(Clock::Fixed(42).now_ms(), 42);
    }
}
