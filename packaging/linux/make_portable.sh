#!/usr/bin/env bash
# Packs a PyInstaller app folder as the portable tarball: unpack it anywhere (a USB stick, a
# home folder) and run ./finr1-studio; no installation, no root.
#
#   packaging/linux/make_portable.sh APP_DIR VERSION OUT.tar.gz
#
# The folder holds the marker file `finr1-portable`, which puts the app in portable mode
# (app.core.installation.paths): settings, model library and history go to finr1-data/ beside it. Model files
# put in its models/ folder (or beside the executable) are offered for import on first run
# (app.core.library.model_pack). `finr1` beside the app is the command line.
set -euo pipefail
app_dir="$1"; version="$2"; out="$3"
here="$(cd "$(dirname "$0")" && pwd)"
name="fin-r1-studio-$version-linux-x86_64-portable"
# The build machine's glibc is the minimum the app needs. No pipeline: `ldd --version | head -1`
# lets ldd die of SIGPIPE, which under pipefail made this assignment (and the build) fail at random.
glibc="$(getconf GNU_LIBC_VERSION)"
glibc="${glibc#glibc }"
if [[ ! "$glibc" =~ ^[0-9]+\.[0-9]+$ ]]; then
    echo "make_portable.sh: cannot read the glibc version (getconf GNU_LIBC_VERSION gave '$glibc')" >&2
    exit 1
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
folder="$stage/$name"
cp -a "$app_dir" "$folder"
install -m 755 "$here/finr1" "$folder/finr1"
cat > "$folder/finr1-portable" <<'MARKER'
This file puts Fin-R1 Studio in portable mode: its settings, model library and chat history are
kept in the finr1-data folder beside it instead of in your home folder. Delete this file to use
the home folder instead.
MARKER
mkdir -p "$folder/models"
cat > "$folder/models/README.txt" <<'README'
Put model files here (.gguf, or a Hugging Face checkpoint folder) to carry them with the app to
a computer without network access. On its first start Fin-R1 Studio offers them for import into
its model library (finr1-data/library beside the app).
README
cat > "$folder/README.txt" <<README
Fin-R1 Studio $version, portable build for 64-bit Linux (any x86-64 CPU).

Start:            ./finr1-studio          (or double-click finr1-studio in a file manager)
Command line:     ./finr1 --help
Your data:        finr1-data/             (created on first start; delete finr1-portable to use ~/.local/share instead)
Offline models:   models/                 (offered for import on first start)
Licences:         _internal/resources/licenses/

Needs glibc $glibc or newer (the build machine's), an X11 or Wayland desktop with
OpenGL (libgl1, libegl1) and the xcb helper libraries (libxcb-icccm4, libxcb-keysyms1), which
desktop distributions install with any Qt application.
README
mkdir -p "$(dirname "$out")"
tar -C "$stage" --owner=0 --group=0 -cf - "$name" | gzip -6 > "$out"
echo "built $out"
