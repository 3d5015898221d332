//! Property tests: against a faulty store, every record ends up stored exactly or reported
//! failed, never both and never neither, attempts stay within the limit, and the call returns.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use writer_with_retry::{
    Fail, FailReason, FakeTime, FaultConfig, FaultyStore, MemStore, Mode, Store, WriteOptions,
    write_all,
};

use crate::with_guard;

#[derive(Debug, Clone)]
struct Case {
    records: Vec<(String, Vec<u8>)>,
    permanent: BTreeSet<String>,
    transient_rate: f64,
    lost_rate: f64,
    latency_us: u64,
    jitter_us: u64,
    workers: usize,
    depth: usize,
    attempts: u32,
    fail_fast: bool,
    faulty_reads: bool,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::btree_map(
            0u32..500,
            proptest::collection::vec(any::<u8>(), 0..40),
            0..40,
        ),
        proptest::collection::vec(0u32..500, 0..4),
        (0.0f64..=0.5, 0.0f64..=0.5, 0u64..200, 0u64..300),
        (
            1usize..9,
            1usize..5,
            1u32..8,
            any::<bool>(),
            any::<bool>(),
            any::<u64>(),
        ),
    )
        .prop_map(
            |(
                map,
                perm,
                (transient_rate, lost_rate, latency_us, jitter_us),
                (workers, depth, attempts, fail_fast, faulty_reads, seed),
            )| {
                let key = |i: u32| format!("k/{}/{i}", i % 7);
                Case {
                    records: map.into_iter().map(|(i, v)| (key(i), v)).collect(),
                    permanent: perm.into_iter().map(key).collect(),
                    transient_rate,
                    lost_rate,
                    latency_us,
                    jitter_us,
                    workers,
                    depth,
                    attempts,
                    fail_fast,
                    faulty_reads,
                    seed,
                }
            },
        )
}

/// Runs one case; returns an error message instead of panicking so proptest can shrink.
fn check(case: Case) -> Result<(), String> {
    let store = FaultyStore::new(
        MemStore::new(),
        FaultConfig {
            seed: case.seed,
            transient_rate: case.transient_rate,
            lost_response_rate: case.lost_rate,
            permanent_keys: case.permanent.clone(),
            latency: Duration::from_micros(case.latency_us),
            jitter: Duration::from_micros(case.jitter_us),
            faulty_reads: case.faulty_reads,
        },
    );
    let policy = Fail::with_backoff(
        Duration::from_millis(10),
        Duration::from_secs(1),
        case.attempts,
    )
    .map_err(|e| e.to_string())?;
    let options = WriteOptions::default()
        .workers(case.workers)
        .queue_depth(case.depth)
        .fake_time(Arc::new(FakeTime::new()))
        .seed(case.seed)
        .mode(if case.fail_fast {
            Mode::FailFast
        } else {
            Mode::BestEffort
        })
        .policy(policy)
        .map_err(|e| e.to_string())?;
    let report = write_all(&store, case.records.clone(), &options);

    let n = case.records.len() as u64;
    if report.total() != n {
        return Err(format!("{} outcomes for {n} records", report.total()));
    }
    if report.attempts > n * u64::from(case.attempts) {
        return Err(format!("{} attempts for {n} records", report.attempts));
    }
    let mut failed = BTreeMap::new();
    for failure in &report.failures {
        if failure.attempts > case.attempts {
            return Err(format!(
                "{}: {} attempts > {}",
                failure.key, failure.attempts, case.attempts
            ));
        }
        if failed.insert(failure.key.clone(), failure).is_some() {
            return Err(format!("{} reported twice", failure.key));
        }
        if !case.fail_fast && matches!(failure.reason, FailReason::Skipped) {
            return Err(format!("{} skipped in best-effort mode", failure.key));
        }
    }
    for (key, bytes) in &case.records {
        let stored = store.inner().get(key).ok().as_ref() == Some(bytes);
        match failed.get(key) {
            // Without faulty reads the writer's check always gets an answer, so the report is exact.
            Some(f) if f.outcome_unknown && !case.faulty_reads => {
                return Err(format!("{key}: outcome unknown although reads never fail"));
            }
            Some(f) if f.outcome_unknown => {}
            Some(_) if stored => return Err(format!("{key}: stored and reported failed")),
            None if !stored => return Err(format!("{key}: neither stored nor reported failed")),
            _ => {}
        }
        if case.permanent.contains(key) && !failed.contains_key(key) {
            return Err(format!(
                "{key}: a permanently failing key was reported written"
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_record_is_stored_exactly_or_reported(case in case()) {
        let result = with_guard(Duration::from_secs(30), move || check(case));
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }
}
