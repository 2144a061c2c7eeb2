#!/usr/bin/env bash
# Builds the release binaries for Linux (x86_64, this machine's toolchain) and Windows (x86_64,
# scripts/windows.sh), and writes them with their SHA-256 sums to dist/:
#
#   dist/stepwise-VERSION-x86_64-linux
#   dist/stepwise-VERSION-x86_64-windows.exe
#   dist/SHA256SUMS                          (check with: cd dist && sha256sum -c SHA256SUMS)
#
# The Windows executable is linked statically and needs no DLL beyond the system's.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
mkdir -p dist

cargo build --release --locked >&2
linux=dist/stepwise-$version-x86_64-linux
cp target/release/stepwise "$linux"
strip "$linux" 2>/dev/null || true

exe=$(scripts/windows.sh build)
windows=dist/stepwise-$version-x86_64-windows.exe
cp "$exe" "$windows"
x86_64-w64-mingw32-strip "$windows" 2>/dev/null || true

(cd dist && sha256sum "$(basename "$linux")" "$(basename "$windows")" > SHA256SUMS)
cat dist/SHA256SUMS
