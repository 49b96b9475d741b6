#!/bin/bash -eu
# ClusterFuzzLite build script: the OSS-Fuzz one, unchanged, so both build the
# same targets with the same flags (tests/checks/ossfuzz_build.sh checks it).
# Runs from the checkout ($SRC/ftfuzz, the Dockerfile's WORKDIR).
exec bash -eux oss-fuzz/build.sh
