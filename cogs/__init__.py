"""Capabilities, one package each. A cog never imports a chat SDK."""
