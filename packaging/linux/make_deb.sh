#!/usr/bin/env bash
# Packs a PyInstaller app folder into a Debian package.
#
#   packaging/linux/make_deb.sh APP_DIR VERSION VARIANT OUT.deb
#
# Layout: the app under /opt/fin-r1-studio, /usr/bin/finr1-studio (a relative symlink, so the
# package also works unpacked into any root with dpkg -x) and /usr/bin/finr1 (the command line),
# a desktop entry and the icon in the hicolor theme, the copyright file. No maintainer scripts:
# the desktop database and icon cache are refreshed by dpkg triggers of desktop-file-utils and
# hicolor-icon-theme, and everything the package installs is removed by dpkg -r (the app writes
# its data under the user's home, never under /opt).
# VARIANT vulkan (the default build: CPU variants + the Vulkan back-end) makes package
# fin-r1-studio, recommending the Vulkan loader and a Vulkan driver; cuda makes
# fin-r1-studio-cuda, which replaces it.
set -euo pipefail
app_dir="$1"; version="$2"; variant="$3"; out="$4"
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

package=fin-r1-studio
conflicts=""
recommends_gpu=""
gpu_description=""
case "$variant" in
    vulkan)
        # Recommends, not Depends: without the loader or a driver ggml skips its Vulkan module and
        # the app runs on the CPU (vulkan-icd: any driver package, Mesa's or NVIDIA's)
        recommends_gpu=", libvulkan1, mesa-vulkan-drivers | vulkan-icd"
        gpu_description="; Vulkan for GPUs with a Vulkan driver" ;;
    cuda) gpu_description="; CUDA for NVIDIA GPUs" ;;
    *) echo "make_deb.sh: unknown variant '$variant' (vulkan or cuda)" >&2; exit 2 ;;
esac
if [ "$variant" = cuda ]; then
    package=fin-r1-studio-cuda
    conflicts="Conflicts: fin-r1-studio
Replaces: fin-r1-studio
Provides: fin-r1-studio"
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
mkdir -p "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
    "$root/usr/share/icons/hicolor/scalable/apps" "$root/usr/share/icons/hicolor/256x256/apps" \
    "$root/usr/share/doc/fin-r1-studio" "$root/DEBIAN"
cp -a "$app_dir" "$root/opt/fin-r1-studio"
ln -s ../../opt/fin-r1-studio/finr1-studio "$root/usr/bin/finr1-studio"
install -m 755 "$here/finr1" "$root/usr/bin/finr1"
install -m 644 "$here/fin-r1-studio.desktop" "$root/usr/share/applications/fin-r1-studio.desktop"
install -m 644 "$repo/resources/icons/finr1-studio.svg" \
    "$root/usr/share/icons/hicolor/scalable/apps/fin-r1-studio.svg"
install -m 644 "$repo/resources/icons/finr1-studio.png" \
    "$root/usr/share/icons/hicolor/256x256/apps/fin-r1-studio.png"
cat > "$root/usr/share/doc/fin-r1-studio/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Fin-R1 Studio

Files: *
Copyright: the Fin-R1 Studio authors
License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.
Comment: /opt/fin-r1-studio bundles third-party software: llama.cpp (MIT), Qt and PySide6
 (LGPL-3.0), Python (PSF-2.0) and others. Their licence texts are in
 /opt/fin-r1-studio/_internal/resources/licenses/, THIRD-PARTY-NOTICES.txt there lists every one.
COPYRIGHT
chmod -R u+rwX,go+rX,go-w "$root"

depends="$(python3 "$here/deb_depends.py" "$root/opt/fin-r1-studio")"
installed_kib="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: $package
Version: $version
Architecture: amd64
Maintainer: Fin-R1 Studio authors <fin-r1-studio@users.noreply.github.com>
Installed-Size: $installed_kib
Depends: $depends
Recommends: fonts-noto-cjk | fonts-wqy-microhei, fonts-dejavu-core$recommends_gpu
${conflicts:+$conflicts
}Section: misc
Priority: optional
Description: run the Fin-R1 finance reasoning model on this computer
 Fin-R1 Studio runs Fin-R1, a finance reasoning model, entirely on the local
 machine through llama.cpp: compliance checks, risk and ESG analysis, financial
 calculations and code, with the model's reasoning shown beside its answer.
 Needs no network to start, chat or build smaller quantized models.
 .
 Build: $variant (llama.cpp CPU code chosen at start-up for the CPU it runs on$gpu_description)
CONTROL
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
    | xargs -0 md5sum > DEBIAN/md5sums)
mkdir -p "$(dirname "$out")"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "built $out"
