#!/usr/bin/env bash
# Regenerates Sources/ONNXProto/onnx.pb.swift, the Swift types of ONNX's protobuf schema, which is
# committed so that builds need neither protoc nor the code generator.
#   needs: protoc (apt-get install protobuf-compiler), protoc-gen-swift built from swift-protobuf
#   1.39.0 (git clone --branch 1.39.0 https://github.com/apple/swift-protobuf &&
#   swift build -c release --product protoc-gen-swift), and onnx.proto from the `onnx` Python
#   package (pip install onnx==$ONNX_VERSION).
#   usage: PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift bash scripts/generate-onnx-proto.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ONNX_VERSION=${ONNX_VERSION:-1.23.2}
PYTHON=${PYTHON:-.venv/bin/python3}
proto_dir=$("$PYTHON" -c 'import onnx, os; print(os.path.dirname(onnx.__file__))')
"$PYTHON" -c "import onnx; assert onnx.__version__ == '$ONNX_VERSION', onnx.__version__"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Only ONNX's own schema (no ML extensions); the package name becomes the Swift prefix Onnx_.
cp "$proto_dir/onnx.proto" "$work/onnx.proto"
protoc --plugin=protoc-gen-swift="${PROTOC_GEN_SWIFT:?set PROTOC_GEN_SWIFT}" --swift_opt=Visibility=Public \
    --swift_out="$work" -I "$work" "$work/onnx.proto"
mkdir -p Sources/ONNXProto
cp "$work/onnx.pb.swift" Sources/ONNXProto/onnx.pb.swift
echo "wrote Sources/ONNXProto/onnx.pb.swift from onnx $ONNX_VERSION's onnx.proto"
