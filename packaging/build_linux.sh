#!/usr/bin/env bash
# Builds the Linux installers of Fin-R1 Studio from a clean virtual environment:
#
#   dist/fin-r1-studio_<version>_amd64.deb                       (installs under /opt)
#   dist/fin-r1-studio-<version>-linux-x86_64-portable.tar.gz    (runs from any folder)
#
#   bash packaging/build_linux.sh [--cuda]
#
# Both carry llama.cpp's CPU variants and its Vulkan back-end (any GPU with a Vulkan driver: AMD,
# Intel, NVIDIA); the Vulkan loader (libvulkan1) is not bundled but recommended by the .deb, and
# without it, or without a Vulkan driver, the app runs on the CPU. Building needs glslc and
# spirv-headers (Debian/Ubuntu packages of those names) and Vulkan headers >= 1.3.261.
# --cuda builds the CUDA variant instead (needs the CUDA toolkit): fin-r1-studio-cuda_<version>_amd64.deb
# and …-linux-x86_64-cuda-portable.tar.gz, with llama.cpp's CUDA back-end beside the CPU ones.
#
# Steps: a fresh venv in build/linux/venv; llama-cpp-python compiled for any x86-64 CPU
# (packaging/build_llama_cpp.sh: ~30 min on 2 cores the first time, then cached in
# build/llama-cpp/); the project and PyInstaller installed; PyInstaller one-folder build
# (packaging/pyinstaller/finr1_studio.spec); licence notices collected; then the .deb and the
# tarball. Needs python3 (3.10+) with venv, a C/C++ compiler, cmake, dpkg-deb, readelf; network
# access to PyPI only.
set -euo pipefail
cd "$(dirname "$0")/.."

variant=vulkan
case "${1:-}" in
    "") ;;
    --cuda) variant=cuda ;;
    *) echo "usage: $0 [--cuda]" >&2; exit 2 ;;
esac

version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' app/__init__.py)"
work=build/linux
venv="$work/venv"
app_dir="$work/pyinstaller-dist/finr1-studio"
suffix=""; [ "$variant" = cuda ] && suffix="-cuda"
deb="dist/fin-r1-studio${suffix}_${version}_amd64.deb"
tarball="dist/fin-r1-studio-$version-linux-x86_64${suffix}-portable.tar.gz"
started=$SECONDS
stage() { echo "== [$((SECONDS - started)) s] $*"; }

stage "clean virtual environment in $venv"
rm -rf "$venv" "$work/pyinstaller-dist" "$work/pyinstaller-work"
mkdir -p "$work"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip

stage "llama-cpp-python for any x86-64 CPU ($variant)"
bash packaging/build_llama_cpp.sh "$venv/bin/python" "$variant"

stage "the project and PyInstaller"
# non-editable, as a user would get it; llama-cpp-python==0.3.36 is already satisfied
"$venv/bin/python" -m pip install --quiet . "pyinstaller==6.22.*"

stage "PyInstaller one-folder build"
"$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$work/pyinstaller-dist" --workpath "$work/pyinstaller-work" \
    packaging/pyinstaller/finr1_studio.spec
# Chromium's helper processes create Qt/resources/locales at every start (mode 0700, left empty)
# when it is missing; shipped empty, the installed tree stays untouched (and /opt read-only).
mkdir -p "$app_dir/_internal/PySide6/Qt/resources/locales"

stage "licence notices"
"$venv/bin/python" packaging/collect_notices.py "$app_dir" "$app_dir/_internal/resources/licenses"

stage "Debian package"
rm -f "$deb" "$tarball"
bash packaging/linux/make_deb.sh "$app_dir" "$version" "$variant" "$deb"

stage "portable tarball"
bash packaging/linux/make_portable.sh "$app_dir" "$version" "$tarball"

stage "done"
echo "app folder: $(du -sh "$app_dir" | cut -f1) ($app_dir)"
echo "  of which Qt: $(du -sh "$app_dir/_internal/PySide6" | cut -f1), llama.cpp: $(du -sh "$app_dir/_internal/llama_cpp" | cut -f1)"
ls -l "$deb" "$tarball"
