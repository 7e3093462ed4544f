"""Topic words in names are not distress; first-person words are, in every language.

A meeting or group title names its subject ("Suicide loss survivors circle",
"Suizid-Hinterbliebene Gruppe"): the detector must never read it as distress, while the same
word said of oneself ("I keep thinking about suicide") and plain first-person phrasings ("I
can't go on", "ich kann nicht mehr") always are. The templates and words below are written
here, apart from the phrase lists, so the properties test the lists rather than restate them.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.paths import DATA_DIR
from cogs.crisis.phrases import Detector, shipped_detector

SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Language -> topic nouns as a title would name them.
TOPICS: dict[str, tuple[str, ...]] = {
    "en": (
        "suicide",
        "self-harm",
        "self harm",
        "overdose",
        "domestic violence",
        "suicide attempt",
    ),
    "de": ("Suizid", "Selbstmord", "Selbstverletzung", "Überdosis", "häusliche Gewalt"),
    "es": ("suicidio", "autolesión", "sobredosis", "violencia doméstica"),
    "fr": ("suicide", "automutilation", "overdose", "violence conjugale"),
    "it": ("suicidio", "autolesionismo", "overdose", "violenza domestica"),
    "nl": ("zelfmoord", "zelfdoding", "zelfbeschadiging", "overdosis", "huiselijk geweld"),
    "pt": ("suicídio", "automutilação", "overdose", "violência doméstica"),
}

# Titles and talk about a named meeting or group: never distress.
NAMES: dict[str, tuple[str, ...]] = {
    "en": (
        "{T} loss survivors circle",
        "{T} loss support",
        "Survivors of {t} loss",
        "Bereavement after {t}",
        "{T} prevention training",
        "{T} awareness walk",
        "{T} recovery group",
        "{T} support group - Thursdays",
        "Talking about {t}",
        "Understanding {t}",
        "{T}: myths and facts",
        "Families affected by {t}",
        "I run the {t} prevention training",
        "we meet at the {t} loss survivors circle",
        "my {t} support group meets on Friday",
    ),
    "de": (
        "{T}-Hinterbliebene Gruppe",
        "Gruppe für Hinterbliebene nach {t}",
        "Trauer nach {t}: Gesprächskreis",
        "{T}: Vortrag und Austausch",
        "Über {t} sprechen",
        "Ich leite die Gruppe für {t}-Hinterbliebene",
        "wir treffen uns im Gesprächskreis für Angehörige nach {t}",
    ),
    "es": (
        "Grupo de apoyo para sobrevivientes del {t}",
        "Duelo por {t}: círculo de los jueves",
        "Taller de prevención del {t}",
        "Hablemos del {t}",
        "Coordino el grupo de duelo por {t}",
        "Mi grupo de prevención del {t} se reúne los lunes",
    ),
    "fr": (
        "Groupe de parole pour les endeuillés par {t}",
        "Prévention du {t} : formation",
        "Deuil après un {t}",
        "Parler du {t}",
        "Je coordonne le cercle de deuil après un {t}",
        "notre groupe de prévention du {t} se réunit lundi",
    ),
    "it": (
        "Gruppo di sostegno per i sopravvissuti al {t}",
        "Lutto per {t}: incontro mensile",
        "Corso di prevenzione del {t}",
        "Parliamo di {t}",
        "Coordino il gruppo per familiari dopo un {t}",
    ),
    "nl": (
        "Lotgenotengroep voor nabestaanden na {t}",
        "Nabestaanden van {t}: bijeenkomst",
        "Praten over {t}",
        "{T}: praatgroep voor ouders",
        "Ik leid de groep voor nabestaanden na {t}",
    ),
    "pt": (
        "Grupo de apoio para enlutados por {t}",
        "Prevenção do {t}: palestra",
        "Roda de conversa sobre luto por {t}",
        "Falando sobre {t}",
        "Eu coordeno o grupo de sobreviventes do {t}",
    ),
}

# The topic said of oneself: always distress.
OWN: dict[str, tuple[str, ...]] = {
    "en": ("I keep thinking about {t}", "{T} is all I think about"),
    "de": ("ich denke ständig an {t}",),
    "es": ("pienso en el {t} todos los días",),
    "fr": ("je pense au {t} tous les soirs",),
    "it": ("penso al {t} ogni notte",),
    "nl": ("ik denk elke dag aan {t}",),
    "pt": ("penso em {t} toda noite",),
}

# First-person statements and the ways they are framed: always distress.
INTENTS: dict[str, tuple[str, ...]] = {
    "en": (
        "I want to kill myself",
        "I want to die",
        "I can't go on",
        "I can't do this anymore",
        "I don't want to live anymore",
        "i cant go on",
        "I just can't go on",
    ),
    "de": ("ich will mich umbringen", "ich will nicht mehr leben", "ich kann nicht mehr"),
    "es": ("quiero morir", "quiero matarme", "ya no puedo más", "no puedo más"),
    "fr": ("je veux mourir", "je n'en peux plus", "je veux me tuer", "j'en peux plus"),
    "it": ("voglio morire", "non ce la faccio più", "voglio uccidermi"),
    "nl": ("ik wil dood", "ik kan niet meer", "ik wil niet meer leven"),
    "pt": ("quero morrer", "não aguento mais", "quero me matar"),
}
FRAMES = ("{s}", "{s}.", "{s}!", "honestly... {s}", "{s}\n", "{s}. {s}")


def detector() -> Detector:
    found, problems = shipped_detector(DATA_DIR / "crisis" / "phrases")
    assert problems == []
    return found


def fill(template: str, topic: str) -> str:
    return template.replace("{T}", topic[:1].upper() + topic[1:]).replace("{t}", topic)


def _pairs(table: dict[str, tuple[str, ...]]) -> list[tuple[str, str, str]]:
    return [(lang, t, topic) for lang, ts in table.items() for t in ts for topic in TOPICS[lang]]


CASING = st.sampled_from([str, str.lower, str.upper, str.title])


@SETTINGS
@given(st.sampled_from(_pairs(NAMES)), CASING, st.sampled_from(["", "'", '"']))
def test_a_topic_word_in_a_name_is_never_distress(
    case: tuple[str, str, str], casing: object, quote: str
) -> None:
    lang, template, topic = case
    assert callable(casing)
    text = str(casing(fill(template, topic)))
    assert detector().detect(f"{quote}{text}{quote}") is None, (lang, text)


@SETTINGS
@given(st.sampled_from(_pairs(OWN)), CASING)
def test_a_topic_word_said_of_oneself_is_always_distress(
    case: tuple[str, str, str], casing: object
) -> None:
    lang, template, topic = case
    assert callable(casing)
    text = str(casing(fill(template, topic)))
    assert detector().detect(text) is not None, (lang, text)


@SETTINGS
@given(
    st.sampled_from([(lang, i) for lang, intents in INTENTS.items() for i in intents]),
    st.sampled_from(FRAMES),
    st.sampled_from(_pairs(NAMES)),
)
def test_a_first_person_statement_is_always_distress_also_beside_a_name(
    case: tuple[str, str], frame: str, name: tuple[str, str, str]
) -> None:
    lang, intent = case
    text = frame.replace("{s}", intent)
    assert detector().detect(text) is not None, (lang, text)
    _lang, template, topic = name
    title = fill(template, topic)
    for combined in (f"{title}. {text}", f"{text}\n{title}"):
        assert detector().detect(combined) is not None, combined


@pytest.mark.parametrize(
    "title",
    ["Suicide loss survivors circle", "Suizid-Hinterbliebene Gruppe", "Suicide loss support"],
)
def test_the_reported_titles_are_not_distress(title: str) -> None:
    assert detector().detect(title) is None
    _answered, found = detector().detect_without_lookup(title)
    assert found is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I can't go on", "en"),
        ("I can't do this anymore", "en"),
        ("ich kann nicht mehr", "de"),
        ("no puedo más", "es"),
        ("je n'en peux plus", "fr"),
        ("non ce la faccio più", "it"),
        ("ik kan niet meer", "nl"),
        ("não aguento mais", "pt"),
    ],
)
def test_the_reported_phrasings_are_distress_in_their_language(text: str, language: str) -> None:
    found = detector().detect(text, prefer=language)
    assert found is not None and found.language == language


@pytest.mark.parametrize(
    "text",
    [
        "I can't go on the trip on Friday",
        "I can't do this anymore at work lol",
        "ich kann nicht mehr vor Lachen",
        "no puedo más con este calor",
        "je n'en peux plus de ce boulot",
        "non ce la faccio più a studiare",
        "ik kan niet meer van het lachen",
        "não aguento mais esse calor",
        "self care plan",
    ],
)
def test_the_same_words_said_of_something_else_are_not(text: str) -> None:
    assert detector().detect(text) is None
