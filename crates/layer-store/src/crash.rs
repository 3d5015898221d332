//! The kill-the-writer crash test (after sled): a child process updates, rewrites,
//! reindexes and deletes small layers in a loop and is killed at a random moment; then
//! every layer must verify and hold exactly the contents of some completed operation.
//!
//! The test suite runs it through the `layer-store-crash` binary of this crate
//! (`layer-store-crash trials N`), and `cargo xtask crash-test --trials N` can too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keyed_tile::{CellType, Extent, KeyBounds, LayoutDefinition, NoData, SpatialKey, TileLayout};

use crate::{
    Catalog, CatalogOptions, Error, KeyIndexMethod, LayerId, LayerMetadata, UpdateOptions,
    WriteOptions, updating_wins,
};

/// The side of the square grid of keys the test layers use.
const GRID: i32 = 16;

/// The key holding the number of the last operation that changed a layer's contents.
const MARKER: SpatialKey = SpatialKey { col: 0, row: 0 };

/// How a crash test runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CrashConfig {
    /// The program to run as the child: it is called as `<child> child <dir>` and must call
    /// [`child_main`] (which prints `ready` once the catalog is open).
    pub child: PathBuf,
    /// The catalog directory, reused (and grown) across trials.
    pub dir: PathBuf,
    /// How many times to start and kill the child.
    pub trials: usize,
    /// Seed of the kill delays.
    pub seed: u64,
    /// The longest wait before the kill; each wait is drawn uniformly up to it. It doubles
    /// after three trials in a row that saw no operation complete.
    pub max_delay: Duration,
}

impl CrashConfig {
    /// A configuration with 50 trials and delays up to 40 ms.
    pub fn new(child: impl Into<PathBuf>, dir: impl Into<PathBuf>) -> Self {
        CrashConfig {
            child: child.into(),
            dir: dir.into(),
            trials: 50,
            seed: 0x5eed,
            max_delay: Duration::from_millis(40),
        }
    }

    /// This configuration with another trial count.
    #[must_use]
    pub fn trials(mut self, trials: usize) -> Self {
        self.trials = trials;
        self
    }

    /// This configuration with another seed.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// This configuration with another longest delay.
    #[must_use]
    pub fn max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }
}

/// What a crash test saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrashReport {
    /// Trials run.
    pub trials: usize,
    /// Trials whose child was killed while still running (the others had failed on their own,
    /// which is reported as an error instead).
    pub kills: usize,
    /// Operations completed on layer `a` by the end.
    pub operations: u64,
    /// Trials that found layer `b` (written and deleted in turns) absent.
    pub b_absent: usize,
    /// Trials that found layer `b` present.
    pub b_present: usize,
}

/// A directory for crash-test catalogs: in `/dev/shm` where it exists (a kill tests process
/// death, not power loss, so memory-backed files show the same thing, many times faster
/// than a busy disk), else in the system's temporary directory.
pub fn scratch_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Runs the trials: start the child, wait a random delay, kill it, check every layer.
/// The first violation is returned as an error describing it.
pub fn run_trials(config: &CrashConfig) -> Result<CrashReport, String> {
    std::fs::create_dir_all(&config.dir).map_err(|e| format!("{}: {e}", config.dir.display()))?;
    let mut rng = SplitMix(config.seed);
    let mut report = CrashReport::default();
    let mut last_a = 0;
    let mut max_us = config.max_delay.as_micros().max(1) as u64;
    let mut stalled = 0;
    for trial in 0..config.trials {
        let mut child = Command::new(&config.child)
            .arg("child")
            .arg(&config.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", config.child.display()))?;
        // Three trials in four wait for the child to have opened the catalog, so that the
        // kill lands amid operations however slow the start is; the fourth counts from
        // the start, so that some kills land in the open (and its cleanup) too.
        if !rng.next().is_multiple_of(4) {
            let stdout = child.stdout.take();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                if let Some(out) = stdout {
                    let _ =
                        std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line);
                }
                let _ = tx.send(line);
            });
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if line.trim() == "ready" => {}
                other => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let mut msg = String::new();
                    if let Some(mut err) = child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut err, &mut msg);
                    }
                    return Err(format!(
                        "trial {trial}: the child did not get ready ({other:?}): {msg}"
                    ));
                }
            }
        }
        let delay = Duration::from_micros(rng.next() % max_us);
        let started = Instant::now();
        while started.elapsed() < delay {
            if let Ok(Some(status)) = child.try_wait() {
                let mut msg = String::new();
                if let Some(mut err) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut err, &mut msg);
                }
                return Err(format!(
                    "trial {trial}: the child exited by itself ({status}): {msg}"
                ));
            }
            std::thread::sleep(Duration::from_micros(200).min(delay));
        }
        let _ = child.kill();
        let _ = child.wait();
        report.kills += 1;
        let (a, b_present) = check(&config.dir).map_err(|e| format!("trial {trial}: {e}"))?;
        if a < last_a {
            return Err(format!(
                "trial {trial}: layer a went back from operation {last_a} to {a}"
            ));
        }
        // On a slow or busy machine an operation may outlast every delay, and then no trial
        // would ever see a new state: after three trials without progress the delays double
        // (up to two seconds); progress shrinks them back towards the configured bound.
        if a == last_a {
            stalled += 1;
            if stalled >= 3 {
                max_us = (max_us * 2).min(2_000_000);
                stalled = 0;
            }
        } else {
            stalled = 0;
            max_us = (max_us * 3 / 4).max(config.max_delay.as_micros().max(1) as u64);
        }
        last_a = a;
        if b_present {
            report.b_present += 1;
        } else {
            report.b_absent += 1;
        }
        report.trials += 1;
    }
    report.operations = last_a;
    Ok(report)
}

fn layer_a() -> LayerId {
    LayerId {
        name: "a".into(),
        zoom: 0,
    }
}

fn layer_b() -> LayerId {
    LayerId {
        name: "b".into(),
        zoom: 0,
    }
}

fn options() -> CatalogOptions {
    CatalogOptions::default()
        .threads(2)
        .reader_cache(4)
        .sync(false)
}

/// Checks every layer after a kill; returns layer `a`'s operation number and whether `b`
/// exists.
pub fn check(dir: &Path) -> Result<(u64, bool), String> {
    let catalog = Catalog::open_with(dir, options()).map_err(|e| format!("open: {e}"))?;
    let a = check_layer(&catalog, &layer_a(), contents_a)?.unwrap_or_default();
    let b = check_layer(&catalog, &layer_b(), contents_b)?;
    // Nothing but the current generation may remain in a layer's directory, and no
    // temporary file among the attributes.
    for id in [layer_a(), layer_b()] {
        let layer_dir = catalog.layer_dir(&id);
        let entries = crate::fsutil::list_dir(&layer_dir).map_err(|e| e.to_string())?;
        let current = catalog.current_generation(&id).map_err(|e| e.to_string())?;
        let expected: Vec<String> = current.map(|g| format!("g{g}")).into_iter().collect();
        let found: Vec<String> = entries.into_iter().map(|(n, _)| n).collect();
        if found != expected {
            return Err(format!(
                "layer {id}: leftovers after open: {found:?}, expected {expected:?}"
            ));
        }
    }
    let attrs = crate::fsutil::list_dir(catalog.attributes().dir()).map_err(|e| e.to_string())?;
    if let Some((name, _)) = attrs.iter().find(|(n, _)| n.starts_with('.')) {
        return Err(format!("temporary attribute file left: {name}"));
    }
    Ok((a, b.is_some()))
}

/// Verifies a layer, reads its marker and compares its contents with the model of that
/// operation. `None` when the layer does not exist.
fn check_layer(
    catalog: &Catalog,
    id: &LayerId,
    model: fn(u64) -> BTreeMap<SpatialKey, Vec<u8>>,
) -> Result<Option<u64>, String> {
    if !catalog.exists(id) {
        return Ok(None);
    }
    catalog
        .verify(id)
        .map_err(|e| format!("layer {id} does not verify: {e}"))?;
    let reader = catalog
        .reader::<SpatialKey>(id)
        .map_err(|e| format!("layer {id}: {e}"))?;
    let mut found = BTreeMap::new();
    for r in reader.all().map_err(|e| e.to_string())? {
        let (k, v) = r.map_err(|e| format!("layer {id}: {e}"))?;
        found.insert(k, v);
    }
    let marker = found
        .get(&MARKER)
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|s| s.strip_prefix('v'))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| format!("layer {id}: no readable marker"))?;
    let expected = model(marker);
    if found != expected {
        let diff: Vec<_> = expected
            .iter()
            .filter(|(k, v)| found.get(k) != Some(v))
            .map(|(k, v)| {
                format!(
                    "{k}: expected {:?}, found {:?}",
                    String::from_utf8_lossy(v),
                    found
                        .get(k)
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                )
            })
            .chain(
                found
                    .keys()
                    .filter(|k| !expected.contains_key(k))
                    .map(|k| format!("extra {k}")),
            )
            .take(5)
            .collect();
        return Err(format!(
            "layer {id}: contents are not those of operation {marker} (a mix?): {diff:?}"
        ));
    }
    Ok(Some(marker))
}

/// The deterministic records of operation `n` on layer `a`: a full rewrite for `n == 1`
/// and every fourth operation, otherwise a handful of keys.
fn records_a(n: u64) -> Vec<(SpatialKey, Vec<u8>)> {
    let mut rng = SplitMix(n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let count = if full_write(n) { 40 } else { 6 };
    let mut out = vec![(MARKER, format!("v{n}").into_bytes())];
    for _ in 0..count {
        let k = SpatialKey::new(
            (rng.next() % GRID as u64) as i32,
            (rng.next() % GRID as u64) as i32,
        );
        if k != MARKER {
            out.push((k, format!("{n}:{}:{}", k.col, k.row).into_bytes()));
        }
    }
    out
}

fn full_write(n: u64) -> bool {
    n == 1 || n.is_multiple_of(4)
}

/// The merge of the merging updates (`n % 4 == 1`): keeps both values, in argument order.
#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "the signature of a merge function, which takes keys by reference"
)]
fn merge_a(key: &SpatialKey, existing: &[u8], updating: &[u8]) -> Vec<u8> {
    if *key == MARKER {
        return updating.to_vec();
    }
    let mut v = updating.to_vec();
    v.push(b'|');
    v.extend_from_slice(&existing[..existing.len().min(6)]);
    v
}

/// The contents of layer `a` after operation `n`.
fn contents_a(n: u64) -> BTreeMap<SpatialKey, Vec<u8>> {
    let start = (1..=n).rev().find(|&m| full_write(m)).unwrap_or(1);
    let mut map: BTreeMap<SpatialKey, Vec<u8>> = BTreeMap::new();
    for m in start..=n {
        // A key given twice in one operation keeps its later value, before any merge.
        let records: BTreeMap<SpatialKey, Vec<u8>> = records_a(m).into_iter().collect();
        for (k, v) in records {
            let merged = match map.get(&k) {
                Some(old) if m % 4 == 1 && !full_write(m) => merge_a(&k, old, &v),
                _ => v,
            };
            map.insert(k, merged);
        }
    }
    map
}

/// The contents of layer `b` written at operation `n`.
fn contents_b(n: u64) -> BTreeMap<SpatialKey, Vec<u8>> {
    let mut map: BTreeMap<_, _> = records_a(n.wrapping_add(1_000_000)).into_iter().collect();
    map.insert(MARKER, format!("v{n}").into_bytes());
    map
}

fn metadata() -> LayerMetadata<SpatialKey> {
    let layout = LayoutDefinition {
        extent: Extent {
            xmin: 0.0,
            ymin: 0.0,
            xmax: 16.0,
            ymax: 16.0,
        },
        tile_layout: TileLayout::new(GRID as u32, GRID as u32, 1, 1),
    };
    LayerMetadata {
        layout_definition: layout,
        extent: layout.extent,
        crs: "EPSG:3857".to_owned(),
        cell_type: CellType::UInt8(NoData::Constant),
        bounds: KeyBounds {
            min: SpatialKey::new(0, 0),
            max: SpatialKey::new(GRID - 1, GRID - 1),
        },
    }
}

/// The child's loop: keeps changing layers `a` and `b` of the catalog at `dir` until it is
/// killed. Parts are tiny and the memory budget too, so that every operation writes several
/// part files and spills sorted runs.
///
/// Once the catalog is open it prints `ready` on its standard output.
pub fn child_main(dir: &Path) -> Result<(), Error> {
    let catalog = Catalog::open_with(dir, options())?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ready");
        let _ = out.flush();
    }
    let a = layer_a();
    let b = layer_b();
    let write = WriteOptions::default()
        .max_part_bytes(160)
        .memory_budget(4500)
        .overwrite(true);
    let update = UpdateOptions::default().write(write.clone());
    loop {
        let current = if catalog.exists(&a) {
            let reader = catalog.reader::<SpatialKey>(&a)?;
            let v = reader.read(&MARKER)?;
            std::str::from_utf8(&v)
                .ok()
                .and_then(|s| s.strip_prefix('v'))
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
        } else {
            0
        };
        let n = current + 1;
        // Every third operation also reindexes first (contents unchanged).
        if current > 0 && n.is_multiple_of(3) {
            let method = if n.is_multiple_of(2) {
                KeyIndexMethod::Hilbert {
                    temporal_resolution_bits: None,
                }
            } else {
                KeyIndexMethod::ZOrder {
                    temporal_resolution_ms: None,
                }
            };
            catalog.reindex::<SpatialKey>(&a, method, &write)?;
        }
        let records = records_a(n);
        if full_write(n) || current == 0 {
            let method = KeyIndexMethod::ZOrder {
                temporal_resolution_ms: None,
            };
            catalog.write(&a, metadata(), method, records, &write)?;
        } else if n % 4 == 1 {
            catalog.update(&a, records, merge_a, &update)?;
        } else if n % 4 == 2 {
            catalog.update(&a, records, merge_a, &update.clone().overwrite(true))?;
        } else {
            catalog.update(&a, records, updating_wins, &update)?;
        }
        if catalog.exists(&b) {
            catalog.delete(&b)?;
        } else {
            let method = KeyIndexMethod::Hilbert {
                temporal_resolution_bits: None,
            };
            catalog.write(&b, metadata(), method, contents_b(n), &write)?;
        }
    }
}

/// A small deterministic generator (splitmix64), enough for delays and test keys.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
