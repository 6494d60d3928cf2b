; Inno Setup 6 script for AqQua Packer on Windows: a per-user install that needs no administrator
; rights, with a Start-menu entry, an uninstaller, and clean upgrades over an older version.
;
; Built by `python installer/build.py` on Windows, which passes the defines below, e.g.
;   iscc /DAppVersion=0.1.0 /DAppVersionNumeric=0.1.0.0 /DSourceDir=dist\aqqua-packer
;        /DOutputDir=dist /DIconFile=build\installer\aqqua-packer.ico installer\windows\aqqua-packer.iss

#ifndef AppVersion
  #error Pass /DAppVersion=X.Y.Z (installer/build.py does)
#endif
#ifndef AppVersionNumeric
  #define AppVersionNumeric AppVersion
#endif
#ifndef SourceDir
  #error Pass /DSourceDir=<the PyInstaller folder, dist\aqqua-packer>
#endif
#ifndef OutputDir
  #define OutputDir "."
#endif
#ifndef IconFile
  #error Pass /DIconFile=<an .ico>
#endif

#define AppName "AqQua Packer"
#define AppExe "AqQua Packer.exe"
#define CliExe "aqqua-packer.exe"

[Setup]
; The AppId ties every version together: an upgrade replaces the old one in place, and Windows
; lists one "AqQua Packer" in Apps & features.  Never change it (uuid5 of packer.aqqua.life).
AppId={{F0D1B638-8FC2-54ED-BD21-B5388FA01157}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=AqQua
AppPublisherURL=https://aqqua.life
AppSupportURL=https://aqqua.life
VersionInfoVersion={#AppVersionNumeric}
VersionInfoProductName={#AppName}
; Per user, no administrator rights: installs into %LOCALAPPDATA%\Programs\AqQua Packer.  Someone
; with rights may choose "all users" in the dialog, which installs into Program Files instead.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
DisableDirPage=auto
UsePreviousAppDir=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=aqqua-packer-{#AppVersion}-windows-x64-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; A running copy is closed before its files are replaced (and restarted afterwards).
CloseApplications=yes
RestartApplications=no
ChangesEnvironment=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; A clean upgrade: the bundled libraries of the old version go before the new ones arrive, so no
; stale DLL or module of an older release is left beside the new ones.  (Users' settings and
; packages live elsewhere, in their home folder, and are never touched.)
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Pack plankton images and metadata for AqQua"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Python may leave caches beside the modules; the folder goes entirely.
Type: filesandordirs; Name: "{app}\_internal"
