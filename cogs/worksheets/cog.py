"""Worksheets walked through in private DMs, the member's toolbox, and the urge log."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.core import (
    DATA_DIR,
    END,
    Actor,
    AnswerKind,
    Attachment,
    Choice,
    Clock,
    Cog,
    Context,
    Database,
    Dialogue,
    Dialogues,
    FrozenSection,
    GroupJournal,
    MemberService,
    Message,
    NotFound,
    Option,
    OptionType,
    Outbox,
    OutboxRef,
    Outcome,
    RefKind,
    Step,
    Target,
    TextChecks,
    Tier,
    UserError,
    closest_name,
    command,
    escape_markdown,
    page_count,
    page_offset,
)
from cogs.worksheets import insights, render
from cogs.worksheets.definitions import STAGES, TAGS, StepDef, Worksheet, load_all
from cogs.worksheets.service import Item, Share, Toolbox

GROUP_SHARE = "journal-group:"  # share keys for items posted into a group journal

log = logging.getLogger("circlebot.worksheets")

URGE_LOG = "urge_log"
ITEM_KEY = "_item"  # prefill key telling an edit dialogue which toolbox item it changes
WHICH = "_which"  # the edit dialogue's first question: which answer to change
PREVIEW = 50
PAGE = 20  # items per `toolbox list` page, so one message stays well under platform limits
ITEM_ID = Option(
    "id", OptionType.INTEGER, "The item's number", min_value=1, autocomplete="complete_item"
)


class WorksheetsConfig(FrozenSection):
    """`[cogs.worksheets]` settings."""

    directory: str = ""  # folder of worksheet files; empty means data/worksheets


class WorksheetsCog(Cog):
    """Self-management tools as private dialogues, saved to a toolbox only the member sees."""

    name = "worksheets"
    description = "Worksheets, your toolbox and the urge log"
    data_statement = (
        "Stores the worksheets you complete and the urges you log (answers encrypted), and "
        "who you chose to share an item with, so you can review, edit, export or delete them. "
        "Only you can see your toolbox. Withdrawing a share deletes the copy it sent (where "
        "the platform does not allow that, the recipient is asked to delete it)."
    )
    Config = WorksheetsConfig

    def __init__(
        self,
        config: Any = None,
        *,
        clock: Clock,
        db: Database,
        dialogue_engine: Dialogues,
        members: MemberService,
        outbox: Outbox,
        text_checks: TextChecks,
        journal: GroupJournal | None = None,
    ) -> None:
        """`journal`: items can be posted into a group journal (without it `toolbox share`
        to a group says group journals are not available)."""
        super().__init__(config)
        self.clock = clock
        self.db = db
        self.dialogue_engine = dialogue_engine
        self.members = members
        self.outbox = outbox
        self.text_checks = text_checks
        self.journal = journal
        folder = config.directory if isinstance(config, WorksheetsConfig) else ""
        self.directory = Path(folder) if folder else DATA_DIR / "worksheets"
        self.sheets, self.problems = load_all(self.directory)
        for problem in self.problems:
            log.warning("worksheet not loaded: %s", problem)
        self.toolbox = Toolbox(db.sessions, clock)

    # dialogues

    def dialogues(self) -> list[Dialogue]:
        """Each worksheet, plus its `toolbox edit` dialogue: which answer, then that answer."""
        dialogues: list[Dialogue] = []
        for sheet in self.sheets.values():
            dialogues.append(
                Dialogue(
                    id=sheet.dialogue_id,
                    title=sheet.title,
                    steps=tuple(self._step(s) for s in sheet.steps),
                    finish=self._finisher(sheet),
                    intro=sheet.intro,
                )
            )
            which = Step(
                id=WHICH,
                prompt=render.ask_answer_number(),
                kind=AnswerKind.CHOICE,
                choices=tuple(Choice(s.id, render.label(s)) for s in sheet.steps),
                branches={s.id: s.id for s in sheet.steps},
            )
            answers = tuple(replace(self._step(s, branches=False), then=END) for s in sheet.steps)
            dialogues.append(
                Dialogue(
                    id=edit_dialogue_id(sheet),
                    title=sheet.title,
                    steps=(which, *answers),
                    finish=self._edit_finisher(sheet),
                    intro=render.edit_intro(title=sheet.title),
                    kept_on_cancel=render.EDIT_KEPT,
                )
            )
        return dialogues

    @staticmethod
    def _step(step: StepDef, *, branches: bool = True) -> Step:
        validate: Callable[[Any], Any] | None = None
        prompt = step.prompt
        if step.terms:
            validate = render.mark_term
            prompt += "\n" + render.term_hint()
        elif step.check == "minutes":
            validate = insights.check_minutes
        return Step(
            id=step.id,
            prompt=prompt,
            kind=step.kind,
            required=step.required,
            low=step.low,
            high=step.high,
            choices=step.choices,
            hint=step.hint,
            validate=validate,
            past_only=step.check == "past",
            branches=dict(step.branches) if branches else {},
            long=step.long,
        )

    def _finisher(self, sheet: Worksheet) -> Callable[[Outcome], Awaitable[Message | str]]:
        async def finish(outcome: Outcome) -> Message | str:
            return await self._finish(sheet, outcome)

        return finish

    async def _finish(self, sheet: Worksheet, outcome: Outcome) -> Message | str:
        answers = {k: v for k, v in outcome.answers.items() if sheet.step(k) is not None}
        if sheet.id == URGE_LOG and "when" not in answers:
            answers["when"] = self.clock.now().isoformat()
        item = await self.toolbox.save(
            outcome.actor_key, sheet.id, answers, source=outcome.token or None
        )
        prefix = outcome.ctx.prefix
        lines = [render.sheet_saved(n=item.number, prefix=prefix)]
        words = render.flagged_words(sheet, answers)
        if words and sheet.flags is not None:
            lines.append(render.flag_note(sheet.flags, words))
        if sheet.suggest_from and isinstance(answers.get(sheet.suggest_from), str):
            lines.extend(self._suggestions(answers[sheet.suggest_from], sheet, prefix))
        if sheet.id == URGE_LOG:
            lines.append(render.urge_insights_hint(prefix=prefix))
        return "\n".join(lines)

    def _suggestions(self, stage: str, asked: Worksheet, prefix: str) -> list[str]:
        tools = [s for s in self.sheets.values() if stage in s.stages and s.id != asked.id]
        if not tools:
            return []
        return [
            render.tools_heading(),
            *(f"- **{s.title}**: `{prefix}worksheet start {s.id}`" for s in tools),
        ]

    def _edit_finisher(self, sheet: Worksheet) -> Callable[[Outcome], Awaitable[Message | str]]:
        async def finish(outcome: Outcome) -> Message | str:
            number = outcome.answers.get(ITEM_KEY)
            step = sheet.step(str(outcome.answers.get(WHICH)))
            if not isinstance(number, int) or step is None:
                return render.lost_item()
            value = outcome.answers.get(step.id)
            try:
                item = await self.toolbox.get(outcome.actor_key, number)
                if value is None or item.answers.get(step.id) == value:
                    return render.answer_kept(n=number)
                await self.toolbox.replace_answer(outcome.actor_key, number, step.id, value)
            except NotFound as exc:
                return exc.message
            return render.item_updated(n=number, prefix=outcome.ctx.prefix)

        return finish

    # worksheets

    @command(
        "worksheet",
        "list",
        ephemeral=True,
        options=(
            Option(
                "topic",
                OptionType.STRING,
                "A 4-Point tag (e.g. urges) or a stage of change (e.g. contemplation)",
                required=False,
                max_length=40,
                autocomplete="complete_topic",
                private_text=True,
            ),
        ),
    )
    async def worksheet_list(self, ctx: Context, topic: str | None = None) -> None:
        """List the worksheets, optionally for one 4-Point topic or stage of change."""
        wanted = (topic or "").strip().lower().replace(" ", "_").replace("-", "_")
        if wanted and wanted not in TAGS and wanted not in STAGES:
            raise UserError(render.unknown_topic(topic or "", TAGS, STAGES))
        sheets = sorted(
            (s for s in self.sheets.values() if not wanted or wanted in (*s.tags, *s.stages)),
            key=lambda s: s.title.casefold(),
        )
        problems = self.problems if ctx.tier >= Tier.MODERATOR else []
        await ctx.reply(render.sheet_list(sheets, wanted, ctx.prefix, problems), ephemeral=True)

    async def complete_topic(self, ctx: Context, partial: str) -> list[Choice]:
        """Suggest 4-Point tags and stages."""
        needle = partial.strip().lower()
        return [
            Choice(name, name.replace("_", " "))
            for name in (*TAGS, *STAGES)
            if needle in name.replace("_", " ") or needle in name
        ][:25]

    @command(
        "worksheet",
        "start",
        dm=True,
        options=(
            Option(
                "name",
                OptionType.STRING,
                "Which worksheet, e.g. cba or abc",
                max_length=100,
                autocomplete="complete_worksheet",
                private_text=False,
            ),
        ),
    )
    async def worksheet_start(self, ctx: Context, name: str) -> None:
        """Work through a worksheet privately in your DMs."""
        sheet = self._find(name, ctx.prefix)
        dialogues = self.dialogue_engine
        if not await dialogues.resume(ctx, sheet.dialogue_id):
            await dialogues.start(ctx, sheet.dialogue_id)

    async def complete_worksheet(self, ctx: Context, partial: str) -> list[Choice]:
        """Suggest worksheets by id or title."""
        needle = partial.strip().casefold()
        return [
            Choice(s.id, s.title)
            for s in sorted(self.sheets.values(), key=lambda s: s.title.casefold())
            if needle in s.id or needle in s.title.casefold()
        ][:25]

    async def complete_group(self, ctx: Context, partial: str) -> list[Choice]:
        """The asking member's own group journals here (when the journal part is on)."""
        if self.journal is None or ctx.community is None:
            return []
        needle = partial.strip().casefold()
        names = await self.journal.group_names(ctx.community.id, ctx.actor.key)
        return [Choice(n[:100]) for n in names if needle in n.casefold()][:25]

    async def complete_item(self, ctx: Context, partial: str) -> list[Choice]:
        """The asking member's own toolbox items, newest first: `#3 Cost-benefit analysis`.
        Only ever the asker's items: the list is read by their own actor key."""
        needle = partial.strip().casefold().lstrip("#")
        found = []
        for item in reversed(await self.toolbox.items(ctx.actor.key)):
            label = render.item_choice(item, self._sheet_for(item), self._preview(item))
            if needle in str(item.number) or needle in label.casefold():
                found.append(Choice(str(item.number), label[:100]))
        return found[:25]

    def _find(self, name: str, prefix: str) -> Worksheet:
        """The worksheet `name` means (its id or title, any case); NotFound suggesting the
        closest id or title (`cost benefit`: `cba`, Cost-benefit analysis)."""
        wanted = name.strip().casefold().lstrip("#")
        for sheet in self.sheets.values():
            if wanted in (sheet.id, sheet.title.casefold(), sheet.dialogue_id):
                return sheet
        by_name = {n: s for s in self.sheets.values() for n in (s.id, s.title)}
        near = by_name.get(closest_name(wanted, by_name) or "")
        hint = render.did_you_mean_sheet(id=near.id, title=near.title) if near else ""
        raise NotFound(
            render.no_worksheet(name=escape_markdown(name)[:40], hint=hint, prefix=prefix)
        )

    @command(
        "worksheet",
        "resume",
        dm=True,
        options=(
            Option(
                "name",
                OptionType.STRING,
                "Which paused worksheet (leave out for the last one)",
                required=False,
                max_length=100,
                autocomplete="complete_worksheet",
                private_text=False,  # a worksheet's name, as `worksheet start` takes it
            ),
        ),
    )
    async def worksheet_resume(self, ctx: Context, name: str | None = None) -> None:
        """Continue the worksheet you paused or left unfinished."""
        by_dialogue = {
            i: s for s in self.sheets.values() for i in (s.dialogue_id, edit_dialogue_id(s))
        }
        wanted = set(by_dialogue)
        if name:
            sheet = self._find(name, ctx.prefix)
            wanted = {sheet.dialogue_id, edit_dialogue_id(sheet)}
        if await self.dialogue_engine.resume(ctx, wanted):
            return
        if not name:
            raise UserError(render.nothing_paused(prefix=ctx.prefix))
        paused = await self.dialogue_engine.paused(ctx.actor.key, by_dialogue)
        titles = list(dict.fromkeys(by_dialogue[i].title for i in paused))
        raise UserError(
            render.sheet_not_paused(
                title=sheet.title,
                paused=", ".join(f"**{t}**" for t in titles),
                prefix=ctx.prefix,
            )
        )

    # toolbox

    def _sheet_for(self, item: Item) -> Worksheet:
        """The item's worksheet; a plain stand-in if its file is gone, so it stays readable."""
        sheet = self.sheets.get(item.worksheet_id)
        if sheet is not None:
            return sheet
        steps = tuple(
            StepDef(
                id=key,
                prompt=key.replace("_", " "),
                kind=AnswerKind.LIST if isinstance(value, list) else AnswerKind.TEXT,
                required=False,
                low=0,
                high=10,
                choices=(),
                hint="",
                branches={},
                long=False,
                terms=False,
                check="",
            )
            for key, value in item.answers.items()
        )
        return Worksheet(item.worksheet_id, item.worksheet_id, "", (), (), "", steps)

    def _preview(self, item: Item) -> str:
        sheet = self._sheet_for(item)
        if item.worksheet_id == URGE_LOG:
            text = render.strength(n=item.answers.get("intensity", "?"))
            trigger = item.answers.get("trigger")
            return f"{text}, {trigger}" if trigger else text
        for step in sheet.steps:
            value = item.answers.get(step.id)
            if isinstance(value, str) and step.kind is AnswerKind.TEXT:
                return value if len(value) <= PREVIEW else value[: PREVIEW - 1] + "…"
        return ""

    @command(
        "toolbox",
        "list",
        ephemeral=True,
        text_default=True,
        options=(
            Option("page", OptionType.INTEGER, "Which page (newest first)", False, min_value=1),
        ),
    )
    async def toolbox_list(self, ctx: Context, page: int = 1) -> None:
        """List the worksheets and urge-log entries in your toolbox (only you see it)."""
        items = await self.toolbox.items(ctx.actor.key)
        if not items:
            await ctx.reply(render.toolbox_empty(ctx.prefix), ephemeral=True)
            return
        pages = page_count(len(items), PAGE)
        page = min(page, pages)
        start = page_offset(page, PAGE)
        shown = list(reversed(items))[start : start + PAGE]
        rows = [(item, self._sheet_for(item), self._preview(item)) for item in shown]
        listed = render.toolbox_page(rows, page, pages, ctx.zone, ctx.prefix)
        await ctx.reply(listed, ephemeral=True)

    @command(
        "toolbox",
        "view",
        ephemeral=True,
        options=(ITEM_ID,),
    )
    async def toolbox_view(self, ctx: Context, id: int) -> None:
        """Show one item from your toolbox."""
        item = await self.toolbox.get(ctx.actor.key, id)
        sheet = self._sheet_for(item)
        await ctx.reply(
            Message(card=render.card(sheet, item, ctx.zone, ctx.prefix)), ephemeral=True
        )

    @command(
        "toolbox",
        "edit",
        dm=True,
        options=(
            ITEM_ID,
            Option(
                "answer",
                OptionType.STRING,
                "Which answer: its number or name (leave out to pick in the dialogue)",
                required=False,
                max_length=40,
                private_text=True,
            ),
        ),
    )
    async def toolbox_edit(self, ctx: Context, id: int, answer: str | None = None) -> None:
        """Change one answer of a saved worksheet, in your DMs."""
        item = await self.toolbox.get(ctx.actor.key, id)
        sheet = self.sheets.get(item.worksheet_id)
        if sheet is None:
            raise UserError(render.sheet_unavailable(n=id))
        # The item's answers come along, so `keep`, `skip` and `done` leave the chosen one as
        # it is; the finisher writes back only the answer that was picked.
        prefill: dict[str, Any] = {**item.answers, ITEM_KEY: id}
        first_step = None
        step = self._pick_step(sheet, answer) if answer else None
        if step is not None:
            prefill[WHICH] = first_step = step.id
        elif answer:
            # An answer that is not there still opens the dialogue at "which answer?", so the
            # number the member types next is read as their pick, not as a stray DM.
            await ctx.reply(
                render.no_such_answer(
                    title=sheet.title, answer=escape_markdown(answer)[:40], n=len(sheet.steps)
                ),
                ephemeral=True,
            )
        await self.dialogue_engine.start(
            ctx, edit_dialogue_id(sheet), prefill=prefill, first_step=first_step
        )

    @staticmethod
    def _pick_step(sheet: Worksheet, answer: str) -> StepDef | None:
        """The step `answer` names by number (from 1) or id; None when there is none."""
        wanted = answer.strip().lower()
        if wanted.isdigit() and 1 <= int(wanted) <= len(sheet.steps):
            return sheet.steps[int(wanted) - 1]
        return sheet.step(wanted)

    @command(
        "toolbox",
        "export",
        ephemeral=True,
        options=(
            Option(
                "which",
                OptionType.STRING,
                "An item's number, or all",
                max_length=10,
                private_text=False,
            ),
        ),
    )
    async def toolbox_export(self, ctx: Context, which: str) -> None:
        """Get one item, or your whole toolbox, as Markdown and JSON files."""
        wanted = which.strip().lower().lstrip("#")
        if wanted == "all":
            items = await self.toolbox.items(ctx.actor.key)
            if not items:
                raise UserError(render.nothing_to_export())
            stem = "toolbox-all"
        elif wanted.isdigit():
            items = [await self.toolbox.get(ctx.actor.key, int(wanted))]
            stem = f"toolbox-{wanted}-{items[0].worksheet_id}"
        else:
            raise UserError(render.item_number_expected())
        pairs = [(self._sheet_for(i), i) for i in items]
        text = "\n\n---\n\n".join(render.markdown(s, i, ctx.zone) for s, i in pairs)
        data = [render.as_json(s, i) for s, i in pairs]
        await ctx.reply(
            Message(
                text=(render.export_markdown_caption(),),
                attachment=Attachment(f"{stem}.md", text.encode(), "text/markdown"),
            ),
            ephemeral=True,
        )
        await ctx.reply(
            Message(
                text=(render.export_json_caption(),),
                attachment=Attachment(
                    f"{stem}.json",
                    render.json_bytes(data if wanted == "all" else data[0]),
                    "application/json",
                ),
            ),
            ephemeral=True,
        )

    @command(
        "toolbox",
        "delete",
        ephemeral=True,
        options=(ITEM_ID,),
    )
    async def toolbox_delete(self, ctx: Context, id: int) -> None:
        """Delete an item from your toolbox for good (shares are withdrawn too)."""
        shares = await self.toolbox.delete(ctx.actor.key, id)
        lines = [render.item_deleted(n=id)]
        lines += await self._withdraw(ctx, shares)
        await ctx.reply("\n".join(lines), ephemeral=True)

    @command(
        "toolbox",
        "share",
        ephemeral=True,
        options=(
            ITEM_ID,
            Option("person", OptionType.USER, "The facilitator to share it with", required=False),
            Option(
                "group",
                OptionType.STRING,
                "Or a group journal you are in",
                required=False,
                max_length=64,
                autocomplete="complete_group",
                private_text=False,
            ),
        ),
    )
    async def toolbox_share(
        self, ctx: Context, id: int, person: Actor | None = None, group: str | None = None
    ) -> None:
        """Share a copy of one item with a facilitator or a group journal (you can withdraw it)."""
        if (person is None) == (group is None):
            raise UserError(render.share_target_expected())
        if group is not None:
            await self._share_into_group(ctx, id, group)
            return
        assert person is not None
        if person.key == ctx.actor.key:
            raise UserError(render.share_with_self())
        item = await self.toolbox.get(ctx.actor.key, id)
        sheet = self._sheet_for(item)
        community_id = ctx.community.id if ctx.community is not None else None
        sharer = await self.members.public_name(community_id, ctx.actor.key, opening=True)
        intro = render.shared_notice(name=escape_markdown(sharer))
        copy = Message(text=(intro,), card=render.card(sheet, item, ctx.zone, ctx.prefix))
        key = f"worksheets.share.{uuid.uuid4().hex}"
        target = Target(person.platform, person.key, is_dm=True)
        await self.outbox.enqueue(
            key,
            target,
            copy,
            self.clock.now(),
            refs=(
                OutboxRef(RefKind.TOOLBOX_SHARE, key),
                OutboxRef.member(ctx.actor.key),
                *((OutboxRef.community(ctx.community.id),) if ctx.community else ()),
            ),
        )
        await self.toolbox.add_share(ctx.actor.key, id, person.key, person.name, key)
        sent = render.item_sent(n=id, name=escape_markdown(person.name), prefix=ctx.prefix)
        unnamed = community_id is not None and not await self.members.pseudonym(
            community_id, ctx.actor.key
        )
        if unnamed:
            sent += " " + render.sent_unnamed(name=escape_markdown(sharer), prefix=ctx.prefix)
        await ctx.reply(sent, ephemeral=True)

    @command(
        "toolbox",
        "unshare",
        ephemeral=True,
        options=(ITEM_ID,),
    )
    async def toolbox_unshare(self, ctx: Context, id: int) -> None:
        """Withdraw every share of one item."""
        shares = await self.toolbox.remove_shares(ctx.actor.key, id)
        if not shares:
            raise UserError(render.item_not_shared(n=id))
        lines = [render.item_unshared(n=id)]
        lines += await self._withdraw(ctx, shares)
        await ctx.reply("\n".join(lines), ephemeral=True)

    async def _share_into_group(self, ctx: Context, id: int, group: str) -> None:
        """Post the item into a group journal the member belongs to (the journal cog's)."""
        if self.journal is None or ctx.community is None:
            raise UserError(render.no_group_journals())
        item = await self.toolbox.get(ctx.actor.key, id)
        sheet = self._sheet_for(item)
        body = render.markdown(sheet, item, ctx.zone)
        code, name = await self.journal.share_into_group(
            ctx.community.id, ctx.actor.key, group, sheet.title, body
        )
        await self.toolbox.add_share(
            ctx.actor.key,
            id,
            f"{GROUP_SHARE}{name}",
            render.group_label(name=name),
            f"{GROUP_SHARE}{code}",
        )
        await ctx.reply(
            render.item_posted(n=id, group=escape_markdown(name), code=code, prefix=ctx.prefix),
            ephemeral=True,
        )

    async def _withdraw(self, ctx: Context, shares: list[Share]) -> list[str]:
        """Stop undelivered copies; ask recipients of delivered ones to delete theirs."""
        lines = []
        outbox = self.outbox
        for share in shares:
            name = escape_markdown(share.recipient_name)
            if share.outbox_key.startswith(GROUP_SHARE):
                if self.journal is not None:
                    code = share.outbox_key[len(GROUP_SHARE) :]
                    await self.journal.withdraw_from_group(ctx.actor.key, code)
                lines.append(render.taken_out_of_journal(name=name))
                continue
            gone = await outbox.forget(share_ref(share))
            if gone.withdrawn:
                lines.append(render.copy_withdrawn(name=name))
                continue
            if gone.removed:
                lines.append(render.copy_deleted(name=name))
                continue
            if gone.waiting:
                lines.append(render.copy_delete_pending(name=name))
                continue
            note = Message.coerce(render.withdrawn_notice())
            await outbox.enqueue(
                f"{share.outbox_key}.withdrawn",
                Target(Actor.platform_of(share.recipient_key), share.recipient_key, is_dm=True),
                note,
                self.clock.now(),
            )
            lines.append(render.copy_asked_deleted(name=name))
        return lines

    # urge log

    @command(
        "urge",
        "log",
        ephemeral=True,
        options=(
            Option(
                "intensity",
                OptionType.INTEGER,
                "How strong, 1-10 (leave out to answer step by step)",
                required=False,
                min_value=1,
                max_value=10,
            ),
            Option(
                "details",
                OptionType.STRING,
                "What set it off; what you did (and e.g. 20 min)",
                required=False,
                max_length=500,
                private_text=True,
            ),
        ),
    )
    async def urge_log(
        self, ctx: Context, intensity: int | None = None, details: str | None = None
    ) -> None:
        """Note an urge: `urge log 6 after work; walked it off 20 min`, or step by step."""
        if intensity is None:
            if URGE_LOG not in self.sheets:
                raise UserError(render.urge_log_unavailable())
            await self.dialogue_engine.start(ctx, self.sheets[URGE_LOG].dialogue_id)
            return
        text = (details or "").strip()
        if text:
            await self.text_checks.run(ctx, text, "worksheet")
        answers: dict[str, Any] = {
            "when": self.clock.now().isoformat(),
            "intensity": intensity,
            **insights.parse_quick(text),
        }
        item = await self.toolbox.save(ctx.actor.key, URGE_LOG, answers)
        logged = render.urge_logged(item.number, intensity, answers, text, ctx.prefix)
        await ctx.reply(logged, ephemeral=True)

    @command("urge", "insights", ephemeral=True, slow=True)
    async def urge_insights(self, ctx: Context) -> None:
        """See patterns in your urge log, in words and as a chart (only you see it)."""
        items = await self.toolbox.items(ctx.actor.key, URGE_LOG)
        entries = insights.entries_from([(i.answers, i.created_at) for i in items], ctx.zone)
        if not entries:
            await ctx.reply(
                render.no_urges(prefix=ctx.prefix),
                ephemeral=True,
            )
            return
        picture = await asyncio.to_thread(insights.chart, entries)
        await ctx.reply(
            Message(
                text=("\n".join(insights.summary(entries)),),
                attachment=Attachment("urge-insights.png", picture.png, "image/png"),
                meta={"points": str(picture.points)},
            ),
            ephemeral=True,
        )

    async def delete_user_data(self, actor_key: str) -> None:
        """Erase the member's toolbox, urge log and shares, and stop undelivered copies."""
        refs = [share_ref(s) for item in await self.toolbox.items(actor_key) for s in item.shares]
        await self.outbox.forget(*refs, OutboxRef.member(actor_key))
        await self.toolbox.delete_user_data(actor_key)

    async def delete_community_data(self, community_id: int) -> None:
        """Nothing: a toolbox is the member's own, kept outside any community."""

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """The member's toolbox, urge log and shares."""
        return await self.toolbox.export_user_data(actor_key)


def edit_dialogue_id(sheet: Worksheet) -> str:
    """The dialogue that changes one answer of a saved `sheet`."""
    return f"{sheet.dialogue_id}.edit"


def share_ref(share: Share) -> OutboxRef:
    """The outbox reference of the copy a share sent (its token is the share's outbox key)."""
    return OutboxRef(RefKind.TOOLBOX_SHARE, share.outbox_key)
