"""circlebot on Discord, end to end: discord.py's real client against the local stand-in.

Every test runs the adapter's own client (the one `circlebot run` starts) with the real core on
a SQLite file, so what passes here is what the bot sends and how discord.py parses the answers.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.clock import VirtualClock
from bot.core.context import Context
from bot.core.dialogue import Dialogue, Outcome, Step
from bot.core.message import Attachment, Card, Field, Message, When
from bot.core.permissions import Tier
from bot.outbox import OutboxRef, RefKind, Target
from bot.safety import ZWSP
from tests.harness.app import make_config
from tests.harness.discord import (
    COMMANDS,
    EPHEMERAL,
    READ_MESSAGE_HISTORY,
    Circle,
    add_command,
    button_ids,
    walk,
)

pytestmark = pytest.mark.e2e

MARKED = re.compile(r"\n?-# ref ([0-9a-f]{12})( \d+/\d+)?$")  # an outbox post's last line
GENERAL = ["general"]  # a fixed command set, whatever other cogs exist


# -- commands -------------------------------------------------------------------------------------


async def test_sync_payload_and_no_resync_on_restart(circle: Circle) -> None:
    app = await circle.app(cogs=GENERAL)

    async def moderate(ctx: Context) -> None:
        await ctx.reply("moderated")

    add_command(app, ("modtest",), moderate, tier=Tier.MODERATOR)
    adapter = circle.adapter(app)
    async with circle.standin.client_running(adapter.client):
        pass
    (put,) = circle.standin.requests("PUT", COMMANDS)
    by_name = {c["name"]: c for c in put.json}
    assert set(by_name) == {"about", "help", "me", "modtest", "ping"}
    assert str(by_name["modtest"]["default_member_permissions"]) == "32"  # Manage Server: a hint
    assert by_name["ping"]["default_member_permissions"] is None
    assert by_name["ping"]["description"] == "Check that the bot is listening."
    (command,) = by_name["help"]["options"]
    assert command == {
        "name": "command",
        "description": "A command or group to explain",
        "type": 3,
        "required": False,
        "autocomplete": True,
        "max_length": 100,
    }
    me = {o["name"]: o for o in by_name["me"]["options"]}
    assert set(me) == {"show", "name", "timezone", "country", "language", "setup"}
    assert all(o["type"] == 1 for o in me.values())
    (pseudonym,) = me["name"]["options"]
    assert (pseudonym["type"], pseudonym["required"], pseudonym["max_length"]) == (3, True, 64)
    assert me["show"]["description"] == "Show your own settings (only you see this)."

    same = await circle.app(cogs=GENERAL)
    add_command(same, ("modtest",), moderate, tier=Tier.MODERATOR)
    async with circle.standin.client_running(circle.adapter(same).client):
        pass
    assert len(circle.standin.requests("PUT", COMMANDS)) == 1  # same set: nothing to sync

    changed = await circle.app(cogs=GENERAL)
    add_command(changed, ("modtest",), moderate, tier=Tier.MODERATOR, ephemeral=True)
    add_command(changed, ("extra",), moderate)
    async with circle.standin.client_running(circle.adapter(changed).client):
        pass
    assert len(circle.standin.requests("PUT", COMMANDS)) == 2
    assert {c["name"] for c in circle.standin.state.global_commands} >= {"extra", "modtest"}
    assert circle.standin.unknown_routes == []


async def test_every_cogs_commands_sync(circle: Circle) -> None:
    """All cogs together: discord.py builds the tree and the stand-in accepts the payload."""
    app = await circle.app()
    adapter = circle.adapter(app)
    async with circle.standin.client_running(adapter.client):
        pass
    (put,) = circle.standin.requests("PUT", COMMANDS)
    assert put.status == 200
    synced = {c["name"] for c in circle.standin.state.global_commands}
    # One-word aliases are slash commands of their own, unless the spec lists which ones are
    # (`slash_aliases`: the crisis command keeps `911`, `hotline`... typed only).
    one_word_aliases = {
        a[0]
        for spec in app.registry.specs
        for a in spec.aliases
        if len(a) == 1 and (spec.slash_aliases is None or a[0] in spec.slash_aliases)
    }
    first_words = {adapter.command_words(spec.path)[0] for spec in app.registry.specs}
    assert synced == first_words | one_word_aliases
    assert {"crisis", "crisis-mod", "meeting-facilitator"} <= synced
    assert "help-now" in synced


async def test_help_and_me_show_are_ephemeral(circle: Circle) -> None:
    app = await circle.app(cogs=GENERAL)
    adapter = circle.adapter(app)
    async with circle.standin.client_running(adapter.client):
        helped = await circle.reply("help", user="alice")
        shown = await circle.reply("me show", user="alice")
        sent = await circle.standin.send_autocomplete(
            "help", {"command": "me s"}, "command", user=circle.user("alice")
        )
        suggested = await circle.standin.wait_for_interaction_response(sent.id)
        in_dm = await circle.reply("me show", user="bob", dm=True)
    assert helped["type"] == 4
    assert helped["data"]["flags"] == EPHEMERAL
    assert "Commands you can use" in helped["data"]["content"]
    assert "`/me show`" in helped["data"]["content"]
    assert shown["data"]["flags"] == EPHEMERAL
    (embed,) = shown["data"]["embeds"]
    assert embed["title"] == "Your settings"
    assert [f["name"] for f in embed["fields"]] == [
        "Pseudonym here",
        "Time zone",
        "Country",
        "Language",
    ]
    assert suggested["type"] == 8
    assert [c["name"] for c in suggested["data"]["choices"]] == ["me setup", "me show"]
    # In a DM nobody else can see the reply, and the DM history is the member's record.
    assert in_dm["type"] == 4
    assert not in_dm["data"].get("flags")
    assert in_dm["data"]["embeds"][0]["title"] == "Your settings"
    assert circle.standin.violations == []


# -- DM dialogues, buttons and forms --------------------------------------------------------------


async def test_me_setup_dialogue_answered_with_text_and_a_button(circle: Circle) -> None:
    app = await circle.app(cogs=GENERAL)
    adapter = circle.adapter(app)
    alice, dm = circle.user("alice"), circle.dm("alice")
    standin = circle.standin
    async with standin.client_running(adapter.client):
        pointer = await circle.reply("me setup", user="alice")
        intro, question = await circle.bot_messages(dm, 2)
        assert "What name would you like" in question["content"]
        for n, answer in enumerate(["Sunny", "Europe/Berlin", "DE"], start=3):
            await standin.send_message_create(dm, alice, answer)
            await circle.bot_messages(dm, n)
        language = standin.state.bot_messages(dm)[-1]
        assert "Which language should I use?" in language["content"]
        pressed = await standin.send_component(language, button_ids(language)["en"], user=alice)
        done = await standin.wait_for_interaction_response(pressed.id)
    assert pointer["data"]["flags"] == EPHEMERAL
    assert "direct message" in pointer["data"]["content"]
    assert "A few quick questions" in intro["content"]
    assert done["type"] == 4
    assert "All set" in done["data"]["content"]
    profile = await app.members.profile(f"discord:{alice.id}")
    assert (profile.timezone, profile.country, profile.language) == ("Europe/Berlin", "DE", "en")
    community = await app.members.community("discord", str(standin.guild.id))
    assert await app.members.pseudonym(community.id, f"discord:{alice.id}") == "Sunny"
    assert standin.violations == []


def add_journal(app: App, saved: list[str]) -> None:
    """A one-question dialogue whose answer is long, started by `/journaltest`."""

    async def finish(outcome: Outcome) -> str:
        saved.append(outcome.answers["entry"])
        return f"Saved {len(outcome.answers['entry'])} characters."

    app.dialogues.register(
        Dialogue(
            "journal_test",
            "a journal entry",
            (Step("entry", "How was your day? Take all the room you need.", long=True),),
            finish,
        )
    )

    async def start(ctx: Context) -> None:
        await app.dialogues.start(ctx, "journal_test")

    add_command(app, ("journaltest",), start)


async def test_long_text_through_a_form(circle: Circle) -> None:
    app = await circle.app(cogs=GENERAL)
    saved: list[str] = []
    add_journal(app, saved)
    adapter = circle.adapter(app)
    alice, dm = circle.user("alice"), circle.dm("alice")
    standin = circle.standin
    entry = "\n".join(f"Line {n}: " + " ".join(["a calm, steady day."] * 7) for n in range(20))
    assert len(entry) > 2000
    async with standin.client_running(adapter.client):
        await circle.reply("journaltest", user="alice")
        _intro, question = await circle.bot_messages(dm, 2)
        form_button = button_ids(question)["Write a longer answer"]
        pressed = await standin.send_component(question, form_button, user=alice)
        form = await standin.wait_for_interaction_response(pressed.id)
        submitted = await standin.send_modal_submit(
            form["data"]["custom_id"], {"text": entry}, user=alice, dm=True
        )
        thanks = await standin.wait_for_interaction_response(submitted.id)
        again = await standin.send_component(question, form_button, user=alice)
        stale = await standin.wait_for_interaction_response(again.id)
    assert form["type"] == 9
    assert form["data"]["title"] == "Your answer"
    (text_input,) = [c for c in walk(form["data"]["components"]) if c.get("type") == 4]
    assert text_input["max_length"] == 4000
    assert text_input["placeholder"].startswith("How was your day?")
    assert saved == [entry]
    assert thanks["data"]["content"] == f"Saved {len(entry)} characters."
    assert stale["data"]["content"] == "That question has already been answered."
    assert standin.violations == []


async def test_restart_keeps_buttons_working(circle: Circle) -> None:
    app = await circle.app(cogs=GENERAL)
    alice, dm = circle.user("alice"), circle.dm("alice")
    standin = circle.standin
    async with standin.client_running(circle.adapter(app).client):
        await circle.reply("me setup", user="alice")
        await circle.bot_messages(dm, 2)
        for n in range(3, 6):
            await standin.send_message_create(dm, alice, "skip")
            await circle.bot_messages(dm, n)
    language = standin.state.bot_messages(dm)[-1]

    restarted = await circle.app(cogs=GENERAL)  # a new process: new client, same database
    async with standin.client_running(circle.adapter(restarted).client):
        pressed = await standin.send_component(language, button_ids(language)["en"], user=alice)
        done = await standin.wait_for_interaction_response(pressed.id)
    assert "All set" in done["data"]["content"]
    assert (await restarted.members.profile(f"discord:{alice.id}")).language == "en"
    assert standin.state.identify_count == 2
    assert len(standin.requests("PUT", COMMANDS)) == 1


async def test_a_dm_after_a_restart_belongs_to_the_server_last_used(circle: Circle) -> None:
    """A bot in two servers: a member's DM belongs to the server where they last used it, and
    a restart does not forget which one (else their DM commands would run with no community)."""
    state = circle.standin.state
    first = state.guild_named("Test Circle")
    second = state.add_guild("Second Circle")
    alice = circle.user("alice")
    state.add_member(second, alice)
    second_general = state.add_text_channel(second, "second-general")

    async def where(ctx: Context) -> None:
        await ctx.reply(ctx.community.name if ctx.community else "no community")

    async def started() -> App:
        app = await circle.app(cogs=GENERAL)
        add_command(app, ("where",), where)
        return app

    for used_in, channel in ((second, second_general), (first, circle.general)):
        app = await started()
        async with circle.standin.client_running(circle.adapter(app).client):
            here = await circle.reply("where", user="alice", channel=channel)
        assert here["data"]["content"] == used_in.name
        restarted = await started()  # a new process: only the database remembers
        async with circle.standin.client_running(circle.adapter(restarted).client):
            in_dm = await circle.reply("where", user="alice", dm=True)
        assert in_dm["data"]["content"] == used_in.name


# -- tiers ----------------------------------------------------------------------------------------


async def test_roles_map_to_tiers_and_a_denied_command(circle: Circle) -> None:
    app = await circle.app(cogs=GENERAL)

    async def moderate(ctx: Context) -> None:
        await ctx.reply(f"moderated by a {ctx.tier.label}", ephemeral=True)

    add_command(app, ("modtest",), moderate, tier=Tier.MODERATOR)
    adapter = circle.adapter(app)
    standin = circle.standin
    async with standin.client_running(adapter.client):
        denied = await circle.reply("modtest", user="bob")
        before = await circle.reply("modtest", user="alice")
        community = await app.members.community("discord", str(standin.guild.id))
        facilitator = standin.state.role_named(standin.guild, "Facilitator")
        await app.members.bind(community.id, str(facilitator.id), int(Tier.MODERATOR))
        bound = await circle.reply("modtest", user="alice")
        owner = await circle.reply("modtest", user="owner")  # Manage Server
    assert denied["data"]["content"] == "Only a moderator can use `modtest`."
    assert denied["data"]["flags"] == EPHEMERAL
    assert before["data"]["content"] == "Only a moderator can use `modtest`."
    assert bound["data"]["content"] == "moderated by a moderator"
    assert owner["data"]["content"] == "moderated by a moderator"


# -- acknowledging in time ------------------------------------------------------------------------


async def test_slow_and_long_running_commands_are_deferred(circle: Circle) -> None:
    app = await circle.app(cogs=GENERAL)

    async def slow(ctx: Context) -> None:
        await ctx.reply("slow result")

    async def sleepy(ctx: Context) -> None:
        await asyncio.sleep(0.3)
        await ctx.reply("woke up", ephemeral=True)

    add_command(app, ("slowtest",), slow, slow=True)
    add_command(app, ("sleepy",), sleepy, ephemeral=True)
    adapter = circle.adapter(app, ack_after=0.05)
    standin = circle.standin
    async with standin.client_running(adapter.client):
        sent_slow = await standin.send_command("slowtest", user=circle.user("bob"))
        sent_sleepy = await standin.send_command("sleepy", user=circle.user("bob"))
        first_slow = await standin.wait_for_interaction_response(sent_slow.id)
        first_sleepy = await standin.wait_for_interaction_response(sent_sleepy.id)
        await standin.wait_for(
            lambda: (m := standin.original_response(sent_sleepy.id)) and m["content"]
        )
    assert first_slow == {"type": 5}
    assert standin.original_response(sent_slow.id)["content"] == "slow result"
    # Deferred (type 5) first: the acknowledgement went out while the command still slept;
    # without it the first response would have been its answer (type 4).
    assert first_sleepy == {"type": 5, "data": {"flags": EPHEMERAL}}
    woke = standin.original_response(sent_sleepy.id)
    assert woke["content"] == "woke up"
    assert woke["flags"] & EPHEMERAL


# -- outbox deliveries ----------------------------------------------------------------------------


async def test_outbox_delivers_a_file_and_splits_long_content(circle: Circle) -> None:
    app = await circle.app(cogs=GENERAL)
    adapter = circle.adapter(app)
    general = circle.general
    meeting = datetime(2030, 1, 7, 18, 0, tzinfo=UTC)
    text = "\n".join(f"Item {n}: " + "bring what helps you. " * 4 for n in range(50))
    card = Card(
        "Weekly summary " + "t" * 300,
        fields=tuple(Field(f"Check-in {n}", "v" * 1500) for n in range(30)),
        footer="Be gentle with yourself.",
    )
    ics = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    message = Message.of(
        "Next meeting: ",
        When(meeting),
        "\n" + text,
        card=card,
        attachment=Attachment("meeting.ics", ics, "text/calendar"),
    )
    target = Target("discord", str(general.id))
    async with circle.standin.client_running(adapter.client):
        await app.outbox.enqueue("weekly.1", target, message, app.clock.now())
        await app.outbox.deliver_due()
    assert app.outbox.totals.sent == 1
    assert await app.outbox.status_of("weekly.1") == "sent"
    posted = circle.standin.state.bot_messages(general)
    assert len(posted) == 3
    assert all(len(m["content"]) <= 2000 for m in posted)
    unix = int(meeting.timestamp())
    assert posted[0]["content"].startswith(f"Next meeting: <t:{unix}:F> (<t:{unix}:R>)\nItem 0:")
    assert "\n".join(MARKED.sub("", m["content"]) for m in posted).endswith(text.split("\n")[-1])
    last = posted[-1]
    (embed,) = last["embeds"]
    assert len(embed["fields"]) <= 25
    assert embed["title"].endswith("…")
    assert embed["footer"]["text"] == "Be gentle with yourself."
    assert [a["filename"] for a in last["attachments"]] == ["meeting.ics"]
    (upload,) = circle.standin.requests("POST", rf"/channels/{general.id}/messages")[-1].files
    assert upload.data == ics
    assert circle.standin.violations == []


async def test_a_resend_with_the_same_key_is_dropped_by_its_nonce(circle: Circle) -> None:
    adapter = circle.adapter(await circle.app(cogs=GENERAL))
    target = Target("discord", str(circle.general.id))
    async with circle.standin.client_running(adapter.client):
        await adapter.send(target, Message.coerce("Meeting in 10 minutes"), "m1.reminder")
        await adapter.send(target, Message.coerce("Meeting in 10 minutes"), "m1.reminder")
    first, second = circle.standin.requests("POST", r"/channels/\d+/messages")
    assert first.json["nonce"] == second.json["nonce"]
    assert len(first.json["nonce"]) <= 25
    assert first.json["enforce_nonce"] is True
    assert len(circle.standin.state.bot_messages(circle.general)) == 1


class LostAnswer(Exception):
    """The platform took the message, but the bot never heard back (a crash, a dropped line)."""


def answer_lost(adapter: DiscordAdapter, *, pieces: int = 1) -> None:
    """From now on every outbox delivery through `adapter` dies once `pieces` pieces of it went
    out, before the outbox hears back: the state a crash between send and mark leaves."""
    real_post = adapter.post

    async def post(channel: Any, message: Message, **kw: Any) -> str | None:
        sent = 0

        async def send(**kwargs: Any) -> Any:
            nonlocal sent
            if sent == pieces:
                raise LostAnswer()
            sent += 1
            return await channel.send(**kwargs)

        await real_post(SimpleNamespace(send=send), message, **kw)
        raise LostAnswer()

    adapter.post = post  # type: ignore[method-assign]


async def restarted_later(circle: Circle, minutes: int) -> App:
    """The same database in a new process, `minutes` later (beyond Discord's nonce memory)."""
    circle.standin.state.forget_nonces()
    later = VirtualClock(datetime.now(UTC) + timedelta(minutes=minutes))
    return await circle.app_factory(make_config(cogs={"enabled": GENERAL}), clock=later)


async def test_a_post_that_reached_discord_before_a_crash_is_not_posted_again(
    circle: Circle,
) -> None:
    app = await circle.app(cogs=GENERAL)
    adapter = circle.adapter(app)
    general, bob = circle.general, circle.user("bob")
    channel = Target("discord", str(general.id))
    dm = Target("discord", f"discord:{bob.id}", is_dm=True)
    async with circle.standin.client_running(adapter.client):
        await app.outbox.enqueue(
            "m5.start", channel, Message.coerce("Starting now"), app.clock.now()
        )
        await app.outbox.enqueue(
            "m5.dm.bob", dm, Message.coerce("Starts in 10 minutes"), app.clock.now()
        )
        answer_lost(adapter)
        await app.outbox.deliver_due()
        assert app.outbox.totals.sent == 0  # posted, but the outbox never heard back
        assert await app.outbox.status_of("m5.start") == "pending"

    restarted = await restarted_later(circle, minutes=10)
    async with circle.standin.client_running(circle.adapter(restarted).client):
        await restarted.outbox.deliver_due()
    assert (restarted.outbox.totals.found, restarted.outbox.totals.sent) == (2, 0)
    assert await restarted.outbox.status_of("m5.start") == "sent"
    assert await restarted.outbox.status_of("m5.dm.bob") == "sent"
    (shown,) = circle.standin.state.bot_messages(general)
    (dm_shown,) = circle.standin.state.bot_messages(circle.dm("bob"))
    assert MARKED.sub("", shown["content"]) == "Starting now"
    assert MARKED.sub("", dm_shown["content"]) == "Starts in 10 minutes"
    assert MARKED.search(shown["content"])[1] != MARKED.search(dm_shown["content"])[1]
    history = circle.standin.requests("GET", r"/channels/\d+/messages")
    assert len(history) == 2 and all(int(r.query["limit"]) <= 100 for r in history)


async def test_a_split_post_cut_by_a_crash_gets_only_its_missing_pieces(circle: Circle) -> None:
    app = await circle.app(cogs=GENERAL)
    adapter = circle.adapter(app)
    general = circle.general
    text = "\n".join(f"Line {n}: " + "take what helps, leave the rest. " * 5 for n in range(40))
    async with circle.standin.client_running(adapter.client):
        await app.outbox.enqueue(
            "m6.notes", Target("discord", str(general.id)), Message.coerce(text), app.clock.now()
        )
        answer_lost(adapter)
        await app.outbox.deliver_due()
    assert len(circle.standin.state.bot_messages(general)) == 1

    restarted = await restarted_later(circle, minutes=10)
    async with circle.standin.client_running(circle.adapter(restarted).client):
        await restarted.outbox.deliver_due()
    assert restarted.outbox.totals.sent == 1
    pieces = circle.standin.state.bot_messages(general)
    assert len(pieces) == 4
    assert [MARKED.search(p["content"])[2] for p in pieces] == [" 1/4", " 2/4", " 3/4", " 4/4"]
    assert "\n".join(MARKED.sub("", p["content"]) for p in pieces) == text
    assert all(len(p["content"]) <= 2000 for p in pieces)


@pytest.mark.parametrize("before_crash", [1, 4])
async def test_a_split_post_settled_after_a_crash_is_deleted_whole(
    circle: Circle, before_crash: int
) -> None:
    """Whether the restarted outbox found every piece (4) or sent the missing ones (1), it
    keeps the ids of all four, so deleting what the post carried removes every piece."""
    app = await circle.app(cogs=GENERAL)
    adapter = circle.adapter(app)
    general = circle.general
    text = "\n".join(f"Line {n}: " + "what I wrote, all of it. " * 7 for n in range(40))
    carries = OutboxRef(RefKind.JOURNAL_FEED_POST, "ab12cd")  # a long entry's feed post
    async with circle.standin.client_running(adapter.client):
        await app.outbox.enqueue(
            "m10.entry",
            Target("discord", str(general.id)),
            Message.coerce(text),
            app.clock.now(),
            refs=[carries],
        )
        answer_lost(adapter, pieces=before_crash)
        await app.outbox.deliver_due()
    assert len(circle.standin.state.bot_messages(general)) == before_crash

    restarted = await restarted_later(circle, minutes=10)
    async with circle.standin.client_running(circle.adapter(restarted).client):
        await restarted.outbox.deliver_due()
        posted = circle.standin.state.bot_messages(general)
        assert [MARKED.search(p["content"])[2] for p in posted] == [" 1/4", " 2/4", " 3/4", " 4/4"]
        gone = await restarted.outbox.forget(carries)
    assert gone.removed == ["discord"]
    assert circle.standin.state.bot_messages(general) == []
    deleted = {m["id"] for m in circle.standin.state.deleted_messages}
    assert {p["id"] for p in posted} <= deleted


async def test_without_read_message_history_a_lost_answer_is_posted_again_and_logged(
    circle: Circle, caplog: pytest.LogCaptureFixture
) -> None:
    """Discord shows such a bot no history at all: it says so and sends (a double beats a loss)."""
    state = circle.standin.state
    bot_role = state.role_named(circle.standin.guild, "CircleBot")
    bot_role.permissions &= ~READ_MESSAGE_HISTORY
    everyone = state.guilds[circle.standin.guild.id].roles[circle.standin.guild.id]
    everyone.permissions &= ~READ_MESSAGE_HISTORY
    app = await circle.app(cogs=GENERAL)
    adapter = circle.adapter(app)
    general = circle.general
    async with circle.standin.client_running(adapter.client):
        await app.outbox.enqueue(
            "m7.start", Target("discord", str(general.id)), Message.coerce("Now"), app.clock.now()
        )
        answer_lost(adapter)
        await app.outbox.deliver_due()

    restarted = await restarted_later(circle, minutes=10)
    async with circle.standin.client_running(circle.adapter(restarted).client):
        await restarted.outbox.deliver_due()
    assert restarted.outbox.totals.sent == 1
    assert len(state.bot_messages(general)) == 2
    assert "lacks Read Message History" in caplog.text


async def test_a_429_on_send_is_retried_after_retry_after(circle: Circle) -> None:
    app = await circle.app(cogs=GENERAL)
    adapter = circle.adapter(app)
    general = circle.general
    circle.standin.fail_next("POST", rf"/channels/{general.id}/messages", retry_after=0.3)
    async with circle.standin.client_running(adapter.client):
        await app.outbox.enqueue(
            "m2.start",
            Target("discord", str(general.id)),
            Message.coerce("Starting now"),
            app.clock.now(),
        )
        await app.outbox.deliver_due()
    limited, delivered = circle.standin.requests("POST", rf"/channels/{general.id}/messages")
    assert (limited.status, delivered.status) == (429, 200)
    assert delivered.at - limited.at >= 0.3
    assert app.outbox.totals.sent == 1
    (shown,) = circle.standin.state.bot_messages(general)
    assert MARKED.sub("", shown["content"]) == "Starting now"


async def test_bulk_deliveries_are_paced(circle: Circle) -> None:
    """Sent together by the outbox's pool, yet never more than the pace in any one second."""
    app = await circle.app(cogs=GENERAL)
    adapter = circle.adapter(app, sends_per_second=3)
    target = Target("discord", str(circle.general.id))
    async with circle.standin.client_running(adapter.client):
        for n in range(4):
            await app.outbox.enqueue(f"bulk.{n}", target, Message.coerce(f"n{n}"), app.clock.now())
        await app.outbox.deliver_due()
        # Enqueueing wakes a pass of its own, which may have sent the first item already:
        # what counts is that every item went out exactly once, whichever pass sent it.
        states = [await app.outbox.status_of(f"bulk.{n}") for n in range(4)]
    posts = circle.standin.requests("POST", r"/channels/\d+/messages")
    assert states == ["sent"] * 4
    shown = sorted(MARKED.sub("", post.json["content"]) for post in posts)
    assert shown == ["n0", "n1", "n2", "n3"]
    assert posts[3].at - posts[0].at >= 0.95  # the fourth waited for the first's second to end


# -- privacy: closed DMs and pings ----------------------------------------------------------------


async def test_closed_dms_are_reported_once_and_not_retried(circle: Circle) -> None:
    app = await circle.app(cogs=GENERAL)
    adapter = circle.adapter(app)
    bob = circle.user("bob")
    bob.dms_open = False
    standin = circle.standin
    dm_posts = rf"/channels/{circle.dm('bob').id}/messages"
    async with standin.client_running(adapter.client):
        sent = await standin.send_command("me setup", user=bob)
        pointer = await standin.wait_for_interaction_response(sent.id)
        (notice,) = await standin.wait_for(lambda: standin.followups(sent.id))
        await app.outbox.enqueue(
            "m3.reminder.bob",
            Target("discord", f"discord:{bob.id}", is_dm=True),
            Message.coerce("Your meeting starts soon"),
            app.clock.now(),
        )
        await app.outbox.deliver_due()
    assert pointer["data"]["flags"] == EPHEMERAL
    assert "DMs are closed" in notice["content"]
    assert notice["flags"] & EPHEMERAL
    assert len(standin.requests("POST", dm_posts)) == 1  # one try, no loop
    assert app.outbox.totals.failed == 1
    assert await app.outbox.status_of("m3.reminder.bob") == "failed"
    assert standin.violations == []


async def test_user_text_pings_nobody(circle: Circle) -> None:
    app = await circle.app(cogs=GENERAL)
    adapter = circle.adapter(app)
    standin = circle.standin
    member_role = standin.state.role_named(standin.guild, "Member")
    pings = f"@everyone @here <@&{member_role.id}>"
    async with standin.client_running(adapter.client):
        echoed = await circle.reply("help", {"command": pings}, user="bob")
        await app.outbox.enqueue(
            "m4.announce",
            Target("discord", str(circle.general.id)),
            Message.coerce(f"Shared by a member: {pings}"),
            app.clock.now(),
        )
        await app.outbox.enqueue(
            "m4.opted-in",
            Target("discord", str(circle.general.id)),
            Message(text=("The meeting starts now.",), ping_role=str(member_role.id)),
            app.clock.now(),
        )
        await app.outbox.deliver_due()
    content = echoed["data"]["content"]
    assert f"@{ZWSP}everyone @{ZWSP}here <@&{ZWSP}{member_role.id}>" in content
    assert echoed["data"]["allowed_mentions"] == {"parse": []}
    announce, opted_in = [
        m for m in standin.state.bot_messages(circle.general) if "interaction_metadata" not in m
    ]
    assert "@everyone" not in announce["content"]
    assert f"@{ZWSP}everyone" in announce["content"]
    assert MARKED.sub("", opted_in["content"]) == f"<@&{member_role.id}> The meeting starts now."
    posts = standin.requests("POST", r"/channels/\d+/messages")
    assert posts[0].json["allowed_mentions"] == {"parse": []}
    assert posts[1].json["allowed_mentions"] == {"parse": [], "roles": [member_role.id]}
    assert standin.violations == []


async def test_the_bot_connects_with_the_shard_count_discord_recommends(circle: Circle) -> None:
    """With no shard_count configured the bot asks Discord (GET /gateway/bot) how many shards
    to run, so a bot past 2,500 servers is not refused a single connection."""
    app = await circle.app(cogs=GENERAL)
    adapter = circle.adapter(app)
    standin = circle.standin
    async with standin.client_running(adapter.client):
        helped = await circle.reply("help", user="alice")
        assert "Commands you can use" in helped["data"]["content"]
    assert standin.requests("GET", r"/gateway/bot$")
    identify = next(f for f in standin.state.gateway_received if f.get("op") == 2)
    assert identify["d"]["shard"] == [0, 1]
    assert standin.violations == []
