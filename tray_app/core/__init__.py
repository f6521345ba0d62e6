"""The pure core: status model, page parsing, assessment and the alert policy.

Standard library only, no I/O, no clock and no threads of its own: adapters (HTTP, tray,
notifier, storage) live one level up and pass data in. ``tests/test_core_boundary.py`` imports
every module here and fails if httpx, pystray, plyer, Pillow or desktop-notifier got loaded.
"""
