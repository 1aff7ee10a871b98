#!/bin/sh
# Lighthouse (npm `lighthouse` 12.2.x, Debian's Chromium, mobile profile) on the portal's citizen pages:
# home, filing form, confirmation (after a real filing) and tracking page. Prints a Markdown table
# (the one recorded in bench/lighthouse.md) and keeps the JSON reports in $OUT.
#
#   LIGHTHOUSE=/work/wt/lh/node_modules/.bin/lighthouse sh bench/lighthouse.sh
#
# Lighthouse is not a dependency of aduan: install it outside the repository
# (`mkdir lh && cd lh && npm install lighthouse@12.2`) and point LIGHTHOUSE at it.
# The server runs on a throw-away SQLite instance with the demo data, on PORT (default 5600).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIGHTHOUSE=${LIGHTHOUSE:-lighthouse}
PORT=${PORT:-5600}
OUT=${OUT:-$(mktemp -d)}
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
INSTANCE=$(mktemp -d)
export ADUAN_INSTANCE_PATH="$INSTANCE" ADUAN_DEVELOPMENT=1 ADUAN_PLUGINS=portal,sms,email,telegram,whatsapp
export ADUAN_BASE_URL="http://127.0.0.1:$PORT" ADUAN_SMS_PUBLIC_NUMBER="0811 3900 100"
export ADUAN_EMAIL_FROM_ADDRESS=lapor@ntbprov.example ADUAN_TELEGRAM_BOT_USERNAME=NTBCareBot
export ADUAN_RATE_LIMIT_FILE=1000/hour ADUAN_LOG_LEVEL=WARNING ADUAN_ACCESS_LOG=0
BIN="$ROOT/.venv/bin"
"$BIN/aduan" demo --if-empty >/dev/null
"$BIN/aduan" serve --host 127.0.0.1 --port "$PORT" >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$INSTANCE"' EXIT INT TERM
URL="http://127.0.0.1:$PORT"
i=0
until curl -sf "$URL/health" >/dev/null; do i=$((i+1)); [ $i -lt 100 ] || { cat "$OUT/server.log"; exit 1; }; sleep 0.2; done

# a real filing: the confirmation page is shown once, to the session that filed
JAR="$OUT/cookies.txt"
TOKEN=$(curl -s -c "$JAR" -b "$JAR" "$URL/portal/file" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -s -c "$JAR" -b "$JAR" -o /dev/null -F csrf_token="$TOKEN" -F submit=1 \
  -F body="Jalan di depan Pasar Cakranegara berlubang besar." "$URL/portal/file"
COOKIE=$(awk '$6 == "aduan_portal" {print $6 "=" $7}' "$JAR")
TID=$(curl -s "$URL/api/v1/complaints?limit=1" | sed -n 's/.*"tracking_id": *"\([A-Z0-9]*\)".*/\1/p' | head -1)
[ -n "$TID" ] || TID=$(curl -s -X POST "$URL/api/v1/complaints" -H 'Content-Type: application/json' \
  -d '{"body":"Lampu jalan mati"}' | sed -n 's/.*"tracking_id": *"\([A-Z0-9]*\)".*/\1/p')

run() {  # name url [extra-headers-json]
  set -- "$1" "$2" "${3:-}"
  if [ -n "$3" ]; then
    "$LIGHTHOUSE" "$2" --quiet --output=json --output-path="$OUT/$1.json" --form-factor=mobile \
      --only-categories=performance,accessibility,best-practices --chrome-flags="--headless=new --no-sandbox" \
      --extra-headers="$3"
  else
    "$LIGHTHOUSE" "$2" --quiet --output=json --output-path="$OUT/$1.json" --form-factor=mobile \
      --only-categories=performance,accessibility,best-practices --chrome-flags="--headless=new --no-sandbox"
  fi
}
run home "$URL/portal/"
run file "$URL/portal/file"
run confirmation "$URL/portal/file/done" "{\"Cookie\": \"$COOKIE\"}"
run track "$URL/portal/track/$TID"

VERSION=$("$LIGHTHOUSE" --version)
echo "Lighthouse $VERSION, $("$CHROME_PATH" --version 2>/dev/null), mobile profile (simulated throttling), $(date -u +%Y-%m-%d)"
echo
echo "| page | performance | accessibility | best practices | transferred (KB) |"
echo "|---|---|---|---|---|"
for name in home file confirmation track; do
  "$BIN/python" - "$OUT/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["categories"]
kb = r["audits"]["total-byte-weight"]["numericValue"] / 1024
print(f"| {sys.argv[2]} | {round(c['performance']['score'] * 100)} | {round(c['accessibility']['score'] * 100)} "
      f"| {round(c['best-practices']['score'] * 100)} | {kb:.1f} |")
PY
done
