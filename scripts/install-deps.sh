#!/usr/bin/env bash
# Installs what SwiftNAS needs on a fresh Debian 12 or 13 machine (run as root): OpenBLAS, zlib,
# libpng, SQLite and libpq headers, PostgreSQL's server (the tests of the shared store start a throw-away one), Chromium
# (the report is checked in a real browser), Fashion-MNIST (the quick start's data), and a Python environment with the
# packages the tests compare against (safetensors, numpy, and torch and onnxruntime, which run exported models).
# The Swift toolchain itself is expected on PATH.
#
# The Python packages go into a virtual environment at .venv in the repository (the tests look
# there first), because Debian's system Python refuses `pip install` outside one (PEP 668) and
# Debian 12 does not package `safetensors`.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends libopenblas-dev zlib1g-dev libpng-dev libsqlite3-dev libpq-dev postgresql chromium pkg-config \
    dataset-fashion-mnist python3 python3-venv
# Any python3 on PATH will do (Debian's, or one the machine brought); the venv isolates it.
if [ ! -x .venv/bin/python3 ] || ! .venv/bin/python3 -c 'import sys' 2>/dev/null; then
    rm -rf .venv
    python3 -m venv .venv
fi
# torch (CPU build) and onnxruntime run the exported models in the export tests.
.venv/bin/python3 -m pip install --quiet --disable-pip-version-check safetensors numpy onnxruntime torch==2.13.0+cpu
.venv/bin/python3 -c 'import safetensors, numpy, onnxruntime, torch; print("python test helpers: safetensors", safetensors.__version__, "numpy", numpy.__version__, "onnxruntime", onnxruntime.__version__, "torch", torch.__version__)'
