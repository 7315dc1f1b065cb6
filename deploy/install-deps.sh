#!/usr/bin/env bash
# Installs the Debian 12 packages attnserve needs, by set:
#   deploy/install-deps.sh [SET...]     install the sets (default: all)
#   deploy/install-deps.sh --list SET   print the set's packages, one a line
# Sets:
#   build    what building attnserve and attnctl needs (the image's build stage)
#   runtime  the shared libraries attnserve and attnctl link, by their runtime (non -dev)
#            package names (the image's runtime stage). libc6, libgcc-s1, libstdc++6 and
#            zlib1g are in debian:12-slim already (dependencies of dpkg and apt).
#            tests/deploy/dockerfile_test.py checks this set against `ldd` of both binaries.
#   test     what the tests, benchmarks, fuzzers and deploy checks add (./dev test)
#   all      build + runtime + test: what ./dev and CI install
#   image    what ./dev image builds and runs the container image with (podman); not in all
# Idempotent: installs only what is missing, and runs `apt-get update` only when it must.
set -euo pipefail

BUILD=(
  # toolchain: the compiler, CMake with Ninja
  g++ cmake ninja-build pkg-config
  # gRPC, protobuf, abseil (grpc-proto: grpc.health.v1 for the client stubs)
  libgrpc++-dev libgrpc-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  libabsl-dev grpc-proto
  # compute
  libdnnl-dev ocl-icd-opencl-dev
  # metrics, text (utf8proc; Oniguruma for tokenizer.json regexes), json
  prometheus-cpp-dev libutf8proc-dev libonig-dev nlohmann-json3-dev
)

RUNTIME=(
  libabsl20220623 libc-ares2 libcivetweb1 libdnnl2 libgomp1 libgrpc++1.51 libgrpc29
  libonig5 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libprotobuf32 libre2-9
  libssl3 libutf8proc2 ocl-icd-libopencl1
)

TEST=(
  build-essential git ca-certificates clang-format
  # fuzzing (./dev fuzz): clang 14 and its runtime libraries (libFuzzer, ASan, UBSan)
  clang libclang-rt-14-dev
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

# podman without a daemon; runc because crun fails on cgroup v1/hybrid hosts; mmdebstrap
# makes the debian:12-slim base from the Debian mirror (no registry pull).
IMAGE=(podman runc mmdebstrap)

set_packages() {
  case "$1" in
    build) printf '%s\n' "${BUILD[@]}" ;;
    runtime) printf '%s\n' "${RUNTIME[@]}" ;;
    test) printf '%s\n' "${TEST[@]}" ;;
    all) printf '%s\n' "${BUILD[@]}" "${RUNTIME[@]}" "${TEST[@]}" ;;
    image) printf '%s\n' "${IMAGE[@]}" ;;
    *)
      echo "install-deps: unknown set '$1', expected build, runtime, test, all or image" >&2
      return 2
      ;;
  esac
}

if [ "${1:-}" = "--list" ]; then
  set_packages "${2:-all}"
  exit
fi

packages=()
for set in "${@:-all}"; do
  list=$(set_packages "$set")
  mapfile -t -O "${#packages[@]}" packages <<<"$list"
done

missing=()
for p in "${packages[@]}"; do
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
# Packages that ship a daemon (prometheus, podman's socket) must not start it: a system-wide
# Prometheus would listen on 127.0.0.1:9090, attnserve's default metrics port, and the tests
# start their own. Debian's invoke-rc.d asks /usr/sbin/policy-rc.d; exit code 101 means
# "start nothing". A policy-rc.d we put there is removed again afterwards; an existing one is
# left alone.
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
