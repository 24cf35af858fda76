#!/usr/bin/env bash
# Run sdmock for a team on this machine: Chroma server, index job, N app processes behind nginx.
# Configuration by environment only (see deploy/README.md), e.g.:
#   SDMOCK_DATABASE_URL=postgresql+psycopg://sdmock:secret@127.0.0.1:5432/sdmock \
#   SDMOCK_TEAM_APPS=4 SDMOCK_TEAM_PORT=8080 deploy/run-team.sh
# Ctrl-C stops everything.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${SDMOCK_PYTHON:-$root/.venv/bin/python}"
[ -x "$py" ] || py="$(command -v python3)"
exec "$py" "$root/deploy/team.py" "$@"
