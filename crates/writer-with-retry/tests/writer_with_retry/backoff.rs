//! The retry policy: validation, exponential growth, full jitter, the delay iterator.

use std::time::Duration;

use writer_with_retry::{Clock, Fail, FakeTime, PolicyError, Sleeper};

const MS: Duration = Duration::from_millis(1);

#[test]
fn cap_below_base_is_rejected() {
    // GeoTrellis shipped a 50 ms base with a 15 ms cap.
    let err = Fail::with_backoff(50 * MS, 15 * MS, 5).unwrap_err();
    assert_eq!(
        err,
        PolicyError::CapBelowBase {
            base: 50 * MS,
            cap: 15 * MS
        }
    );
    assert!(err.to_string().contains("below its base"));
    assert_eq!(
        Fail::with_backoff(Duration::ZERO, MS, 5).unwrap_err(),
        PolicyError::ZeroBase
    );
    assert_eq!(
        Fail::with_backoff(MS, MS, 0).unwrap_err(),
        PolicyError::ZeroAttempts
    );
    assert!(Fail::with_backoff(MS, MS, 1).is_ok());
    assert!(Fail::default().validate().is_ok());
    assert!(Fail::Immediately.validate().is_ok());
}

#[test]
fn bound_doubles_until_the_cap() {
    let fail = Fail::with_backoff(10 * MS, 100 * MS, 10).unwrap();
    let bounds: Vec<_> = (0..6).map(|r| fail.delay_bound(r)).collect();
    assert_eq!(
        bounds,
        [10 * MS, 20 * MS, 40 * MS, 80 * MS, 100 * MS, 100 * MS]
    );
    // Huge retry numbers neither overflow nor exceed the cap.
    assert_eq!(fail.delay_bound(1_000), 100 * MS);
    assert_eq!(Fail::Immediately.delay_bound(3), Duration::ZERO);
    assert_eq!(Fail::Immediately.max_attempts(), 1);
}

#[test]
fn full_jitter_stays_within_the_bound_and_spreads() {
    let fail = Fail::with_backoff(10 * MS, 1000 * MS, 8).unwrap();
    assert_eq!(fail.delay(2, 0.0), Duration::ZERO);
    assert_eq!(fail.delay(2, 0.5), 20 * MS);
    let delays: Vec<_> = fail.delays(42).collect();
    assert_eq!(delays.len(), 7);
    for (retry, d) in delays.iter().enumerate() {
        assert!(
            *d <= fail.delay_bound(retry as u32),
            "{d:?} at retry {retry}"
        );
    }
    // Full jitter: over many seeds, the first delay covers most of [0, base].
    let firsts: Vec<_> = (0..200).map(|s| fail.delays(s).next().unwrap()).collect();
    assert!(firsts.iter().any(|d| *d < 2 * MS));
    assert!(firsts.iter().any(|d| *d > 8 * MS));
    // The same seed gives the same delays.
    assert_eq!(fail.delays(42).collect::<Vec<_>>(), delays);
}

#[test]
fn deadline_is_kept_on_the_policy() {
    let fail = Fail::with_backoff(MS, 10 * MS, 3)
        .unwrap()
        .deadline(Duration::from_secs(2));
    assert_eq!(fail.deadline_limit(), Some(Duration::from_secs(2)));
    assert_eq!(Fail::Immediately.deadline(MS).deadline_limit(), None);
}

#[test]
fn fake_time_moves_only_by_sleeps() {
    let time = FakeTime::new();
    let t0 = time.now();
    time.sleep(5 * MS);
    time.sleep(Duration::from_secs(3));
    assert_eq!(time.now() - t0, Duration::from_secs(3) + 5 * MS);
    assert_eq!(time.sleep_count(), 2);
    assert_eq!(time.slept(), Duration::from_secs(3) + 5 * MS);
}
