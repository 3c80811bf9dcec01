#!/usr/bin/env bash
# Re-vendor the explorer's libraries from npm at pinned versions into static/vendor/ (the
# files are committed: running the service needs no npm and no build step). `make vendor-explorer`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

LEAFLET=1.9.4
MARKERCLUSTER=1.5.3
TOPOJSON_CLIENT=3.1.0
WORLD_ATLAS=2.0.2

unpack() { # package version -> $work/package-version/
    (cd "$work" && npm pack --silent "$1@$2" >/dev/null)
    mkdir -p "$work/$1-$2"
    tar -xzf "$work/$1-$2.tgz" -C "$work/$1-$2" --strip-components=1
    echo "$work/$1-$2"
}

rm -rf "$out"
mkdir -p "$out/leaflet/images" "$out/leaflet.markercluster" "$out/topojson-client" "$out/world-atlas"

src="$(unpack leaflet "$LEAFLET")"
cp "$src/dist/leaflet.js" "$src/dist/leaflet.css" "$src/LICENSE" "$out/leaflet/"
cp "$src/dist/images/"*.png "$out/leaflet/images/"

src="$(unpack leaflet.markercluster "$MARKERCLUSTER")"
cp "$src/dist/leaflet.markercluster.js" "$src/dist/MarkerCluster.css" "$src/dist/MarkerCluster.Default.css" \
    "$out/leaflet.markercluster/"
cp "$src/MIT-LICENCE.txt" "$out/leaflet.markercluster/LICENSE"

src="$(unpack topojson-client "$TOPOJSON_CLIENT")"
cp "$src/dist/topojson-client.min.js" "$src/LICENSE" "$out/topojson-client/"

src="$(unpack world-atlas "$WORLD_ATLAS")"
cp "$src/countries-110m.json" "$src/LICENSE" "$out/world-atlas/"

chmod 644 "$out"/*/* "$out"/leaflet/images/*
# the source map comments point at files that are not shipped
sed -i '/^\/\/# sourceMappingURL=/d' "$out/leaflet/leaflet.js" "$out/leaflet.markercluster/leaflet.markercluster.js"

cat > "$out/VERSIONS" <<VERSIONS
leaflet $LEAFLET (BSD-2-Clause)
leaflet.markercluster $MARKERCLUSTER (MIT)
topojson-client $TOPOJSON_CLIENT (ISC)
world-atlas $WORLD_ATLAS (ISC; the outlines are Natural Earth's, public domain)
VERSIONS
echo "vendored into $out:" && cat "$out/VERSIONS"
