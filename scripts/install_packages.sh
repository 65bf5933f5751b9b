#!/usr/bin/env bash
# Installs Debian packages a make target needs (promtool, chromium), or
# says in one line what to install when this user cannot.
set -euo pipefail
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
	echo "install_packages: please install the Debian package(s): $*" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "$@" >/dev/null
