#!/bin/sh
# Developer package build, as the seed names it:
#     /usr/share/lava-server/debian-dev-build.sh lava-server
# Builds the named packages (all of them when none is named) from the git checkout in the
# current directory with `lava-dev build`, which checks the build dependencies with
# dpkg-checkbuilddeps (and stops with the list of what is missing), versions the packages
# from the git tag, the time and the commit, and prints the path of every package built,
# ready for `sudo dpkg -i`. As the seed says, "the packages will be built in a temporary
# directory": a fresh one from mktemp -d unless --output DIR is given (cargo's build
# directory stays in target/lava-dev of the checkout, so rebuilds are fast). Nothing is
# installed; a built package that would replace an installed one with an older version,
# or one that conflicts with an installed package, is reported.
set -e

prog=debian-dev-build.sh
if ! command -v lava-dev >/dev/null 2>&1; then
    echo "$prog: lava-dev is not installed (sudo apt-get install lava-dev)" >&2
    exit 1
fi

output=
for arg in "$@"; do
    case $arg in
        -o|--output|--output=*|-o*) output=given ;;
        -h|--help|-V|--version) exec lava-dev build "$@" ;;
    esac
done
if [ -z "$output" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/lava-dev-build.XXXXXX")
    echo "$prog: building in $dir" >&2
    set -- --output "$dir" "$@"
fi

list=$(mktemp "${TMPDIR:-/tmp}/lava-dev-build.list.XXXXXX")
trap 'rm -f "$list"' EXIT
lava-dev build "$@" >"$list"

# What installing them would do to the installed packages: said, never done.
while IFS= read -r deb; do
    [ -n "$deb" ] || continue
    echo "$deb"
    name=$(dpkg-deb -f "$deb" Package)
    version=$(dpkg-deb -f "$deb" Version)
    installed=$(dpkg-query -W -f '${db:Status-Abbrev} ${Version}' "$name" 2>/dev/null || true)
    case $installed in
        "ii "*)
            have=${installed#ii  }
            have=${have# }
            if dpkg --compare-versions "$version" lt "$have"; then
                echo "$prog: note: $name $have is installed, newer than the $version built: dpkg -i would downgrade it" >&2
            fi
            ;;
    esac
    relations="$(dpkg-deb -f "$deb" Conflicts),$(dpkg-deb -f "$deb" Breaks)"
    for other in $(echo "$relations" | tr ',|' '\n\n' | sed 's/(.*//; s/:.*//' | tr -d ' ' | sort -u); do
        if dpkg-query -W -f '${db:Status-Abbrev}' "$other" 2>/dev/null | grep -q '^ii'; then
            echo "$prog: note: $name conflicts with the installed package $other: dpkg -i would fail (remove $other first)" >&2
        fi
    done
done <"$list"
