"""Autocomplete on Discord, end to end: what a member is offered while typing an option.

discord.py's real client answers the stand-in's autocomplete interactions; every answer must
stay within Discord's limits (the stand-in checks: at most 25 choices, names of 1-100
characters) and a member is offered only their own private items, never another member's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cogs.journal.cog import JournalCog
from cogs.journal.service import SHARED
from cogs.worksheets.cog import WorksheetsCog
from tests.harness.discord import Circle

pytestmark = pytest.mark.e2e

AUTOCOMPLETE_RESULT = 8


async def offered(
    circle: Circle, command: str, focused: str, typed: str, user: str, **others: Any
) -> list[dict[str, Any]]:
    """The choices Discord would show `user` for `focused` after typing `typed`."""
    sent = await circle.standin.send_autocomplete(
        command, {**others, focused: typed}, focused, user=circle.user(user)
    )
    answer = await circle.standin.wait_for_interaction_response(sent.id)
    assert answer["type"] == AUTOCOMPLETE_RESULT
    choices: list[dict[str, Any]] = answer["data"]["choices"]
    return choices


async def test_places_languages_and_reminders_are_offered_while_typing(circle: Circle) -> None:
    app = await circle.app()
    async with circle.standin.client_running(circle.adapter(app).client):
        zones = await offered(circle, "me timezone", "zone", "berl", "bob")
        first_zones = await offered(circle, "me timezone", "zone", "", "bob")
        countries = await offered(circle, "me country", "country", "irel", "bob")
        by_code = await offered(circle, "me country", "country", "de", "bob")
        crisis_country = await offered(circle, "crisis list", "country", "new z", "bob")
        languages = await offered(circle, "me language", "language", "", "bob")
        setup_zone = await offered(circle, "setup", "timezone", "tokyo", "owner")
        reminders = await offered(circle, "meeting rsvp", "reminder", "", "bob", meeting="#1")
        typed = await offered(circle, "meeting rsvp", "reminder", "45m", "bob", meeting="#1")
        nonsense = await offered(circle, "meeting rsvp", "reminder", "soonish", "bob")
        set_zone = await circle.reply("me timezone", {"zone": zones[0]["value"]}, user="bob")
    assert [(c["name"], c["value"]) for c in zones] == [("Europe/Berlin", "Europe/Berlin")]
    assert len(first_zones) == 25 and first_zones[0]["value"] == "America/New_York"
    assert [(c["name"], c["value"]) for c in countries] == [("Ireland (IE)", "IE")]
    assert by_code[0] == {"name": "Germany (DE)", "value": "DE"}
    assert [c["value"] for c in crisis_country] == ["NZ"]
    assert {"name": "English (en)", "value": "en"} in languages
    assert [c["value"] for c in setup_zone] == ["Asia/Tokyo"]
    assert [c["name"] for c in reminders] == [
        "no reminder",
        "15 minutes before",
        "30 minutes before",
        "1 hour before",
        "1 day before",
    ]
    assert [c["value"] for c in reminders] == ["no", "15m", "30m", "1h", "1d"]
    assert [c["value"] for c in typed] == ["45m"]  # any duration is still taken
    assert nonsense == []
    assert "Europe/Berlin" in set_zone["data"]["content"]
    assert circle.standin.violations == []


async def test_a_meetings_next_dates_and_a_scripts_meeting_are_offered(circle: Circle) -> None:
    app = await circle.app()
    start = (app.clock.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    async with circle.standin.client_running(circle.adapter(app).client):
        await circle.reply(
            "meeting-facilitator schedule",
            {
                "title": "Tuesday circle",
                "start": start.strftime("%Y-%m-%d %H:%M"),
                "duration": "60m",
                "zone": "UTC",
                "repeat": "weekly",
            },
            user="owner",
        )
        dates = await offered(circle, "meeting rsvp", "when", "", "bob", meeting="#1")
        none_chosen = await offered(circle, "meeting rsvp", "when", "", "bob")
        cancel = await offered(
            circle, "meeting-facilitator cancel", "when", "", "owner", meeting="Tuesday circle"
        )
        meetings = await offered(circle, "script start", "meeting", "tues", "owner")
        # a member who may run no meeting (no facilitator tier, named for none) is offered none
        not_theirs = await offered(circle, "script start", "meeting", "tues", "alice")
        second = dates[1]["value"]
        await circle.reply(
            "meeting-facilitator cancel", {"meeting": "#1", "when": second}, user="owner"
        )
        cancelled = await offered(
            circle, "meeting-facilitator restore", "when", "", "owner", meeting="#1"
        )
        third = dates[2]["value"]
        going = await circle.reply(
            "meeting rsvp",
            {"meeting": "#1", "when": third, "reminder": "30 Minutes before"},  # as shown
            user="bob",
        )
    weekly = [(start + timedelta(weeks=n)).strftime("%Y-%m-%d") for n in range(25)]
    assert [c["value"] for c in dates] == weekly
    assert dates[0]["name"] == f"{start:%Y-%m-%d %H:%M} (UTC)"
    assert none_chosen == []
    assert [c["value"] for c in cancel] == weekly
    assert [c["value"] for c in meetings] == ["Tuesday circle"]
    assert not_theirs == []
    assert [c["value"] for c in cancelled] == [second]
    assert "Only a" not in going["data"]["content"]
    assert "DM you 30 minutes before" in going["data"]["content"], going["data"]["content"]
    assert circle.standin.violations == []


async def test_private_items_are_offered_only_to_their_owner(circle: Circle) -> None:
    app = await circle.app()
    standin = circle.standin
    alice, bob = (f"discord:{circle.user(n).id}" for n in ("alice", "bob"))
    worksheets = app.cogs["worksheets"]
    journal = app.cogs["journal"]
    assert isinstance(worksheets, WorksheetsCog) and isinstance(journal, JournalCog)
    await worksheets.toolbox.save(alice, "cba", {"behaviour": "alice's late nights"})
    await worksheets.toolbox.save(bob, "cba", {"behaviour": "bob's gaming"})
    await worksheets.toolbox.save(bob, "cba", {"behaviour": "bob's snacks"})
    async with standin.client_running(circle.adapter(app).client):
        community = await app.members.community("discord", str(standin.guild.id))
        shared = await journal.service.write(
            alice, community.id, "A shared evening walk.", visibility=SHARED
        )
        kind = await journal.service.add_feedback(
            bob, community.id, shared.entry.code, "bob says: well done"
        )
        secret = await journal.service.write(alice, community.id, "alice's private night")
        mine = await journal.service.write(bob, community.id, "bob's own page")
        bob_entries = await offered(circle, "journal read", "id", "", "bob")
        bob_typed = await offered(circle, "journal delete", "id", "night", "bob")
        alice_entries = await offered(circle, "journal read", "id", "", "alice")
        alice_items = await offered(circle, "toolbox view", "id", "", "alice")
        bob_items = await offered(circle, "toolbox edit", "id", "", "bob")
        bob_feedback = await offered(circle, "journal withdraw-feedback", "id", "", "bob")
        alice_feedback = await offered(circle, "journal withdraw-feedback", "id", "", "alice")
        feed = await offered(circle, "journal feedback", "id", "", "bob")
        to_remove = await offered(circle, "journal-mod remove", "id", "", "owner")
        await journal.service.create_group(community.id, alice, "Walkers")
        alice_groups = await offered(circle, "toolbox share", "group", "", "alice", id=1)
        bob_groups = await offered(circle, "toolbox share", "group", "", "bob", id=1)
        entries = await offered(circle, "crisis-mod verify", "id", "", "owner")
        viewed = await circle.reply("toolbox view", {"id": bob_items[0]["value"]}, user="bob")
    assert [c["value"] for c in bob_entries] == [mine.entry.code]  # never alice's entries
    assert bob_typed == [] and "alice" not in str(bob_entries)
    assert secret.entry.code in [c["value"] for c in alice_entries]
    assert [c["value"] for c in alice_items] == [1]  # a number, as the option is an integer
    assert "alice's late nights" in alice_items[0]["name"]
    assert [c["value"] for c in bob_items] == [2, 1]  # newest first
    assert "alice" not in str(bob_items)
    assert [c["value"] for c in bob_feedback] == [kind.code]
    assert "bob says: well done" in bob_feedback[0]["name"]
    assert alice_feedback == []
    assert [c["value"] for c in feed] == [shared.entry.code]
    assert [c["value"] for c in to_remove] == [shared.entry.code]  # not the moderator's own
    assert [c["value"] for c in alice_groups] == ["Walkers"]
    assert bob_groups == []
    assert 0 < len(entries) <= 25 and all(len(c["name"]) <= 100 for c in entries)
    assert "bob's snacks" in str(viewed["data"])
    assert standin.violations == []


async def test_a_meetings_script_and_feedback_to_remove_are_offered(circle: Circle) -> None:
    app = await circle.app()
    standin = circle.standin
    alice, bob = (f"discord:{circle.user(n).id}" for n in ("alice", "bob"))
    journal = app.cogs["journal"]
    assert isinstance(journal, JournalCog)
    async with standin.client_running(circle.adapter(app).client):
        community = await app.members.community("discord", str(standin.guild.id))
        shared = await journal.service.write(alice, community.id, "Walked.", visibility=SHARED)
        kept = await journal.service.add_feedback(bob, community.id, shared.entry.code, "Kind!")
        gone = await journal.service.add_feedback(bob, community.id, shared.entry.code, "Gone")
        await journal.service.remove_feedback(alice, community.id, gone.code)
        feedback = await offered(circle, "journal-mod remove-feedback", "id", "", "owner")
        scripts = await offered(circle, "script start", "script", "", "owner")
        for_meeting = await offered(circle, "meeting-facilitator schedule", "script", "", "owner")
        typed = scripts[0]["value"][:3]
        narrowed = await offered(circle, "meeting-facilitator edit", "script", typed, "owner")
    assert [c["value"] for c in feedback] == [kept.code]  # removed feedback is not offered
    assert "Kind!" in feedback[0]["name"]
    assert scripts and for_meeting == scripts
    assert narrowed and all(typed in c["name"].lower() for c in narrowed)
    assert standin.violations == []


async def test_a_meetings_script_is_offered_nothing_without_the_scripts_cog(
    circle: Circle,
) -> None:
    app = await circle.app(cogs=["general", "meetings"])
    async with circle.standin.client_running(circle.adapter(app).client):
        offers = await offered(circle, "meeting-facilitator schedule", "script", "", "owner")
    assert offers == []
    assert circle.standin.violations == []
