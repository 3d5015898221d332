# Reduces `gdalinfo -json -stats -proj4 FILE` (read on stdin) to one line of the facts the raster
# tests compare: size, band count and type, geotransform, NoData, EPSG code, proj4, band stats.
import json, re, sys, os
d = json.load(sys.stdin)
b = d["bands"]
wkt = d.get("coordinateSystem", {}).get("wkt", "").strip()
m = re.search(r'ID\["EPSG",(\d+)\]\]$', wkt)
nd = b[0].get("noDataValue", "none")
stats = ";".join(
    "%s,%s,%s" % (x["metadata"][""]["STATISTICS_MINIMUM"], x["metadata"][""]["STATISTICS_MAXIMUM"],
                  x["metadata"][""]["STATISTICS_MEAN"])
    for x in b if "metadata" in x and "STATISTICS_MEAN" in x["metadata"].get("", {})
) or "none"
print("\t".join([
    "file=" + os.path.basename(d["description"]),
    "size=%d,%d" % tuple(d["size"]),
    "bands=%d" % len(b),
    "type=" + b[0]["type"],
    "gt=" + ",".join(repr(float(v)) for v in d["geoTransform"]),
    "nodata=" + str(nd),
    "epsg=" + (m.group(1) if m else "none"),
    "proj4=" + d.get("coordinateSystem", {}).get("proj4", "none").strip(),
    "stats=" + stats,
]))
