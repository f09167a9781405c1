//! The time one request may still use. Every AWS call of a request runs inside its budget, so the
//! answer leaves before the Lambda deadline (and before FACEIO gives up at 6 s) whatever AWS does.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How long before the Lambda deadline the answer must be ready: serialising it and handing it to
/// the runtime API takes a few milliseconds; the rest is slack for a busy host.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(250);

/// A request never uses more than this, whatever deadline the runtime announces (a local
/// emulator may give minutes, or one already passed): half a second under the template's 5 s
/// timeout, so a busy host still answers in time.
pub const MAX_REQUEST_TIME: Duration = Duration::from_millis(4500);

/// A point in time by which some work must be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Budget {
    deadline: Instant,
}

impl Budget {
    /// A budget of `time` from now.
    pub fn from_now(time: Duration) -> Self {
        Self {
            deadline: Instant::now() + time,
        }
    }

    /// The budget of a request whose Lambda deadline is `deadline_ms` (unix milliseconds, the
    /// runtime's `Lambda-Runtime-Deadline-Ms`) when the clock reads `now_ms`: until
    /// [`ANSWER_MARGIN`] before it, and never more than [`MAX_REQUEST_TIME`].
    ///
    /// A deadline already passed on arrival is not one Lambda gives (its shortest
    /// timeout is 1 s); local emulators announce such values (`cargo lambda watch` does), so it
    /// counts as unknown and [`MAX_REQUEST_TIME`] applies.
    pub fn for_request(deadline_ms: u64, now_ms: i64) -> Self {
        Self::for_invocation(deadline_ms, now_ms, MAX_REQUEST_TIME)
    }

    /// As [`Budget::for_request`] with another cap: until [`ANSWER_MARGIN`] before the Lambda
    /// deadline, at most `cap`, and `cap` when the deadline had already passed on arrival.
    pub fn for_invocation(deadline_ms: u64, now_ms: i64, cap: Duration) -> Self {
        if i128::from(deadline_ms) <= i128::from(now_ms) {
            return Self::from_now(cap);
        }
        Self::before_deadline(deadline_ms, now_ms).capped(cap)
    }

    /// Until [`ANSWER_MARGIN`] before the Lambda deadline `deadline_ms` (unix milliseconds)
    /// when the clock reads `now_ms`.
    pub fn before_deadline(deadline_ms: u64, now_ms: i64) -> Self {
        let left = i128::from(deadline_ms) - i128::from(now_ms);
        let left = Duration::from_millis(u64::try_from(left.max(0)).unwrap_or(u64::MAX));
        Self::from_now(left.saturating_sub(ANSWER_MARGIN))
    }

    /// Time left (zero once the deadline has passed).
    pub fn remaining(self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The same budget ending `reserve` earlier, keeping time for what must come after.
    #[must_use]
    pub fn less(self, reserve: Duration) -> Self {
        Self {
            deadline: self
                .deadline
                .checked_sub(reserve)
                .unwrap_or_else(|| self.deadline.min(Instant::now())),
        }
    }

    /// The same budget, ending no later than `cap` from now.
    #[must_use]
    pub fn capped(self, cap: Duration) -> Self {
        Self {
            deadline: self.deadline.min(Instant::now() + cap),
        }
    }

    /// Runs `work` until the deadline; `None` when it did not finish in time (it is dropped).
    /// The work is boxed: an AWS SDK call's future is kilobytes, and the caller's own future
    /// stays small.
    pub async fn run<F: Future>(self, work: F) -> Option<F::Output> {
        tokio::time::timeout_at(self.deadline, Box::pin(work))
            .await
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_request_budget_ends_before_the_lambda_deadline_and_within_the_cap() {
        let now = 1_000_000;
        let budget = Budget::for_request(1_003_000, now);
        assert_eq!(budget.remaining(), Duration::from_millis(2750));
        // A far deadline (a local emulator) is capped.
        let far = Budget::for_request(1_000_000 + 600_000, now);
        assert_eq!(far.remaining(), MAX_REQUEST_TIME);
        let drain = Budget::before_deadline(1_000_000 + 30_000, now);
        assert_eq!(drain.remaining(), Duration::from_millis(29_750));
        // A deadline inside the margin leaves nothing.
        assert_eq!(
            Budget::for_request(1_000_100, now).remaining(),
            Duration::ZERO
        );
        // One already passed on arrival is no Lambda deadline (an emulator's): the cap applies.
        assert_eq!(
            Budget::for_request(999_000, now).remaining(),
            MAX_REQUEST_TIME
        );
        assert_eq!(Budget::for_request(0, now).remaining(), MAX_REQUEST_TIME);
        assert_eq!(
            Budget::before_deadline(999_000, now).remaining(),
            Duration::ZERO
        );
    }

    #[tokio::test(start_paused = true)]
    async fn less_and_capped_only_ever_shorten_it() {
        let budget = Budget::from_now(Duration::from_secs(4));
        assert_eq!(
            budget.less(Duration::from_secs(1)).remaining(),
            Duration::from_secs(3)
        );
        assert_eq!(
            budget.less(Duration::from_secs(9)).remaining(),
            Duration::ZERO
        );
        assert_eq!(
            budget.capped(Duration::from_secs(1)).remaining(),
            Duration::from_secs(1)
        );
        assert_eq!(
            budget.capped(Duration::from_secs(9)).remaining(),
            Duration::from_secs(4)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn work_past_the_deadline_is_dropped() {
        let budget = Budget::from_now(Duration::from_millis(300));
        assert_eq!(budget.run(async { 7 }).await, Some(7));
        let slow = budget.run(tokio::time::sleep(Duration::from_secs(10)));
        assert_eq!(slow.await, None);
        assert_eq!(budget.remaining(), Duration::ZERO);
    }
}
