#!/bin/sh
# Developer package build, as the seed names it:
#     /usr/share/lava-server/debian-dev-build.sh lava-server
# Builds the named packages (all of them when none is named) from the git checkout in the
# current directory with `lava-dev build`, which checks the build dependencies with
# dpkg-checkbuilddeps, versions the packages from the git tag, the time and the commit, and
# prints the path of every package built, ready for `sudo dpkg -i`. Nothing is installed.
set -e

if ! command -v lava-dev >/dev/null 2>&1; then
    echo "debian-dev-build.sh: lava-dev is not installed (sudo apt-get install lava-dev)" >&2
    exit 1
fi
exec lava-dev build "$@"
