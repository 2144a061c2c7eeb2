#!/usr/bin/env bash
# Builds stepwise.exe for 64-bit Windows and sets up a Wine prefix to run it in.
#
#   scripts/windows.sh            install what is missing, build, prepare Wine; prints the path of
#                                 the wrapper that runs stepwise.exe under Wine (for
#                                 STEPWISE_WINDOWS_BIN; see tests/windows/main.rs)
#   scripts/windows.sh build      install what is missing and build; prints the path of the
#                                 release stepwise.exe (scripts/release.sh)
#
# The build uses Debian's rustc 1.96 with its own library source (rustc-web, rust-web-src) and
# rebuilds the standard library for x86_64-pc-windows-gnu (-Z build-std), linked by mingw-w64,
# statically (+crt-static), so the executable needs no DLL beyond the system's. Everything goes
# to target/windows/: the release build under x86_64-pc-windows-gnu/release/, the Wine prefix
# under prefix/, and under wine/ the executable, the test-only bcryptprimitives.dll (Wine 8 lacks
# ProcessPrng; see tests/windows/bcryptprimitives.c) and the wrapper `stepwise`.
#
# Progress and timings go to standard error; any failure stops with a non-zero status.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/target/windows
wine=/usr/lib/wine/wine64
packages=(rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64 wine64 nasm)

say() { echo "windows.sh: $*" >&2; }
now() { date +%s; }

# 1. The toolchain.
t0=$(now)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
for tool in /usr/bin/rustc /usr/bin/cargo x86_64-w64-mingw32-gcc "$wine"; do
  command -v "$tool" >/dev/null || { say "missing $tool after the install"; exit 1; }
done
t1=$(now)
say "toolchain ready in $((t1 - t0)) s"

# 2. The release build.
export CARGO_TARGET_DIR=$out
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUSTFLAGS="-C target-feature=+crt-static"
/usr/bin/cargo build --release --locked --target x86_64-pc-windows-gnu \
  -Z build-std=std,panic_abort >&2
exe=$out/x86_64-pc-windows-gnu/release/stepwise.exe
# Nothing but system DLLs: anything else (libgcc, libwinpthread) would not be on a server.
imports=$(x86_64-w64-mingw32-objdump -p "$exe" | sed -n 's/^\tDLL Name: //p' | tr 'A-Z' 'a-z' | sort -u)
for dll in $imports; do
  case $dll in
    kernel32.dll|ntdll.dll|advapi32.dll|bcryptprimitives.dll|ws2_32.dll|userenv.dll|msvcrt.dll|\
    user32.dll|api-ms-win-*|bcrypt.dll|secur32.dll|crypt32.dll|ole32.dll|oleaut32.dll|shell32.dll) ;;
    *) say "stepwise.exe needs $dll, which is not part of Windows"; exit 1 ;;
  esac
done
t2=$(now)
say "stepwise.exe built in $((t2 - t1)) s (imports: $(echo $imports))"
if [ "${1:-}" = build ]; then
  echo "$exe"
  exit 0
fi

# 3. What the Wine suite runs: the executable, the test-only DLL beside it, and the wrapper.
mkdir -p "$out/wine"
cp "$exe" "$out/wine/stepwise.exe"
dll=$out/wine/bcryptprimitives.dll
if [ ! -e "$dll" ] || [ "$root/tests/windows/bcryptprimitives.c" -nt "$dll" ]; then
  x86_64-w64-mingw32-gcc -shared -O2 -o "$dll" "$root/tests/windows/bcryptprimitives.c" -ladvapi32
fi
prefix=${STEPWISE_WINEPREFIX:-$out/prefix}
cat >"$out/wine/stepwise" <<WRAPPER
#!/bin/sh
# Runs the Windows build of stepwise under Wine (written by scripts/windows.sh).
export WINEPREFIX='$prefix' WINEDEBUG=-all
exec '$wine' '$out/wine/stepwise.exe' "\$@"
WRAPPER
chmod +x "$out/wine/stepwise"

# 4. The prefix, created on first start. The wine server is started first and kept for a minute
# after its last process, so that every test does not start it anew (one already running for this
# prefix is used as it is).
export WINEPREFIX=$prefix WINEDEBUG=-all
/usr/lib/wine/wineserver -p60 2>/dev/null || true
"$wine" cmd /c ver >/dev/null 2>&1 || true
"$out/wine/stepwise" list >/dev/null || { say "stepwise.exe does not start under Wine"; exit 1; }
t3=$(now)
say "Wine prefix ready in $((t3 - t2)) s ($prefix)"
echo "$out/wine/stepwise"
