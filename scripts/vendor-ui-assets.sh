#!/usr/bin/env bash
# Refreshes the dashboard's vendored browser libraries from npm (run by hand, not at
# build or run time: the package ships these files so /ui works offline). Pins the
# versions below; each library's licence file is copied beside it.
set -euo pipefail
HTMX=2.0.11
UPLOT=1.6.32
vendor="$(cd "$(dirname "$0")/.." && pwd)/streamrec/ui/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "htmx.org@$HTMX" "uplot@$UPLOT" >/dev/null
mkdir htmx uplot
tar -xzf "htmx.org-$HTMX.tgz" -C htmx --strip-components=1
tar -xzf "uplot-$UPLOT.tgz" -C uplot --strip-components=1
mkdir -p "$vendor/htmx" "$vendor/uplot"
cp htmx/dist/htmx.min.js htmx/LICENSE "$vendor/htmx/"
cp uplot/dist/uPlot.iife.min.js uplot/dist/uPlot.min.css uplot/LICENSE "$vendor/uplot/"
echo "vendored htmx.org $HTMX and uplot $UPLOT into $vendor"
