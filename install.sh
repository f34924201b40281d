#!/usr/bin/env bash
# Installs pinned dependencies into the active Python environment, then this package in editable mode.
# Idempotent: rerunning it only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")"
PIP="${PYTHON:-python} -m pip"

# jpeg4py needs libturbojpeg; install it from Debian when missing and we may (root). Without it the
# image loader falls back to OpenCV, so this is a speed-up, not a requirement.
if ! ldconfig -p 2>/dev/null | grep -q libturbojpeg; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get install -y -q libturbojpeg0 >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q libturbojpeg0 >/dev/null; }) \
      || echo "install.sh: could not install libturbojpeg0; images will be decoded with OpenCV" >&2
  else
    echo "install.sh: libturbojpeg missing and not root; images will be decoded with OpenCV" >&2
  fi
fi

$PIP install -q torch==2.14.1 torchvision==0.29.1
$PIP install -q -r requirements.txt
$PIP install -q --no-deps --no-build-isolation -e .
python -c "import lib, torch, cv2; print('install.sh: ok (torch', torch.__version__ + ', opencv', cv2.__version__ + ')')"
