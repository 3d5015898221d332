//! Cell type names: parsing, printing and their errors.

use keyed_tile::{CellType, NoData};

#[test]
fn constant_names_parse() {
    assert_eq!(
        "int8".parse::<CellType>().unwrap(),
        CellType::Int8(NoData::Constant)
    );
    assert_eq!(
        "uint16raw".parse::<CellType>().unwrap(),
        CellType::UInt16(NoData::Raw)
    );
}
