"""The app's own package data, and httpx's CA bundle.

- ``tray_app/samples/*.json``: the sample page ``--selftest`` parses;
- certifi's ``cacert.pem``: httpx verifies TLS against it (``certifi.where()``).
"""

from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("tray_app", includes=["samples/*.json"])
datas += collect_data_files("certifi", includes=["cacert.pem"])
hiddenimports = ["certifi"]
