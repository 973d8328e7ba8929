#!/usr/bin/env bash
# Makes a Docker engine answer on this machine (the Docker sandbox's tests need one): installs Debian's docker.io
# and debootstrap (the base image's root filesystem) when missing, and starts dockerd when nothing answers.
# Idempotent; needs root for the install and the daemon.
set -euo pipefail
log=/var/log/ssr-dockerd.log
if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  echo "dockerd.sh: installing docker.io and debootstrap (apt-get)" >&2
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
fi
if docker info >/dev/null 2>&1; then exit 0; fi
echo "dockerd.sh: starting dockerd (log: $log)" >&2
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
echo "dockerd.sh: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2
exit 1
