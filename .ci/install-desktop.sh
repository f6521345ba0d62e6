#!/usr/bin/env bash
# Install the Debian packages that the desktop (Xvfb) tests and pystray's gtk backend need.
# Idempotent and fast when everything is there: it asks dpkg first and only runs
# `apt-get update` + `apt-get install` for what is missing. As non-root it never fails when
# nothing is missing; otherwise it prints the command to run and exits 1.
#
# Usage: bash .ci/install-desktop.sh        (CI runs it as root before the tests)
set -euo pipefail

packages=(
    # the virtual desktop the E2E tests drive (see shared/desktop-testing.md)
    xvfb               # X server without a screen
    trayer             # XEMBED system tray that docks the icon
    haskell-gtk-sni-tray-utils  # gtk-sni-tray-standalone: a StatusNotifier host (KDE-style tray)
    dunst              # notification daemon; dunstctl reads its history
    systemd            # busctl: `dunstctl history` calls it (not in a minimal image)
    dbus-x11           # dbus-launch: a private session bus
    dbus-bin           # dbus-send: dunstctl and the harness's name-owner checks
    xdotool            # mouse clicks, window search
    libnotify-bin      # notify-send: plyer's fallback when dbus-python is absent
    imagemagick        # `import -window root`: screenshots
    x11-utils          # xwininfo, xprop
    # pystray's gtk and appindicator backends at run time
    gir1.2-gtk-3.0
    gir1.2-ayatanaappindicator3-0.1
    # building PyGObject (<3.51), pycairo and dbus-python from source in the venv
    libgirepository1.0-dev
    libcairo2-dev
    libdbus-1-dev
    libglib2.0-dev
    pkg-config
    gcc
    libc6-dev
)

is_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == ii* ]]
}

missing=()
for pkg in "${packages[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-desktop: all ${#packages[@]} packages already installed"
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    echo "install-desktop: missing packages: ${missing[*]}" >&2
    echo "install-desktop: run as root: apt-get update &&" \
        "apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "install-desktop: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
