#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis the tests use are running on 127.0.0.1,
# starting them, or installing them from Debian's packages, when they are not.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

install_packages() {
  echo "services: installing $*" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

if ! pg_up; then
  command -v pg_ctlcluster >/dev/null || install_packages postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  conf=/etc/postgresql/$version/main
  # Trust auth on loopback, as on the development and CI machines.
  if ! grep -q "showreel-tests" "$conf/pg_hba.conf" 2>/dev/null; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust # showreel-tests' "$conf/pg_hba.conf"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "services: PostgreSQL did not start" >&2; exit 1; }
fi

if ! redis_up; then
  command -v redis-server >/dev/null || install_packages redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
  redis_up || { echo "services: Redis did not start" >&2; exit 1; }
fi
echo "services: PostgreSQL and Redis are up on 127.0.0.1" >&2

# anvil (a real JSON-RPC chain node) for the payment tests, from the npm registry into .devchain/.
ANVIL_VERSION=1.7.1
root=$(cd "$(dirname "$0")/.." && pwd)
if ! ls "$root"/.devchain/node_modules/@foundry-rs/anvil-*/bin/anvil >/dev/null 2>&1; then
  command -v npm >/dev/null || install_packages nodejs npm
  mkdir -p "$root/.devchain"
  (cd "$root/.devchain" && npm i --no-save --no-audit --no-fund --loglevel=error "@foundry-rs/anvil@$ANVIL_VERSION" >&2)
fi
echo "services: anvil $ANVIL_VERSION is in .devchain/" >&2

# Chromium for the browser tests (tests/browser/): Debian's package; Playwright cannot download one here.
if [ ! -x /usr/bin/chromium ]; then
  install_packages chromium
fi
echo "services: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)" >&2
