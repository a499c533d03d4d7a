# Builds the Windows installer of Fin-R1 Studio from a clean virtual environment.
# NOT RUN in this project's development environment (Linux only): written for the CI workflow
# .github/workflows/installers.yml (windows-2022 runner) and for a Windows build machine.
#
#   powershell -ExecutionPolicy Bypass -File packaging\build_windows.ps1 [-Cuda]
#
# Produces dist\fin-r1-studio-<version>-windows-x64-setup.exe (Inno Setup; per-user install
# without administrator rights, or for all users) and dist\fin-r1-studio-<version>-windows-x64-portable.zip.
# Needs: Python 3.10+ (py launcher or python on PATH), Visual Studio 2022 Build Tools (C++),
# CMake, Inno Setup 6 (iscc.exe); -Cuda also the CUDA toolkit.
param([switch]$Cuda)
$ErrorActionPreference = "Stop"
Set-Location (Split-Path -Parent $PSScriptRoot)

$version = (Select-String -Path app\__init__.py -Pattern '^__version__ = "(.+)"$').Matches[0].Groups[1].Value
$work = "build\windows"
$venv = "$work\venv"
$python = "$venv\Scripts\python.exe"
$appDir = "$work\pyinstaller-dist\finr1-studio"
$variant = if ($Cuda) { "cuda" } else { "cpu" }
$suffix = if ($Cuda) { "-cuda" } else { "" }

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $Arguments failed with exit code $LASTEXITCODE" }
}

Write-Host "== clean virtual environment in $venv"
Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $venv, "$work\pyinstaller-dist", "$work\pyinstaller-work"
New-Item -ItemType Directory -Force $work | Out-Null
Invoke-Checked "python" @("-m", "venv", $venv)
Invoke-Checked $python @("-m", "pip", "install", "--quiet", "--upgrade", "pip")

Write-Host "== llama-cpp-python for any x86-64 CPU ($variant)"
# As on Linux (packaging/build_llama_cpp.sh): CPU code as one DLL per instruction-set level,
# chosen at start-up. MSVC builds fewer levels (no ivybridge/piledriver/cooperlake/zen4/
# sapphirerapids); the others run on those CPUs.
$cmakeArgs = "-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DLLAVA_BUILD=OFF"
if ($Cuda) { $cmakeArgs += " -DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=61;70;75;80;86;89;90" }
$llamaBuild = "$work\llama-cpp-$variant"
Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $llamaBuild
$env:CMAKE_ARGS = $cmakeArgs
Invoke-Checked $python @("-m", "pip", "wheel", "--no-cache-dir", "--no-deps", "--no-binary", "llama-cpp-python",
    "--config-settings=build-dir=$((Resolve-Path .).Path)\$llamaBuild\cmake", "-w", "$llamaBuild\wheel",
    "llama-cpp-python==0.3.36")
Remove-Item Env:CMAKE_ARGS
Invoke-Checked $python @("-m", "pip", "install", "--quiet", "--no-deps", (Get-ChildItem "$llamaBuild\wheel\*.whl").FullName)
$libDir = & $python -c "import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec('llama_cpp').origin).parent / 'lib')"
$modules = Get-ChildItem -Recurse "$llamaBuild\cmake" -Filter "ggml-*.dll" | Where-Object { $_.Name -ne "ggml-base.dll" }
if (-not ($modules | Where-Object { $_.Name -like "ggml-cpu-*" })) { throw "no CPU variant DLLs were built" }
$modules | ForEach-Object { Copy-Item $_.FullName $libDir -Force }

Write-Host "== the project and PyInstaller"
Invoke-Checked $python @("-m", "pip", "install", "--quiet", ".", "pyinstaller==6.22.*")

Write-Host "== PyInstaller one-folder build"
Invoke-Checked "$venv\Scripts\pyinstaller.exe" @("--noconfirm", "--clean", "--log-level", "WARN",
    "--distpath", "$work\pyinstaller-dist", "--workpath", "$work\pyinstaller-work",
    "packaging\pyinstaller\finr1_studio.spec")
Invoke-Checked $python @("packaging\collect_notices.py", $appDir, "$appDir\_internal\resources\licenses")

Write-Host "== Inno Setup installer"
$iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source
if (-not $iscc) { $iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
New-Item -ItemType Directory -Force dist | Out-Null
Invoke-Checked $iscc @("/Qp", "/DAppVersion=$version", "/DVariantSuffix=$suffix",
    "/DSourceDir=$((Resolve-Path $appDir).Path)", "packaging\windows\finr1-studio.iss")

Write-Host "== portable zip"
$portableName = "fin-r1-studio-$version-windows-x64$suffix-portable"
$stage = "$work\portable\$portableName"
Remove-Item -Recurse -Force -ErrorAction SilentlyContinue "$work\portable"
New-Item -ItemType Directory -Force $stage | Out-Null
Copy-Item -Recurse "$appDir\*" $stage
Set-Content -Encoding utf8 "$stage\finr1-portable" "This file puts Fin-R1 Studio in portable mode: settings, model library and history are kept in finr1-data beside it."
New-Item -ItemType Directory -Force "$stage\models" | Out-Null
Set-Content -Encoding utf8 "$stage\models\README.txt" "Put model files (.gguf) here to carry them to a computer without network access; the first start offers them for import."
Compress-Archive -Force -Path $stage -DestinationPath "dist\$portableName.zip"

Get-ChildItem dist\*windows* | Format-Table Name, Length
