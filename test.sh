#!/usr/bin/env bash
# Runs every test of the project, installing what the tests need first:
# Debian's PostgreSQL (for the store's tests) and nats-server (for the
# cluster tests), Chromium, nginx and openssl
# (for the browser tests), the Noto CJK and colour emoji fonts (so that
# screenshots show every script) and the npm packages.
# Usage: ./test.sh            everything
#        SKIP_E2E=1 ./test.sh  everything but the browser tests
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }

# apt_install installs Debian packages, as root or with sudo. No service is
# started meanwhile (nginx's package would start one on port 80): a
# policy-rc.d that says no is put in place for the install, unless the
# system has one already. The tests start their own nginx.
apt_install() {
  local sudo="" policy=/usr/sbin/policy-rc.d made_policy="" rc=0
  [ "$(id -u)" = 0 ] || sudo=sudo
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# test.sh: no service starts while it installs packages\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 0755 "$policy"
    made_policy=1
  fi
  { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; } || rc=$?
  if [ -n "$made_policy" ]; then $sudo rm -f "$policy"; fi
  return "$rc"
}

step "go vet"
go vet ./...

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './frontend/node_modules/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi

step "go test -race (with a throwaway PostgreSQL and nats-server, installed if missing)"
# internal/pgtest runs Debian's postgres binaries and internal/natstest
# Debian's nats-server; the PostgreSQL and cluster tests must run here, not
# skip.
missing=()
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing with apt-get: ${missing[*]}"
  apt_install "${missing[@]}"
fi
export TANDEM_REQUIRE_POSTGRES=1 TANDEM_REQUIRE_NATS=1
go test -race -count=1 ./...

step "fuzz (bounded)"
for target in $(go test -list '^Fuzz' ./ot/ | grep '^Fuzz'); do
  go test -run '^$' -fuzz "^${target}\$" -fuzztime 10s ./ot/
done

if [ -d frontend ]; then
  step "frontend: npm ci, unit tests, bundle matches sources"
  (cd frontend && npm ci --no-audit --no-fund && npm test && npm run build)
  if ! git diff --quiet -- frontend/dist; then
    echo "frontend/dist differs from a fresh build of frontend/src: run 'cd frontend && npm run build' and commit"
    git --no-pager diff --stat -- frontend/dist
    exit 1
  fi
fi

if [ -d e2e ] && [ -z "${SKIP_E2E:-}" ]; then
  step "browser tests (Playwright + Debian's Chromium; nginx and openssl for the TLS test; Noto fonts)"
  missing=()
  [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
  [ -x "${NGINX_PATH:-/usr/sbin/nginx}" ] || missing+=(nginx)
  command -v openssl >/dev/null || missing+=(openssl)
  # Fonts for every script in the screenshots (Chinese, Japanese, emoji).
  for font in fonts-noto-cjk fonts-noto-color-emoji; do
    dpkg-query -W -f='${Status}' "$font" 2>/dev/null | grep -q 'install ok installed' || missing+=("$font")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing with apt-get: ${missing[*]}"
    apt_install "${missing[@]}"
  fi
  (cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund && npx playwright test)
fi

step "all tests passed"
