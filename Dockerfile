# syntax=docker/dockerfile:1
# attnserve container image: a Release build on Debian 12, shipped on debian:12-slim with only
# the shared libraries it links (deploy/runtime-packages.txt).
#
#   docker build -t attnserve .
#   docker run --rm -p 50051:50051 -p 9090:9090 attnserve                  # built-in demo model
#   docker run --rm -p 50051:50051 -p 9090:9090 -v /srv/models:/models:ro \
#     attnserve --model=minilm=/models/minilm                              # a Hugging Face dir
#
# Models are mounted read-only at /models; pass one `--model NAME=/models/NAME` per model (the
# first is the default). Arguments after the image name replace CMD and are appended to the
# entrypoint, which binds gRPC on 0.0.0.0:50051 and plain-HTTP metrics on 0.0.0.0:9090.
# tests/deploy/dockerfile_test.py checks this file (no docker engine needed).

# ---- build stage: the same install script and build command as CI (./dev) ----
FROM debian:12-slim AS build
WORKDIR /src
# Dependencies first, so editing sources does not re-run apt.
COPY deploy/install-deps.sh deploy/install-deps.sh
RUN deploy/install-deps.sh
COPY CMakeLists.txt dev ./
COPY proto proto
COPY core core
COPY server server
COPY client client
COPY tests tests
COPY bench bench
RUN ./dev build

# ---- runtime stage ----
FROM debian:12-slim
COPY deploy/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
    && sed -e 's/#.*//' /tmp/runtime-packages.txt \
       | xargs apt-get install -y --no-install-recommends \
    && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt
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
