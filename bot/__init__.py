"""circlebot: a peer-support chat bot for SMART-style mutual-help communities."""

__version__ = "0.1.0"
