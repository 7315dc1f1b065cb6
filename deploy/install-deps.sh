#!/usr/bin/env bash
# Installs every Debian 12 package attnserve needs to build, test and benchmark.
# Idempotent: installs only what is missing, and runs `apt-get update` only when it must.
# Used by ./dev, by CI (through ./dev test) and by the Dockerfile's build stage.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates clang-format
  # gRPC, protobuf, abseil
  libgrpc++-dev libgrpc-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  libabsl-dev grpc-proto
  # compute
  libdnnl-dev ocl-icd-opencl-dev
  # metrics, text, json
  prometheus-cpp-dev libutf8proc-dev nlohmann-json3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy python3-torch python3-grpcio python3-matplotlib libopenblas0-openmp
  curl procps
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Update the package lists only when they are missing or cannot resolve a package.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ] ||
   ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
