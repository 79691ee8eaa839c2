#!/usr/bin/env bash
# Docker engine and the local base image for the image tests (see shared/docker.md).
#
# Sourced by .ci/run, so dockerd is a child of CI's own shell and is stopped by its PID at exit:
#     . .ci/docker-setup.sh && docker_setup      ...      docker_teardown
# Run directly (`bash .ci/docker-setup.sh`) for development: it leaves the engine running.
#
# NOTE: no registry is reachable from these machines, so the base image the generated Dockerfile
# names (python:3.11-slim) is made here from Debian's packages with mmdebstrap and tagged locally.
# It is built once per CI run (35-60 s) and reused by every test.
#
# NOTE: made "slim" the way Docker Hub's Debian slim images are (which python:3.11-slim builds on):
# dpkg leaves out documentation, manual pages and message translations, and apt keeps no binary
# package caches. Without this the stand-in is 191 MB against about 145 MB, and every image built
# on it, ours and MLflow's alike, carries the difference.

SHIPYARD_BASE_IMAGE="${SHIPYARD_BASE_IMAGE:-python:3.11-slim}"
DOCKERD_PID=""

_docker_log() { printf '[docker %(%H:%M:%S)T] %s\n' -1 "$*"; }

# One "deb URI SUITE COMPONENTS" line per suite of the host's deb822 apt sources, so no mirror
# host name is written anywhere.
_host_apt_lines() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/) {
          n = split(uris, u, " "); m = split(suites, s, " ")
          for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print "deb " u[i] " " s[j] " " comps
        }
        types = uris = suites = comps = ""
      }
      /^[[:space:]]*$/ { flush(); next }
      /^Types:/      { sub(/^Types:[[:space:]]*/, "");      types = $0 }
      /^URIs:/       { sub(/^URIs:[[:space:]]*/, "");       uris = $0 }
      /^Suites:/     { sub(/^Suites:[[:space:]]*/, "");     suites = $0 }
      /^Components:/ { sub(/^Components:[[:space:]]*/, ""); comps = $0 }
      END { flush() }
    ' "$f"
  done
  if [ -f /etc/apt/sources.list ]; then
    grep -E '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list | sed 's/\[[^]]*\][[:space:]]*//' || true
  fi
}

docker_install() {
  if command -v dockerd >/dev/null && command -v mmdebstrap >/dev/null; then return 0; fi
  _docker_log "apt: docker.io mmdebstrap"
  apt-get install -y -qq --no-install-recommends docker.io mmdebstrap >/dev/null
}

docker_start() {
  if docker info >/dev/null 2>&1; then _docker_log "engine already answers"; return 0; fi
  dockerd >/tmp/shipyard-dockerd.log 2>&1 &
  DOCKERD_PID=$!
  local i
  for i in $(seq 1 150); do
    if docker info >/dev/null 2>&1; then _docker_log "engine up (pid $DOCKERD_PID)"; return 0; fi
    sleep 0.2
  done
  echo "dockerd did not answer within 30 s; its log:" >&2
  tail -n 30 /tmp/shipyard-dockerd.log >&2
  return 1
}

docker_base_image() {
  if docker image inspect "$SHIPYARD_BASE_IMAGE" >/dev/null 2>&1; then
    _docker_log "base image $SHIPYARD_BASE_IMAGE already present"
    return 0
  fi
  local -a lines=()
  mapfile -t lines < <(_host_apt_lines | grep -E ' bookworm(-updates|-security)? ')
  [ "${#lines[@]}" -gt 0 ] || { echo "no bookworm apt sources found on the host" >&2; return 1; }
  _docker_log "building $SHIPYARD_BASE_IMAGE with mmdebstrap from ${#lines[@]} host apt source(s)"
  mmdebstrap --quiet --variant=minbase \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/groff/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --aptopt='Dir::Cache::pkgcache ""' --aptopt='Dir::Cache::srcpkgcache ""' \
    --include=ca-certificates,python3,python3-pip,python3-venv,python-is-python3 \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --customize-hook='mkdir -p "$1"/usr/local/share/ca-certificates && if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then cp /usr/local/share/ca-certificates/*.crt "$1"/usr/local/share/ca-certificates/; fi' \
    --customize-hook='chroot "$1" update-ca-certificates' \
    --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' \
    bookworm - "${lines[@]}" 2>/tmp/shipyard-mmdebstrap.log \
  | docker import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
      -c 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
      -c 'CMD ["python3"]' - "$SHIPYARD_BASE_IMAGE" >/dev/null \
  || { echo "base image build failed; mmdebstrap log:" >&2; tail -n 30 /tmp/shipyard-mmdebstrap.log >&2; return 1; }
  _docker_log "base image $SHIPYARD_BASE_IMAGE built"
}

docker_setup() {
  docker_install && docker_start && docker_base_image
}

docker_teardown() {
  if [ -n "$DOCKERD_PID" ]; then
    kill "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
    DOCKERD_PID=""
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  docker_setup
fi
