//! `tessera layer list|info|get|query|delete|copy|move|reindex`: inspect and manage the layers
//! of a catalog directory.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use tessera::keyed_tile::{Extent, KeyBounds, SpaceTimeKey, SpatialKey};
use tessera::layer_store::{
    ATTRIBUTES_DIR, Catalog, KeyIndexMethod, LayerId, LayerKey, LayerReader, METADATA, Phase,
    WriteOptions,
};
use tessera::mapfile::MapFileReader;

use crate::UsageError;

/// Inspect and manage the layers of a catalog.
#[derive(Debug, Subcommand)]
pub(crate) enum LayerCommand {
    /// List the catalog's layers with their key type, part files and size.
    List {
        #[command(flatten)]
        catalog: CatalogArg,
    },
    /// Show a layer's header, metadata (layout, extent, CRS, cell type, bounds), key index
    /// and codec.
    Info {
        #[command(flatten)]
        catalog: CatalogArg,
        /// The layer, as NAME:ZOOM.
        #[arg(value_parser = parse_layer)]
        layer: LayerId,
    },
    /// Write one tile's stored bytes (the codec's bytes), or a PNG rendering of it, to a file.
    Get {
        #[command(flatten)]
        catalog: CatalogArg,
        /// The layer, as NAME:ZOOM.
        #[arg(value_parser = parse_layer)]
        layer: LayerId,
        /// The key: COL,ROW for spatial layers, COL,ROW,INSTANT (epoch ms) for space-time ones.
        #[arg(long, allow_hyphen_values = true)]
        key: String,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
        /// Decode the tile and render it as a PNG (min-max stretch; RGB for three bands or more).
        #[arg(long)]
        png: bool,
    },
    /// List the keys and payload sizes of the records in a key box or a map extent, streamed
    /// in index order.
    Query {
        #[command(flatten)]
        catalog: CatalogArg,
        /// The layer, as NAME:ZOOM.
        #[arg(value_parser = parse_layer)]
        layer: LayerId,
        /// A box of keys: COL0,ROW0,COL1,ROW1 (inclusive).
        #[arg(
            long,
            allow_hyphen_values = true,
            conflicts_with = "extent",
            required_unless_present = "extent"
        )]
        bbox: Option<String>,
        /// A map area, in the layer's CRS: XMIN,YMIN,XMAX,YMAX.
        #[arg(long, allow_hyphen_values = true)]
        extent: Option<String>,
        /// A time range for space-time layers: T0,T1 in epoch milliseconds, inclusive
        /// (default: the layer's whole time range).
        #[arg(long, allow_hyphen_values = true)]
        time: Option<String>,
    },
    /// Delete a layer: its metadata, attributes, part files and directories.
    Delete {
        #[command(flatten)]
        catalog: CatalogArg,
        /// The layer, as NAME:ZOOM.
        #[arg(value_parser = parse_layer)]
        layer: LayerId,
    },
    /// Copy a layer (part files are hard-linked where possible).
    Copy {
        #[command(flatten)]
        catalog: CatalogArg,
        /// The source layer, as NAME:ZOOM.
        #[arg(value_parser = parse_layer)]
        from: LayerId,
        /// The new layer, as NAME:ZOOM.
        #[arg(value_parser = parse_layer)]
        to: LayerId,
        /// Replace TO if it exists (atomically).
        #[arg(long)]
        overwrite: bool,
    },
    /// Move (rename) a layer.
    Move {
        #[command(flatten)]
        catalog: CatalogArg,
        /// The layer to move, as NAME:ZOOM.
        #[arg(value_parser = parse_layer)]
        from: LayerId,
        /// Its new id, as NAME:ZOOM.
        #[arg(value_parser = parse_layer)]
        to: LayerId,
        /// Replace TO if it exists (atomically).
        #[arg(long)]
        overwrite: bool,
    },
    /// Rewrite a layer with another key index (atomically).
    Reindex {
        #[command(flatten)]
        catalog: CatalogArg,
        /// The layer, as NAME:ZOOM.
        #[arg(value_parser = parse_layer)]
        layer: LayerId,
        /// The new key index.
        #[arg(long, value_enum)]
        method: Method,
        /// Z-order of space-time layers: the width of a time bin in milliseconds.
        #[arg(long)]
        temporal_resolution_ms: Option<i64>,
        /// Hilbert of space-time layers: the bits of time resolution.
        #[arg(long)]
        temporal_resolution_bits: Option<u32>,
        /// Memory for records in flight, in MiB (beyond it sorted runs spill to disk).
        #[arg(long, default_value_t = 256)]
        memory_mib: usize,
    },
}

/// The catalog directory every layer command works on.
#[derive(Debug, clap::Args)]
pub(crate) struct CatalogArg {
    /// The catalog directory.
    #[arg(long, value_name = "DIR")]
    catalog: PathBuf,
}

/// A key index method of `tessera layer reindex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Method {
    /// Z-order curve.
    Zorder,
    /// Hilbert curve.
    Hilbert,
    /// Row-major (spatial layers only).
    Rowmajor,
}

fn parse_layer(s: &str) -> Result<LayerId, String> {
    s.parse::<LayerId>().map_err(|e| e.to_string())
}

pub(crate) fn run(cmd: LayerCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        LayerCommand::List { catalog } => list(&open(&catalog.catalog)?, json),
        LayerCommand::Info { catalog, layer } => info(&open(&catalog.catalog)?, &layer, json),
        LayerCommand::Get {
            catalog,
            layer,
            key,
            out,
            png,
        } => {
            let catalog = open(&catalog.catalog)?;
            let class = key_class(&catalog, &layer)?;
            if class == SpaceTimeKey::KEY_CLASS {
                get::<SpaceTimeKey>(&catalog, &layer, &key, &out, png, json)
            } else {
                get::<SpatialKey>(&catalog, &layer, &key, &out, png, json)
            }
        }
        LayerCommand::Query {
            catalog,
            layer,
            bbox,
            extent,
            time,
        } => {
            let area = match (bbox, extent) {
                (Some(b), None) => Area::Bbox(parse_bbox(&b)?),
                (None, Some(e)) => Area::Extent(parse_extent(&e)?),
                _ => {
                    return Err(UsageError("give exactly one of --bbox and --extent".into()).into());
                }
            };
            let time = time.as_deref().map(parse_time).transpose()?;
            let catalog = open(&catalog.catalog)?;
            let class = key_class(&catalog, &layer)?;
            let result = if class == SpaceTimeKey::KEY_CLASS {
                query::<SpaceTimeKey>(&catalog, &layer, &area, time, json)
            } else {
                if time.is_some() {
                    return Err(UsageError(format!(
                        "--time needs a space-time layer; {layer} holds {class} keys"
                    ))
                    .into());
                }
                query::<SpatialKey>(&catalog, &layer, &area, None, json)
            };
            match result {
                Err(e) if is_broken_pipe(&e) => Ok(()),
                other => other,
            }
        }
        LayerCommand::Delete { catalog, layer } => {
            let catalog = open(&catalog.catalog)?;
            catalog.delete(&layer)?;
            done(
                json,
                "delete",
                json!({ "layer": layer.to_string() }),
                &format!("deleted {layer}"),
            );
            Ok(())
        }
        LayerCommand::Copy {
            catalog,
            from,
            to,
            overwrite,
        } => transfer(
            &catalog.catalog,
            &from,
            &to,
            Transfer::Copy,
            overwrite,
            json,
        ),
        LayerCommand::Move {
            catalog,
            from,
            to,
            overwrite,
        } => transfer(
            &catalog.catalog,
            &from,
            &to,
            Transfer::Move,
            overwrite,
            json,
        ),
        LayerCommand::Reindex {
            catalog,
            layer,
            method,
            temporal_resolution_ms,
            temporal_resolution_bits,
            memory_mib,
        } => {
            let catalog = open(&catalog.catalog)?;
            let class = key_class(&catalog, &layer)?;
            let spacetime = class == SpaceTimeKey::KEY_CLASS;
            let method = key_index_method(
                method,
                spacetime,
                temporal_resolution_ms,
                temporal_resolution_bits,
            )?;
            if memory_mib == 0 {
                return Err(UsageError("--memory-mib must be at least 1".into()).into());
            }
            let budget = memory_mib.saturating_mul(1 << 20);
            if spacetime {
                reindex::<SpaceTimeKey>(&catalog, &layer, method, budget, json)
            } else {
                reindex::<SpatialKey>(&catalog, &layer, method, budget, json)
            }
        }
    }
}

/// Opens an existing catalog; a missing directory, or one that is not a catalog, is an error
/// (opening would otherwise create it).
fn open(dir: &Path) -> anyhow::Result<Catalog> {
    if !dir.is_dir() {
        bail!("catalog directory {} does not exist", dir.display());
    }
    if !dir.join(ATTRIBUTES_DIR).is_dir() {
        bail!(
            "{} is not a Tessera catalog (it has no {ATTRIBUTES_DIR} directory)",
            dir.display()
        );
    }
    Catalog::open(dir).with_context(|| format!("catalog {}", dir.display()))
}

/// The key type of a layer (`SpatialKey` or `SpaceTimeKey`); a missing layer is an error.
fn key_class(catalog: &Catalog, layer: &LayerId) -> anyhow::Result<String> {
    let info = catalog.info(layer)?;
    match info.key_class.as_str() {
        "SpatialKey" | "SpaceTimeKey" => Ok(info.key_class),
        other => bail!("layer {layer} holds keys of an unknown type {other:?}"),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints the outcome of a command that changes the catalog.
fn done(json: bool, op: &str, mut value: Value, text: &str) {
    if json {
        if let Some(map) = value.as_object_mut() {
            map.insert("op".into(), Value::from(op));
            map.insert("ok".into(), Value::from(true));
        }
        println!("{value}");
    } else {
        println!("{text}");
    }
}

fn list(catalog: &Catalog, json: bool) -> anyhow::Result<()> {
    // A broken layer is reported, not allowed to hide the others: they are listed first, and
    // the command then fails naming the broken ones.
    let mut layers = Vec::new();
    let mut broken = Vec::new();
    for id in catalog.list()? {
        match catalog.info(&id) {
            Ok(info) => layers.push(info),
            Err(e) => broken.push((id, e)),
        }
    }
    print_list(catalog, &layers, json);
    if broken.len() == 1 {
        let (id, e) = broken.remove(0);
        return Err(anyhow::Error::new(e).context(format!("layer {id} is unreadable")));
    }
    if !broken.is_empty() {
        let names: Vec<String> = broken.iter().map(|(id, e)| format!("{id} ({e})")).collect();
        bail!(
            "{} layers are unreadable: {}",
            names.len(),
            names.join("; ")
        );
    }
    Ok(())
}

fn print_list(catalog: &Catalog, layers: &[tessera::layer_store::LayerInfo], json: bool) {
    if json {
        let value: Vec<Value> = layers
            .iter()
            .map(|i| {
                json!({
                    "layer": i.id.to_string(),
                    "name": i.id.name(),
                    "zoom": i.id.zoom(),
                    "key_class": i.key_class,
                    "value_class": i.value_class,
                    "generation": i.generation,
                    "parts": i.part_count,
                    "bytes": i.part_bytes,
                })
            })
            .collect();
        println!(
            "{}",
            json!({ "catalog": catalog.dir().display().to_string(), "layers": value })
        );
    } else if layers.is_empty() {
        println!("no layers in {}", catalog.dir().display());
    } else {
        println!(
            "{:<32} {:<13} {:>6} {:>14}",
            "LAYER", "KEYS", "PARTS", "BYTES"
        );
        for i in layers {
            println!(
                "{:<32} {:<13} {:>6} {:>14}",
                i.id.to_string(),
                i.key_class,
                i.part_count,
                i.part_bytes
            );
        }
    }
}

fn info(catalog: &Catalog, layer: &LayerId, json: bool) -> anyhow::Result<()> {
    let info = catalog.info(layer)?;
    let doc: Value = catalog.attributes().read(layer, METADATA)?;
    let metadata = doc.get("metadata").cloned().unwrap_or(Value::Null);
    let key_index = doc.get("keyIndex").cloned().unwrap_or(Value::Null);
    let codec = doc.get("codec").cloned().unwrap_or(Value::Null);
    if json {
        println!(
            "{}",
            json!({
                "layer": layer.to_string(),
                "key_class": info.key_class,
                "value_class": info.value_class,
                "generation": info.generation,
                "parts_dir": info.parts_dir.display().to_string(),
                "parts": info.part_count,
                "bytes": info.part_bytes,
                "attributes": info.attributes,
                "header": doc.get("header").cloned().unwrap_or(Value::Null),
                "metadata": metadata,
                "key_index": key_index,
                "codec": codec,
            })
        );
        return Ok(());
    }
    let field = |v: &Value, name: &str| match v.get(name) {
        None => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    println!("layer:        {layer}");
    println!("keys:         {}", info.key_class);
    println!("values:       {}", info.value_class);
    println!("codec:        {}", codec.as_str().unwrap_or("-"));
    println!("generation:   {}", info.generation);
    println!(
        "parts:        {} ({} bytes) in {}",
        info.part_count,
        info.part_bytes,
        info.parts_dir.display()
    );
    println!("attributes:   {}", info.attributes.join(", "));
    println!(
        "crs:          {}",
        metadata.get("crs").and_then(Value::as_str).unwrap_or("-")
    );
    println!("cell type:    {}", field(&metadata, "cellType"));
    println!("extent:       {}", field(&metadata, "extent"));
    println!("bounds:       {}", field(&metadata, "bounds"));
    println!("layout:       {}", field(&metadata, "layoutDefinition"));
    println!(
        "key index:    {} {}",
        key_index.get("type").and_then(Value::as_str).unwrap_or("-"),
        field(&key_index, "properties")
    );
    Ok(())
}

/// A key type the CLI can parse from `COL,ROW[,INSTANT]`.
trait CliKey: LayerKey + serde::Serialize {
    /// What the key looks like on the command line.
    const FORM: &'static str;
    fn from_parts(parts: &[i64]) -> Option<Self>;
}

impl CliKey for SpatialKey {
    const FORM: &'static str = "COL,ROW";
    fn from_parts(parts: &[i64]) -> Option<Self> {
        match *parts {
            [col, row] => Some(SpatialKey::new(col.try_into().ok()?, row.try_into().ok()?)),
            _ => None,
        }
    }
}

impl CliKey for SpaceTimeKey {
    const FORM: &'static str = "COL,ROW,INSTANT";
    fn from_parts(parts: &[i64]) -> Option<Self> {
        match *parts {
            [col, row, instant] => Some(SpaceTimeKey::new(
                col.try_into().ok()?,
                row.try_into().ok()?,
                instant,
            )),
            _ => None,
        }
    }
}

/// Splits `a,b,c` into integers; `what` names the option in the error.
fn integers(s: &str, what: &str) -> anyhow::Result<Vec<i64>> {
    s.split(',')
        .map(|p| {
            p.trim().parse::<i64>().map_err(|_| {
                UsageError(format!("{what} {s:?}: {:?} is not an integer", p.trim())).into()
            })
        })
        .collect()
}

fn parse_key<K: CliKey>(s: &str, layer: &LayerId) -> anyhow::Result<K> {
    let parts = integers(s, "--key")?;
    K::from_parts(&parts).ok_or_else(|| {
        UsageError(format!(
            "--key {s:?}: layer {layer} holds {} keys, written {} (columns and rows fit 32 bits)",
            K::KEY_CLASS,
            K::FORM
        ))
        .into()
    })
}

fn parse_bbox(s: &str) -> anyhow::Result<KeyBounds<SpatialKey>> {
    let parts = integers(s, "--bbox")?;
    let bad = |why: &str| UsageError(format!("--bbox {s:?}: {why}"));
    let [c0, r0, c1, r1] = parts[..] else {
        return Err(bad("expected COL0,ROW0,COL1,ROW1").into());
    };
    let narrow = |v: i64| i32::try_from(v).map_err(|_| bad("columns and rows fit 32 bits"));
    let (c0, r0, c1, r1) = (narrow(c0)?, narrow(r0)?, narrow(c1)?, narrow(r1)?);
    if c0 > c1 || r0 > r1 {
        return Err(bad("COL0 must not exceed COL1, nor ROW0 ROW1").into());
    }
    Ok(KeyBounds {
        min: SpatialKey::new(c0, r0),
        max: SpatialKey::new(c1, r1),
    })
}

fn parse_extent(s: &str) -> anyhow::Result<Extent> {
    let bad = |why: &str| UsageError(format!("--extent {s:?}: {why}"));
    let parts: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("expected four numbers XMIN,YMIN,XMAX,YMAX"))?;
    let [xmin, ymin, xmax, ymax] = parts[..] else {
        return Err(bad("expected four numbers XMIN,YMIN,XMAX,YMAX").into());
    };
    if parts.iter().any(|v| !v.is_finite()) {
        return Err(bad("the numbers must be finite").into());
    }
    if xmin > xmax || ymin > ymax {
        return Err(bad("XMIN must not exceed XMAX, nor YMIN YMAX").into());
    }
    Extent::new(xmin, ymin, xmax, ymax).map_err(|e| bad(&e.to_string()).into())
}

fn parse_time(s: &str) -> anyhow::Result<(i64, i64)> {
    let parts = integers(s, "--time")?;
    match parts[..] {
        [t0, t1] if t0 <= t1 => Ok((t0, t1)),
        [_, _] => Err(UsageError(format!("--time {s:?}: T0 must not exceed T1")).into()),
        _ => Err(UsageError(format!(
            "--time {s:?}: expected T0,T1 in epoch milliseconds"
        ))
        .into()),
    }
}

fn get<K: CliKey>(
    catalog: &Catalog,
    layer: &LayerId,
    key: &str,
    out: &Path,
    png: bool,
    json: bool,
) -> anyhow::Result<()> {
    let key: K = parse_key(key, layer)?;
    let reader: LayerReader<K> = catalog.reader(layer)?;
    let bytes = if png {
        let tile = reader.read_tile(&key)?;
        tessera::raster::render_png_bytes(&tile, &tessera::raster::RenderOptions::default())
            .with_context(|| format!("rendering the tile of key {key} as PNG"))?
    } else {
        reader.read(&key)?
    };
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    if json {
        println!(
            "{}",
            json!({
                "layer": layer.to_string(),
                "key": key,
                "format": if png { "png" } else { "codec" },
                "bytes": bytes.len(),
                "out": out.display().to_string(),
            })
        );
    } else {
        println!(
            "wrote {} bytes ({}) of key {key} to {}",
            bytes.len(),
            if png { "PNG" } else { "codec bytes" },
            out.display()
        );
    }
    Ok(())
}

/// What `tessera layer query` selects.
enum Area {
    Bbox(KeyBounds<SpatialKey>),
    Extent(Extent),
}

fn query<K: CliKey>(
    catalog: &Catalog,
    layer: &LayerId,
    area: &Area,
    time: Option<(i64, i64)>,
    json: bool,
) -> anyhow::Result<()> {
    let reader: LayerReader<K> = catalog.reader(layer)?;
    let records = match area {
        Area::Bbox(b) => {
            let bounds = K::query_bounds(b, time, &reader.metadata().bounds);
            reader.query(&bounds)?
        }
        Area::Extent(e) => reader.query_extent(e, time)?,
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    if json {
        write!(
            out,
            "{{\"layer\":{},\"records\":[",
            json!(layer.to_string())
        )?;
    }
    let (mut count, mut total) = (0u64, 0u64);
    for record in records {
        let (key, value) = record?;
        if json {
            let sep = if count == 0 { "" } else { "," };
            write!(
                out,
                "{sep}\n{}",
                json!({ "key": key, "bytes": value.len() })
            )?;
        } else {
            writeln!(out, "{key}\t{}", value.len())?;
        }
        count += 1;
        total += value.len() as u64;
    }
    if json {
        writeln!(out, "\n],\"count\":{count},\"bytes\":{total}}}")?;
    } else {
        writeln!(out, "{count} records, {total} bytes")?;
    }
    out.flush()?;
    Ok(())
}

fn key_index_method(
    method: Method,
    spacetime: bool,
    temporal_ms: Option<i64>,
    temporal_bits: Option<u32>,
) -> anyhow::Result<KeyIndexMethod> {
    let usage = |msg: &str| Err(UsageError(msg.to_owned()).into());
    if !spacetime && (temporal_ms.is_some() || temporal_bits.is_some()) {
        return usage("--temporal-resolution-* applies to space-time layers only");
    }
    match method {
        Method::Zorder => {
            if temporal_bits.is_some() {
                return usage("--temporal-resolution-bits applies to --method hilbert");
            }
            if spacetime && temporal_ms.is_none() {
                return usage("a space-time Z-order index needs --temporal-resolution-ms");
            }
            Ok(KeyIndexMethod::ZOrder {
                temporal_resolution_ms: temporal_ms,
            })
        }
        Method::Hilbert => {
            if temporal_ms.is_some() {
                return usage("--temporal-resolution-ms applies to --method zorder");
            }
            if spacetime && temporal_bits.is_none() {
                return usage("a space-time Hilbert index needs --temporal-resolution-bits");
            }
            Ok(KeyIndexMethod::Hilbert {
                temporal_resolution_bits: temporal_bits,
            })
        }
        Method::Rowmajor => {
            if spacetime {
                return usage("--method rowmajor applies to spatial layers only");
            }
            Ok(KeyIndexMethod::RowMajor)
        }
    }
}

/// A spinner on stderr for operations without progress counts; hidden with `--json` and
/// when stderr is not a terminal.
fn spinner(json: bool, message: &str) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn reindex<K: LayerKey>(
    catalog: &Catalog,
    layer: &LayerId,
    method: KeyIndexMethod,
    budget: usize,
    json: bool,
) -> anyhow::Result<()> {
    // The record count, from the part files' footers, gives the bar its length.
    let reader: LayerReader<K> = catalog.reader(layer)?;
    let mut total = 0u64;
    for (_, path) in reader.parts() {
        let part =
            MapFileReader::open(path).with_context(|| format!("part file {}", path.display()))?;
        total += part.info().record_count;
    }
    drop(reader);
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:>8} [{bar:40}] {pos}/{len} records ({eta})")
            .context("the progress bar template")?
            .progress_chars("=> "),
    );
    bar.set_message("reading");
    let progress_bar = bar.clone();
    let options = WriteOptions::default()
        .memory_budget(budget)
        .progress(move |p| match p.phase {
            Phase::Reading => progress_bar.set_position(p.records_read),
            Phase::Writing => {
                progress_bar.set_message("writing");
                progress_bar.set_position(p.records_written);
            }
            _ => progress_bar.set_position(p.records_written),
        });
    let result = catalog.reindex::<K>(layer, method, &options);
    bar.finish_and_clear();
    let report = result?;
    let value = json!({
        "layer": layer.to_string(),
        "generation": report.generation,
        "records": report.records_written,
        "parts": report.parts_written,
        "bytes": report.bytes_written,
        "spilled_runs": report.spilled_runs,
    });
    let text = format!(
        "reindexed {layer}: {} records in {} parts ({} bytes), generation {}",
        report.records_written, report.parts_written, report.bytes_written, report.generation
    );
    done(json, "reindex", value, &text);
    Ok(())
}

/// Which of the two layer transfers to run.
#[derive(Clone, Copy)]
enum Transfer {
    Copy,
    Move,
}

/// `layer copy` and `layer move`: the same steps around a different catalog call.
fn transfer(
    catalog_dir: &Path,
    from: &LayerId,
    to: &LayerId,
    kind: Transfer,
    overwrite: bool,
    json: bool,
) -> anyhow::Result<()> {
    let catalog = open(catalog_dir)?;
    let (command, doing, did) = match kind {
        Transfer::Copy => ("copy", "copying", "copied"),
        Transfer::Move => ("move", "moving", "moved"),
    };
    let bar = spinner(json, &format!("{doing} {from} to {to}"));
    let result = match kind {
        Transfer::Copy => catalog.copy(from, to, overwrite),
        Transfer::Move => catalog.move_layer(from, to, overwrite),
    };
    bar.finish_and_clear();
    result?;
    let value = json!({ "from": from.to_string(), "to": to.to_string() });
    done(json, command, value, &format!("{did} {from} to {to}"));
    Ok(())
}
