#!/usr/bin/env bash
# Builds the macOS disk image of Fin-R1 Studio (Apple silicon) from a clean virtual environment.
# NOT RUN in this project's development environment (Linux only): written for the CI workflow
# .github/workflows/installers.yml (macos-14 runner) and for a Mac.
#
#   bash packaging/build_macos.sh
#
# Produces dist/fin-r1-studio-<version>-macos-arm64.dmg holding "Fin-R1 Studio.app", a link to
# /Applications and a models/ folder. llama.cpp is built with its Metal back-end and without
# -march=native (packaging/build_llama_cpp.sh metal). Optional environment:
#   FINR1_MODEL_PACK=/path/model.gguf   put that model into the image's models/ folder, for
#                                       offline workstations: the first start offers it for import
#   MACOS_SIGN_IDENTITY="Developer ID Application: …"   sign with that identity (default: ad hoc,
#                                       which Gatekeeper makes users confirm with right-click › Open)
# Needs: Python 3.10+ (python3), Xcode command line tools, CMake.
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' app/__init__.py)"
work=build/macos
venv="$work/venv"
dmg="dist/fin-r1-studio-$version-macos-arm64.dmg"

echo "== clean virtual environment in $venv"
rm -rf "$venv" "$work/pyinstaller-dist" "$work/pyinstaller-work" "$work/dmg"
mkdir -p "$work" dist
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip

echo "== llama-cpp-python (Metal)"
bash packaging/build_llama_cpp.sh "$venv/bin/python" metal

echo "== the project and PyInstaller"
"$venv/bin/python" -m pip install --quiet . "pyinstaller==6.22.*"

echo "== PyInstaller one-folder build and .app bundle"
"$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$work/pyinstaller-dist" --workpath "$work/pyinstaller-work" \
    packaging/pyinstaller/finr1_studio.spec
app="$work/pyinstaller-dist/Fin-R1 Studio.app"
resources_dir="$app/Contents/Resources/resources/licenses"
[ -d "$resources_dir" ] || resources_dir="$app/Contents/Frameworks/resources/licenses"
"$venv/bin/python" packaging/collect_notices.py "$app" "$resources_dir"
if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
    # PyInstaller signed ad hoc; a Developer ID signature needs the hardened runtime and its
    # exceptions (notarization, with `xcrun notarytool`, is a separate step)
    codesign --force --deep --timestamp --options runtime \
        --entitlements packaging/macos/entitlements.plist --sign "$MACOS_SIGN_IDENTITY" "$app"
fi

echo "== disk image"
stage="$work/dmg"
mkdir -p "$stage/models"
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
cat > "$stage/models/README.txt" <<'README'
Model files (.gguf) in this folder, or beside Fin-R1 Studio.app, are offered for import when the
app starts for the first time: a way to bring the model to a Mac without network access.
README
if [ -n "${FINR1_MODEL_PACK:-}" ]; then
    cp "$FINR1_MODEL_PACK" "$stage/models/"
fi
rm -f "$dmg"
hdiutil create -volname "Fin-R1 Studio" -srcfolder "$stage" -ov -format UDZO "$dmg"
ls -l "$dmg"
