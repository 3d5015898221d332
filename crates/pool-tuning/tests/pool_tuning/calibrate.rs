//! `calibrate`: medians, the best count, the markdown table, and workloads.

use std::time::Duration;

use pool_tuning::{
    ADR_CANDIDATES, Calibration, CalibrationOptions, Error, Measurement, SimulatedLatency,
    calibrate, calibrate_timed,
};

fn row(threads: usize, median_ms: f64) -> Measurement {
    Measurement {
        threads,
        median_ms,
        runs_ms: vec![median_ms],
    }
}

#[test]
fn takes_the_median_after_warm_up() {
    // Run times in ms handed out in order: the warm-up gets the first, huge, one.
    let mut times = vec![1000u64, 5, 30, 6, 7, 8].into_iter();
    let mut calls = Vec::new();
    let options = CalibrationOptions {
        warmup_runs: 1,
        runs: 5,
        tolerance: 0.0,
    };
    let cal = calibrate_timed(
        |threads| {
            calls.push(threads);
            Ok::<_, Error>(Duration::from_millis(times.next().unwrap()))
        },
        &[2],
        &options,
    )
    .unwrap();
    assert_eq!(calls, [2; 6]);
    assert_eq!(cal.table.len(), 1);
    // The median of 5, 30, 6, 7, 8 is 7: the outlier and the warm-up do not count.
    assert_eq!(cal.table[0].runs_ms, [5.0, 30.0, 6.0, 7.0, 8.0]);
    assert_eq!(cal.table[0].median_ms, 7.0);
    // An even number of runs takes the mean of the middle two.
    let mut times = vec![4u64, 1, 3, 2].into_iter();
    let options = CalibrationOptions {
        warmup_runs: 0,
        runs: 4,
        tolerance: 0.0,
    };
    let cal = calibrate_timed(
        |_| Ok::<_, Error>(Duration::from_millis(times.next().unwrap())),
        &[1],
        &options,
    )
    .unwrap();
    assert_eq!(cal.table[0].median_ms, 2.5);
}

#[test]
fn calibrate_times_the_workload() {
    let options = CalibrationOptions {
        warmup_runs: 0,
        runs: 1,
        tolerance: 0.0,
    };
    let cal = calibrate(
        |_| {
            std::thread::sleep(Duration::from_millis(5));
            Ok::<(), Error>(())
        },
        &[1],
        &options,
    )
    .unwrap();
    assert!(cal.table[0].median_ms >= 5.0, "{cal:?}");
}

#[test]
fn best_is_the_smallest_count_within_tolerance() {
    // Time falls until 4 threads, then rises (more threads than cores cost).
    let work = |t: usize| {
        let ms = match t {
            1 => 40,
            2 => 21,
            4 => 20,
            _ => 25,
        };
        Ok::<_, Error>(Duration::from_millis(ms))
    };
    let options = CalibrationOptions {
        warmup_runs: 0,
        runs: 1,
        tolerance: 0.10,
    };
    let cal = calibrate_timed(work, &[8, 1, 4, 2, 2], &options).unwrap();
    let counts: Vec<usize> = cal.table.iter().map(|m| m.threads).collect();
    assert_eq!(counts, [1, 2, 4, 8], "sorted and deduplicated");
    assert_eq!(cal.best, 2, "2 threads are within 10% of the fastest");
    let strict = CalibrationOptions {
        tolerance: 0.0,
        ..options
    };
    assert_eq!(
        calibrate_timed(work, &[1, 2, 4, 8], &strict).unwrap().best,
        4
    );
    // 0 stands for the core count.
    let cal = calibrate_timed(work, &[0], &options).unwrap();
    assert_eq!(cal.table[0].threads, pool_tuning::cores());
}

#[test]
fn markdown_table_has_adr_columns() {
    let cal = Calibration {
        best: 4,
        table: vec![row(1, 100.0), row(2, 50.0), row(4, 26.0)],
    };
    assert_eq!(
        cal.to_markdown(),
        "| threads | median ms | speedup |\n|--------:|----------:|--------:|\n\
         | 1 | 100.0 | 1.00 |\n| 2 | 50.0 | 2.00 |\n| 4 | 26.0 | 3.85 |\n"
    );
    assert_eq!(cal.speedup(2), Some(2.0));
    assert_eq!(cal.speedup(3), None);
}

#[test]
fn errors_are_reported() {
    let options = CalibrationOptions::default();
    assert!(matches!(
        calibrate(|_| Ok::<(), Error>(()), &[], &options),
        Err(Error::NoCandidates)
    ));
    let zero_runs = CalibrationOptions { runs: 0, ..options };
    assert!(matches!(
        calibrate(|_| Ok::<(), Error>(()), &[1], &zero_runs),
        Err(Error::NoCandidates)
    ));
    let err = calibrate(
        |t| {
            if t > 2 {
                Err(std::io::Error::other("disk gone"))
            } else {
                Ok(())
            }
        },
        &ADR_CANDIDATES,
        &options,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Workload { threads: 4, .. }), "{err:?}");
    assert!(err.to_string().contains("disk gone"));
}

#[test]
fn simulated_latency_scales_with_threads() {
    let w = SimulatedLatency {
        tiles: 64,
        min: Duration::from_micros(500),
        max: Duration::from_millis(2),
        seed: 3,
    };
    for i in 0..64 {
        let l = w.latency(i);
        assert!(l >= w.min && l <= w.max);
    }
    assert_eq!(w.latency(5), w.latency(5));
    let options = CalibrationOptions {
        warmup_runs: 0,
        runs: 3,
        tolerance: 0.05,
    };
    let cal = calibrate(|t| w.run(t), &[1, 8], &options).unwrap();
    // Sleeping tasks overlap even on a 2-core machine; the bound is loose for a noisy CI box.
    let speedup = cal.speedup(8).unwrap();
    assert!(speedup > 3.0, "speedup {speedup}\n{}", cal.to_markdown());
    assert_eq!(cal.best, 8);
}

#[test]
fn absurd_latency_bounds_saturate_instead_of_panicking() {
    let w = SimulatedLatency {
        tiles: 1000,
        min: Duration::MAX,
        max: Duration::MAX,
        seed: 9,
    };
    assert_eq!(w.latency(7), Duration::MAX);
    assert_eq!(w.serial_time(), Duration::MAX);
    let reversed = SimulatedLatency {
        tiles: 4,
        min: Duration::from_millis(3),
        max: Duration::ZERO,
        seed: 0,
    };
    assert_eq!(reversed.latency(1), Duration::from_millis(3));
}
