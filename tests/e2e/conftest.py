"""Fixtures for the real-server tests: a Synapse homeserver and the Discord stand-in."""

from tests.e2e.discord_standin import discord_standin  # noqa: F401
from tests.e2e.synapse import synapse, synapse_rate_limited  # noqa: F401
