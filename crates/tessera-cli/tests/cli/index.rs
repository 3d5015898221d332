//! `tessera index encode|ranges` run as a user would: output, exit codes and messages.

use std::process::Command;

use crate::util::{stderr, stdout, tessera};
use tessera::keyed_tile::{AnyKeyIndex, KeyBounds, KeyIndex, SpaceTimeKey, SpatialKey};
use tessera::sfc_index::Budget;

const DAY: i64 = 86_400_000;

/// Runs a command that must succeed and returns its stdout.
fn ok(args: &[&str]) -> String {
    let out = tessera(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

/// Runs a command that must fail with `code`, and returns its stderr.
fn fails(args: &[&str], code: i32) -> String {
    let out = tessera(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: stdout {} stderr {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "{args:?} printed {}", stdout(&out));
    stderr(&out)
}

#[test]
fn encode_agrees_with_the_library() {
    let bounds = KeyBounds::new(SpatialKey::new(-10, -5), SpatialKey::new(20, 30)).unwrap();
    for (method, index) in [
        ("zorder", AnyKeyIndex::zorder(bounds, None).unwrap()),
        ("hilbert", AnyKeyIndex::hilbert(bounds, None).unwrap()),
        ("rowmajor", AnyKeyIndex::rowmajor(bounds).unwrap()),
    ] {
        for (col, row) in [(-10, -5), (-3, 4), (20, 30), (0, 0)] {
            let expected = index.to_index(&SpatialKey::new(col, row)).unwrap();
            let out = ok(&[
                "index",
                "encode",
                "--method",
                method,
                "--bounds=-10,-5,20,30",
                &col.to_string(),
                &row.to_string(),
            ]);
            assert_eq!(out, format!("{expected}\n"), "{method} ({col}, {row})");
        }
    }
}

#[test]
fn encode_space_time_before_1970() {
    let bounds = KeyBounds::new(
        SpaceTimeKey::new(0, 0, -365 * DAY),
        SpaceTimeKey::new(99, 99, 364 * DAY),
    )
    .unwrap();
    let index = AnyKeyIndex::zorder(bounds, Some(DAY)).unwrap();
    let key = SpaceTimeKey::new(7, 9, -100 * DAY);
    let expected = index.to_index(&key).unwrap();
    let bounds_arg = format!("--bounds=0,0,99,99,{},{}", -365 * DAY, 364 * DAY);
    let instant = (-100 * DAY).to_string();
    let args = [
        "index",
        "encode",
        "--method",
        "zorder",
        &bounds_arg,
        "--temporal-resolution",
        "86400000",
        "7",
        "9",
        &instant,
    ];
    assert_eq!(ok(&args), format!("{expected}\n"));
    // Hilbert takes the same arguments; its time bits come from the range and the resolution.
    let mut args = args;
    args[3] = "hilbert";
    assert!(ok(&args).trim().parse::<u64>().is_ok());
    let json: serde_json::Value =
        serde_json::from_str(&ok(&[&["--json"], &args[..]].concat())).unwrap();
    assert_eq!(json["method"], "hilbert");
    assert!(json["index"].is_u64());
}

#[test]
fn ranges_text_output() {
    // Columns -10..=10 map to 0..=20; the query's columns and rows -2..=1 map to 8..=11,
    // one aligned 4 x 4 Z-order cell: indexes 192..=207.
    let out = ok(&[
        "index",
        "ranges",
        "--method",
        "zorder",
        "--bounds=-10,-10,10,10",
        "--query=-2,-2,1,1",
    ]);
    assert_eq!(
        out,
        "192 207\n1 ranges, 16 cells covered, 16 cells in box\n"
    );
    let out = ok(&[
        "index",
        "ranges",
        "--method",
        "rowmajor",
        "--bounds=0,0,9,9",
        "--query=2,2,4,3",
    ]);
    assert_eq!(
        out,
        "22 24\n32 34\n2 ranges, 6 cells covered, 6 cells in box\n"
    );
}

#[test]
fn ranges_agree_with_the_library_and_respect_the_budget() {
    let bounds = KeyBounds::new(
        SpaceTimeKey::new(-100, -100, 0),
        SpaceTimeKey::new(100, 100, 365 * DAY),
    )
    .unwrap();
    let query = KeyBounds::new(
        SpaceTimeKey::new(-37, -20, 10 * DAY),
        SpaceTimeKey::new(41, 3, 40 * DAY),
    )
    .unwrap();
    let index = AnyKeyIndex::zorder(bounds, Some(DAY)).unwrap();
    let bounds_arg = format!("--bounds=-100,-100,100,100,0,{}", 365 * DAY);
    let query_arg = format!("--query=-37,-20,41,3,{},{}", 10 * DAY, 40 * DAY);
    let base = [
        "index",
        "ranges",
        "--method",
        "zorder",
        &bounds_arg,
        "--temporal-resolution",
        "86400000",
        &query_arg,
    ];

    let exact = index.decompose(&query, Budget::default()).unwrap();
    let out = ok(&base);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), exact.ranges.len() + 1);
    for (line, range) in lines.iter().zip(&exact.ranges) {
        assert_eq!(*line, format!("{} {}", range.start(), range.end()));
    }
    assert_eq!(
        *lines.last().unwrap(),
        format!(
            "{} ranges, {} cells covered, {} cells in box",
            exact.ranges.len(),
            exact.cells_covered,
            exact.cells_in_box
        )
    );

    let json: serde_json::Value =
        serde_json::from_str(&ok(
            &[&["--json"], &base[..], &["--max-ranges", "20"]].concat()
        ))
        .unwrap();
    let ranges = json["ranges"].as_array().unwrap();
    assert!(
        !ranges.is_empty() && ranges.len() <= 20,
        "{} ranges",
        ranges.len()
    );
    assert_eq!(json["range_count"].as_u64().unwrap() as usize, ranges.len());
    assert_eq!(
        json["cells_in_box"].as_u64().unwrap() as u128,
        exact.cells_in_box
    );
    let covered: u64 = ranges
        .iter()
        .map(|r| r[1].as_u64().unwrap() - r[0].as_u64().unwrap() + 1)
        .sum();
    assert_eq!(json["cells_covered"].as_u64().unwrap(), covered);
    assert!(u128::from(covered) >= exact.cells_in_box);
    // Every exact range lies inside a budgeted one.
    for r in &exact.ranges {
        assert!(ranges.iter().any(|b| b[0].as_u64().unwrap() <= *r.start() && *r.end() <= b[1].as_u64().unwrap()));
    }
}

#[test]
fn whole_64_bit_curve_counts_in_json() {
    // 2^32 columns and rows: 2^64 cells, more than a u64 can count.
    let bounds = format!(
        "--bounds={},{},{},{}",
        i32::MIN,
        i32::MIN,
        i32::MAX,
        i32::MAX
    );
    let query = bounds.replace("--bounds", "--query");
    let out = ok(&[
        "--json", "index", "ranges", "--method", "zorder", &bounds, &query,
    ]);
    assert_eq!(
        out.trim(),
        r#"{"method":"zorder","ranges":[[0,18446744073709551615]],"range_count":1,"cells_covered":18446744073709551616,"cells_in_box":18446744073709551616}"#
    );
}

#[test]
fn malformed_bounds_are_usage_errors() {
    for bounds in [
        "--bounds=1,2,3",
        "--bounds=a,0,1,1",
        "--bounds=0,0,1,1,5",
        "--bounds=0,0,3000000000,1",
    ] {
        let err = fails(
            &["index", "encode", "--method", "zorder", bounds, "0", "0"],
            2,
        );
        assert!(err.contains("--bounds"), "{bounds}: {err}");
    }
    let err = fails(
        &[
            "index",
            "encode",
            "--method",
            "peano",
            "--bounds=0,0,1,1",
            "0",
            "0",
        ],
        2,
    );
    assert!(err.contains("peano"), "{err}");
}

#[test]
fn min_above_max_is_a_usage_error() {
    let err = fails(
        &[
            "index",
            "encode",
            "--method",
            "zorder",
            "--bounds=5,0,1,1",
            "0",
            "0",
        ],
        2,
    );
    assert!(
        err.contains("--bounds") && err.contains("tessera: error:"),
        "{err}"
    );
    let err = fails(
        &[
            "index",
            "ranges",
            "--method",
            "zorder",
            "--bounds=0,0,9,9",
            "--query=0,5,9,4",
        ],
        2,
    );
    assert!(err.contains("--query"), "{err}");
}

#[test]
fn mismatched_arguments_are_usage_errors() {
    // A spatial key against space-time bounds, and the other way round.
    let err = fails(
        &[
            "index",
            "encode",
            "--method",
            "zorder",
            "--bounds=0,0,9,9,0,100",
            "--temporal-resolution",
            "10",
            "1",
            "1",
        ],
        2,
    );
    assert!(err.contains("INSTANT"), "{err}");
    let err = fails(
        &[
            "index",
            "encode",
            "--method",
            "zorder",
            "--bounds=0,0,9,9",
            "1",
            "1",
            "5",
        ],
        2,
    );
    assert!(err.contains("INSTANT"), "{err}");
    // Space-time bounds need a temporal resolution; spatial bounds take none.
    let err = fails(
        &[
            "index",
            "encode",
            "--method",
            "zorder",
            "--bounds=0,0,9,9,0,100",
            "1",
            "1",
            "5",
        ],
        2,
    );
    assert!(err.contains("--temporal-resolution"), "{err}");
    let err = fails(
        &[
            "index",
            "encode",
            "--method",
            "zorder",
            "--bounds=0,0,9,9",
            "--temporal-resolution",
            "10",
            "1",
            "1",
        ],
        2,
    );
    assert!(err.contains("--temporal-resolution"), "{err}");
    let err = fails(
        &[
            "index",
            "ranges",
            "--method",
            "zorder",
            "--bounds=0,0,9,9",
            "--query=0,0,1,1,0,5",
        ],
        2,
    );
    assert!(err.contains("--query"), "{err}");
    let err = fails(
        &[
            "index",
            "ranges",
            "--method",
            "rowmajor",
            "--bounds=0,0,9,9,0,9",
            "--temporal-resolution",
            "1",
            "--query=0,0,1,1,0,5",
        ],
        2,
    );
    assert!(err.contains("rowmajor"), "{err}");
}

#[test]
fn key_outside_the_bounds_fails() {
    let err = fails(
        &[
            "index",
            "encode",
            "--method",
            "hilbert",
            "--bounds=-10,-10,10,10",
            "11",
            "0",
        ],
        1,
    );
    assert!(err.contains("outside") && err.contains("11"), "{err}");
}

#[test]
fn resolution_overflow_fails() {
    // Z3 holds 21 bits per dimension: 2^22 columns do not fit.
    let err = fails(
        &[
            "index",
            "encode",
            "--method",
            "zorder",
            "--bounds=0,0,4194303,9,0,100",
            "--temporal-resolution",
            "1",
            "1",
            "1",
            "1",
        ],
        1,
    );
    assert!(err.contains("zorder") && err.contains("bits"), "{err}");
    // One-millisecond bins over ten years need more than 21 bits of time.
    let err = fails(
        &[
            "index",
            "encode",
            "--method",
            "hilbert",
            "--bounds=0,0,9,9,0,315360000000",
            "--temporal-resolution",
            "1",
            "1",
            "1",
            "1",
        ],
        1,
    );
    assert!(err.contains("hilbert") && err.contains("bits"), "{err}");
}

/// Runs `tessera` with a time limit, so that a runaway decomposition fails the test instead
/// of hanging it; returns the exit code, or `None` if it had to be killed.
fn exit_code_within(args: &[&str], limit: std::time::Duration) -> (Option<i32>, String) {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.code(), err);
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            return (None, String::new());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn hostile_arguments_never_panic_or_hang() {
    let (i32_min, i32_max) = (i32::MIN.to_string(), i32::MAX.to_string());
    let (i64_min, i64_max) = (i64::MIN.to_string(), i64::MAX.to_string());
    let full = format!("--bounds={i32_min},{i32_min},{i32_max},{i32_max}");
    let full_q = full.replace("--bounds", "--query");
    let full_st = format!("--bounds={i32_min},{i32_min},{i32_max},{i32_max},{i64_min},{i64_max}");
    let full_st_q = full_st.replace("--bounds", "--query");
    let small_st = "--bounds=0,0,9,9,0,100";
    let small_st_q = "--query=0,0,9,9,0,100";
    let mut cases: Vec<Vec<&str>> = Vec::new();
    for method in ["zorder", "hilbert", "rowmajor"] {
        let enc = |rest: &[&'static str]| -> Vec<&str> {
            [&["index", "encode", "--method", method][..], rest].concat()
        };
        cases.push([enc(&[]), vec![&full, &i32_min, &i32_max]].concat());
        cases.push([enc(&[]), vec![&full, &i32_max, &i32_min]].concat());
        cases.push(
            [
                enc(&[]),
                vec![
                    &full_st,
                    "--temporal-resolution",
                    &i64_max,
                    &i32_min,
                    &i32_max,
                    &i64_min,
                ],
            ]
            .concat(),
        );
        cases.push(
            [
                enc(&[]),
                vec![&full_st, "--temporal-resolution", "1", "0", "0", &i64_max],
            ]
            .concat(),
        );
        for res in [
            "0",
            "-1",
            &i64_min,
            "1",
            &i64_max,
            "99999999999999999999",
            "1.5",
            "x",
            "",
        ] {
            cases.push(
                [
                    enc(&[]),
                    vec![small_st, "--temporal-resolution", res, "0", "0", "5"],
                ]
                .concat(),
            );
        }
        for bounds in [
            "--bounds=",
            "--bounds=,,,",
            "--bounds=0,0,1,1,",
            "--bounds=1,1,0,0",
            "--bounds=0,0,1,1,5,4",
            "--bounds=0,0,2147483648,1",
            "--bounds=-2147483649,0,1,1",
            "--bounds=0,0,1,1,0,9223372036854775808",
            "--bounds=0x1,0,1,1",
            "--bounds=+1,-0,1,1",
            "--bounds= 1 , 2 , 3 , 4 ",
            "--bounds=0,0,1,1,0,1,2,3",
        ] {
            cases.push([enc(&[]), vec![bounds, "0", "0"]].concat());
        }
        cases.push([enc(&[]), vec!["--bounds=0,0,1,1", "2147483648", "0"]].concat());
        cases.push([enc(&[]), vec!["--bounds=0,0,1,1", "--", "-5", "0"]].concat());
        let rng = |rest: &[&'static str]| -> Vec<&str> {
            [&["index", "ranges", "--method", method][..], rest].concat()
        };
        cases.push([rng(&[]), vec![&full, &full_q]].concat());
        cases.push([rng(&[]), vec![&full, &full_q, "--max-ranges", "0"]].concat());
        cases.push(
            [
                rng(&[]),
                vec![&full, &full_q, "--max-ranges", "18446744073709551615"],
            ]
            .concat(),
        );
        cases.push(
            [
                rng(&[]),
                vec![&full, &full_q, "--max-recurse", "4294967295"],
            ]
            .concat(),
        );
        cases.push([rng(&[]), vec![&full, &full_q, "--max-ranges", "-1"]].concat());
        // A ragged query with an absurd budget runs into the CLI's range cap (about two
        // seconds in a debug build); the cap is the same for every curve, so one is enough.
        if method == "zorder" {
            cases.push(
                [
                    rng(&[]),
                    vec![
                        &full,
                        "--query=-2147483647,-2147483647,2147483646,2147483646",
                        "--max-ranges",
                        "18446744073709551615",
                    ],
                ]
                .concat(),
            );
        }
        cases.push(
            [
                rng(&[]),
                vec![
                    &full,
                    "--query=0,-2147483648,0,2147483647",
                    "--max-recurse",
                    "64",
                ],
            ]
            .concat(),
        );
        cases.push(
            [
                rng(&[]),
                vec![
                    &full_st,
                    "--temporal-resolution",
                    &i64_max,
                    &full_st_q,
                    "--max-ranges",
                    "7",
                ],
            ]
            .concat(),
        );
        cases.push(
            [
                rng(&[]),
                vec![&full_st, "--temporal-resolution", "1", &full_st_q],
            ]
            .concat(),
        );
        cases.push(
            [
                rng(&[]),
                vec![
                    small_st,
                    "--temporal-resolution",
                    "1",
                    small_st_q,
                    "--max-recurse",
                    "0",
                ],
            ]
            .concat(),
        );
        cases.push(
            [
                rng(&[]),
                vec![
                    small_st,
                    "--temporal-resolution",
                    "1",
                    "--query=5,5,4,4,0,1",
                ],
            ]
            .concat(),
        );
        cases.push(
            [
                rng(&[]),
                vec![small_st, "--temporal-resolution", "1", "--query=0,0,1,1"],
            ]
            .concat(),
        );
    }
    let limit = std::time::Duration::from_secs(60);
    let mut json_cases = Vec::new();
    // The JSON output path too, skipping the slow queries that hit the range cap (about
    // two seconds each in a debug build), which the text pass already ran.
    for case in &cases {
        let slow = case
            .iter()
            .any(|a| a.starts_with("--query=-2147483647") || *a == "--max-recurse");
        if !slow {
            json_cases.push([&["--json"][..], case].concat());
        }
    }
    for case in cases.iter().chain(&json_cases) {
        let (code, err) = exit_code_within(case, limit);
        assert!(
            matches!(code, Some(0..=2)),
            "{case:?} exited with {code:?}: {err}"
        );
        if code != Some(0) {
            assert!(!err.trim().is_empty(), "{case:?} failed without a message");
        }
    }
}

#[test]
fn huge_exact_queries_fail_with_advice() {
    let full = format!(
        "--bounds={},{},{},{}",
        i32::MIN,
        i32::MIN,
        i32::MAX,
        i32::MAX
    );
    // One cell in from every edge: the exact cover needs billions of ranges.
    let query = format!(
        "--query={},{},{},{}",
        i32::MIN + 1,
        i32::MIN + 1,
        i32::MAX - 1,
        i32::MAX - 1
    );
    let err = fails(
        &["index", "ranges", "--method", "hilbert", &full, &query],
        1,
    );
    assert!(
        err.contains("cannot be covered exactly within 100000 ranges")
            && err.contains("--max-ranges"),
        "{err}"
    );
    // Row-major: one range per row of a 2^32-row column.
    let column = format!("--query=0,{},0,{}", i32::MIN, i32::MAX);
    let err = fails(
        &["index", "ranges", "--method", "rowmajor", &full, &column],
        1,
    );
    assert!(err.contains("--max-ranges"), "{err}");
    // With a budget, the same queries succeed within it.
    let out = ok(&[
        "index",
        "ranges",
        "--method",
        "rowmajor",
        &full,
        &column,
        "--max-ranges",
        "3",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[3].starts_with("3 ranges, "), "{out}");
    assert!(lines[3].ends_with(", 4294967296 cells in box"), "{out}");
}

#[test]
fn temporal_resolution_must_be_positive() {
    for res in ["0", "-86400000"] {
        for method in ["zorder", "hilbert"] {
            let err = fails(
                &[
                    "index",
                    "encode",
                    "--method",
                    method,
                    "--bounds=0,0,9,9,0,100",
                    "--temporal-resolution",
                    res,
                    "1",
                    "1",
                    "1",
                ],
                2,
            );
            assert!(
                err.contains("--temporal-resolution must be positive") && err.contains(res),
                "{method} {res}: {err}"
            );
        }
    }
}

#[test]
fn max_recurse_coarsens_and_still_covers() {
    // Query columns and rows 1..=6 of an 8 x 8 Z-order grid; no refinement covers the
    // 8 x 8 cell holding it whole.
    let args = [
        "index",
        "ranges",
        "--method",
        "zorder",
        "--bounds=0,0,7,7",
        "--query=1,1,6,6",
    ];
    let exact = ok(&args);
    assert!(
        exact
            .trim_end()
            .ends_with("36 cells covered, 36 cells in box"),
        "{exact}"
    );
    let coarse = ok(&[&args[..], &["--max-recurse", "0"]].concat());
    assert_eq!(
        coarse,
        "0 63\n1 ranges, 64 cells covered, 36 cells in box\n"
    );
}
