#!/usr/bin/env bash
# The real free-threaded interpreter ftfuzz checks its model's findings on:
# CPython 3.13.5 from Debian 13 (trixie)'s source package python3.13, built
# with --disable-gil (and --with-thread-sanitizer for --tsan), optionally with
# one of the C patches under cpython/patches/ (a variant of the model that
# exists in 3.13's C code).
#
#   tools/cpython/cpython.sh build [--tsan] [--variant=V]   build if absent; print the build dir
#   tools/cpython/cpython.sh path  [--tsan] [--variant=V]   print the build dir (exit 1 if not built)
#   tools/cpython/cpython.sh source                        fetch and unpack the pristine source; print it
#   tools/cpython/cpython.sh check-patches                 every patch applies cleanly to the source
#
# Builds live outside the clone, in
#   ${XDG_CACHE_HOME:-$HOME/.cache}/ftfuzz/cpython/<version>-<flavor>-<patchhash>/
# (shared by every clone, rebuilt when absent); the clone's build/cpython/<key>
# is a symlink to it. The source package is fetched with apt-get through a
# private apt configuration (its own sources.list, lists and caches under the
# cache dir); /etc/apt is only read, to use the same mirror host.
set -euo pipefail
shopt -s inherit_errexit   # a die() inside $(...) ends the script too

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION=3.13.5
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/ftfuzz/cpython"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"

say() { printf 'ftfuzz cpython: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

# The model variants that have a CPython 3.13 counterpart. `locked` is 3.13.5
# as it is; so is `mutant_unlocked_delete_check` (3.13.5 predates gh-146270's
# fix, which `locked` models). A variant with a file cpython/patches/<V>.patch
# is 3.13.5 with that patch (the parts of its proposal 3.13 has code for).
# Every other variant (a fix CPython does not have, a mutant) has none:
# confirming it on an unpatched interpreter would test the wrong code.
patch_for() {  # variant -> patch path, or empty for the unpatched interpreter
  case "$1" in
    ""|locked|mutant_unlocked_delete_check) echo "" ;;
    *) if [ -f "$ROOT/cpython/patches/$1.patch" ]; then echo "$ROOT/cpython/patches/$1.patch"
       else die "variant '$1' has no CPython $VERSION counterpart (real-interpreter variants: locked mutant_unlocked_delete_check $(ls "$ROOT/cpython/patches" | sed 's/\.patch$//' | xargs))"; fi ;;
  esac
}

mirror_host() {  # the Debian mirror /etc/apt uses on this machine (read only)
  local url
  url="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
         | grep -v '^\s*#' | grep -oE '(https?)://[^ ]+/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' ')"
  echo "${url:-http://deb.debian.org/debian}" | sed 's:/*$::'
}

private_apt() {  # apt-get with a private configuration under $CACHE/apt
  local a="$CACHE/apt"
  mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/sources.list.d" "$a/state"
  : >"$a/state/status"
  printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s trixie main\n' \
    "$(mirror_host)" >"$a/sources.list"
  apt-get -q \
    -o Dir::Etc::SourceList="$a/sources.list" -o Dir::Etc::SourceParts="$a/sources.list.d" \
    -o Dir::State="$a/state" -o Dir::State::Lists="$a/lists" -o Dir::State::status="$a/state/status" \
    -o Dir::Cache="$a/cache" -o APT::Sandbox::User=root -o Debug::NoLocking=1 \
    -o APT::Get::Only-Source=true "$@"
}

fetch_source() {  # -> $CACHE/src/Python-$VERSION, pristine upstream (Debian's own patches not applied)
  local src="$CACHE/src/Python-$VERSION" dl="$CACHE/src/download"
  if [ -f "$src/.ftf-unpacked" ]; then echo "$src"; return; fi
  command -v dpkg-source >/dev/null || die "dpkg-source missing (package dpkg-dev)"
  mkdir -p "$dl"
  say "fetching Debian trixie's python3.13 source package from $(mirror_host)"
  private_apt update >&2 || die "apt-get update (private trixie deb-src list) failed"
  ( cd "$dl" && private_apt source --download-only python3.13 >&2 ) || die "apt-get source python3.13 failed"
  local dsc
  dsc="$(ls "$dl"/python3.13_"$VERSION"-*.dsc 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dsc" ] || die "trixie's python3.13 is not $VERSION: $(ls "$dl"/*.dsc 2>/dev/null | xargs -n1 basename)"
  rm -rf "$src" "$src.tmp"
  # --skip-patches: the upstream 3.13.5 tree, as CPython ships it.
  dpkg-source -x --skip-patches "$dsc" "$src.tmp" >&2 || die "dpkg-source -x failed"
  touch "$src.tmp/.ftf-unpacked"
  mv "$src.tmp" "$src"
  echo "$src"
}

build_key() {  # tsan variant -> <version>-<flavor>-<patchhash>
  local tsan="$1" variant="$2" p hash=nopatch flavor=ft
  p="$(patch_for "$variant")"
  [ -n "$p" ] && hash="$(sha256sum "$p" | cut -c1-12)"
  [ "$tsan" = 1 ] && flavor=ft-tsan
  echo "$VERSION-$flavor-$hash"
}

do_build() {  # tsan variant -> build dir with ./python
  local tsan="$1" variant="$2" key dir p src
  key="$(build_key "$tsan" "$variant")"
  dir="$CACHE/$key"
  link_into_clone "$key"
  if [ -f "$dir/.ftf-built" ]; then echo "$dir/build"; return; fi
  mkdir -p "$CACHE"
  exec 9>"$CACHE/$key.lock"
  flock 9    # another clone may be building the same key
  if [ -f "$dir/.ftf-built" ]; then echo "$dir/build"; return; fi
  p="$(patch_for "$variant")"
  # The interpreter and its built-in modules only (faulthandler, _thread,
  # _weakref, _sre, ... are built in): the programs confirm and the export
  # differential test run import no extension module, and building the
  # shared ones (math, _decimal, _ssl, ...) would double the build time.
  local cc=gcc args=(--disable-gil --without-ensurepip) targets=(python pybuilddir.txt)
  if [ "$tsan" = 1 ]; then
    command -v clang-19 >/dev/null || die "clang-19 is required for the TSan build"
    cc=clang-19; args+=(--with-thread-sanitizer)
  fi
  local t0=$SECONDS
  # A configured tree (Makefile and pyconfig.h written) is kept: an
  # interrupted build resumes with make.
  local base="$CACHE/$(build_key "$tsan" "")"
  if [ -n "$p" ] && [ -f "$base/.ftf-built" ] && [ ! -f "$dir/build/Makefile" ]; then
    # A patched variant starts from the unpatched build of its flavor: the
    # copy keeps every file's time, the patch makes only the files it touches
    # newer, and make rebuilds those and relinks (seconds, not a whole build).
    say "deriving $key from $(basename "$base")"
    rm -rf "$dir"; cp -a "$base" "$dir"; rm -f "$dir/.ftf-built" "$dir/build-seconds"
    local f
    for f in Makefile Makefile.pre config.status; do
      sed "s:$base/:$dir/:g; s:$base\$:$dir:g" "$dir/build/$f" >"$dir/build/$f.tmp"
      touch -r "$dir/build/$f" "$dir/build/$f.tmp"; mv "$dir/build/$f.tmp" "$dir/build/$f"
    done
    patch -d "$dir/src" -p1 --forward --quiet <"$p" >&2 || die "patch $(basename "$p") does not apply"
  fi
  if [ ! -f "$dir/build/Makefile" ] || [ ! -f "$dir/build/pyconfig.h" ]; then
    src="$(fetch_source)"
    rm -rf "$dir"; mkdir -p "$dir"
    cp -a "$src" "$dir/src"
    if [ -n "$p" ]; then
      patch -d "$dir/src" -p1 --forward --quiet <"$p" >&2 || die "patch $(basename "$p") does not apply"
    fi
    mkdir -p "$dir/build"
    say "configuring CPython $VERSION ($key) in $dir/build; log: $dir/build.log"
    ( cd "$dir/build" && CC="$cc" nice -n 10 ../src/configure "${args[@]}" ) >"$dir/build.log" 2>&1 \
      || { tail -n 30 "$dir/build.log" >&2; die "CPython configure failed (log: $dir/build.log)"; }
    echo "$((SECONDS - t0))" >"$dir/configure-seconds"
  fi
  say "building CPython $VERSION ($key) in $dir/build; log: $dir/build.log"
  ( cd "$dir/build" && nice -n 10 make -j"$JOBS" "${targets[@]}" ) >>"$dir/build.log" 2>&1 \
    || { tail -n 30 "$dir/build.log" >&2; die "CPython build failed (log: $dir/build.log)"; }
  [ -x "$dir/build/python" ] || die "CPython build produced no ./python (log: $dir/build.log)"
  echo "$((SECONDS - t0))" >"$dir/build-seconds"   # configure (when it ran) and make
  touch "$dir/.ftf-built"
  say "built $key in $((SECONDS - t0)) s"
  echo "$dir/build"
}

link_into_clone() {
  mkdir -p "$ROOT/build/cpython"
  ln -sfn "$CACHE/$1" "$ROOT/build/cpython/$1"
}

check_patches() {
  local src p ok=0
  src="$(fetch_source)"
  for p in "$ROOT"/cpython/patches/*.patch; do
    [ -e "$p" ] || continue
    if patch -d "$src" -p1 --dry-run --forward --quiet <"$p" >/dev/null 2>&1; then
      echo "ok: $(basename "$p") applies to $VERSION"
    else
      echo "FAIL: $(basename "$p") does not apply cleanly to $VERSION"; ok=1
    fi
  done
  return $ok
}

main() {
  local cmd="${1:-}"; [ $# -gt 0 ] && shift
  local tsan=0 variant="" a
  for a in "$@"; do
    case "$a" in
      --tsan) tsan=1 ;;
      --variant=*) variant="${a#--variant=}" ;;
      *) die "unknown argument '$a'" ;;
    esac
  done
  case "$cmd" in
    build) do_build "$tsan" "$variant" ;;
    path) local d; d="$CACHE/$(build_key "$tsan" "$variant")"
          [ -f "$d/.ftf-built" ] || exit 1; echo "$d/build" ;;
    source) fetch_source ;;
    check-patches) check_patches ;;
    check-variant) patch_for "$variant" >/dev/null ;;
    *) die "usage: cpython.sh build|path|source|check-patches [--tsan] [--variant=V]" ;;
  esac
}

main "$@"
