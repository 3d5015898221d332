//! `tessera mapfile info|dump|verify` run as a user would, on files made by the writer.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::{stderr, stdout, tessera};
use tessera::mapfile::{FileWriter, WriterOptions};

/// Writes a part file with indexes 10, 20, 20, 30, ... 100 (interval 2) and returns its path.
fn sample(dir: &Path) -> PathBuf {
    let path = dir.join("part-r-00000-10");
    let mut writer =
        FileWriter::create(&path, WriterOptions::default().with_index_interval(2)).unwrap();
    writer.append(10, b"a").unwrap();
    for i in 2u64..=10 {
        writer.append(i * 10, &vec![0u8; i as usize]).unwrap();
        if i == 2 {
            writer.append(20, b"dup").unwrap();
        }
    }
    writer.finish().unwrap();
    path
}

#[test]
fn info_shows_the_footer() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path());
    let out = tessera(&["mapfile", "info", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for want in [
        "version:        1",
        "records:        11",
        "first index:    10",
        "last index:     100",
        "index interval: 2",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }

    let out = tessera(&["--json", "mapfile", "info", file.to_str().unwrap()]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["records"], 11);
    assert_eq!(v["first_index"], 10);
    assert_eq!(v["last_index"], 100);
    assert_eq!(v["index_entries"], 6);
    assert_eq!(v["file_bytes"], std::fs::metadata(&file).unwrap().len());
}

#[test]
fn dump_lists_index_and_length() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path());
    let f = file.to_str().unwrap();
    let out = tessera(&["mapfile", "dump", f, "--from", "20", "--to", "35"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "20\t2\n20\t3\n30\t3\n");

    let out = tessera(&["mapfile", "dump", f]);
    assert_eq!(stdout(&out).lines().count(), 11);

    let out = tessera(&["--json", "mapfile", "dump", f, "--to", "10"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v, serde_json::json!([{"index": 10, "payload_bytes": 1}]));

    let out = tessera(&["mapfile", "dump", f, "--from", "9", "--to", "3"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn verify_passes_good_files_and_names_the_bad_block() {
    let dir = tempfile::tempdir().unwrap();
    let good = sample(dir.path());
    let bad = dir.path().join("part-r-00000-999");
    let mut bytes = std::fs::read(&good).unwrap();
    // A payload byte of the second record block, which starts after 2 records: 16 + 13 + 14.
    let block_start = 16 + (12 + 1) + (12 + 2);
    bytes[block_start + 12] ^= 0x40;
    std::fs::write(&bad, bytes).unwrap();

    let out = tessera(&["mapfile", "verify", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = tessera(&[
        "mapfile",
        "verify",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("part-r-00000-999"), "{err}");
    assert!(err.contains(&format!("byte {block_start}")), "{err}");

    let out = tessera(&[
        "--json",
        "mapfile",
        "verify",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["files"][0]["ok"], true);
    assert_eq!(v["files"][1]["ok"], false);
    assert_eq!(v["files"][1]["offset"], block_start);
}

#[test]
fn verify_fails_on_missing_and_non_map_files() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk");
    std::fs::write(
        &junk,
        b"not a map file at all, just some text long enough to have a footer and a header, right?",
    )
    .unwrap();
    for path in [junk, dir.path().join("missing")] {
        let out = tessera(&["mapfile", "verify", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains(path.file_name().unwrap().to_str().unwrap()));
    }
    let out = tessera(&["mapfile", "verify"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Runs `tessera` with `args`, killing it (and failing the test) if it takes longer than
/// `limit`: a hang is a bug like a panic.
pub(crate) fn run_bounded(args: &[String], limit: std::time::Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Readers on threads, so that a chatty child never blocks on a full pipe.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tessera {args:?} hung for more than {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// Runs every invocation and fails, listing them all, if any panicked (exit 101), died of a
/// signal, hung, or exited with a code outside 0, 1 and 2; a failure must also say why on
/// stderr.
pub(crate) fn sweep(cases: &[Vec<String>]) {
    let mut bad = Vec::new();
    for args in cases {
        let out = run_bounded(args, std::time::Duration::from_secs(60));
        let err = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        eprintln!("{code:?} {args:?}: {}", err.trim_end());
        let ok = match code {
            Some(0) => true,
            Some(1 | 2) => err.contains("error"),
            _ => false,
        };
        if !ok || err.contains("panicked") {
            bad.push(format!("{code:?} {args:?}: {err}"));
        }
    }
    assert!(bad.is_empty(), "bad exits:\n{}", bad.join("\n"));
}

/// `args` as owned strings.
pub(crate) fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|&a| a.to_owned()).collect()
}

#[test]
fn hostile_invocations_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let good = sample(dir.path());
    let bytes = std::fs::read(&good).unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    std::fs::write(d("empty"), b"").unwrap();
    std::fs::write(d("tiny"), &bytes[..7]).unwrap();
    for cut in [16, 30, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(d(&format!("cut{cut}")), &bytes[..cut]).unwrap();
    }
    // Every single-byte corruption would be slow; flip a spread of positions, including the
    // header and the footer, each in its own file.
    let mut flipped = Vec::new();
    for pos in (0..bytes.len())
        .step_by(7)
        .chain(bytes.len() - 40..bytes.len())
    {
        let mut b = bytes.clone();
        b[pos] ^= 0xFF;
        let name = d(&format!("flip{pos}"));
        std::fs::write(&name, b).unwrap();
        flipped.push(name);
    }
    std::fs::create_dir(d("adir")).unwrap();
    let g = good.to_str().unwrap();
    let mut cases = Vec::new();
    for file in ["empty", "tiny", "adir", "missing", "cut16", "cut30"]
        .into_iter()
        .map(d)
        .chain([d(&format!("cut{}", bytes.len() / 2))])
        .chain([d(&format!("cut{}", bytes.len() - 1))])
    {
        for cmd in ["info", "dump", "verify"] {
            cases.push(argv(&["mapfile", cmd, &file]));
        }
    }
    for file in &flipped {
        cases.push(argv(&["mapfile", "info", file]));
        cases.push(argv(&["mapfile", "dump", file]));
        cases.push(argv(&["--json", "mapfile", "verify", file]));
    }
    for (from, to) in [
        ("18446744073709551615", "18446744073709551615"),
        ("0", "18446744073709551615"),
        ("18446744073709551616", "1"),
        ("-1", "5"),
        ("NaN", "5"),
        ("5", "4"),
    ] {
        cases.push(argv(&["mapfile", "dump", g, "--from", from, "--to", to]));
    }
    sweep(&cases);
}

#[test]
fn a_directory_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for cmd in ["info", "dump", "verify"] {
        let out = tessera(&["mapfile", cmd, d]);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        assert!(
            stderr(&out).contains("is a directory"),
            "{cmd}: {}",
            stderr(&out)
        );
    }
    let out = tessera(&["--json", "mapfile", "verify", d]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["files"][0]["ok"], false);
}
