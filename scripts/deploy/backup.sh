#!/usr/bin/env bash
# Back up the DCC database: ./backup.sh DATABASE_URL FILE
# A compressed pg_dump of schema and data. Redis needs no backup: every job is in the outbox.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 DATABASE_URL FILE" >&2; exit 2; }
url="${1/postgresql+psycopg:/postgresql:}"
pg_dump --format=custom --no-owner --no-privileges --file "$2" "$url"
echo "backup written to $2 ($(du -h "$2" | cut -f1))"
