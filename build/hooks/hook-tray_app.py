"""The app's own package data, and httpx's CA bundle.

- ``tray_app/samples/*.json``: the sample page ``--selftest`` parses;
- ``tray_app/assets/*.png``: the pre-rendered tray and notification icons;
- certifi's ``cacert.pem``: httpx verifies TLS against it (``certifi.where()``).
"""

from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("tray_app", includes=["samples/*.json", "assets/*.png"])
datas += collect_data_files("certifi", includes=["cacert.pem"])
hiddenimports = ["certifi"]
