#!/usr/bin/env bash
# Build the Descent Lab production image with buildah (no Docker engine needed) and, with --verify,
# run it once: the health endpoint must answer "ok", static/plotly.min.js must be served, and (with .venv
# and /usr/bin/chromium present) the browser smoke test must pass against the container.
#
#   deploy/build-image.sh [--verify] [--tag NAME]
#
# Needs root and Debian's buildah (installed here with apt-get if missing). Images live in buildah's
# local store (vfs driver). When python:3.12-slim can neither be found locally nor pulled (no registry
# reachable, as on the project's machines), a stand-in base is made once with debootstrap (Debian
# bookworm, Python 3.11) and tagged docker.io/library/python:3.12-slim; see /work/shared/notes or
# deploy/README.md. Not part of `make test`: the first run takes several minutes.
set -euo pipefail

cd "$(dirname "$0")/.."
TAG="descent-lab:latest"
VERIFY=0
PORT="${PORT:-8501}"
BASE="docker.io/library/python:3.12-slim"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --verify) VERIFY=1 ;;
    --tag) TAG="$2"; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

B=(buildah --storage-driver vfs)
export DEBIAN_FRONTEND=noninteractive
t0=$SECONDS
log() { printf '[build-image %4ss] %s\n' "$((SECONDS - t0))" "$*"; }

need_pkgs=()
command -v buildah >/dev/null || need_pkgs+=(buildah)
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
command -v curl >/dev/null || need_pkgs+=(curl)
if ((${#need_pkgs[@]})); then
  log "installing ${need_pkgs[*]} with apt-get"
  apt-get update -q && apt-get install -y -q --no-install-recommends "${need_pkgs[@]}"
fi

make_stand_in_base() {
  local work rootfs ctr
  work="$(mktemp -d)"
  rootfs="$work/rootfs"
  log "making stand-in base with debootstrap in $rootfs (a few minutes)"
  debootstrap --variant=minbase \
    --include=python3,python3-venv,python3-pip,curl,ca-certificates,passwd \
    bookworm "$rootfs" http://deb.debian.org/debian
  rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
  ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
  ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
  # pip inside must trust the same CA bundle as the host, or it finds no packages here.
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$rootfs/etc/pip.conf"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$work/rootfs.tar" .
  ctr="$("${B[@]}" from scratch)"
  "${B[@]}" add "$ctr" "$work/rootfs.tar" /
  "${B[@]}" config \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 --cmd python3 "$ctr"
  "${B[@]}" commit --format docker "$ctr" "$BASE"
  "${B[@]}" rm "$ctr" >/dev/null
  rm -rf "$work"
  log "stand-in base ready: $BASE (Python 3.11, not 3.12)"
}

if "${B[@]}" inspect --type image "$BASE" >/dev/null 2>&1; then
  log "base image present: $BASE"
elif timeout 60 "${B[@]}" pull "$BASE" >/dev/null 2>&1; then
  log "pulled $BASE"
else
  make_stand_in_base
fi

log "building $TAG"
tb=$SECONDS
# No --layers: with the vfs driver every cached layer is a full copy of the tree, which made rebuilds
# slower (about 220 s) than re-running the pip install (about 60 s) on a 2-core machine.
"${B[@]}" bud --format docker --isolation chroot --pull=never -t "$TAG" .
log "built $TAG in $((SECONDS - tb)) s"
# Earlier builds of the tag are now dangling; with vfs each costs ~0.8 GB of disk.
"${B[@]}" rmi --prune >/dev/null 2>&1 || true
"${B[@]}" images --format '{{.Name}}:{{.Tag}}  {{.Size}}' | grep -E "descent-lab|python" || true

((VERIFY)) || exit 0

# One-off check: start the image's own CMD as its own USER and poll the health endpoint.
# The container shares the host network, so the port must be free here.
if curl -fsS "http://127.0.0.1:$PORT/_stcore/health" >/dev/null 2>&1; then
  echo "port $PORT is already in use; set PORT=... (not supported by the image's CMD) or stop that server" >&2
  exit 1
fi
ctr="$("${B[@]}" from --pull=never "$TAG")"
user="$("${B[@]}" inspect --format '{{.OCIv1.Config.User}}' "$ctr")"
mapfile -t cmd < <("${B[@]}" inspect --format '{{range .OCIv1.Config.Cmd}}{{println .}}{{end}}' "$ctr" | sed '/^$/d')
log "running container $ctr as user '$user': ${cmd[*]}"
tr=$SECONDS
"${B[@]}" run --isolation chroot --user "$user" "$ctr" -- "${cmd[@]}" > /tmp/descent-lab-verify.log 2>&1 &
runpid=$!
cleanup() {
  kill "$runpid" 2>/dev/null || true
  wait "$runpid" 2>/dev/null || true
  # buildah run's child may outlive it; end the streamlit it started (found by its port, not by name).
  local pids
  pids="$(ss -ltnpH "sport = :$PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u || true)"
  [[ -n "$pids" ]] && kill $pids 2>/dev/null || true
  "${B[@]}" rm "$ctr" >/dev/null 2>&1 || true
}
trap cleanup EXIT
ok=0
for _ in $(seq 1 90); do
  if [[ "$(curl -fsS "http://127.0.0.1:$PORT/_stcore/health" 2>/dev/null)" == ok ]]; then ok=1; break; fi
  if ! kill -0 "$runpid" 2>/dev/null; then break; fi
  sleep 1
done
if ((ok)); then
  log "health endpoint answered ok after $((SECONDS - tr)) s"
  for js in plotly.min.js plotly-cartesian.min.js plotly-gl3d.min.js; do
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/app/static/$js")"
    log "GET /app/static/$js -> HTTP $code"
    [[ "$code" == 200 ]] || { echo "static $js not served" >&2; exit 1; }
  done
  # A real visit (script run over the WebSocket) when the dev tools are at hand.
  if [[ -x .venv/bin/python && -x /usr/bin/chromium ]]; then
    log "browser smoke test against the container"
    DESCENT_LAB_URL="http://127.0.0.1:$PORT" .venv/bin/python -m pytest -q -p no:cacheprovider \
      tests/test_browser_smoke.py
  fi
  log "verified"
else
  echo "container did not become healthy; its output:" >&2
  cat /tmp/descent-lab-verify.log >&2
  exit 1
fi
