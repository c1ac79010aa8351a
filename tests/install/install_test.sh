#!/usr/bin/env bash
# The installed package as an appliance vendor gets it: `meson install --destdir` into a
# temporary folder, then (1) only public headers are there, (2) each compiles on its own
# against the install alone (a public header that includes a private one fails here: the
# tree is not on the include path), (3) the README's embedding example and (4) apps/bridge
# build with nothing but PKG_CONFIG_PATH pointing into it, and the bridge's tests pass.
# usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
work=$(mktemp -d /tmp/vpmd-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
dest="$work/dest"

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet
pc=$(dirname "$(find "$dest" -name vpmd.pc -print -quit)")
[ -n "$pc" ] || { echo "install: no vpmd.pc installed"; exit 1; }
libdir=$(dirname "$pc")
export PKG_CONFIG_PATH="$pc"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
incdir=$(pkg-config --variable=includedir vpmd)

# (1) The installed headers are exactly the tree's public ones.
want=$(cd "$src/include" && find vpmd -type f | sort)
have=$(cd "$incdir" && find . -type f | sed 's#^\./##' | sort)
if [ "$want" != "$have" ]; then
    echo "install: installed headers differ from include/vpmd:"
    diff <(echo "$want") <(echo "$have") || true
    exit 1
fi
echo "install: $(echo "$have" | wc -l) public headers, no private one"

# (2) Each header on its own, from an empty folder, with the package's flags only.
cflags=$(pkg-config --cflags vpmd | sed 's#-I\([^ ]*\)#-isystem \1#g')
cd "$work"
fails=0
for h in $have; do
    if ! echo "#include <$h>" | c++ -std=c++20 -Wall -Wextra -Werror -fsyntax-only $cflags -x c++ - 2>"$work/err"; then
        echo "install: $h does not compile on its own:"
        head -5 "$work/err"
        fails=$((fails + 1))
    fi
done
[ "$fails" -eq 0 ] || exit 1
echo "install: every public header compiles on its own"

# (3) The README's example, compiled and linked as the README says.
sed -n '/^<!-- embedding-example -->/,/^```$/p' "$src/README.md" | sed '1,2d;$d' >"$work/example.cpp"
[ -s "$work/example.cpp" ] || { echo "install: no embedding example in README.md"; exit 1; }
c++ -std=c++20 -Wall -Wextra -Werror -o "$work/example" "$work/example.cpp" $cflags $(pkg-config --libs vpmd)
echo "install: the README example builds"

# (4) The appliance: its own meson project, dependency('vpmd') from the install.
meson setup "$work/bridge" "$src/apps/bridge" >"$work/setup.log" || { cat "$work/setup.log"; exit 1; }
ninja -C "$work/bridge" >"$work/ninja.log" || { tail -40 "$work/ninja.log"; exit 1; }
meson test -C "$work/bridge" --print-errorlogs --num-processes 1
