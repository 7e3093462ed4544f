"""Matrix (matrix-nio): the only package that imports `nio`. `circlebot run` calls `create`."""

from __future__ import annotations

from bot.adapters.matrix.adapter import MatrixAdapter, tier_for
from bot.platform import Host

__all__ = ["MatrixAdapter", "create", "tier_for"]


def create(app: Host) -> MatrixAdapter:
    """Build the adapter and register it with the outbox before the app starts."""
    adapter = MatrixAdapter(app)
    app.add_transport(adapter)
    return adapter
