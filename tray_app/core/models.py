"""Which Claude models an incident is about, and whether the user's model filter cares.

Claude's status page has coarse components (claude.ai, the API, Claude Code...), but most of
its incidents are about models: "Elevated errors on Claude Opus 4.8". This module reads model
names out of an incident's title and update bodies and matches them against a user filter
such as ``"sonnet, haiku 4.5"``. It is pure: no I/O, no clock, standard library only.

API (for the policy, the menu, ``check --json``, ``wait`` and ``replay --models``):

- :class:`Model` ``(family, version)``: ``Model("opus", "4.8")``; ``version == ""`` means the
  whole family. ``model.label`` is what the user reads ("Opus 4.8", "Opus"); ``model.key`` is
  what the user types and what config stores ("opus 4.8", "opus").
- :func:`parse_filter` (text or a list of texts, as in config ``models = [...]`` and
  ``--models``) -> :class:`ModelFilter`; raises :class:`ModelFilterError` (a ``ValueError``)
  whose message names the bad entry and says what is expected. An empty filter watches
  everything. ``str(filter)`` gives the canonical text back (``"sonnet, haiku 4.5"``).
- :func:`mentions` ``(title, bodies)`` -> :class:`Mentions`: the models named, in order of
  first mention (title first), and ``broad``: whether it speaks of models in general.
- :func:`affects` ``(filter, mentions) -> bool``: does this incident count for this user?
- ``Mentions.label``: "Opus 4.8, Haiku 4.5" (for "Affects: ..."), "" when nothing is named.
- :func:`seen_models` ``(mentions...)`` -> every model named, grouped by family, each family
  first as a whole and then its versions newest first (for a Models submenu).

Reading the names (the table is :data:`FAMILIES` plus the rules below, tested on every 2026
incident title of Claude's page):

- a family name followed by a version: "Claude Opus 4.6", "Opus 4.8 (Fast Mode)" (a mode of a
  model counts as that model), "opus-4.7"; a two-digit version with no dot is the page's
  typo for a dotted one: "Opus 48" is Opus 4.8;
- the older order, version first: "Claude 3.5 Sonnet", "Claude 4 Opus";
- lists: "Sonnet 4.6 and Sonnet 5", "Sonnet 4.6 and 5", "Opus 4.7 and 4.8" (a bare version
  after a named one belongs to the same family), "Opus 4.8, Opus 4.7, Opus 4.6, Sonnet 4.6,
  and Haiku 4.5"; "Claude Opus and Sonnet 4.6" means Opus 4.6 and Sonnet 4.6 (the page's own
  next update said so both times it wrote this);
- a family with no version ("Fable not available in the model picker", "all Sonnet and Opus
  models") names the whole family: it counts for every version of it;
- versions are compared as numbers: "Sonnet 4.0" is Sonnet 4, not Sonnet 4.5.
- The plural "models" not tied to a family is *broad*, and the incident then counts for
  everyone: "multiple models", "several models", "many Claude models", "all models", "other
  Claude models", and also "some models", "across models", "models other than Opus 4.6",
  "non-Opus models", which the page writes the same way. The quantifiers alone are not enough
  ("several products" is not about models); "Sonnet and Opus models" and "the Haiku family of
  models" name families, not models in general.

How title and updates combine, decided from the 248 incidents of 2026: the models named and
the broad flag are each the union over the title and every update body. The page retitles an
incident when its scope widens ("Degraded performance for multiple models" first said
"Opus 4.7"), and updates add models the title does not name ("Sonnet 4.6 is also showing
elevated errors" under "Elevated error rates on Opus 4.6"), so any model the page says was hit
counts. Update bodies also name models that have recovered; counting those errs on the side of
an alert, never a missed one. No 2026 incident with a model-specific title speaks of models in
general in an update, so the union's broad flag costs nothing there, and if the page ever
writes "some Claude models" under "Opus 4.6", every user hears about it.

An incident that names no model (claude.ai login, Claude Code crashes, the API) counts for
everyone. A family missing from :data:`FAMILIES` reads as no model named, so it too counts
for everyone: a new family costs a few extra alerts until the table learns it, never a silent
outage. Retired pre-Claude-3 names (Claude 2.1, Claude Instant) are not in the table.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .plaintext import clean

__all__ = [
    "FAMILIES",
    "Mentions",
    "Model",
    "ModelFilter",
    "ModelFilterError",
    "affects",
    "describe",
    "mentions",
    "parse_filter",
    "seen_models",
]

# Family key -> display name, in the order the page lists them (largest first); the Models
# submenu uses this order between families whose newest versions tie.
FAMILIES: dict[str, str] = {
    "mythos": "Mythos",
    "fable": "Fable",
    "opus": "Opus",
    "sonnet": "Sonnet",
    "haiku": "Haiku",
}
_FAMILY_ORDER = {key: i for i, key in enumerate(FAMILIES)}

TEXT_LIMIT = 2000  # characters read from a title or one update body
MAX_BODIES = 60  # updates read per incident; real ones have at most a dozen
MAX_ENTRIES = 40  # filter entries

_TOKEN = re.compile(r"[a-z]+|\d+(?:\.\d+)*|[,:]")  # commas join lists; a colon marks a time
_URL = re.compile(r"\b(?:https?://|www\.)\S*")  # a link's path may spell "fable-mythos-access"
_VERSION = re.compile(r"\d(?:\.\d{1,2})?")  # "5", "4.6", "4.10"
_TYPO_VERSION = re.compile(r"[1-9]\d")  # "Opus 48": the page dropped the dot
_JOINERS = frozenset({"and", "or", ","})
_SKIP = frozenset({"claude"})


@dataclass(frozen=True)
class Model:
    """One model (``version`` set) or a whole family (``version == ""``)."""

    family: str
    version: str = ""

    @property
    def label(self) -> str:
        name = FAMILIES.get(self.family, self.family.title())
        return f"{name} {self.version}" if self.version else name

    @property
    def key(self) -> str:
        return f"{self.family} {self.version}" if self.version else self.family

    @property
    def number(self) -> tuple[int, ...]:
        """The version as numbers, for ordering; ``()`` for a whole family."""
        return tuple(int(p) for p in self.version.split(".")) if self.version else ()

    def covers(self, other: Model) -> bool:
        """As a filter entry: does a mention of ``other`` concern this entry?

        A family entry covers every mention of its family; a versioned entry covers the same
        version and a mention of its whole family (which does not exclude that version).
        """
        if self.family != other.family:
            return False
        return not self.version or not other.version or self.version == other.version


def _normal_version(text: str) -> str:
    """``"4.0"`` -> ``"4"``, ``"4.60"`` -> ``"4.60"``: drop only a trailing ``.0``."""
    parts = [str(int(p)) for p in text.split(".")]
    while len(parts) > 1 and parts[-1] == "0":
        parts.pop()
    return ".".join(parts)


# --- the user's filter -----------------------------------------------------------------------


class ModelFilterError(ValueError):
    """A model filter entry could not be read; the message names it and says what is expected."""


@dataclass(frozen=True)
class ModelFilter:
    """The models the user cares about; empty means every model (no filtering)."""

    entries: tuple[Model, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __str__(self) -> str:
        return ", ".join(m.key for m in self.entries)

    def matches(self, model: Model) -> bool:
        return any(entry.covers(model) for entry in self.entries)


_EXPECTED = (
    "expected a model family ({families}), optionally with a version, "
    "like 'sonnet' or 'haiku 4.5'"
)


def _expected() -> str:
    return _EXPECTED.format(families=", ".join(FAMILIES))


def parse_filter(text: str | Iterable[str]) -> ModelFilter:
    """Read ``"sonnet, haiku 4.5"`` (or a list of such texts) into a :class:`ModelFilter`.

    Entries are separated by commas or semicolons; case, a leading "Claude" and API-style
    spellings ("claude-sonnet-4-5-20250929", "claude-3-5-sonnet-latest") are accepted. Empty
    entries are ignored. Raises :class:`ModelFilterError` on the first entry it can't read.
    """
    texts = [text] if isinstance(text, str) else list(text)
    entries: list[Model] = []
    for item in texts:
        if not isinstance(item, str):
            kind = type(item).__name__
            raise ModelFilterError(f"a model must be text, got {kind}; {_expected()}")
        for raw in re.split(r"[,;]", item):
            if raw.strip():
                model = _filter_entry(raw)
                if model not in entries:
                    entries.append(model)
    if len(entries) > MAX_ENTRIES:
        raise ModelFilterError(f"too many models ({len(entries)}); at most {MAX_ENTRIES}")
    return ModelFilter(tuple(entries))


def _filter_entry(raw: str) -> Model:
    shown = clean(raw, 60)
    words = [w for w in re.split(r"[\s_-]+", shown.casefold()) if w]
    # API ids end in a snapshot date or an alias: neither picks a different model here.
    words = [w for w in words if w not in _SKIP and w != "latest" and not re.fullmatch(r"\d{8}", w)]
    families = [w for w in words if w in FAMILIES]
    numbers = [w for w in words if w not in FAMILIES]
    if len(families) != 1:
        if not families:
            guess = next((w for w in words if not w[:1].isdigit()), "")
            close = difflib.get_close_matches(guess, FAMILIES, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ModelFilterError(f"unknown model '{shown}'{hint}: {_expected()}")
        raise ModelFilterError(f"'{shown}' names more than one family; separate models with commas")
    if not numbers:
        return Model(families[0])
    # "4.5", or "4 5" from "claude-sonnet-4-5": at most two numeric parts.
    if len(numbers) == 1 and _VERSION.fullmatch(numbers[0]):
        version = numbers[0]
    elif len(numbers) == 2 and all(re.fullmatch(r"\d{1,2}", n) for n in numbers):
        version = ".".join(numbers)
    else:
        raise ModelFilterError(
            f"'{shown}': the version must be a number like 4.5 or 5; {_expected()}"
        )
    return Model(families[0], _normal_version(version))


# --- what an incident names ------------------------------------------------------------------


@dataclass(frozen=True)
class Mentions:
    """What an incident's title and updates say about models.

    ``named``: every specific model or family named, title first, then updates in the order
    given, without repeats. ``in_title``: those named in the title. ``broad``: the title or an
    update speaks of models in general ("multiple models", "other Claude models").
    """

    named: tuple[Model, ...] = ()
    in_title: tuple[Model, ...] = ()
    broad: bool = False

    @property
    def for_everyone(self) -> bool:
        """True when the incident counts for every filter: it names no model, or speaks broadly."""
        return self.broad or not self.named

    @property
    def label(self) -> str:
        """ "Opus 4.8, Haiku 4.5", "Fable 5 and other models", or "" when no model is named."""
        return describe(self.named, others=self.broad)


def describe(models: Iterable[Model], others: bool = False) -> str:
    """Join model labels for display: "Opus 4.8, Haiku 4.5" (+ " and other models")."""
    text = ", ".join(m.label for m in models)
    return f"{text} and other models" if text and others else text


def mentions(title: str, bodies: Iterable[str] = ()) -> Mentions:
    """Read the models an incident names from its title and its update bodies (see module doc).

    Never raises: a non-string title or body reads as empty text.
    """
    in_title, title_broad = _scan(title)
    named = list(in_title)
    broad = title_broad
    for count, body in enumerate(bodies):
        if count >= MAX_BODIES:
            break
        found, body_broad = _scan(body)
        broad = broad or body_broad
        named.extend(m for m in found if m not in named)
    return Mentions(named=tuple(named), in_title=in_title, broad=broad)


def _scan(text: object) -> tuple[tuple[Model, ...], bool]:
    tokens = _TOKEN.findall(_URL.sub(" ", clean(text, TEXT_LIMIT).casefold()))

    def at(k: int) -> str:
        return tokens[k] if 0 <= k < len(tokens) else ""

    found: list[Model] = []
    broad = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "models" and not _family_qualified(tokens, i):
            broad = True
        if tok in FAMILIES and at(i - 1) != "non":  # "non-Opus models" means the others
            version = _version_after_family(tokens, i + 1)
            if version:
                found.append(Model(tok, version))
                i = _more_versions(tokens, i + 2, tok, found)
                continue
            found.append(Model(tok, _shared_version(tokens, i)))
        elif (_VERSION.fullmatch(tok) and at(i + 1) in FAMILIES
              and not _version_after_family(tokens, i + 2)):
            found.append(Model(at(i + 1), _normal_version(tok)))  # "Claude 3.5 Sonnet"
            i += 2
            continue
        i += 1
    unique: list[Model] = []
    for m in found:
        if m not in unique:
            unique.append(m)
    return tuple(unique), broad


def _version_after_family(tokens: list[str], j: int) -> str:
    """The version at ``tokens[j]`` right after a family name, or ""; "48" reads as 4.8."""
    tok = tokens[j] if j < len(tokens) else ""
    if j + 1 < len(tokens) and tokens[j + 1] == ":":
        return ""  # "Opus 12:41" is a time
    if _VERSION.fullmatch(tok):
        return _normal_version(tok)
    if _TYPO_VERSION.fullmatch(tok):
        return _normal_version(f"{tok[0]}.{tok[1]}")
    return ""


def _more_versions(tokens: list[str], i: int, family: str, found: list[Model]) -> int:
    """After "Opus 4.7", take "and 4.8" / ", 4.8" as more Opus versions; return the next index.

    A joiner is required: "Opus 4.6 - 8:25 PT" is a time, not Opus 8.
    """
    while i + 1 < len(tokens) and tokens[i] in _JOINERS:
        j = i + 2 if tokens[i] == "," and tokens[i + 1] in _JOINERS else i + 1  # ", and 4.8"
        if j >= len(tokens) or not _VERSION.fullmatch(tokens[j]):
            break
        after = tokens[j + 1] if j + 1 < len(tokens) else ""
        if after in FAMILIES or after == ":":
            break  # "3.5 Sonnet and 3.7 Sonnet": the version is the next family's; "and 9:23"
        found.append(Model(family, _normal_version(tokens[j])))
        i = j + 1
    return i


def _shared_version(tokens: list[str], i: int) -> str:
    """ "Opus and Sonnet 4.6": a family joined by "and" to a versioned one shares its version."""
    j = i + 1
    if j < len(tokens) and tokens[j] == "and":
        j += 1
        while j < len(tokens) and tokens[j] in _SKIP:
            j += 1
        if j + 1 < len(tokens) and tokens[j] in FAMILIES and _VERSION.fullmatch(tokens[j + 1]):
            return _normal_version(tokens[j + 1])
    return ""


def _family_qualified(tokens: list[str], i: int) -> bool:
    """ "Sonnet and Opus models", "the Haiku family of models": models of named families."""
    before = tokens[i - 1] if i >= 1 else ""
    if before in FAMILIES:
        return not (i >= 2 and tokens[i - 2] == "non")
    return i >= 3 and tokens[i - 2] == "family" and tokens[i - 1] == "of" and (
        tokens[i - 3] in FAMILIES
    )


# --- the decision ----------------------------------------------------------------------------


def affects(model_filter: ModelFilter, found: Mentions) -> bool:
    """Does an incident with these mentions count for a user with this filter?

    Yes when the filter is empty, when the incident names no model or speaks of models in
    general, or when it names a model the filter covers.
    """
    if not model_filter or found.for_everyone:
        return True
    return any(model_filter.matches(m) for m in found.named)


def seen_models(found: Iterable[Mentions]) -> tuple[Model, ...]:
    """Every model named across these incidents, for a Models submenu.

    Grouped by family, families ordered by their newest version (ties: :data:`FAMILIES`
    order), each family first as a whole (``Model("opus")``) and then its versions, newest
    first: Opus, Opus 5, Opus 4.8, ..., Sonnet, Sonnet 5, ...
    """
    versions: dict[str, set[Model]] = {}
    for m in found:
        for model in m.named:
            versions.setdefault(model.family, set())
            if model.version:
                versions[model.family].add(model)

    def newest(family: str) -> tuple[int, ...]:
        return max((v.number for v in versions[family]), default=())

    out: list[Model] = []
    order = sorted(versions, key=lambda f: (_neg(newest(f)), _FAMILY_ORDER.get(f, 99)))
    for family in order:
        out.append(Model(family))
        out.extend(sorted(versions[family], key=lambda v: _neg(v.number)))
    return tuple(out)


def _neg(number: tuple[int, ...]) -> tuple[int, ...]:
    # Sort newest first while keeping ascending sort order; (5,) vs (4, 8): pad to compare.
    return tuple(-p for p in number + (0,) * (4 - len(number)))
