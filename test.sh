#!/usr/bin/env bash
# Runs every test of the project, installing what the tests need first:
# Debian's Chromium (for the browser tests) and the npm packages.
# Usage: ./test.sh            everything
#        SKIP_E2E=1 ./test.sh  everything but the browser tests
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }

step "go vet"
go vet ./...

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './frontend/node_modules/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi

step "go test -race"
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
  step "browser tests (Playwright + Debian's Chromium)"
  if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
  fi
  (cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund && npx playwright test)
fi

step "all tests passed"
