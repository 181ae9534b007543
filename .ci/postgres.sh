# Sourced by .ci/run (bash): start a throwaway PostgreSQL cluster for tests/runtime/test_postgres.py and
# export LEAKLINT_PG_DSN. Installs Debian's postgresql when it is missing and we are root in CI. The
# cluster lives in a temp dir on a free port and is stopped when the sourcing shell exits. Safe to source
# again: each call starts its own cluster; without PostgreSQL it only says so (the tests then skip
# locally and fail in CI).
# Local use:  source .ci/postgres.sh && leaklint_pg_start && python -m pytest tests/runtime/test_postgres.py

leaklint_pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

leaklint_pg_start() {
  local bin dir port py
  py=${PYTHON:-python3}
  bin=$(leaklint_pg_bin || true)
  if [ -z "$bin" ] && [ "$(id -u)" = 0 ] && [ "${CI:-}" = true ] && command -v apt-get >/dev/null 2>&1; then
    echo "postgresql: installing Debian's postgresql package" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(leaklint_pg_bin || true)
  fi
  if [ -z "$bin" ] && command -v pg_ctl >/dev/null 2>&1; then
    bin=$(dirname "$(command -v pg_ctl)")
  fi
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
    echo "postgresql: not installed; tests/runtime/test_postgres.py will be skipped (or fail in CI)" >&2
    return 0
  fi
  dir=$(mktemp -d)
  LEAKLINT_PG_AS=()
  if [ "$(id -u)" = 0 ]; then  # the server refuses to run as root
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$dir"
    LEAKLINT_PG_AS=(runuser -u postgres --)
  fi
  port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  ${LEAKLINT_PG_AS[@]+"${LEAKLINT_PG_AS[@]}"} "$bin/initdb" -D "$dir/data" -A trust -U leaklint >"$dir/initdb.log" 2>&1 ||
    { echo "postgresql: initdb failed (see $dir/initdb.log)" >&2; return 0; }
  ${LEAKLINT_PG_AS[@]+"${LEAKLINT_PG_AS[@]}"} "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null ||
    { echo "postgresql: the server did not start (see $dir/server.log)" >&2; return 0; }
  LEAKLINT_PG_DATA="$dir/data"
  LEAKLINT_PG_CTL="$bin/pg_ctl"
  trap leaklint_pg_stop EXIT
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U leaklint leaklint_test ||
    { echo "postgresql: createdb failed" >&2; return 0; }
  export LEAKLINT_PG_DSN="postgresql://leaklint@127.0.0.1:$port/leaklint_test"
  echo "postgresql: throwaway cluster on port $port ($LEAKLINT_PG_DSN)" >&2
}

leaklint_pg_stop() {
  if [ -n "${LEAKLINT_PG_DATA:-}" ] && [ -d "$LEAKLINT_PG_DATA" ]; then
    ${LEAKLINT_PG_AS[@]+"${LEAKLINT_PG_AS[@]}"} "$LEAKLINT_PG_CTL" -D "$LEAKLINT_PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$(dirname "$LEAKLINT_PG_DATA")"
    LEAKLINT_PG_DATA=
  fi
}
