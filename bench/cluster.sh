#!/usr/bin/env bash
# Measures Tandem over several processes: a throwaway PostgreSQL cluster and
# nats-server on loopback, N tandem processes on one database, and
# cmd/tandem-load spreading its editors over them. Everything it starts is
# stopped by PID at the end; nothing listens beyond 127.0.0.1.
#
# Usage: bench/cluster.sh PROCESSES [tandem-load flags...]
#   bench/cluster.sh 3 -docs 1 -editors 10 -rate 100 -duration 10s
# With NGINX=1 the editors go through one nginx in front of the processes,
# configured by deploy/nginx-scaling.conf (round robin, no sticky sessions)
# with its upstreams pointed at the processes' loopback ports.
# Needs Debian's postgresql and nats-server (./test.sh installs them), and
# nginx for NGINX=1.
set -euo pipefail
n=${1:?usage: bench/cluster.sh PROCESSES [tandem-load flags...]}; shift
cd "$(dirname "$0")/.."
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/tandem" . && go build -o "$work/tandem-load" ./cmd/tandem-load
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# PostgreSQL, as an unprivileged user when run as root (it refuses root).
pg=$(port); mkdir -p "$work/pg"
as=(); if [ "$(id -u)" = 0 ]; then chown nobody "$work" "$work/pg"; chmod 755 "$work"; as=(runuser -u nobody --); fi
"${as[@]}" "$bin/initdb" -D "$work/pg" -U tandem -A trust >/dev/null
"${as[@]}" "$bin/postgres" -D "$work/pg" -k "$work/pg" -h 127.0.0.1 -p "$pg" -c fsync=on >"$work/pg.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do "$bin/pg_isready" -h 127.0.0.1 -p "$pg" -q && break; sleep 0.1; done
store="postgres://tandem@127.0.0.1:$pg/postgres?sslmode=disable"

nats=$(port)
nats-server -a 127.0.0.1 -p "$nats" >"$work/nats.log" 2>&1 &
pids+=($!)

urls=()
for i in $(seq "$n"); do
  p=$(port)
  "$work/tandem" -addr "127.0.0.1:$p" -store "$store" -nats "nats://127.0.0.1:$nats" -log-level error \
    -rate -1 -max-sockets-per-ip -1 -create-per-minute -1 -http-rate -1 >"$work/tandem-$i.log" 2>&1 &
  pids+=($!)
  urls+=("http://127.0.0.1:$p")
done
for u in "${urls[@]}"; do
  for _ in $(seq 100); do curl -fs "$u/healthz" >/dev/null && break; sleep 0.1; done
done
list=$(IFS=,; echo "${urls[*]}")
if [ "${NGINX:-}" = 1 ]; then
  # deploy/nginx-scaling.conf, its upstreams and port moved to loopback.
  front=$(port); mkdir -p "$work/nginx"; chmod 755 "$work/nginx"
  site=$(sed -e "s/listen 80;/listen 127.0.0.1:$front;/" deploy/nginx-scaling.conf)
  for i in $(seq "$n"); do site=$(sed -e "s#tandem$i:8080#${urls[$((i-1))]#http://}#" <<<"$site"); done
  cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
$site
}
CONF
  if grep -q "tandem[0-9]:8080" "$work/nginx/nginx.conf"; then
    echo "deploy/nginx-scaling.conf names more upstreams than the $n process(es) started" >&2; exit 1
  fi
  nginx -t -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>&1 | grep -v "^nginx: the configuration file" >&2 || true
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
  pids+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$front/healthz" >/dev/null && break; sleep 0.1; done
  list="http://127.0.0.1:$front"
fi
echo "== $n process(es): $list"
"$work/tandem-load" -url "$list" "$@"
