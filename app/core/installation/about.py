"""What the About box shows: the version, the llama.cpp build in use and the licence notices.

The notices are data (``resources/licenses/notices.toml`` and the licence texts beside it); this
module reads them and adds what only the running process knows: installed package versions,
whether it runs from an installer build, and which llama.cpp variant it uses
(``app.core.installation.llama_build``). The dialog itself belongs to ``app.ui``; this module imports no Qt.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from app import __version__
from app.core.errors import AboutDataError
from app.core.installation.llama_build import LlamaBuildInfo, llama_build_info
from app.core.installation.resources import resource_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

NOTICES_FILE = "notices.toml"
# written into installer builds by packaging/collect_notices.py, absent in a source checkout
THIRD_PARTY_FILE = "THIRD-PARTY-NOTICES.txt"


@dataclass(frozen=True)
class Notice:
    """One licensed component. ``license`` is an SPDX expression; ``license_file`` the full text
    (read it with ``license_text``); ``version`` the installed version when known."""

    name: str
    role: str
    license: str
    license_file: Path
    url: str
    version: str | None

    def license_text(self) -> str:
        """The licence's full text. Raises AboutDataError when the file is missing."""
        return _read_text(self.license_file)


@dataclass(frozen=True)
class AboutInfo:
    """Everything the About box shows. ``llama`` is None when llama.cpp could not be loaded, and
    ``llama_error`` then says why; ``third_party_file`` is the full list of bundled packages'
    licences in an installer build (None when running from source)."""

    app_name: str
    version: str
    license: str
    copyright: str
    app_license_file: Path
    frozen: bool
    python_version: str
    platform: str
    llama: LlamaBuildInfo | None
    llama_error: str | None
    notices: tuple[Notice, ...]
    third_party_file: Path | None

    @property
    def llama_text(self) -> str:
        """The llama.cpp build (``LlamaBuildInfo.summary``) and a line naming its back-ends and
        the one a model runs on, or why llama.cpp is not available."""
        if self.llama is None:
            return f"llama.cpp: not available ({self.llama_error})"
        return f"{self.llama.summary}\n{backends_line(self.llama)}"

    def as_text(self) -> str:
        """A plain-text rendering (for the CLI, the dialog's copy button and bug reports)."""
        build = "installer build" if self.frozen else "running from source"
        lines = [
            f"{self.app_name} {self.version} ({build}; Python {self.python_version}, {self.platform})",
            f"{self.copyright}. Licensed under {self.license}.",
            "",
            self.llama_text,
            "",
            "Third-party components:",
        ]
        for notice in self.notices:
            version = f" {notice.version}" if notice.version else ""
            lines.append(f"- {notice.name}{version}: {notice.license} ({notice.url})")
            lines.append(f"    {notice.role}")
        if self.third_party_file is not None:
            lines += ["", f"Licences of every bundled package: {self.third_party_file}"]
        return "\n".join(lines) + "\n"


def about_info(licenses_dir: Path | None = None) -> AboutInfo:
    """Gather the About box's content (see ``AboutInfo``).

    ``licenses_dir`` defaults to ``resources/licenses``. Raises AboutDataError when the notices
    file is missing or malformed (a broken installation). Loads llama.cpp's native library; a
    failure to load it is reported in the result rather than raised.
    """
    licenses_dir = resource_path("licenses") if licenses_dir is None else licenses_dir
    document = _load_notices_document(licenses_dir)
    app_table = _table(document, "app", licenses_dir)
    try:
        llama, llama_error = llama_build_info(), None
    except (ImportError, OSError, AttributeError) as error:
        llama, llama_error = None, str(error)
    third_party = licenses_dir / THIRD_PARTY_FILE
    return AboutInfo(
        app_name=_field(app_table, "name", licenses_dir),
        version=__version__,
        license=_field(app_table, "license", licenses_dir),
        copyright=_field(app_table, "copyright", licenses_dir),
        app_license_file=licenses_dir / _field(app_table, "license_file", licenses_dir),
        frozen=bool(getattr(sys, "frozen", False)),
        python_version=platform.python_version(),
        platform=f"{platform.system()} {platform.machine()}",
        llama=llama,
        llama_error=llama_error,
        notices=load_notices(licenses_dir, document),
        third_party_file=third_party if third_party.is_file() else None,
    )


def load_notices(licenses_dir: Path | None = None,
                 document: dict | None = None) -> tuple[Notice, ...]:
    """The ``[[component]]`` entries of the notices file, in file order, with installed versions.

    Raises AboutDataError for a missing or malformed file, a component lacking a field, or a
    licence text that is not there.
    """
    licenses_dir = resource_path("licenses") if licenses_dir is None else licenses_dir
    document = _load_notices_document(licenses_dir) if document is None else document
    components = document.get("component")
    if not isinstance(components, list) or not components:
        raise AboutDataError(f"{licenses_dir / NOTICES_FILE} lists no [[component]]; "
                             "reinstall Fin-R1 Studio")
    notices = []
    for component in components:
        license_file = licenses_dir / _field(component, "license_file", licenses_dir)
        if not license_file.is_file():
            raise AboutDataError(f"the licence text {license_file} is missing; reinstall Fin-R1 Studio")
        version = component.get("version") or _installed_version(component.get("distribution"))
        notices.append(Notice(
            name=_field(component, "name", licenses_dir),
            role=_field(component, "role", licenses_dir),
            license=_field(component, "license", licenses_dir),
            license_file=license_file,
            url=_field(component, "url", licenses_dir),
            version=version,
        ))
    return tuple(notices)


def _installed_version(distribution: str | None) -> str | None:
    if not distribution:
        return None
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _load_notices_document(licenses_dir: Path) -> dict:
    path = licenses_dir / NOTICES_FILE
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise AboutDataError(f"cannot read {path} ({error.strerror or error}); "
                             "reinstall Fin-R1 Studio") from error
    except tomllib.TOMLDecodeError as error:
        raise AboutDataError(f"{path} is malformed ({error}); reinstall Fin-R1 Studio") from error


def _table(document: dict, key: str, licenses_dir: Path) -> dict:
    table = document.get(key)
    if not isinstance(table, dict):
        raise AboutDataError(f"{licenses_dir / NOTICES_FILE} has no [{key}] table; "
                             "reinstall Fin-R1 Studio")
    return table


def _field(table: dict, key: str, licenses_dir: Path) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise AboutDataError(f"an entry of {licenses_dir / NOTICES_FILE} lacks '{key}' "
                             f"({table.get('name', 'unnamed')}); reinstall Fin-R1 Studio")
    return value


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise AboutDataError(f"cannot read {path} ({error.strerror or error}); "
                             "reinstall Fin-R1 Studio") from error


def backends_line(llama: LlamaBuildInfo) -> str:
    """``Back-ends: Vulkan, CPU; in use: Vulkan (<its GPUs>)``: the back-ends llama.cpp
    registered, the GPU modules shipped that found no device, and the one models run on (the GPU
    back-end when it has a device, else the CPU)."""
    present = list(llama.backends)
    registered = {name.lower() for name in present}
    idle = [name for name in llama.module_backends if name not in registered]
    shipped = f" ({', '.join(idle)} shipped, no usable device)" if idle else ""
    gpu_backends = [name for name in present if name not in ("CPU", "BLAS", "RPC")]
    in_use = (f"{'/'.join(gpu_backends) or 'GPU'} ({'; '.join(llama.gpu_devices)})"
              if llama.gpu_devices else "CPU")
    return f"Back-ends: {', '.join(present) or 'none'}{shipped}; in use: {in_use}"
