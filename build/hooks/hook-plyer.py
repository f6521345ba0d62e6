"""plyer loads ``plyer.platforms.<platform>.<facade>`` by name at run time (plyer#485,
plyer#613), so a frozen app lacks its notification module unless it is named here.

Only this platform's module is named: the others import what only their platform has
(pyobjus on macOS, Win32 DLLs on Windows).
"""

from PyInstaller.compat import is_darwin, is_win
from PyInstaller.utils.hooks import collect_submodules

if is_win:
    hiddenimports = [
        "plyer.platforms.win.notification",
        "plyer.platforms.win.libs.balloontip",
        "plyer.platforms.win.libs.win_api_defs",
    ]
elif is_darwin:
    # plyer's macOS notifier is built on pyobjus (not a dependency of plyer: the project
    # must require it on macOS), whose compiled core imports its Python parts.
    hiddenimports = ["plyer.platforms.macosx.notification", *collect_submodules("pyobjus")]
else:
    # Uses dbus-python when it is importable (bundled if installed), else notify-send.
    hiddenimports = ["plyer.platforms.linux.notification"]
