//! Operation sequences against a `BTreeMap` model (as redb's fuzzer does): write, update
//! (merging, overwriting, default), reindex, copy back and forth, delete; after every step
//! the layer verifies and agrees with the model through point reads and a full query.

use std::collections::BTreeMap;

use keyed_tile::SpatialKey;
use layer_store::{Catalog, Error, KeyIndexMethod, UpdateOptions, WriteOptions, updating_wins};
use proptest::prelude::*;

use crate::common::{catalog, contents, id, metadata, spatial_bounds};

type Model = Option<BTreeMap<SpatialKey, Vec<u8>>>;

#[derive(Debug, Clone)]
enum Op {
    Write {
        overwrite: bool,
        records: Vec<(SpatialKey, Vec<u8>)>,
    },
    Update {
        mode: u8,
        records: Vec<(SpatialKey, Vec<u8>)>,
    },
    Reindex {
        hilbert: bool,
    },
    CopyRoundTrip,
    Delete,
}

fn key() -> impl Strategy<Value = SpatialKey> {
    (0..12i32, 0..12i32).prop_map(|(c, r)| SpatialKey::new(c, r))
}

fn records() -> impl Strategy<Value = Vec<(SpatialKey, Vec<u8>)>> {
    prop::collection::vec((key(), prop::collection::vec(any::<u8>(), 0..24)), 0..40)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (any::<bool>(), records()).prop_map(|(overwrite, records)| Op::Write { overwrite, records }),
        4 => (0..3u8, records()).prop_map(|(mode, records)| Op::Update { mode, records }),
        1 => any::<bool>().prop_map(|hilbert| Op::Reindex { hilbert }),
        1 => Just(Op::CopyRoundTrip),
        1 => Just(Op::Delete),
    ]
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "the signature of a merge function, which takes keys by reference"
)]
fn merge(_: &SpatialKey, existing: &[u8], updating: &[u8]) -> Vec<u8> {
    let mut v = existing.iter().take(3).copied().collect::<Vec<_>>();
    v.push(0xff);
    v.extend_from_slice(updating);
    v
}

fn apply(catalog: &Catalog, model: &mut Model, op: Op) {
    let layer = id("m", 1);
    let write = WriteOptions::default()
        .max_part_bytes(200)
        .memory_budget(2048);
    match op {
        Op::Write { overwrite, records } => {
            let r = catalog.write(
                &layer,
                metadata(spatial_bounds(0, 0, 11, 11)),
                KeyIndexMethod::ZOrder {
                    temporal_resolution_ms: None,
                },
                records.clone(),
                &write.clone().overwrite(overwrite),
            );
            if model.is_some() && !overwrite {
                assert!(matches!(r, Err(Error::LayerExists { .. })), "{r:?}");
            } else {
                r.unwrap();
                *model = Some(records.into_iter().collect());
            }
        }
        Op::Update { mode, records } => {
            let options = UpdateOptions::default().write(write).overwrite(mode == 1);
            let r = if mode == 2 {
                catalog.update(&layer, records.clone(), updating_wins, &options)
            } else {
                catalog.update(&layer, records.clone(), merge, &options)
            };
            match model {
                None => assert!(matches!(r, Err(Error::LayerNotFound { .. })), "{r:?}"),
                Some(map) => {
                    r.unwrap();
                    let updates: BTreeMap<_, _> = records.into_iter().collect();
                    for (k, v) in updates {
                        let value = match map.get(&k) {
                            Some(old) if mode == 0 => merge(&k, old, &v),
                            _ => v,
                        };
                        map.insert(k, value);
                    }
                }
            }
        }
        Op::Reindex { hilbert } => {
            let method = if hilbert {
                KeyIndexMethod::Hilbert {
                    temporal_resolution_bits: None,
                }
            } else {
                KeyIndexMethod::ZOrder {
                    temporal_resolution_ms: None,
                }
            };
            let r = catalog.reindex::<SpatialKey>(&layer, method, &write);
            assert_eq!(r.is_ok(), model.is_some(), "{r:?}");
        }
        Op::CopyRoundTrip => {
            let other = id("other", 0);
            let r = catalog.copy(&layer, &other, true);
            assert_eq!(r.is_ok(), model.is_some(), "{r:?}");
            if r.is_ok() {
                catalog.delete(&layer).unwrap();
                catalog.move_layer(&other, &layer, false).unwrap();
                assert!(!catalog.exists(&other));
            }
        }
        Op::Delete => {
            let r = catalog.delete(&layer);
            assert_eq!(r.is_ok(), model.is_some(), "{r:?}");
            *model = None;
        }
    }
}

fn check(catalog: &Catalog, model: &Model) {
    let layer = id("m", 1);
    match model {
        None => assert!(!catalog.exists(&layer)),
        Some(map) => {
            catalog.verify(&layer).unwrap();
            assert_eq!(&contents::<SpatialKey>(catalog, &layer), map);
            let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
            for c in 0..12 {
                let k = SpatialKey::new(c, (c * 5) % 12);
                match map.get(&k) {
                    Some(v) => assert_eq!(&reader.read(&k).unwrap(), v),
                    None => assert!(matches!(reader.read(&k), Err(Error::ValueNotFound { .. }))),
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn operation_sequences_agree_with_a_btreemap(ops in prop::collection::vec(op(), 1..8)) {
        let (_dir, catalog) = catalog();
        let mut model: Model = None;
        for op in ops {
            apply(&catalog, &mut model, op);
            check(&catalog, &model);
        }
    }
}
