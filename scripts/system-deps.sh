#!/usr/bin/env bash
# Debian packages the platform needs at run time (used by `make demo`): pango for the PDF
# portraits (WeasyPrint), poppler's pdftotext for the document library's full-text search,
# cairo for the decks' pictures.
# Installs only what is missing.
set -euo pipefail
need=()
ldconfig -p | grep -q libpango-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
ldconfig -p | grep -q libharfbuzz-subset || need+=(libharfbuzz-subset0)
[ -x /usr/bin/pdftotext ] || need+=(poppler-utils)
# cairo: the maps of the decks drawn as pictures for PowerPoint (cairosvg)
ldconfig -p | grep -q libcairo.so.2 || need+=(libcairo2)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "== apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
