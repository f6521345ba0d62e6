"""The frozen app's entry point: the same as ``python -m tray_app``."""

from tray_app.cli import entry

if __name__ == "__main__":
    entry()
