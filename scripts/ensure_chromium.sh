#!/usr/bin/env bash
# Make sure a Chromium is on PATH for the browser tests (tests/explorer/, Playwright for Python
# driving it through executable_path): Debian's `chromium` package, with Liberation fonts (metric
# twins of Arial, which the pages ask for) so that screenshots look as they do for readers,
# installed with apt-get when missing and we are root (as ensure_db.sh installs PostGIS).
# Playwright's own browser download is never used: browsers come only from the package registries
# here. Safe to run any number of times.
set -euo pipefail

PACKAGES=(chromium fonts-liberation)
say() { echo "[ensure_chromium] $*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for package in "${PACKAGES[@]}"; do
  installed "$package" || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ] || { command -v chromium >/dev/null 2>&1 && ! command -v apt-get >/dev/null 2>&1; }; then
  say "$(chromium --version 2>/dev/null || echo chromium) is installed"
  exit 0
fi

if ! as_root true 2>/dev/null; then
  echo "Missing: ${missing[*]}, and this user cannot install packages; the browser tests will be skipped" >&2
  echo "without chromium. Install as root:  apt-get install ${missing[*]}" >&2
  exit 0
fi

say "installing ${missing[*]} with apt-get"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
say "$(chromium --version 2>/dev/null) installed"
