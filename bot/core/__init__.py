"""The platform-neutral core, and the one door a cog uses into it.

A cog imports from `bot.core` only (`from bot.core import Cog, Context, command`), never from
a module below it; `tests/test_boundaries.py` holds every cog to that. `__all__` is the whole
public surface.

Names are resolved on first use (PEP 562 `__getattr__`) rather than imported here: modules
below the core (`bot.outbox`, `bot.safety`) import parts of `bot.core` themselves, so importing
them eagerly from this package's `__init__` would make the import order matter.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot import __version__
    from bot.clock import Clock
    from bot.config import BotConfig, WebConfig
    from bot.core.cog import Cog
    from bot.core.commands import Choice, CommandSpec, Option, OptionType, command
    from bot.core.context import CommunityInfo, Context
    from bot.core.convert import (
        COUNTRY_NAMES,
        MAX_YEAR,
        MIN_YEAR,
        check_country,
        check_language,
        closest_name,
        convert_option,
        file_hint,
        file_text,
        has_time_of_day,
        language_name,
        name_key,
        parse_duration,
        parse_zone,
        read_wall_time,
        tokenize,
        zone_label,
    )
    from bot.core.dialogue import END, AnswerKind, Dialogue, Dialogues, Outcome, Step
    from bot.core.dispatch import ActionHandler, CogHooks, Dispatcher, Incoming, tier_name
    from bot.core.errors import ArgumentError, DeliveryError, NotFound, PermissionDenied, UserError
    from bot.core.hooks import TextChecks
    from bot.core.identity import Actor, Place
    from bot.core.loader import CogDirectory, available_cogs
    from bot.core.message import (
        Action,
        ActionStyle,
        Attachment,
        Card,
        Command,
        Field,
        Message,
        Part,
        When,
        fill_parts,
        render_parts,
    )
    from bot.core.mirror import CalendarMirror, MirroredEvent
    from bot.core.needs import (
        CrisisLines,
        GroupJournal,
        MeetingSchedule,
        MissingProvider,
        PublicOccurrence,
        PublicSchedule,
        RetentionPlanner,
    )
    from bot.core.paging import Page, page_count, page_offset
    from bot.core.permissions import Scope, Tier
    from bot.core.registry import Registry
    from bot.core.suggest import SharedSuggestions
    from bot.core.zones import local_time_note
    from bot.crypto import EncryptedText, actor_tag, key_materials
    from bot.db import Base, Database, UTCDateTime, export_row
    from bot.i18n import (
        N_,
        _,
        available_languages,
        current_language,
        ngettext,
        using_language,
    )
    from bot.maintenance import scrub_free_space
    from bot.models import (
        ACTOR_KEY,
        AuditEntry,
        Community,
        Member,
        OutboxItem,
        Profile,
        Setting,
    )
    from bot.outbox import Forgotten, Outbox, OutboxRef, OwnerPlan, Planned, RefKind, Target
    from bot.paths import DATA_DIR
    from bot.safety import escape_markdown
    from bot.scheduler import Scheduler
    from bot.schema import (
        FrozenSection,
        Locator,
        NonBlank,
        Problem,
        SchemaError,
        Section,
        dotted,
        load_toml,
        problems_from,
        readable,
        syntax_problem,
        toml_spelling,
        validate,
    )
    from bot.services.audit import AuditRecord, AuditService
    from bot.services.members import MemberService
    from bot.services.settings import SettingsService

__all__ = [
    "ACTOR_KEY",
    "COUNTRY_NAMES",
    "DATA_DIR",
    "END",
    "MAX_YEAR",
    "MIN_YEAR",
    "N_",
    "Action",
    "ActionHandler",
    "ActionStyle",
    "Actor",
    "AnswerKind",
    "ArgumentError",
    "Attachment",
    "AuditEntry",
    "AuditRecord",
    "AuditService",
    "Base",
    "BotConfig",
    "CalendarMirror",
    "Card",
    "Choice",
    "Clock",
    "Cog",
    "CogDirectory",
    "CogHooks",
    "Command",
    "CommandSpec",
    "Community",
    "CommunityInfo",
    "Context",
    "CrisisLines",
    "Database",
    "DeliveryError",
    "Dialogue",
    "Dialogues",
    "Dispatcher",
    "EncryptedText",
    "Field",
    "Forgotten",
    "FrozenSection",
    "GroupJournal",
    "Incoming",
    "Locator",
    "MeetingSchedule",
    "Member",
    "MemberService",
    "Message",
    "MirroredEvent",
    "MissingProvider",
    "NonBlank",
    "NotFound",
    "Option",
    "OptionType",
    "Outbox",
    "OutboxItem",
    "OutboxRef",
    "Outcome",
    "OwnerPlan",
    "Page",
    "Part",
    "PermissionDenied",
    "Place",
    "Planned",
    "Problem",
    "Profile",
    "PublicOccurrence",
    "PublicSchedule",
    "RefKind",
    "Registry",
    "RetentionPlanner",
    "Scheduler",
    "SchemaError",
    "Scope",
    "Section",
    "Setting",
    "SettingsService",
    "SharedSuggestions",
    "Step",
    "Target",
    "TextChecks",
    "Tier",
    "UTCDateTime",
    "UserError",
    "WebConfig",
    "When",
    "_",
    "__version__",
    "actor_tag",
    "available_cogs",
    "available_languages",
    "check_country",
    "check_language",
    "closest_name",
    "command",
    "convert_option",
    "current_language",
    "dotted",
    "escape_markdown",
    "export_row",
    "file_hint",
    "file_text",
    "fill_parts",
    "has_time_of_day",
    "key_materials",
    "language_name",
    "load_toml",
    "local_time_note",
    "name_key",
    "ngettext",
    "page_count",
    "page_offset",
    "parse_duration",
    "parse_zone",
    "problems_from",
    "read_wall_time",
    "readable",
    "render_parts",
    "scrub_free_space",
    "syntax_problem",
    "tier_name",
    "tokenize",
    "toml_spelling",
    "using_language",
    "validate",
    "zone_label",
]

# Where each public name lives; `__getattr__` imports it from there on first use.
_HOME: dict[str, str] = {
    "WebConfig": "bot.config",
    "CogDirectory": "bot.core.loader",
    "CalendarMirror": "bot.core.mirror",
    "Dispatcher": "bot.core.dispatch",
    "TextChecks": "bot.core.hooks",
    "SharedSuggestions": "bot.core.suggest",
    "Registry": "bot.core.registry",
    "Dialogues": "bot.core.dialogue",
    "AuditService": "bot.services.audit",
    "SettingsService": "bot.services.settings",
    "MemberService": "bot.services.members",
    "Outbox": "bot.outbox",
    "Scheduler": "bot.scheduler",
    "Database": "bot.db",
    "BotConfig": "bot.config",
    **{
        name: "bot.schema"
        for name in (
            "FrozenSection",
            "Locator",
            "NonBlank",
            "Problem",
            "SchemaError",
            "Section",
            "dotted",
            "load_toml",
            "problems_from",
            "readable",
            "syntax_problem",
            "toml_spelling",
            "validate",
        )
    },
    "__version__": "bot",
    "Clock": "bot.clock",
    "Cog": "bot.core.cog",
    "export_row": "bot.db",
    "Choice": "bot.core.commands",
    "CommandSpec": "bot.core.commands",
    "Option": "bot.core.commands",
    "OptionType": "bot.core.commands",
    "command": "bot.core.commands",
    "CommunityInfo": "bot.core.context",
    "Context": "bot.core.context",
    "END": "bot.core.dialogue",
    "AnswerKind": "bot.core.dialogue",
    "Dialogue": "bot.core.dialogue",
    "Outcome": "bot.core.dialogue",
    "Step": "bot.core.dialogue",
    "MAX_YEAR": "bot.core.convert",
    "MIN_YEAR": "bot.core.convert",
    "COUNTRY_NAMES": "bot.core.convert",
    "check_country": "bot.core.convert",
    "check_language": "bot.core.convert",
    "language_name": "bot.core.convert",
    "convert_option": "bot.core.convert",
    "file_hint": "bot.core.convert",
    "file_text": "bot.core.convert",
    "closest_name": "bot.core.convert",
    "has_time_of_day": "bot.core.convert",
    "name_key": "bot.core.convert",
    "local_time_note": "bot.core.zones",
    "parse_duration": "bot.core.convert",
    "parse_zone": "bot.core.convert",
    "read_wall_time": "bot.core.convert",
    "zone_label": "bot.core.convert",
    "tokenize": "bot.core.convert",
    "ActionHandler": "bot.core.dispatch",
    "Incoming": "bot.core.dispatch",
    "CogHooks": "bot.core.dispatch",
    "tier_name": "bot.core.dispatch",
    "ArgumentError": "bot.core.errors",
    "DeliveryError": "bot.core.errors",
    "NotFound": "bot.core.errors",
    "PermissionDenied": "bot.core.errors",
    "UserError": "bot.core.errors",
    "Actor": "bot.core.identity",
    "Place": "bot.core.identity",
    "available_cogs": "bot.core.loader",
    "Action": "bot.core.message",
    "ActionStyle": "bot.core.message",
    "Attachment": "bot.core.message",
    "Card": "bot.core.message",
    "Command": "bot.core.message",
    "Field": "bot.core.message",
    "Message": "bot.core.message",
    "Part": "bot.core.message",
    "When": "bot.core.message",
    "render_parts": "bot.core.message",
    "fill_parts": "bot.core.message",
    "MirroredEvent": "bot.core.mirror",
    "RetentionPlanner": "bot.core.needs",
    "MissingProvider": "bot.core.needs",
    "MeetingSchedule": "bot.core.needs",
    "GroupJournal": "bot.core.needs",
    "CrisisLines": "bot.core.needs",
    "PublicOccurrence": "bot.core.needs",
    "PublicSchedule": "bot.core.needs",
    "Page": "bot.core.paging",
    "page_count": "bot.core.paging",
    "page_offset": "bot.core.paging",
    "AuditRecord": "bot.services.audit",
    "Scope": "bot.core.permissions",
    "Tier": "bot.core.permissions",
    "EncryptedText": "bot.crypto",
    "actor_tag": "bot.crypto",
    "key_materials": "bot.crypto",
    "Base": "bot.db",
    "UTCDateTime": "bot.db",
    "_": "bot.i18n",
    "available_languages": "bot.i18n",
    "current_language": "bot.i18n",
    "N_": "bot.i18n",
    "ngettext": "bot.i18n",
    "using_language": "bot.i18n",
    "scrub_free_space": "bot.maintenance",
    "ACTOR_KEY": "bot.models",
    "AuditEntry": "bot.models",
    "Community": "bot.models",
    "Member": "bot.models",
    "OutboxItem": "bot.models",
    "Profile": "bot.models",
    "Setting": "bot.models",
    "Forgotten": "bot.outbox",
    "OutboxRef": "bot.outbox",
    "OwnerPlan": "bot.outbox",
    "Planned": "bot.outbox",
    "RefKind": "bot.outbox",
    "Target": "bot.outbox",
    "DATA_DIR": "bot.paths",
    "escape_markdown": "bot.safety",
}

if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        home = _HOME.get(name)
        if home is None:
            raise AttributeError(f"module 'bot.core' has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value
