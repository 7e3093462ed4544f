"""Recurring meetings: scheduling, outbox announcements, private RSVPs and .ics export."""

from cogs.meetings.cog import MeetingsCog

COG = MeetingsCog

__all__ = ["COG", "MeetingsCog"]
