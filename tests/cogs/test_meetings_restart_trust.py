"""A restart trusts a meeting's stored plan only when planning it again would write the same.

At start-up each meeting whose stored plan stamp matches its state (revision, plan_version,
community settings, the code) and whose next planning moment has not come is not planned
again. These tests run random changes, time and restarts through the model of
tests/harness/meetings_model.py: after every restart what was trusted is compared with planning
every meeting again (`check_trusted`: same pending items, texts, targets, references and next
planning moments), and every delivery with the oracle.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.maintenance import export_community, import_community
from cogs.meetings.recurrence import local_key
from cogs.meetings.service import Draft
from tests.harness.meetings import after_an_update
from tests.harness.meetings_model import PEOPLE, REMINDERS, ZONES, DeliveryMachine

STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.sampled_from([1, 10, 61, 600, 1440, 2880])),
        st.tuples(st.just("restart"), st.sampled_from([0, 3, 40, 1500, 3000])),
        st.tuples(st.just("rsvp"), st.integers(0, 8)),
        st.tuples(st.just("rename"), st.sampled_from(["Ana", "Ana B", ""])),
        st.tuples(st.just("reminders"), st.integers(0, 5)),
        st.tuples(st.just("announce"), st.sampled_from([(0,), (60, 0), (1440, 10)])),
        st.tuples(st.just("cancel"), st.integers(0, 8)),
    ),
    max_size=8,
)


@settings(max_examples=14, derandomize=True, deadline=None)
@given(
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=3),
    daily=st.booleans(),
    steps=STEPS,
    downtime=st.sampled_from([0, 5, 30]),
)
def test_a_restart_after_any_changes_trusts_only_plans_it_would_write_again(
    zones: list[str], daily: bool, steps: list[tuple[str, object]], downtime: int
) -> None:
    """Random changes, each followed by a restart (checked); then two restarts with nothing
    changed between them: the second trusts every meeting it can, and what it kept is what
    planning again writes."""
    machine = DeliveryMachine()
    try:
        for n, zone in enumerate(zones):
            machine.schedule(ahead=6 + 30 * n, zone=zone, daily=daily, every=1 + 2 * n)
        for step, value in steps:
            ids = machine.ids()
            if step == "advance":
                machine.advance(int(value))  # type: ignore[call-overload]
            elif step == "restart":
                machine.restart_after(int(value))  # type: ignore[call-overload]
            elif step == "rsvp" and ids:
                n = int(value)  # type: ignore[call-overload]
                meeting_id = ids[n % len(ids)]
                found = machine.upcoming(meeting_id)
                key = found[n % len(found)].key if found and n % 2 else ""
                person = PEOPLE[n % len(PEOPLE)]
                machine.rsvp_to(meeting_id, person, key, REMINDERS[1 + n % 3])
            elif step == "rename":
                machine.rename(str(value) or None)
            elif step == "reminders":
                n = int(value)  # type: ignore[call-overload]
                machine.reminders(PEOPLE[n % len(PEOPLE)], on=bool(n % 2))
            elif step == "announce":
                machine.announce(set(value))  # type: ignore[arg-type]
            elif step == "cancel" and ids:
                n = int(value)  # type: ignore[call-overload]
                meeting_id = ids[n % len(ids)]
                found = machine.upcoming(meeting_id)
                if found:
                    machine.cancel(meeting_id, found[n % len(found)])
            machine.restart_after(0)
        machine.restart_after(downtime)
        trusted = machine.restart_after(0)
        # Nothing changed since the last restart's plan: every meeting still to be held is
        # trusted (one whose next planning moment passed meanwhile is planned, rightly).
        due = machine.service._plan_due
        now = machine.clock.now()
        assert set(trusted) >= {m for m in machine.ids() if m in due and due[m] > now}
    finally:
        machine.teardown()


def test_a_restart_into_new_code_plans_every_meeting_again() -> None:
    """Stamps made by other code (or none) are never trusted: every meeting is planned."""
    machine = DeliveryMachine()
    try:
        machine.schedule(ahead=6, zone="UTC", daily=True)
        machine.schedule(ahead=20, zone="Europe/London", daily=False)
        assert sorted(machine.restart_after(0)) == machine.ids()
        machine.run(after_an_update(machine.app))
        assert machine.restart_after(0) == []
        assert sorted(machine.restart_after(0)) == machine.ids()
        machine.advance(2 * 24 * 60)
    finally:
        machine.teardown()


def test_a_renamed_facilitator_is_named_after_a_restart() -> None:
    """A pseudonym chosen after the announcements were planned is the one they show, also
    when the bot restarts in between (the plan follows the name; the restart trusts it)."""
    machine = DeliveryMachine()
    try:
        machine.schedule(ahead=6, zone="UTC", daily=False)
        machine.rename("Sunny Harbour")
        machine.restart_after(0)
        machine.run(machine.app.scheduler.advance(timedelta(hours=2)))
        posts = [d.text for d in machine.platform.log if not d.target.is_dm]
        assert posts, "nothing was announced"
        assert all("Sunny Harbour" in text for text in posts), posts
    finally:
        machine.teardown()


CHANGES = ("rsvp", "reminders_off", "rename", "announce", "move", "cancel")


@settings(max_examples=12, derandomize=True, deadline=None)
@given(change=st.sampled_from(CHANGES), daily=st.booleans())
def test_a_change_whose_plan_was_never_written_is_planned_at_the_restart(
    change: str, daily: bool
) -> None:
    """A change committed while its plan was not written (the process stopped in between, or
    the change was made by another process that stopped): the restart does not trust the
    meeting's stored plan, and plans it."""
    machine = DeliveryMachine()
    try:
        machine.schedule(ahead=8, zone="UTC", daily=daily)
        meeting_id = machine.ids()[0]
        machine.rsvp_to(meeting_id, "fake:ben", "", 30)
        assert machine.restart_after(0) == [meeting_id]
        service = machine.service
        found = machine.upcoming(meeting_id)

        async def stopped(*_args: object, **_kwargs: object) -> None:
            raise ConnectionError("the process stopped before planning")

        service._replan = stopped  # type: ignore[method-assign]
        try:
            if change == "rsvp":
                machine.run(service.rsvp(machine.view(meeting_id), "fake:cat", "", 15))
            elif change == "reminders_off":
                machine.run(service.set_reminders("fake:ben", False))
            elif change == "rename":
                machine.run(
                    machine.app.members.set_pseudonym(machine.community_id, "fake:ana", "Ana")
                )
            elif change == "announce":
                machine.run(service.set_offsets(machine.community_id, [0, 60]))
            elif change == "move":
                machine.run(
                    service.move_occurrence(
                        machine.view(meeting_id),
                        "fake:ana",
                        found[0],
                        found[0].start + timedelta(minutes=20),
                        "",
                    )
                )
            elif change == "cancel":
                machine.run(
                    service.cancel_occurrence(machine.view(meeting_id), "fake:ana", found[0], "")
                )
        except ConnectionError:
            pass
        else:
            raise AssertionError(f"{change} never planned: nothing was tested")
        # The restart's own check (`check_trusted`) compares with planning everything.
        assert machine.restart_after(0) == [], change
    finally:
        machine.teardown()


@settings(max_examples=2, derandomize=True, deadline=None)
@given(how=st.sampled_from(["import", "stopped"]))
def test_a_new_meeting_reusing_a_deleted_meetings_id_is_announced_after_a_restart(
    how: str,
) -> None:
    """A meeting deleted before anything of it was planned leaves no items behind; a new one
    that gets its row id (SQLite reuses the highest id) with the same revision and settings,
    added without its plan (a community imported while the bot was stopped, or the process
    stopped between saving and planning it), is announced: the restart plans it, and the
    channel sees its start on time."""
    machine = DeliveryMachine()
    try:
        machine.schedule(ahead=4 * 24 * 5, zone="UTC", daily=False)  # in 5 days: nothing yet
        old = machine.ids()[0]
        exported = machine.run(
            export_community(machine.app.db, machine.community_id, decrypt=False)
        )
        machine.run(machine.service.remove(machine.view(old), "fake:ana"))
        del machine.model.meetings[old]
        soon = (machine.clock.now() + timedelta(hours=2)).replace(second=0, tzinfo=None)
        if how == "import":
            # another circle's export (another database's meeting), starting in two hours
            exported["tables"]["community"][0]["platform_id"] = "c2"
            row = exported["tables"]["meeting"][0]
            row["uid"] = uuid.uuid4().hex
            row["start_local"] = local_key(soon)
            row["title"] = "Imported circle"
            machine.run(import_community(machine.app.db, exported))
        else:
            service = machine.service

            async def stopped(*_args: object, **_kwargs: object) -> None:
                raise ConnectionError("the process stopped before planning")

            service._replan = stopped  # type: ignore[method-assign]
            draft = service.validate(
                Draft(
                    title="Imported circle",
                    kind="standard",
                    start_local=soon,
                    timezone="UTC",
                    duration_minutes=60,
                    rrule="",
                    location="fake:general",
                    location_label="#general",
                    channel="fake:general",
                )
            )
            with contextlib.suppress(ConnectionError):
                machine.run(service.create(machine.community_id, "fake:ana", draft))
        machine.run(machine.app.close())
        machine.app = machine.run(machine.boot())
        assert machine.run(machine.service.get(old)) is not None, "the id was not reused"
        machine.run(machine.app.scheduler.advance(timedelta(hours=2, minutes=1)))
        posts = [d.text for d in machine.platform.log if not d.target.is_dm]
        assert any("Imported circle" in p and "is starting now" in p for p in posts), posts
    finally:
        machine.teardown()


@settings(max_examples=2, derandomize=True, deadline=None)
@given(how=st.sampled_from(["rename", "erase"]))
def test_a_facilitators_name_changed_without_its_plan_is_followed_after_a_restart(
    how: str,
) -> None:
    """The facilitator's pseudonym changes and the process stops before the meetings hear of
    it: a new name saved (the meetings' follow-up never ran), or an erasure that removed her
    memberships and stopped before the meetings' part. After the restart the channel never
    shows the old name."""
    machine = DeliveryMachine()
    try:
        machine.schedule(ahead=6, zone="UTC", daily=False)
        members = machine.app.members
        machine.run(members.set_pseudonym(machine.community_id, "fake:ana", "Sunny"))
        machine.restart_after(0)
        if how == "rename":
            members._renamed.clear()  # the process stopped after saving the name
            machine.run(members.set_pseudonym(machine.community_id, "fake:ana", "Rainy"))
        else:
            machine.run(members.delete_user_data("fake:ana"))  # the core's part of an erasure
        machine.run(machine.app.close())
        machine.app = machine.run(machine.boot())
        machine.run(machine.app.scheduler.advance(timedelta(hours=2)))
        posts = [d.text for d in machine.platform.log if not d.target.is_dm]
        assert posts, "nothing was announced"
        assert not any("Sunny" in text for text in posts), posts
    finally:
        machine.teardown()
