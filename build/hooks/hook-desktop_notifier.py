"""desktop-notifier (Linux only in this app) imports its backend inside a function by
platform, and reads its default icon as package data (``desktop_notifier/resources``)."""

from PyInstaller.compat import is_darwin, is_win
from PyInstaller.utils.hooks import collect_data_files, collect_submodules

datas = collect_data_files("desktop_notifier")
if is_win:
    hiddenimports = ["desktop_notifier.backends.winrt"]
elif is_darwin:
    hiddenimports = ["desktop_notifier.backends.macos"]
else:
    # dbus-fast is partly Cython: its compiled modules import others that the analysis can't
    # follow, so every submodule is named.
    hiddenimports = ["desktop_notifier.backends.dbus", *collect_submodules("dbus_fast")]
