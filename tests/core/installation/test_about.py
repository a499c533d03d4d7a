"""The About content: version, licence notices, and which llama.cpp build runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import llama_cpp
import pytest

from app import __version__
from app.core.errors import AboutDataError
from app.core.installation.about import about_info, load_notices
from app.core.installation.llama_build import LlamaBuildInfo, llama_build_info, llama_lib_dir, shipped_modules
from app.core.installation.resources import resource_path


@pytest.fixture
def licenses_copy(tmp_path: Path) -> Path:
    """A writable copy of resources/licenses."""
    return Path(shutil.copytree(resource_path("licenses"), tmp_path / "licenses"))


def _build(**changes: object) -> LlamaBuildInfo:
    values = dict(package_version="0.3.36", library_version="0.5.0", cpu_variants=(),
                  cpu_variant=None, module_backends=(), backends=("CPU",), gpu_offload=False,
                  gpu_devices=(), cpu_features=("AVX", "AVX2"))
    values.update(changes)
    return LlamaBuildInfo(**values)  # type: ignore[arg-type]


def test_the_notices_name_qt_llama_cpp_and_the_model_with_their_licences() -> None:
    licences = {notice.name: notice.license for notice in load_notices()}

    assert licences["Qt"] == "LGPL-3.0-only"
    assert licences["llama.cpp"] == "MIT"
    assert licences["Fin-R1"] == "Apache-2.0"
    assert licences["llama-cpp-python"] == "MIT"
    assert licences["PySide6 / Shiboken6"] == "LGPL-3.0-only"
    assert licences["gguf"] == "MIT"
    assert licences["NumPy"] == "BSD-3-Clause"
    assert licences["huggingface_hub"] == "Apache-2.0"


def test_every_notice_carries_its_full_licence_text() -> None:
    for notice in load_notices():
        assert len(notice.license_text()) > 500, notice.name


def test_installed_versions_are_shown() -> None:
    versions = {notice.name: notice.version for notice in load_notices()}

    assert versions["llama-cpp-python"] == llama_cpp.__version__
    assert versions["Fin-R1"] is None  # a model, not an installed package


def test_about_text_states_version_build_and_every_component() -> None:
    info = about_info()
    text = info.as_text()

    assert f"Fin-R1 Studio {__version__}" in text
    assert "running from source" in text
    assert "llama.cpp" in text and "CPU:" in text and "GPU:" in text
    for notice in info.notices:
        assert notice.name in text


def test_a_missing_licence_text_is_reported_as_a_broken_installation(licenses_copy: Path) -> None:
    (licenses_copy / "llama.cpp-MIT.txt").unlink()

    with pytest.raises(AboutDataError, match=r"llama\.cpp-MIT\.txt"):
        about_info(licenses_copy)


def test_a_malformed_notices_file_is_reported(licenses_copy: Path) -> None:
    (licenses_copy / "notices.toml").write_text("[[component]\nname = ", encoding="utf-8")

    with pytest.raises(AboutDataError, match=r"notices\.toml is malformed"):
        load_notices(licenses_copy)


def test_a_component_without_a_licence_is_reported(licenses_copy: Path) -> None:
    notices = licenses_copy / "notices.toml"
    notices.write_text(notices.read_text(encoding="utf-8").replace('license = "MIT"', "", 1),
                       encoding="utf-8")

    with pytest.raises(AboutDataError, match="lacks 'license'"):
        load_notices(licenses_copy)


def test_the_third_party_list_of_an_installer_build_is_offered(licenses_copy: Path) -> None:
    assert about_info(licenses_copy).third_party_file is None
    (licenses_copy / "THIRD-PARTY-NOTICES.txt").write_text("numpy …", encoding="utf-8")

    assert about_info(licenses_copy).third_party_file == licenses_copy / "THIRD-PARTY-NOTICES.txt"


def test_the_running_llama_cpp_build_is_described_as_it_is_installed() -> None:
    build = llama_build_info()
    variants, _backends = shipped_modules(llama_lib_dir())

    assert build.package_version == llama_cpp.__version__
    assert "CPU" in build.backends
    assert build.cpu_features  # llama.cpp names the instruction sets its CPU code uses
    assert build.runtime_cpu_variants == bool(variants)
    if variants:  # an installer-style build: one variant module was chosen and loaded
        assert build.cpu_variant in variants
    else:  # a plain `pip install llama-cpp-python`, as in the development environment
        assert build.cpu_summary.startswith("single build")


def test_variant_and_backend_modules_are_told_apart_by_file_name(tmp_path: Path) -> None:
    for name in ("libggml.so.0", "libggml-base.so", "libggml-cpu-haswell.so", "libggml-cpu-x64.so",
                 "libggml-cpu-sapphirerapids.so", "libggml-cuda.so", "libllama.so",
                 "ggml-cpu-sse42.dll", "ggml-vulkan.dll"):
        (tmp_path / name).write_bytes(b"")

    variants, backends = shipped_modules(tmp_path)

    assert variants == ("haswell", "sapphirerapids", "sse42", "x64")
    assert backends == ("cuda", "vulkan")


def test_a_single_build_ships_no_modules(tmp_path: Path) -> None:
    for name in ("libggml.so", "libggml-base.so", "libggml-cpu.so", "libllama.so"):
        (tmp_path / name).write_bytes(b"")

    assert shipped_modules(tmp_path) == ((), ())


def test_a_runtime_variant_build_says_which_variant_was_chosen() -> None:
    build = _build(cpu_variants=("haswell", "sse42", "x64"), cpu_variant="haswell")

    assert build.cpu_summary.startswith("haswell variant, chosen at start-up among 3")


def test_a_cuda_build_without_a_usable_gpu_says_it_runs_on_the_cpu() -> None:
    assert "no usable GPU" in _build(module_backends=("cuda",)).gpu_summary
    assert _build().gpu_summary == "none: a CPU-only build"
    assert _build(backends=("CUDA", "CPU"), gpu_offload=True,
                  gpu_devices=("NVIDIA H100",)).gpu_summary == "CUDA: NVIDIA H100"
