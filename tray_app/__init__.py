"""Claude Status Tray: a tray icon and notifications that follow Claude's status page."""

__version__ = "0.1.0"
APP_NAME = "Claude Status Tray"
APP_ID = "claude-status-tray"
