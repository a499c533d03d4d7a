#!/usr/bin/env bash
# Builds llama-cpp-python for redistribution and installs it into a virtual environment.
#
#   packaging/build_llama_cpp.sh VENV_PYTHON [cpu|cuda|vulkan|metal]
#
# cpu  (default): GGML_NATIVE=OFF, every CPU backend variant as a loadable module
#      (libggml-cpu-x64.so … libggml-cpu-sapphirerapids.so); ggml scores them at start-up and
#      loads the best one this CPU can run, so the app runs on any x86-64 CPU without an
#      illegal instruction and still uses AVX2/AVX-512 where the CPU has it.
# cuda: the same CPU variants plus libggml-cuda.so (-DGGML_CUDA=on; needs the CUDA toolkit's nvcc).
#      Without an NVIDIA driver at run time ggml skips the CUDA module and runs on the CPU.
# vulkan: the same CPU variants plus libggml-vulkan.so (-DGGML_VULKAN=on; needs glslc and
#      spirv-headers at build time). Without a Vulkan loader or driver at run time ggml skips the
#      module and runs on the best CPU variant. ggml-vulkan 0.3.36 needs Vulkan headers >= 1.3.261
#      (vk::LayerSettingEXT); where the system's are older (Debian 12: 1.3.239) Debian 13's
#      libvulkan-dev headers are downloaded and unpacked under build/vulkan-headers (never
#      installed system-wide); the system's Vulkan loader runs the result.
# metal (macOS on Apple silicon): GGML_NATIVE=OFF with the Metal back-end, one CPU build (every
#      Apple-silicon Mac runs the compiler's apple-m1 baseline), no modules.
#
# llama-cpp-python's own install rules only copy fixed target names (ggml-cpu, ggml-cuda…), so
# the per-variant modules are taken from the CMake build folder and copied next to libllama.so.
# The result (wheel + modules) is cached under build/llama-cpp/<variant>-<hash of the flags>/ so
# a second build skips the ~30 min compile; FINR1_REBUILD_LLAMA=1 forces a fresh one.
set -euo pipefail
cd "$(dirname "$0")/.."

venv_python="$1"
variant="${2:-cpu}"
llama_version="0.3.36"

# Downloads Debian 13's libvulkan-dev through a private apt configuration (a trixie sources list
# and package lists under $1/apt, nothing of the system's apt state touched) and unpacks its
# headers into $1.
fetch_trixie_vulkan_headers() {
    local dest="$1" apt_dir="$1/apt"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives" "$apt_dir/sources.list.d"
    echo "deb http://deb.debian.org/debian trixie main" > "$apt_dir/sources.list"
    local opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=$apt_dir/sources.list.d"
                -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives")
    apt-get "${opts[@]}" update -q
    (cd "$apt_dir" && apt-get "${opts[@]}" download libvulkan-dev/trixie)
    dpkg -x "$apt_dir"/libvulkan-dev_*.deb "$dest"
}

cmake_args="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DLLAVA_BUILD=OFF"
case "$variant" in
    cpu) ;;
    cuda) cmake_args="$cmake_args -DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES:-61;70;75;80;86;89;90}" ;;
    vulkan)
        cmake_args="$cmake_args -DGGML_VULKAN=on"
        if ! grep -qs LayerSettingEXT /usr/include/vulkan/vulkan_structs.hpp; then
            headers="$PWD/build/vulkan-headers"
            if [ ! -f "$headers/usr/include/vulkan/vulkan_structs.hpp" ]; then
                fetch_trixie_vulkan_headers "$headers"
            fi
            # -isystem (joined, no space: CMAKE_ARGS is split on spaces) puts these headers ahead
            # of /usr/include for the C++ sources that include <vulkan/vulkan.hpp>
            cmake_args="$cmake_args -DVulkan_INCLUDE_DIR=$headers/usr/include -DCMAKE_PREFIX_PATH=$headers/usr -DCMAKE_CXX_FLAGS=-isystem$headers/usr/include"
        fi
        ;;
    metal) cmake_args="-DGGML_NATIVE=OFF -DGGML_METAL=on -DLLAVA_BUILD=OFF" ;;
    *) echo "unknown llama.cpp variant '$variant' (cpu, cuda, vulkan or metal)" >&2; exit 2 ;;
esac

flags_hash=$(echo "$llama_version $cmake_args $(uname -m)" | sha256sum | cut -c1-12)
cache="build/llama-cpp/$variant-$flags_hash"

if [ "${FINR1_REBUILD_LLAMA:-0}" = 1 ] || [ ! -f "$cache/complete" ]; then
    rm -rf "$cache"
    mkdir -p "$cache/wheel" "$cache/backends"
    echo "compiling llama-cpp-python $llama_version ($variant): $cmake_args"
    # --no-cache-dir: pip's wheel cache is keyed by the source, not by CMAKE_ARGS, and would
    # hand back a wheel compiled for this machine's CPU
    CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "$venv_python" -m pip wheel --no-cache-dir --no-deps --no-binary llama-cpp-python \
        --config-settings=build-dir="$PWD/$cache/cmake" \
        -w "$cache/wheel" "llama-cpp-python==$llama_version"
    # the modules ggml loads at run time: one per CPU variant, and the CUDA/Vulkan one when built
    find "$cache/cmake" -name 'libggml-*.so' -type f ! -name 'libggml-base.so*' \
        -exec cp {} "$cache/backends/" \;
    find "$cache/cmake" -name 'ggml-*.dll' -type f ! -name 'ggml-base.dll' \
        -exec cp {} "$cache/backends/" \;
    # a glob, not `ls | grep -q` (grep -q exits at the first match; under pipefail ls's SIGPIPE
    # would then read as "no modules")
    if [ "$variant" != metal ] && ! compgen -G "$cache/backends/*ggml-cpu-*" > /dev/null; then
        echo "no CPU variant modules were built; is GGML_CPU_ALL_VARIANTS supported here?" >&2
        exit 1
    fi
    rm -rf "$cache/cmake"
    touch "$cache/complete"
fi

"$venv_python" -m pip install --quiet --no-deps --force-reinstall "$cache"/wheel/llama_cpp_python-*.whl
lib_dir=$("$venv_python" -c 'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("llama_cpp").origin).parent / "lib")')
find "$cache/backends" -type f -exec cp {} "$lib_dir/" \;
echo "llama-cpp-python $llama_version ($variant) installed; runtime modules in $lib_dir:"
ls "$lib_dir" | grep -E 'ggml-(cpu|cuda|vulkan)' | tr '\n' ' '
echo
