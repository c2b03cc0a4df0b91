#!/usr/bin/env bash
# Browser tests drive Debian's Chromium; install it when missing.
set -eu
if command -v chromium >/dev/null 2>&1; then exit 0; fi
echo "Installing Debian's chromium for the browser tests..."
if [ "$(id -u)" = 0 ]; then
  apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get install -y chromium || { sudo apt-get update && sudo apt-get install -y chromium; }
else
  echo "chromium is missing and this user cannot install it: run 'apt-get install -y chromium' as root." >&2
  exit 1
fi
