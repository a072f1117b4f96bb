#!/usr/bin/env bash
# Restore a DCC backup into an EMPTY database: ./restore.sh FILE DATABASE_URL
# Then brings the schema to this release's head. Stop the workers and sweepers first.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 FILE DATABASE_URL" >&2; exit 2; }
url="${2/postgresql+psycopg:/postgresql:}"
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname "$url" "$1"
DCC_DATABASE_URL="$2" "${DCC:-dcc}" db upgrade
echo "restored $1"
