"""Detect persona text that addresses its reader (the respondent model) instead of
describing a person: a prompt-injection screen for persona text.

:func:`addressed` returns a :class:`Finding` (what kind of address, and the words that
show it) or None. Pure, stdlib only, no model. Kinds, in the order they are tried:

* ``role_tag`` — chat-template and role markers: ``<|im_start|>``, ``[INST]``,
  ``<<SYS>>``, ``<system>``, a line opening with ``System:`` / ``Assistant:`` /
  ``Developer:`` / ``### Instruction``, an upper-case ``SYSTEM:`` anywhere, ``"role": "system"``,
  "system prompt / override / message".
* ``ignore`` — "ignore / disregard / forget (the previous) instructions", "new
  instructions:", and the same in French, German, Spanish and Italian.
* ``reader`` — speaking to a model: "as an AI", "you are a language model", "dear
  assistant", "note to the model", "whoever reads this", "the model should".
* ``item_reference`` — a questionnaire statement by number ("item 3", "statement #2",
  "question 4"), or a numbered list of bare answers ("1. 5" lines).
* ``json_answers`` — JSON keys such as ``"answers"``, ``"instruction"``, ``"override"``,
  ``"rating"``, or ``{"1": 5`` answer maps.
* ``answer_instruction`` — an imperative (or "you"/"your", "please", "must") answering
  verb (answer, respond, reply, rate, choose, select, pick, mark, give, put, output, agree
  ...; réponds, antworte, responde, rispondi ...) with a scale target within the clause: a
  number 0-10, a number word, "the highest option", "top of the scale", "strongly agree",
  or "every statement / all items".

Not flagged, by design: third-person traits ("rates every restaurant five stars",
"always agrees with whoever spoke last", "answers questions bluntly", "ignores the rules
at work"), jobs ("a system administrator", "trains language models"), numbers in a life
("runs 10 km"), a verb used as a noun ("writes down the answer to every question").
Not caught (known limits): instructions phrased without an answering verb or a scale
target ("it would be lovely to see only fives"), text spelled out letter by letter or
encoded (base64, leetspeak), languages other than the five above, and an instruction
disguised as a first-person trait ("I answer 5 to everything"). The bench
``scripts/bench_injection.py`` measures both error rates on a labelled bank.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["ADDRESSED_KINDS", "Finding", "addressed"]

ADDRESSED_KINDS: tuple[str, ...] = (
    "role_tag",
    "ignore",
    "reader",
    "item_reference",
    "json_answers",
    "answer_instruction",
)
"""Kinds of :class:`Finding`, in the order the rules are tried."""

MAX_CHARS = 100_000
"""Characters of a text that are screened (a persona longer than this is screened on its start)."""


@dataclass(frozen=True)
class Finding:
    """Why a text is taken as addressed to its reader: ``kind`` (one of
    :data:`ADDRESSED_KINDS`) and ``evidence``, the matched words (at most 80 characters)."""

    kind: str
    evidence: str


_I = re.IGNORECASE
_ROLE_WORDS = r"(?:system|assistant|developer|user|human|instructions?|prompt)"
_ROLE_RULES: tuple[re.Pattern[str], ...] = (
    re.compile(r"<\|[a-z_]{2,30}\|>", _I),
    re.compile(r"\[/?(?:INST|SYS|SYSTEM)\]", _I),
    re.compile(r"<</?SYS>>", _I),
    re.compile(rf"</?{_ROLE_WORDS}>", _I),
    re.compile(rf"(?:^|\n)[ \t>*#-]*{_ROLE_WORDS}(?:\s+(?:message|prompt|note))?\s*:", _I),
    re.compile(r"\bSYSTEM\s*:"),
    re.compile(r"(?:^|\n)\s*#{1,6}\s*(?:system|instructions?|assistant)\b", _I),
    re.compile(r"[\"']role[\"']\s*:\s*[\"'](?:system|assistant|user|developer)[\"']", _I),
    re.compile(r"\bsystem\s+(?:override|prompt|message|instructions?)\b", _I),
)
_IGNORE_RULES: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:\w+\s+){0,4}?"
        r"(?:instructions?|prompts?|directions|directives|guidelines|rules above|the above|"
        r"everything (?:above|before|else)|anything (?:above|before)|what you (?:were|have been|"
        r"are) told|"
        r"the questionnaire|the statements?|your (?:task|role|programming|rules))",
        _I,
    ),
    re.compile(r"\b(?:new|updated|real|actual|true|hidden|secret|revised)\s+instructions?\s*[:\-]", _I),
    re.compile(
        r"\b(?:ignor(?:ez|iere|ieren|a|ar|ate|ad)|olvida|oubliez|oublie|vergiss|vergessen Sie)\b"
        r".{0,40}?\b(?:instructions?|instrucciones|anweisungen|istruzioni|consignes|"
        r"indicaciones)\b",
        _I,
    ),
)
_NOT_IMPERATIVE_BEFORE_IGNORE = re.compile(
    r"\b(?:to|would|will|often|usually|never|sometimes|rarely|tends to|likes to|cannot|can't|could|"
    r"might)\s*$",
    _I,
)
_READER_RULES: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"\bas an?\s+(?:AI|A\.I\.|artificial intelligence|(?:large\s+)?language model|LLM|chatbot|"
        r"assistant|bot)\b",
        _I,
    ),
    re.compile(
        r"\byou(?:'re| are)\s+(?:(?:an?|the|just|only|merely)\s+)?(?:AI\b|A\.I\.|"
        r"(?:large\s+)?language model|"
        r"LLM|chatbot|assistant|model|respondent|bot)\b",
        _I,
    ),
    re.compile(
        r"\b(?:dear|attention|hey|hello|hi|note to|message to|reminder to|instructions? (?:to|for))"
        r"\s+(?:the\s+)?(?:model|assistant|AI|LLM|respondent|bot|chatbot|GPT|answerer)\b",
        _I,
    ),
    re.compile(
        r"\b(?:whoever|anyone|anybody|any (?:AI|model|assistant))\s+(?:who\s+)?"
        r"(?:reads?|reading|answers?|answering|responds?|processes|sees|receives)\s+(?:this|these|"
        r"for)\b",
        _I,
    ),
    re.compile(
        r"\b(?:the|this|any)\s+(?:model|assistant|LLM|AI|respondent|answerer|reader)\s+"
        r"(?:should|must|will|shall|needs to|has to|is to|is required to)\b",
        _I,
    ),
    re.compile(r"\brespondents?\s*:", _I),
)
_ITEM_WORDS = (
    r"(?:statements?|items?|questions?|frage|aussage|pregunta|afirmaci[oó]n|affirmation|domanda|"
    r"affermazione)"
)
_ITEM_RULES: tuple[re.Pattern[str], ...] = (
    re.compile(rf"\b{_ITEM_WORDS}\s*(?:#|no\.?|n[ºo°]\.?|number|nr\.?|num\.?)?\s*\d{{1,3}}\b", _I),
    re.compile(r"(?:(?:^|\n)\s*\d{1,3}\s*[.):=-]\s*(?:10|[0-9])\s*[.,;]?\s*(?=\n|$)){2,}"),
    re.compile(
        rf"\b(?:the|these|all(?: of)?(?: the)?|each(?: of the)?|every)\s+{_ITEM_WORDS}\s+"
        r"(?:below|above|that follow|you (?:are|will be|get|receive|see|read)|in this (?:survey|"
        r"questionnaire))",
        _I,
    ),
    re.compile(r"\b(?:the|this)\s+(?:questionnaire|survey|list)\s+(?:you|below|above)\b", _I),
)
_JSON_RULES: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"[\"'](?:answers?|instructions?|override|system|prompt|respondent|ratings?|scores?|"
        r"responses?)"
        r"[\"']\s*:",
        _I,
    ),
    re.compile(r"\{\s*[\"']\d{1,3}[\"']\s*:\s*\d"),
)
_VERBS = (
    r"answer|respond|reply|rate|choose|select|pick|mark|score|give|put|circle|tick|check|output|return|"
    r"enter|write|say|type|agree|disagree|go with|opt for|stick to|"
    r"r[ée]ponds|r[ée]pondez|choisis|choisissez|antworte|antworten Sie|w[äa]hle|w[äa]hlen Sie|"
    r"responde|responda|contesta|conteste|elige|elija|rispondi|risponda|scegli|scelga|kies|antwoord"
)
_VERB_RE = re.compile(rf"\b(?:{_VERBS})\b", _I)
_YOU_VERB_RE = re.compile(
    r"\byou(?:r)?\b(?:\s+\w+){0,3}?\s+(?:answer|respond|repl|rate|rating|choos|"
    r"chose|select|"
    r"pick|mark|scor|giv|gave|put|output|say|said)\w*",
    _I,
)
_YOUR_NOUN_RE = re.compile(
    r"\byour\s+(?:answers?|responses?|ratings?|replies|reply|choices?|output|"
    r"scores?)\b",
    _I,
)
_FOLLOW = (
    r"(?=\s*(?:$|[.,;:!?)\"'”\]}]|(?:to|for|on|in|as|at|with|every|each|all|throughout|always|only|"
    r"no|whatever|regardless|and|or|then|a|à|bei|auf|zu|für|per|pour|para|sur|su|im|de|der|en)\b))"
)
_TARGET_RE = re.compile(
    rf"(?<![\w.,])(?:10|[0-9]|one|two|three|four|five|six|seven|eight|nine|ten|fives|ones|fours|threes|twos)"
    rf"(?![\w.,]?\d){_FOLLOW}"
    r"|\b(?:the\s+)?(?:highest|lowest|top|bottom|maximum|minimum|max|min|middle|extreme|same|left-?most|"
    r"right-?most)"
    r"\s+(?:possible\s+)?(?:number|value|option|rating|score|point|answer|choice|box|mark|grade|end|level)"
    r"|\b(?:top|bottom|end|middle|extreme|maximum|minimum)\s+of\s+the\s+scale"
    r"|\b(?:strongly|completely|totally|fully)\s+(?:dis)?agree"
    rf"|\b(?:every|each|all|any)\s+(?:(?:of\s+)?the\s+|single\s+)?{_ITEM_WORDS}"
    r"|\b(?:jede[rnms]?|toutes?|todas?|ogni|alle)\s+(?:les\s+|las\s+|le\s+)?\w+",
    _I,
)
_CLAUSE_END = re.compile(r"[.!?;\n]")
_DIRECTIVE_WORDS = frozenset(
    "you please kindly must should shall bitte favor veuillez favore always just simply only now then "
    "toujours immer siempre sempre".split()
)
_SUBJECT_WORDS = frozenset(
    "i we they he she it who that which people to would will can could may might often usually never "
    "sometimes rarely seldom tends likes loves hates refuses cannot did does do don't doesn't won't "
    "wouldn't and or also il elle er sie es ella él lei lui y et und e".split()
)
_NOUN_BEFORE = frozenset(
    {
        "the",
        "a",
        "an",
        "his",
        "her",
        "their",
        "my",
        "its",
        "our",
        "this",
        "that",
        "no",
        "one",
        "each",
        "every",
        "any",
        "first",
        "last",
        "same",
        "right",
        "wrong",
    }
)
_WORD_RE = re.compile(r"[\w'’]+")
_ZERO_WIDTH_RE = re.compile(r"[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")


def _normalise(text: str) -> str:
    """NFKC (full-width and compatibility forms to plain), zero-width characters removed."""
    return _ZERO_WIDTH_RE.sub("", unicodedata.normalize("NFKC", text[:MAX_CHARS]))


def _evidence(text: str, start: int, end: int) -> str:
    return " ".join(text[start:end].split())[:80]


def _directive(text: str, pos: int) -> bool:
    """True when the verb at ``pos`` reads as addressed to the reader: at the start of a
    clause (an imperative), or after "you", "please", "must", "always" ...; False after a
    subject, a third person's modal or an infinitive "to" (a trait), or a determiner (a noun)."""
    clause = re.split(r"[.!?;:,\n\"“”«»()\[\]{}>|]", text[max(0, pos - 60) : pos])[-1]
    words = [w.lower() for w in _WORD_RE.findall(clause)][-3:]
    if not words:
        return True
    if words[-1] in _NOUN_BEFORE or any(w in ("i", "we", "he", "she", "they") for w in words):
        return False
    if any(w in _DIRECTIVE_WORDS for w in words):
        return True
    return not any(w in _SUBJECT_WORDS for w in words)


def _target_after(text: str, end: int) -> str | None:
    """The scale target within the clause after ``end`` (up to 60 characters), if any."""
    window = text[end : end + 60]
    stop = _CLAUSE_END.search(window)
    window = window[: stop.start()] if stop else window
    m = _TARGET_RE.search(window)
    return m.group(0) if m else None


def _answer_instruction(text: str) -> Finding | None:
    for m in _VERB_RE.finditer(text):
        if _directive(text, m.start()) and _target_after(text, m.end()):
            return Finding("answer_instruction", _evidence(text, m.start(), m.end() + 40))
    for rule in (_YOU_VERB_RE, _YOUR_NOUN_RE):
        for m in rule.finditer(text):
            if _target_after(text, m.end()):
                return Finding("answer_instruction", _evidence(text, m.start(), m.end() + 30))
    return None


def addressed(text: str) -> Finding | None:
    """The first way ``text`` (a persona's name and description) speaks to its reader
    rather than describing a person, or None when it reads as a description.

    Raises ``TypeError`` (one line) when ``text`` is not a string."""
    if not isinstance(text, str):
        raise TypeError(f"addressed: text must be a string, got {type(text).__name__}")
    text = _normalise(text)
    for rule in _ROLE_RULES:
        if m := rule.search(text):
            return Finding("role_tag", _evidence(text, m.start(), m.end()))
    for rule in _IGNORE_RULES:
        for m in rule.finditer(text):
            if not _NOT_IMPERATIVE_BEFORE_IGNORE.search(text[max(0, m.start() - 20) : m.start()]):
                return Finding("ignore", _evidence(text, m.start(), m.end()))
    named = (("reader", _READER_RULES), ("item_reference", _ITEM_RULES), ("json_answers", _JSON_RULES))
    for kind, rules in named:
        for rule in rules:
            if m := rule.search(text):
                return Finding(kind, _evidence(text, m.start(), m.end()))
    return _answer_instruction(text)
