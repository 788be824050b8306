#!/usr/bin/env bash
# A pg_auto_failover cluster on loopback for the failover test: a monitor and three nodes (node1 primary,
# node2 and node3 secondaries, synchronous replication as the default formation sets it), from the Debian
# package postgresql-15-auto-failover. pg_autoctl runs as the postgres user with HOME and XDG dirs under $W.
#   up W P0 P1 P2 P3   create and run it; prints nothing on success; the monitor's failure detection is shortened
#   kill W NODE        kill -9 a node's pg_autoctl (its process group) and its postmaster: the host is lost
#   state W P0         each node's name:reportedstate/goalstate, one line
#   down W             stop everything started here (by process group id and pid files) and remove $W
set -euo pipefail
command=$1
W=$2
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_pg() {
  (cd "$W" && runuser -u postgres -- env HOME="$W" XDG_CONFIG_HOME="$W/config" XDG_DATA_HOME="$W/data" \
    XDG_RUNTIME_DIR="$W/run" PATH="$BIN:/usr/bin:/bin" "$@")
}

# pg_autoctl run in a process group of its own (setsid), so it and its children are ended by that group's id.
run_keeper() {
  local name=$1
  # Every descriptor redirected: a caller waiting for this script's output must not wait for the cluster's end.
  cd "$W"
  setsid runuser -u postgres -- env HOME="$W" XDG_CONFIG_HOME="$W/config" XDG_DATA_HOME="$W/data" \
    XDG_RUNTIME_DIR="$W/run" PATH="$BIN:/usr/bin:/bin" pg_autoctl run --pgdata "$W/$name" \
    </dev/null >"$W/$name.log" 2>&1 &
  echo $! >"$W/$name.pid"
}

monitor_sql() {
  "$BIN/psql" -X -At -h 127.0.0.1 -p "$1" -U postgres -d pg_auto_failover -c "$2"
}

case "$command" in
up)
  P0=$3
  mkdir -p "$W/run" "$W/config" "$W/data"
  chmod 755 "$W"
  chmod 700 "$W/run"
  chown -R postgres: "$W"
  common=(--hostname 127.0.0.1 --listen 127.0.0.1 --auth trust --no-ssl --pgctl "$BIN/pg_ctl")
  as_pg pg_autoctl create monitor --pgdata "$W/monitor" --pgport "$P0" "${common[@]}" >"$W/monitor.create.log" 2>&1
  # pg_autoctl sizes shared_buffers from the machine's memory; later lines win.
  echo "shared_buffers = 16MB" >>"$W/monitor/postgresql.conf"
  run_keeper monitor
  for _ in $(seq 200); do "$BIN/pg_isready" -q -h 127.0.0.1 -p "$P0" && break; sleep 0.1; done
  # Failure detection in about a second instead of the defaults' ~50 s (see README "Failover test").
  for setting in health_check_period=500 health_check_timeout=500 health_check_max_retries=1 \
    health_check_retry_delay=200 node_considered_unhealthy_timeout=1000 primary_demote_timeout=2000; do
    monitor_sql "$P0" "ALTER SYSTEM SET pgautofailover.${setting%=*} = ${setting#*=}" >/dev/null
  done
  monitor_sql "$P0" "SELECT pg_reload_conf()" >/dev/null
  monitor="postgres://autoctl_node@127.0.0.1:$P0/pg_auto_failover?sslmode=disable"
  n=1
  for port in "${@:4}"; do
    as_pg pg_autoctl create postgres --pgdata "$W/node$n" --pgport "$port" --name "node$n" --dbname app \
      --monitor "$monitor" "${common[@]}" >"$W/node$n.create.log" 2>&1
    echo "shared_buffers = 16MB" >>"$W/node$n/postgresql.conf"
    run_keeper "node$n"
    # One node at a time: the first becomes primary, the next ones join as secondaries.
    for _ in $(seq 600); do
      state=$(monitor_sql "$P0" "SELECT reportedstate FROM pgautofailover.node WHERE nodename = 'node$n'" || true)
      case "$state" in single | primary | secondary) break ;; esac
      sleep 0.1
    done
    case "$state" in single | primary | secondary) ;; *)
      echo "node$n did not come up (state: ${state:-none}); see $W/node$n.log" >&2
      exit 1
      ;;
    esac
    n=$((n + 1))
  done
  # Settled: one primary, every other node a secondary (synchronous replication on).
  for _ in $(seq 600); do
    settled=$(monitor_sql "$P0" "SELECT count(*) FILTER (WHERE reportedstate = goalstate AND reportedstate IN ('primary', 'secondary')) = count(*) FROM pgautofailover.node")
    [ "$settled" = "t" ] && break
    sleep 0.1
  done
  [ "$settled" = "t" ] || { echo "the cluster did not settle: $(monitor_sql "$P0" "SELECT string_agg(nodename || ':' || reportedstate, ' ') FROM pgautofailover.node")" >&2; exit 1; }
  ;;
kill)
  node=$3
  group=$(cat "$W/$node.pid")
  postmaster=$(head -1 "$W/$node/postmaster.pid" 2>/dev/null || true)
  # pg_autoctl's services may leave its process group: each process of this node's data directory too.
  keepers=$(pgrep -f -- "--pgdata $W/$node\$" || true)
  kill -9 -- "-$group" $keepers 2>/dev/null || true
  [ -n "$postmaster" ] && kill -9 "$postmaster" 2>/dev/null || true
  ;;
state)
  monitor_sql "$3" "SELECT string_agg(nodename || ':' || reportedstate || '/' || goalstate, ' ' ORDER BY nodeid) FROM pgautofailover.node"
  ;;
down)
  for pidfile in "$W"/*.pid; do
    [ -f "$pidfile" ] || continue
    kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 1
  for data in "$W"/monitor "$W"/node*; do
    [ -f "$data/postmaster.pid" ] || continue
    kill -9 "$(head -1 "$data/postmaster.pid")" 2>/dev/null || true
  done
  for pidfile in "$W"/*.pid; do
    [ -f "$pidfile" ] || continue
    kill -9 -- "-$(cat "$pidfile")" 2>/dev/null || true
  done
  for pid in $(pgrep -f -- "--pgdata $W/" || true); do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$W"
  ;;
*)
  echo "usage: $0 up|kill|state|down W ..." >&2
  exit 2
  ;;
esac
