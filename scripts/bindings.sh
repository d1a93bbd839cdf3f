#!/usr/bin/env bash
# Generates the Kotlin, Swift and Python bindings of doorstep-mobile from the built library
# (uniffi's library mode), with the uniffi-bindgen built from the same uniffi version:
#   mobile/bindings/kotlin  mobile/bindings/swift  mobile/bindings/python (with the library beside
#   it, so `import doorstep_mobile` works with that directory on PYTHONPATH).
# `--release` builds and binds the optimised library (for the FFI benchmark); `--prebuilt` binds
# the debug library a workspace build already made (scripts/test.sh), without building again.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_profile=()
build=yes
case "${1:-}" in
  --release) profile=release; cargo_profile=(--release) ;;
  --prebuilt) build=no ;;
esac

if [ "$build" = yes ]; then
  cargo build --locked -p doorstep-mobile "${cargo_profile[@]}"
fi

case "$(uname -s)" in
  Darwin) library="target/$profile/libdoorstep_mobile.dylib" ;;
  *) library="target/$profile/libdoorstep_mobile.so" ;;
esac
bindgen="target/$profile/uniffi-bindgen"

for language in kotlin swift python; do
  rm -rf "mobile/bindings/$language"
  "$bindgen" generate --library "$library" --language "$language" \
    --out-dir "mobile/bindings/$language" --no-format >/dev/null
done
cp "$library" mobile/bindings/python/
echo "bindings: mobile/bindings/{kotlin,swift,python} from $library"
