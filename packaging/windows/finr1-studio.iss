; Inno Setup script of the Fin-R1 Studio installer for Windows (x64).
; NOT RUN in this project's development environment (Linux only); packaging\build_windows.ps1
; calls it after the PyInstaller build:
;   iscc /DAppVersion=0.1.0 /DSourceDir=C:\...\build\windows\pyinstaller-dist\finr1-studio finr1-studio.iss
;
; Installs per user without administrator rights by default (the user can choose all users).
; Offline model pack: the folder the installer is started from is recorded in
; {app}\model-pack-sources.txt, and on first start the app offers the .gguf files placed beside
; the installer (or in a models\ folder there) for import (app\core\model_pack.py).
; Uninstalling removes everything installed; the user's settings, models and history under
; %LOCALAPPDATA% and %APPDATA%\Fin-R1 Studio are kept.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\build\windows\pyinstaller-dist\finr1-studio"
#endif
#ifndef VariantSuffix
  #define VariantSuffix ""
#endif

[Setup]
AppId={{6E4C1C64-5C55-4F0B-9B7A-3F2D1E0A9C11}
AppName=Fin-R1 Studio
AppVersion={#AppVersion}
AppVerName=Fin-R1 Studio {#AppVersion}
AppPublisher=Fin-R1 Studio authors
DefaultDirName={autopf}\Fin-R1 Studio
DefaultGroupName=Fin-R1 Studio
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=fin-r1-studio-{#AppVersion}-windows-x64{#VariantSuffix}-setup
SetupIconFile=..\..\resources\icons\finr1-studio.ico
UninstallDisplayIcon={app}\finr1-studio.exe
LicenseFile=..\..\resources\licenses\Apache-2.0.txt
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Fin-R1 Studio"; Filename: "{app}\finr1-studio.exe"
Name: "{autodesktop}\Fin-R1 Studio"; Filename: "{app}\finr1-studio.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\finr1-studio.exe"; Description: "{cm:LaunchProgram,Fin-R1 Studio}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
Type: files; Name: "{app}\model-pack-sources.txt"

[Code]
procedure CurStepChanged(CurStep: TSetupStep);
var
  Sources: TArrayOfString;
begin
  if CurStep = ssPostInstall then
  begin
    SetArrayLength(Sources, 1);
    Sources[0] := ExpandConstant('{src}');
    SaveStringsToUTF8File(ExpandConstant('{app}\model-pack-sources.txt'), Sources, False);
  end;
end;
