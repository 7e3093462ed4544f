"""Fixtures for the real-server tests: a Synapse homeserver and the Discord stand-in."""

from tests.harness.discord import circle, discord_standin
from tests.harness.synapse import synapse, synapse_rate_limited

__all__ = ["circle", "discord_standin", "synapse", "synapse_rate_limited"]
