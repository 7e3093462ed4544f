"""What was erased is gone, and nothing private shows in public.

Model-based: Ben leaves words in public in any order (shared and edited journal entries, ones
shared later or taken back, feedback, toolbox copies sent to Ana, RSVPs counted in Circle's
announcements, being named its facilitator, pseudonyms, moderating: the mod-log posts name
him, a meeting's script he facilitates or speaks in: its posts name him), while time passes,
announcements go out and the platform goes down and up. Then he erases his data, perhaps in
a new run of the bot, perhaps while the platform cannot be reached. After a delivery pass
with the platform back, and the days the announcements need: nothing anyone else can read
from the bot holds his words, a pseudonym of his or his account (a mod-log post shows "a
moderator" instead; a script's post naming him is deleted), no pending message does, the
database holds none of it, no deletion is left undone, and every announcement counts only
Ana.

The newcomer's two cases run as they were found, in a real `circlebot console`, twice on one
database (the confirmation in a new run).
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness.app import AppFactory
from tests.harness.console import circlebot
from tests.harness.erase_model import BEN, Act, Community, counts_in
from tests.harness.privacy_scan import scan_database

ACTS = st.one_of(
    st.builds(
        Act,
        what=st.sampled_from(
            [
                "name",
                "shared",
                "private",
                "share",
                "unshare",
                "edit",
                "feedback",
                "toolbox",
                "rsvp",
                "unrsvp",
                "ana_rsvp",
                "facilitate",
                "moderate",
                "script",
                "down",
                "advance",
            ]
        ),
        n=st.integers(0, 40),
        flag=st.booleans(),
    ),
    # a meeting's script takes a few acts to name him in public: drawn as often as the rest
    st.builds(Act, what=st.just("script"), n=st.integers(0, 40), flag=st.booleans()),
)


async def run(folder: Path, acts: list[Act], restart: bool, down: bool) -> None:
    factory = AppFactory(folder)
    try:
        community = await Community.open(factory)
        for act in acts:
            await community.act(act)
        await community.app.outbox.deliver_due()  # up or down, as the acts left it
        said = await community.erase(restart=restart, down=down)
        assert "Everything stored about you is erased" in "\n".join(s.text for s in said)
        community.fake.reachable = True
        await community.app.outbox.deliver_due()
        await community.app.scheduler.advance(timedelta(days=2))  # Circle comes and goes
        await check(community)
    finally:
        await factory.close()


async def check(community: Community) -> None:
    his = [*community.words, *community.names]
    for said in community.shown_publicly():
        text = said.text
        left = [w for w in [*his, BEN] if w.lower() in text.lower()]
        assert not left, f"{left} still shown in {said.where} {said.to}: {text!r}"
        going = 1 if community.ana_going else 0
        assert all(n == going for n in counts_in(text)), f"counts him: {text!r}"
    for key, payload in await community.pending_payloads():
        left = [w for w in his if w.lower() in payload.lower()]
        assert not left, f"{left} in the pending message {key}"
        assert "Benny" not in payload, key
    assert await community.statuses() <= {"pending", "sent", "skipped", "failed"}, (
        "a deletion on the platform was left undone"
    )
    hits = await scan_database(community.app.db.engine, [*his, BEN])
    assert not hits, [(h.where, h.needle) for h in hits]


@settings(
    max_examples=18,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    acts=st.lists(ACTS, min_size=1, max_size=12),
    restart=st.booleans(),
    down=st.booleans(),
)
def test_after_an_erase_nothing_public_holds_his_words_his_name_or_his_rsvp(
    acts: list[Act], restart: bool, down: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(Path(folder), acts, restart, down))


async def test_a_shared_entry_already_posted_is_deleted_from_the_feed(
    app_factory: AppFactory,
) -> None:
    community = await Community.open(app_factory)
    await community.act(Act("name", 1))
    await community.act(Act("shared", 1, flag=True))  # written in a DM, posted in #general
    await community.app.scheduler.advance(timedelta(minutes=1))
    feed = [s for s in community.shown_publicly() if community.words[0] in s.text]
    assert [s.where for s in feed] == ["channel"]
    said = await community.erase(restart=True, down=False)
    # (said[-1]: the code typed in the channel was removed from it)
    assert "I also deleted 1 message(s) I had already posted with it." in said[-2].text
    assert feed[0].deleted
    await check(community)


async def test_a_feed_post_the_platform_would_not_delete_yet_goes_once_it_is_back(
    app_factory: AppFactory,
) -> None:
    community = await Community.open(app_factory)
    await community.act(Act("shared", 1))
    await community.app.scheduler.advance(timedelta(minutes=1))
    (feed,) = [s for s in community.shown_publicly() if community.words[0] in s.text]
    said = await community.erase(restart=False, down=True)
    assert "will be deleted when I reach fake again" in said[-2].text
    assert not feed.deleted
    assert await community.statuses() >= {"retract"}  # kept until done, not dropped
    await community.restart()
    community.fake.reachable = True
    await community.app.outbox.deliver_due()
    assert feed.deleted
    await check(community)


async def test_an_erased_rsvp_is_no_longer_counted_in_any_announcement(
    app_factory: AppFactory,
) -> None:
    community = await Community.open(app_factory)
    await community.act(Act("rsvp", flag=True))
    await community.app.scheduler.advance(timedelta(hours=11))  # the 24-hour post goes out
    (posted,) = [s for s in community.shown_publicly() if counts_in(s.text)]
    assert counts_in(posted.text) == [1]
    await community.erase(restart=True, down=False)
    assert counts_in(posted.text) == [0]  # edited in place
    info = "\n".join(s.text for s in await community.say("ana", "!meeting info Circle"))
    assert "Planning to come next time: 0" in info
    await community.app.scheduler.advance(timedelta(days=2))
    shown = [n for s in community.shown_publicly() for n in counts_in(s.text)]
    assert shown == [0, 0, 0]  # 24 hours, 10 minutes, starting now
    await check(community)


ERASE_CODE = re.compile(r"mydata erase confirm ([2-9a-z]{6})")


def console(tmp_path: Path, clock: str, lines: str) -> str:
    """One run of `circlebot console` on tmp_path's database; returns its transcript."""
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "c.sqlite3"),
        "--clock",
        clock,
        "--files",
        str(tmp_path / "files"),
        stdin=lines,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def erase_in_a_new_run(tmp_path: Path, clock: str, name: str, then: str = "") -> str:
    """Ben's first run ends at `!mydata erase`; a second run confirms with the code."""
    asked = console(tmp_path, clock, f"@{name} !mydata erase\n")
    code = ERASE_CODE.search(asked)
    assert code, asked
    return console(tmp_path, clock, f"@{name} !mydata erase confirm {code.group(1)}\n{then}")


def test_the_feed_post_goes_when_its_author_erases_in_the_console(tmp_path: Path) -> None:
    first = console(
        tmp_path,
        "2026-11-30T09:00:00Z",
        "!journal feed-channel #general\n@ben !me name Benny\n"
        "@ben dm !journal write visibility:shared Feeling strong today, 30 days.\n:advance 1m\n",
    )
    assert "[#general] *Feeling strong today, 30 days.* shared by Benny" in first
    done = erase_in_a_new_run(tmp_path, "2026-11-30T09:02:00Z", "ben")
    assert "[#general] (a message I posted here earlier was deleted)" in done
    assert "I also deleted 1 message(s) I had already posted with it." in done
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("c.sqlite3*"))
    assert b"Benny" not in blob


def test_announcements_stop_counting_an_erased_rsvp_in_the_console(tmp_path: Path) -> None:
    console(
        tmp_path,
        "2026-11-30T09:00:00Z",
        ":tier ana facilitator\n"
        '@ana !meeting schedule "Circle" "2026-12-01 19:00" 60m\n'
        "@ben !meeting rsvp Circle reminder:yes\n",
    )
    out = erase_in_a_new_run(
        tmp_path, "2026-11-30T09:02:00Z", "ben", "@cat !meeting info Circle\n:advance 1d12h\n"
    )
    assert "Planning to come next time: 0" in out
    assert "plans to come" not in out
    assert out.count("Nobody has said yet that they plan to come.") == 3
    assert "[dm ben]" not in out  # his reminder went with his RSVP


async def test_a_mod_log_post_naming_an_erased_moderator_is_edited_once_the_platform_is_back(
    app_factory: AppFactory,
) -> None:
    community = await Community.open(app_factory)
    await community.act(Act("name", 1))
    await community.act(Act("moderate", 1))
    await community.app.scheduler.advance(timedelta(minutes=6))  # the mirror's pass
    (post,) = [s for s in community.shown_publicly() if "timezone=UTC" in s.text]
    assert community.names[0] in post.text
    await community.erase(restart=True, down=True)
    assert community.names[0] in post.text  # the platform could not be reached
    await community.restart()
    community.fake.reachable = True
    await community.app.outbox.deliver_due()
    assert community.names[0] not in post.text
    assert "a moderator: `settings.set` `timezone=UTC`" in post.text
    assert not post.deleted
    await check(community)


def test_a_script_facilitator_who_erases_leaves_no_post_naming_them_in_the_console(
    tmp_path: Path,
) -> None:
    first = console(
        tmp_path,
        "2026-12-01T18:30:00Z",
        ":tier ana facilitator\n@ben !me name Ben\n"
        '@ana !meeting schedule "Tue circle" "2026-12-01 19:00" 60m facilitator:ben\n'
        '@ben !script start meeting:"Tue circle"\n@ben !script next\n@ben !hand raise\n',
    )
    assert "Welcome to Tue circle. I'm Ben, and I'll keep us on track today." in first
    assert "Ben raised a hand. Hands up: 1. Ben." in first
    asked = console(tmp_path, "2026-12-01T18:34:00Z", "@ben !mydata erase\n")
    assert "Meetings you set up" not in asked  # Ana set it up
    assert "Meeting scripts running now go on without you" in asked
    code = ERASE_CODE.search(asked)
    assert code, asked
    done = console(
        tmp_path,
        "2026-12-01T18:35:00Z",
        f":tier ana facilitator\n@ben !mydata erase confirm {code.group(1)}\n"
        ":advance 1m\n@ana !script next\n",
    )
    assert done.count("[#general] (a message I posted here earlier was deleted)") == 2
    assert "I also deleted 2 message(s) I had already posted with it." in done
    assert "The facilitator has left. The script goes on where it was" in done
    assert "[#general] Choosing today's agenda · step 3 of 7" in done  # Ana steers on
