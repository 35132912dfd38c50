#!/usr/bin/env bash
# Installs what Foresight needs on a Debian machine that has the .NET SDK. Quick when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK is needed (dotnet on PATH)" >&2; exit 1; }

# Debian packages: curl and jq for the README walkthrough; chromium and the CJK font for browser tests and reports;
# PostgreSQL and Redis for the store and the nodes beyond one machine (the tests start throw-away servers of both).
packages=(curl jq chromium fonts-wqy-microhei postgresql redis-server)
missing=()
# Installed means "install ok installed" (a removed package that left its configuration is still known to dpkg -s).
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Front-end packages, from the committed package-lock.json (the build also runs this when they are missing).
command -v npm >/dev/null || { echo "setup: npm is needed (Node.js) to install @microsoft/signalr" >&2; exit 1; }
if [ ! -f src/Foresight.Server/node_modules/@microsoft/signalr/package.json ]; then
    (cd src/Foresight.Server && npm ci --no-audit --no-fund --loglevel=error)
fi

dotnet restore Foresight.sln --verbosity quiet
