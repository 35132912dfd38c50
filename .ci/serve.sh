#!/usr/bin/env bash
# The run command: set-up, then the server on the embedded default (SQLite in ./data) with the national sample
# survey and a demo panel loaded. It prints the URLs, the sign-in details and one expert link.
#   PORT=5080 (default)   SURVEY=surveys/national-tf-2045.yaml (default)   DATA=./data (default)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
.ci/setup.sh
port=${PORT:-5080}
survey=${SURVEY:-surveys/national-tf-2045.yaml}
data=${DATA:-$root/data}
mkdir -p "$data"
exec dotnet run --project src/Foresight.Server -c Release -- \
    --urls "http://127.0.0.1:$port" \
    --Foresight:Database="$data/foresight.db" \
    --Foresight:SampleSurvey="$root/$survey"
