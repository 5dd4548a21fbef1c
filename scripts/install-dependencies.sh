#!/usr/bin/env bash
# Installs the system packages SwiftAMIO builds and tests against, on Debian or
# Ubuntu. Does nothing when they are all present. Needs root (or sudo).
set -euo pipefail

# libsoxr (the SoX Resampler) converts sample rates; libsoxr0 is its runtime
# library, named so a machine that only runs the tools keeps it. sox and its MP3 handler and opusenc make the independent test files; procps
# gives the tests pgrep and the hang diagnosis ps. pipewire, pipewire-bin and
# pipewire-jack let the JACK suites run a second time on PipeWire's JACK
# (test.sh) and `demo.sh --pipewire` run: the daemon, pw-metadata and
# PipeWire's libjack, about 10 MB in 13 packages on Debian 12. Without
# recommends that is all: no session manager (wireplumber), no rtkit, no
# D-Bus session; scripts/pipewire-headless.conf needs none of them. gdb
# prints the stacks of a program a test gave up waiting for, and of a hung
# test run (scripts/diagnose-hang.sh).
packages=(libjack-jackd2-dev jackd2 libsndfile1-dev libsoxr-dev libsoxr0 sox libsox-fmt-mp3 opus-tools pkg-config procps
          pipewire pipewire-bin pipewire-jack gdb)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-dependencies: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
echo "install-dependencies: installing ${missing[*]}" >&2
$sudo apt-get update -qq
# jackd2 asks about realtime priority; the default answer is fine here.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
