"""The app's screens: Dashboard, Launch, Help, History, the log view and the y/n question."""
