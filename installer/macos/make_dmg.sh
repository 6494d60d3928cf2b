#!/usr/bin/env bash
# Wraps the .app in a compressed disk image with an Applications shortcut: the user opens the
# .dmg and drags "AqQua Packer" onto Applications.  macOS only (hdiutil).
#   make_dmg.sh "dist/AqQua Packer.app" dist/aqqua-packer-0.1.0-macos-arm64.dmg "AqQua Packer 0.1.0"
set -euo pipefail
app=$1 out=$2 volname=${3:-AqQua Packer}
[ -d "$app" ] || { echo "make_dmg.sh: $app is not a folder" >&2; exit 1; }
command -v hdiutil >/dev/null || { echo "make_dmg.sh: hdiutil is macOS only" >&2; exit 1; }

# PyInstaller signs the bundle ad hoc, which is enough for Apple silicon to run it (users open it
# the first time with right-click > Open).  A release signs with a Developer ID and notarises:
# set CODESIGN_IDENTITY to a "Developer ID Application: ..." identity (notarisation: xcrun notarytool).
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --deep --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$app"
fi
codesign --verify --deep --strict "$app"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
rm -f "$out"
# hdiutil sometimes fails with "Resource busy" on CI runners right after the copy: retry.
for attempt in 1 2 3; do
  if hdiutil create -volname "$volname" -srcfolder "$stage" -fs HFS+ -format UDZO \
      -imagekey zlib-level=9 -ov "$out"; then
    break
  fi
  [ "$attempt" = 3 ] && exit 1
  sleep 5
done
hdiutil verify "$out"
echo "$out"
