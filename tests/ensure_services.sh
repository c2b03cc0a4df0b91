#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis the tests use are reachable; start local ones that are
# installed but stopped; otherwise say what to start.
set -u
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}

pg_up() { (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null; }
redis_up() {
  exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  local reply
  read -r -t 2 reply <&3 || return 1
  exec 3<&-
  [[ $reply == +PONG* ]]
}

wait_for() {
  for _ in $(seq 1 30); do "$1" && return 0; sleep 0.5; done
  return 1
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "Starting the local PostgreSQL..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  if ! wait_for pg_up; then
    echo "PostgreSQL is not reachable on $PG_HOST:$PG_PORT. Start one (trust auth, database 'test')," >&2
    echo "or set TEST_DATABASE_URL to one that is." >&2
    exit 1
  fi
fi

if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "Starting the local Redis..."
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no || true
  fi
  if ! wait_for redis_up; then
    echo "Redis is not reachable on $REDIS_HOST:$REDIS_PORT. Start one (redis-server), or set" >&2
    echo "TEST_REDIS_URL to one that is." >&2
    exit 1
  fi
fi
echo "PostgreSQL and Redis are reachable."
