#!/bin/sh
# Runs in the build pod's init container (image: git): the exact commit the pipeline checked out.
set -eu
: "${WORKSPACE:?}" "${REPO:?}" "${SHA:?}"
rm -rf "$WORKSPACE/src"
git clone --quiet --no-checkout "$REPO" "$WORKSPACE/src"
git -C "$WORKSPACE/src" checkout --quiet --detach "$SHA"
test "$(git -C "$WORKSPACE/src" rev-parse HEAD)" = "$SHA"
