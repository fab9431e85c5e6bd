#!/usr/bin/env bash
# PostgreSQL's own regression database, as an uncompressed custom-format archive, for
# `npm run bench -- --levels --regression FILE`: a schema-heavy database of every kind of object
# PostgreSQL has. Made by running the regression tests of Debian's source package of the machine's
# major version against a throwaway cluster of the machine's own server, then pg_dump -Fc -Z0.
#
# Prints the archive's path on stdout, progress on stderr. Kept in .tmp/regression
# (REGRESSION_DIR to choose another place): a run that finds the archive there makes nothing.
# Needs root (the server runs as the postgres user), apt-get with Debian's archive keyring, a C
# compiler, make, bison, flex and perl. About 3 minutes of CPU.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${REGRESSION_DIR:-$root/.tmp/regression}
archive=$out/regression.dump
if [ -s "$archive" ]; then
  echo "$archive"
  exit 0
fi

bindir=$(pg_config --bindir)
major=$("$bindir/postgres" --version | sed -E 's/.* ([0-9]+)\..*/\1/')
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
work=$(mktemp -d /tmp/regression-db.XXXXXX)
trap 'runuser -u postgres -- "$bindir/pg_ctl" stop -m immediate -s -D "$work/data" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# A private source list, so that the machine's own apt sources stay as they are.
mkdir -p "$work/lists/partial" "$work/src"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $codename main" \
  >"$work/sources.list"
apt=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o APT::Sandbox::User=root)
echo "regression-db: fetching Debian's postgresql-$major source package" >&2
apt-get "${apt[@]}" update -qq >&2
(cd "$work/src" && apt-get "${apt[@]}" source -qq --only-source "postgresql-$major" >&2)
tree=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name "postgresql-$major-*" | head -n 1)

echo "regression-db: building the regression tests in $tree" >&2
(cd "$tree" && ./configure -q --without-icu --without-readline >&2)
make -s -j"$(nproc)" -C "$tree/src/backend" generated-headers >&2
make -s -j"$(nproc)" -C "$tree/src/test/regress" >&2

# initdb and postgres refuse to run as root; the tests' own files must be the server's too.
chown -R postgres: "$work"
as_postgres=(runuser -u postgres --)
"${as_postgres[@]}" "$bindir/initdb" -D "$work/data" -U postgres --auth=trust --no-sync >/dev/null
port=$(( (RANDOM % 20000) + 30000 ))
"${as_postgres[@]}" "$bindir/pg_ctl" start -w -s -D "$work/data" -l "$work/postgres.log" \
  -o "-p $port -k $work -c listen_addresses= -c fsync=off" >&2
echo "regression-db: running the regression tests (their failures do not matter here)" >&2
"${as_postgres[@]}" make -s -C "$tree/src/test/regress" installcheck-parallel \
  "bindir=$bindir" "EXTRA_REGRESS_OPTS=--host=$work --port=$port" >&2 || true

mkdir -p "$out"
"$bindir/pg_dump" --format=custom --compress=0 --host="$work" --port="$port" -U postgres \
  --file="$archive.part" regression
mv "$archive.part" "$archive"
echo "$archive"
