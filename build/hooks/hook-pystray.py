"""pystray picks its backend module at run time, so PyInstaller can't see it (pystray#55).

Name this platform's backends: on Linux xorg (python-xlib) and, when PyGObject is bundled,
gtk and appindicator (real menus); win32 on Windows; darwin on macOS. ``_dummy`` is what
``--selftest`` loads with no display (``PYSTRAY_BACKEND=dummy``).
"""

from PyInstaller.compat import is_darwin, is_win

hiddenimports = ["pystray._base", "pystray._dummy"]
if is_win:
    hiddenimports += ["pystray._win32", "pystray._util.win32"]
elif is_darwin:
    hiddenimports += ["pystray._darwin"]
else:
    hiddenimports += ["pystray._xorg", "Xlib.display", "Xlib.threaded"]
    # The gtk-based backends need gi; the spec excludes gi when PyGObject is not bundled,
    # and pystray then falls back to xorg at run time (tray_app.tray.linux_backend).
    hiddenimports += [
        "pystray._gtk",
        "pystray._appindicator",
        "pystray._util.gtk",
        "pystray._util.notify_dbus",
        # pystray's notify_dbus calls gi.require_version("DBus", "1.0") without importing
        # gi.repository.DBus, so the DBus typelib is only collected when named here.
        "gi.repository.DBus",
    ]
