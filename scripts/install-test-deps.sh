#!/usr/bin/env bash
# Installs the Debian packages the test suite runs as real peers, when they are missing:
# restic (repository compatibility), OpenStack Swift all-in-one + memcached (Swift and its S3 API), openssl (test CAs),
# unzip (the artifact suite unpacks the deployment zips).
# chromium and a font (the console's browser suite drives /usr/bin/chromium with playwright-core; no browser download).
set -euo pipefail
need=()
command -v restic >/dev/null 2>&1 || need+=(restic)
command -v swift-proxy-server >/dev/null 2>&1 || need+=(swift swift-proxy swift-object swift-container swift-account)
command -v memcached >/dev/null 2>&1 || need+=(memcached)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v setfattr >/dev/null 2>&1 || need+=(attr)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -d /usr/share/fonts/truetype/dejavu ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
