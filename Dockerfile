# syntax=docker/dockerfile:1
# attnserve container image: a Release build on Debian 12, shipped on debian:12-slim with only
# the shared libraries it links (deploy/install-deps.sh runtime).
#
#   docker build -t attnserve .
#   ./dev image        builds it with podman and runs it (deploy/image.sh; no docker needed)
#   docker run --rm -p 50051:50051 -p 9090:9090 attnserve                  # built-in demo model
#   docker run --rm -p 50051:50051 -p 9090:9090 -v /srv/models:/models:ro \
#     attnserve --model=minilm=/models/minilm                              # a Hugging Face dir
#
# Models are mounted read-only at /models; pass one `--model NAME=/models/NAME` per model (the
# first is the default). Arguments after the image name replace CMD and are appended to the
# entrypoint, which binds gRPC on 0.0.0.0:50051 and plain-HTTP metrics on 0.0.0.0:9090.
# tests/deploy/dockerfile_test.py checks this file (no docker engine needed).

# ---- build stage: only what attnserve and attnctl build with (install-deps.sh build) ----
FROM debian:12-slim AS build
WORKDIR /src
# Dependencies first, so editing sources does not re-run apt.
COPY deploy/install-deps.sh deploy/install-deps.sh
RUN deploy/install-deps.sh build
COPY CMakeLists.txt ./
COPY proto proto
COPY core core
COPY server server
COPY client client
# The two shipped binaries only: no tests, benchmarks or fuzzers.
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNSERVE_BUILD_TESTS=OFF \
      -DATTNSERVE_BUILD_BENCH=OFF \
    && cmake --build build --target attnserve attnctl

# ---- runtime stage ----
FROM debian:12-slim
COPY deploy/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh runtime \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh
RUN groupadd --system --gid 10001 attnserve \
    && useradd --system --uid 10001 --gid attnserve --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin attnserve \
    && mkdir /models
COPY --from=build /src/build/bin/attnserve /src/build/bin/attnctl /usr/local/bin/
USER 10001:10001
EXPOSE 50051 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s \
  CMD ["attnctl", "--address=127.0.0.1:50051", "health"]
ENTRYPOINT ["attnserve", "--address=0.0.0.0:50051", "--metrics_address=0.0.0.0:9090"]
CMD ["--model=demo"]
