#!/usr/bin/env bash
# Installs every Debian 12 package attnserve needs to build, test and benchmark.
# Idempotent: installs only what is missing, and runs `apt-get update` only when it must.
# Used by ./dev, by CI (through ./dev test) and by the Dockerfile's build stage.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates clang-format
  # fuzzing (./dev fuzz): clang 14 and its runtime libraries (libFuzzer, ASan, UBSan)
  clang libclang-rt-14-dev
  # gRPC, protobuf, abseil
  libgrpc++-dev libgrpc-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  libabsl-dev grpc-proto
  # compute
  libdnnl-dev ocl-icd-opencl-dev
  # metrics, text (utf8proc; Oniguruma for tokenizer.json regexes), json
  prometheus-cpp-dev libutf8proc-dev libonig-dev nlohmann-json3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy python3-torch python3-grpcio python3-matplotlib libopenblas0-openmp
  # golden tokenizer data (tests/golden/make_sentencepiece_tokenizer.py)
  python3-sentencepiece
  curl procps
  # deploy checks: promtool + a real Prometheus for the scrape e2e, yamllint, YAML for python
  # (kubectl with its built-in kustomize comes with the machine image; Debian 12 has none
  # recent enough; see README.md, "Deploy")
  prometheus yamllint python3-yaml
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
# Packages that ship a daemon (prometheus) must not start it: a system-wide Prometheus would
# listen on 127.0.0.1:9090, attnserve's default metrics port, and the tests start their own.
# Debian's invoke-rc.d asks /usr/sbin/policy-rc.d; exit code 101 means "start nothing". A
# policy-rc.d we put there is removed again afterwards; an existing one is left alone.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# install-deps.sh: start no service while installing\nexit 101\n' |
    $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
  trap '$SUDO rm -f "$POLICY"' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Under systemd the unit would still be enabled for the next boot: disable it.
if [ -d /run/systemd/system ] && systemctl list-unit-files prometheus.service >/dev/null 2>&1; then
  $SUDO systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
