//! Georeferencing: the GDAL-order affine [`GeoTransform`] between pixel and map coordinates.

/// A GDAL-order affine transform from pixel space to map space.
///
/// For a pixel position `(col, row)` (continuous: `(0, 0)` is the outer corner of the first
/// pixel, `(0.5, 0.5)` its centre), the map position is
///
/// ```text
/// x = origin_x + col * pixel_width  + row * row_rotation
/// y = origin_y + col * col_rotation + row * pixel_height
/// ```
///
/// which is GDAL's `[c, a, b, f, d, e]` = `[GT0 .. GT5]` with `x = c + col*a + row*b` and
/// `y = f + col*d + row*e`. A north-up raster has both rotations zero and a negative
/// `pixel_height`. The origin is always the corner of the first pixel ("PixelIsArea"); files
/// declaring "PixelIsPoint" are shifted by half a pixel on reading, as GDAL does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoTransform {
    /// GT0: map x of the upper-left corner of pixel (0, 0).
    pub origin_x: f64,
    /// GT1: change of x per column.
    pub pixel_width: f64,
    /// GT2: change of x per row (0 for north-up rasters).
    pub row_rotation: f64,
    /// GT3: map y of the upper-left corner of pixel (0, 0).
    pub origin_y: f64,
    /// GT4: change of y per column (0 for north-up rasters).
    pub col_rotation: f64,
    /// GT5: change of y per row (negative for north-up rasters).
    pub pixel_height: f64,
}

impl Default for GeoTransform {
    /// The identity: map coordinates equal pixel coordinates (GDAL's default for
    /// ungeoreferenced rasters is `[0, 1, 0, 0, 0, 1]`).
    fn default() -> Self {
        Self::from_gdal([0.0, 1.0, 0.0, 0.0, 0.0, 1.0])
    }
}

impl GeoTransform {
    /// A north-up transform from the upper-left corner and the cell size
    /// (`pixel_height` is stored negated: pass the positive cell height).
    pub fn north_up(origin_x: f64, origin_y: f64, cell_width: f64, cell_height: f64) -> Self {
        Self::from_gdal([origin_x, cell_width, 0.0, origin_y, 0.0, -cell_height])
    }

    /// Builds a transform from GDAL's six coefficients `[GT0, .., GT5]`.
    pub fn from_gdal(gt: [f64; 6]) -> Self {
        Self {
            origin_x: gt[0],
            pixel_width: gt[1],
            row_rotation: gt[2],
            origin_y: gt[3],
            col_rotation: gt[4],
            pixel_height: gt[5],
        }
    }

    /// GDAL's six coefficients `[GT0, .., GT5]`.
    pub fn to_gdal(&self) -> [f64; 6] {
        [
            self.origin_x,
            self.pixel_width,
            self.row_rotation,
            self.origin_y,
            self.col_rotation,
            self.pixel_height,
        ]
    }

    /// True when either rotation term is non-zero (the raster is not north-up or south-up).
    pub fn is_rotated(&self) -> bool {
        self.row_rotation != 0.0 || self.col_rotation != 0.0
    }

    /// The map position of the continuous pixel position `(col, row)`.
    pub fn pixel_to_map(&self, col: f64, row: f64) -> (f64, f64) {
        (
            self.origin_x + col * self.pixel_width + row * self.row_rotation,
            self.origin_y + col * self.col_rotation + row * self.pixel_height,
        )
    }

    /// The map position of the centre of pixel `(col, row)`.
    pub fn pixel_center(&self, col: i64, row: i64) -> (f64, f64) {
        self.pixel_to_map(col as f64 + 0.5, row as f64 + 0.5)
    }

    /// The inverse transform (map to pixel), or `None` when the matrix is singular.
    pub fn inverse(&self) -> Option<GeoTransform> {
        let det = self.pixel_width * self.pixel_height - self.row_rotation * self.col_rotation;
        if det == 0.0 || !det.is_finite() {
            return None;
        }
        let a = self.pixel_height / det;
        let b = -self.row_rotation / det;
        let d = -self.col_rotation / det;
        let e = self.pixel_width / det;
        Some(GeoTransform {
            origin_x: -(a * self.origin_x + b * self.origin_y),
            pixel_width: a,
            row_rotation: b,
            origin_y: -(d * self.origin_x + e * self.origin_y),
            col_rotation: d,
            pixel_height: e,
        })
    }

    /// The continuous pixel position `(col, row)` of the map position `(x, y)`.
    ///
    /// Returns `(NaN, NaN)` when the transform is singular (see [`GeoTransform::inverse`]).
    pub fn map_to_pixel(&self, x: f64, y: f64) -> (f64, f64) {
        match self.inverse() {
            Some(inv) => inv.pixel_to_map(x, y),
            None => (f64::NAN, f64::NAN),
        }
    }

    /// The bounding box `[xmin, ymin, xmax, ymax]` of a `cols` × `rows` raster's four corners.
    pub fn bounds(&self, cols: usize, rows: usize) -> [f64; 4] {
        let (c, r) = (cols as f64, rows as f64);
        let corners = [
            self.pixel_to_map(0.0, 0.0),
            self.pixel_to_map(c, 0.0),
            self.pixel_to_map(0.0, r),
            self.pixel_to_map(c, r),
        ];
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for (x, y) in corners {
            b[0] = b[0].min(x);
            b[1] = b[1].min(y);
            b[2] = b[2].max(x);
            b[3] = b[3].max(y);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::GeoTransform;

    #[test]
    fn inverse_round_trips_a_rotated_transform() {
        let gt = GeoTransform::from_gdal([1_841_001.75, 1.5, -5.0, 1_144_003.25, -5.0, -1.5]);
        assert!(gt.is_rotated());
        let (x, y) = gt.pixel_to_map(3.25, 7.5);
        let (c, r) = gt.map_to_pixel(x, y);
        assert!((c - 3.25).abs() < 1e-9 && (r - 7.5).abs() < 1e-9, "{c} {r}");
    }

    #[test]
    fn singular_transform_has_no_inverse() {
        let gt = GeoTransform::from_gdal([0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(gt.inverse().is_none());
        assert!(gt.map_to_pixel(1.0, 1.0).0.is_nan());
    }
}

/// A georeferenced raster: bands of cells, where they are, and in which CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    /// The cells: one keyed-tile band per raster band, NoData in the cell type.
    pub tile: keyed_tile::MultibandTile,
    /// Pixel to map coordinates.
    pub transform: GeoTransform,
    /// The CRS of the map coordinates.
    pub crs: crate::Crs,
}

impl Raster {
    /// Width in pixels.
    pub fn cols(&self) -> usize {
        self.tile.cols() as usize
    }

    /// Height in pixels.
    pub fn rows(&self) -> usize {
        self.tile.rows() as usize
    }

    /// Number of bands.
    pub fn band_count(&self) -> usize {
        self.tile.band_count()
    }

    /// The cell type shared by all bands.
    pub fn cell_type(&self) -> keyed_tile::CellType {
        self.tile.cell_type()
    }

    /// The NoData value (NaN for float types with constant NoData), `None` for `raw` types.
    pub fn nodata(&self) -> Option<f64> {
        self.tile.cell_type().no_data_f64()
    }

    /// The bounding box of the raster's four corners in map coordinates.
    pub fn extent(&self) -> keyed_tile::Extent {
        let [xmin, ymin, xmax, ymax] = self.transform.bounds(self.cols(), self.rows());
        keyed_tile::Extent {
            xmin,
            ymin,
            xmax,
            ymax,
        }
    }

    /// The (positive) cell width and height of a north-up raster.
    pub fn cell_size(&self) -> (f64, f64) {
        (
            self.transform.pixel_width.abs(),
            self.transform.pixel_height.abs(),
        )
    }
}
