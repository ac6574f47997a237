# Sourced by .ci/run (and usable by hand): start a private PostgreSQL server on
# 127.0.0.1 and export POSTLOAN_TEST_PG_URL pointing at an empty database.
PG_VERSION=$(ls /usr/lib/postgresql | sort -V | tail -1)
PG_BIN=/usr/lib/postgresql/$PG_VERSION/bin
PG_PORT=${PG_PORT:-55432}
PG_DIR=${PG_DIR:-/tmp/postloan-pg-$PG_PORT}
if ! su postgres -c "$PG_BIN/pg_ctl -D $PG_DIR status" >/dev/null 2>&1; then
  rm -rf "$PG_DIR"
  mkdir -p "$PG_DIR"
  chown postgres "$PG_DIR"
  su postgres -c "$PG_BIN/initdb -D $PG_DIR -U postgres -A trust -E UTF8 --locale=C.UTF-8" >/dev/null
  su postgres -c "$PG_BIN/pg_ctl -D $PG_DIR -o '-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off' -l $PG_DIR/server.log -w start" >/dev/null
fi
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='postloan_test'" | grep -q 1 \
  || psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE postloan_test" >/dev/null
POSTLOAN_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postloan_test"
echo "PostgreSQL $PG_VERSION on 127.0.0.1:$PG_PORT ($POSTLOAN_TEST_PG_URL)"
