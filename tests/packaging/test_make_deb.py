"""``packaging/linux/make_deb.sh``: which package each build variant makes and what it asks of the
system. The default build carries llama.cpp's Vulkan back-end, so its package recommends the
Vulkan loader and a driver (without them the app runs on the CPU) and never depends on them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAKE_DEB = REPO / "packaging" / "linux" / "make_deb.sh"

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None or shutil.which("readelf") is None,
                                reason="builds a Debian package: needs dpkg-deb and readelf")


def make_deb(tmp_path: Path, variant: str) -> subprocess.CompletedProcess[str]:
    """make_deb.sh on a stand-in app folder (no ELF files: Depends is libc6 alone)."""
    app_dir = tmp_path / "app"
    (app_dir / "_internal").mkdir(parents=True, exist_ok=True)
    (app_dir / "finr1-studio").write_text("#!/bin/sh\n", encoding="utf-8")
    out = tmp_path / f"{variant}.deb"
    return subprocess.run(["bash", str(MAKE_DEB), str(app_dir), "9.9", variant, str(out)],
                          capture_output=True, text=True, timeout=120, check=False)


def control_fields(deb: Path) -> dict[str, str]:
    """The package's control fields (name → value; a multi-line value joined with newlines)."""
    text = subprocess.run(["dpkg-deb", "--field", str(deb)], capture_output=True, text=True,
                          check=True).stdout
    fields: dict[str, str] = {}
    name = ""
    for line in text.splitlines():
        if line[:1].isspace():
            fields[name] += "\n" + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            fields[name] = value.strip()
    return fields


def test_the_default_vulkan_build_is_the_main_package_and_only_recommends_the_loader(
        tmp_path: Path) -> None:
    done = make_deb(tmp_path, "vulkan")

    assert done.returncode == 0, done.stderr
    fields = control_fields(tmp_path / "vulkan.deb")
    assert fields["Package"] == "fin-r1-studio"
    assert "libvulkan1" in fields["Recommends"].split(", ")
    assert "vulkan" not in fields["Depends"]
    assert "Conflicts" not in fields
    assert "Vulkan for GPUs with a Vulkan driver" in fields["Description"]


def test_the_cuda_build_replaces_the_main_package_without_asking_for_vulkan(tmp_path: Path) -> None:
    done = make_deb(tmp_path, "cuda")

    assert done.returncode == 0, done.stderr
    fields = control_fields(tmp_path / "cuda.deb")
    assert fields["Package"] == "fin-r1-studio-cuda"
    assert fields["Conflicts"] == fields["Replaces"] == fields["Provides"] == "fin-r1-studio"
    assert "vulkan" not in fields["Recommends"]


def test_an_unknown_variant_is_refused_with_the_ones_there_are(tmp_path: Path) -> None:
    done = make_deb(tmp_path, "opencl")

    assert done.returncode == 2
    assert "unknown variant 'opencl' (vulkan or cuda)" in done.stderr
    assert not (tmp_path / "opencl.deb").exists()
