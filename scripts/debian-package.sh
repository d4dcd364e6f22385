#!/usr/bin/env bash
# Install from Debian's packages each named tool that is absent; COMMAND:PACKAGE where the package
# is not named as its command:
#
#   scripts/debian-package.sh haproxy wrk protoc:protobuf-compiler
#
# Needs root (or sudo) only when something is missing. Output goes to stderr.
set -euo pipefail

missing=()
for spec in "$@"; do
  name="${spec%%:*}"
  package="${spec#*:}"
  command -v "$name" >/dev/null 2>&1 || [ -x "/usr/sbin/$name" ] || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

printf 'debian-package.sh: installing %s from Debian'"'"'s packages\n' "${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "debian-package.sh: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
install() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2; }
install || { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && install; }
