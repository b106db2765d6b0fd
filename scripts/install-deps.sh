#!/usr/bin/env bash
# Installs what SwiftNAS needs on a fresh Debian machine (run as root): OpenBLAS, zlib and
# SQLite headers, Fashion-MNIST (the quick start's data), and the Python packages the tests
# compare against. The Swift toolchain itself is expected on PATH.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends libopenblas-dev zlib1g-dev libsqlite3-dev pkg-config dataset-fashion-mnist
python3 -m pip install --quiet safetensors numpy
