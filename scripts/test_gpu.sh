#!/usr/bin/env bash
# Runs the GPU tests (pytest -m gpu) on the Vulkan back-end, on Mesa's lavapipe (a Vulkan device
# on the CPU, a real driver) unless VK_ICD_FILENAMES already names another driver.
#
#   scripts/test_gpu.sh [pytest args…]
#
# Installs the Debian packages the Vulkan build and run need (libvulkan-dev glslc spirv-headers
# mesa-vulkan-drivers; root or sudo), makes .venv-gpu/ once and installs llama-cpp-python built
# with the Vulkan back-end beside the CPU variants (packaging/build_llama_cpp.sh vulkan: ~25 min
# on 2 cores the first time, then the wheel and modules cached under build/llama-cpp/ are reused).
# .venv-gpu/ holds only that llama-cpp-python; the project's other packages come from .venv
# (made by scripts/test.sh), added behind it on sys.path, so the two differ only in llama.cpp.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libvulkan-dev glslc spirv-headers mesa-vulkan-drivers)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" > /dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    sudo_cmd=()
    [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
    echo ".venv is missing: run scripts/test.sh once first (it makes the project's environment)" >&2
    exit 1
fi
if [ ! -x .venv-gpu/bin/python ]; then
    base_python=$(.venv/bin/python -c 'import sys; print(sys._base_executable)')
    "$base_python" -m venv .venv-gpu
    base_site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    gpu_site=$(.venv-gpu/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    # addsitedir (not a plain path line) so .venv's own .pth files (the editable project) apply
    echo "import site; site.addsitedir('$base_site')" > "$gpu_site/zz_finr1_base_venv.pth"
fi
if ! .venv-gpu/bin/python -c 'import llama_cpp, pathlib, sys; sys.exit(not list((pathlib.Path(llama_cpp.__file__).parent / "lib").glob("libggml-vulkan*")))' 2> /dev/null; then
    nice -n 10 bash packaging/build_llama_cpp.sh .venv-gpu/bin/python vulkan
fi

if [ -z "${VK_ICD_FILENAMES:-}" ]; then
    # lavapipe is a Vulkan device of CPU type: ggml-vulkan lists it only when named
    export VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json
    export GGML_VK_VISIBLE_DEVICES="${GGML_VK_VISIBLE_DEVICES:-0}"
fi
QT_QPA_PLATFORM=offscreen exec .venv-gpu/bin/python -m pytest -m gpu -p no:cacheprovider \
    tests/core/hardware/test_gpu_vulkan.py tests/core/hardware/test_backend_devices.py "$@"
