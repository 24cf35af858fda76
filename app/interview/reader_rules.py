"""The precise text rules the offline reader builds on: clauses and questions, numbers written as words
or in scientific form, what a number is an estimate of (per item, projection, fleet sizes), and the
phrases that mark hint requests, opinions, move-on requests, injections and the like.

These are features, not the classification: the Reading (app/interview/reading.py) decides, with the
similarities of app/interview/offline_reader.py and the act model of app/interview/act_model.py.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import TYPE_CHECKING

from app.interview.classify import (
    Estimate,
    _norm,
    is_question,
    split_sentences,
)

if TYPE_CHECKING:
    from app.problems import Problem


_FILLER_PREFIX = re.compile(
    r"^(?:(?:um+|uh+|hmm+|er+|ok(?:ay)?|so|and|also|wait|oh|btw|cool|great|right|alright|then|next|"
    r"quick q(?:uestion)?|another (?:q|question|thing)|"
    r"one more (?:q|question|thing)|last (?:q|question|thing)|"
    r"just|like|yeah|yes|sure|hey|hi|well|actually|sorry|ah|first(?:ly)?|second(?:ly)?|lastly|finally|"
    r"re|regarding|about|on)[,.:!\s-]+)+"
)
_Q_WORDS = r"(?:how|what|whats|what's|do|does|is|are|can|could|will|would|should|any|did|will|shall)"
_CLAUSE_SPLIT = re.compile(
    rf"(?:\s*[,;:]\s*(?:and\s+(?:also\s+)?|also\s+|plus\s+|or\s+|oh\s+and\s+|but\s+)?|\s+-+\s+|"
    rf"\s+(?:and\s+(?:also\s+)?|also\s+|plus\s+|oh\s+and\s+|or\s+)|\s+(?=(?:how|what|whats|what's)\s))"
    rf"(?:(?:like|um|uh|so|then|maybe|just|hmm)\s+)?(?={_Q_WORDS}\b)"
)
_EXTRA_QUESTION = re.compile(
    r"^(?:any|anything|roughly how|approx(?:imately)? how|wondering|curious|need to know|"
    r"want to know|i'?d like to know|do you know|is there|are there)\b"
    r"|(?:,\s*|\s)(?:right|correct|yeah|yes or no|or not|true)\s*\??$"
    r"|\b(?:i assume|assuming|i guess|presumably)\b.*\b(?:right|correct|yeah)\s*\??$"
)
_CODE = re.compile(
    r"\b(?:select\s+.+\s+from|insert\s+into|update\s+\w+\s+set|delete\s+from|where\s+\w+\s*=\s*\?|"
    r"values\s*\()|[=(,<>]\s*\?\s*[,)]?|\?\s*\)|\b(?:limit|offset)\s+\?|\border\s+by\b|`"
)
_ANSWER_START = re.compile(
    r"^(?:~|≈|\d|about\b|around\b|roughly\b|approx\w*\b|probably\b|maybe\b|likely\b|say\b|let'?s say\b|"
    r"i'?d (?:say|guess)\b|i guess\b|my guess\b|i'?ll (?:assume|say|go with)\b|assuming\b|let'?s assume\b|"
    r"we can assume\b|yes\b|yeah\b|yep\b|no\b|nope\b|definitely\b|absolutely\b|because\b|since\b|"
    r"well,? (?:probably|about|around|roughly)\b|that'?s (?:about|around|roughly)\b|easily\b|at least\b|"
    r"not really\b|only\b)"
)
_ASSUME = re.compile(
    r"\b(?:i'?ll assume|i'?m assuming|i am assuming|i assume|let'?s assume|let'?s say|we can assume|"
    r"i'?ll say|assuming|let me assume|i'?d assume|suppose|i'?ll go with|we'?ll go with|i'?ll take|"
    r"my assumption|i'?m going to assume|going to assume|i'?ll just assume|i'?ll guess|say roughly)\b"
)
_DONT_KNOW = re.compile(
    r"\b(?:i (?:really )?(?:don'?t|do not|dont) (?:really )?know|"
    r"not (?:really )?sure|no idea|idk|dunno|no clue|"
    r"i'?m blanking|i have no (?:idea|clue)|never (?:used|heard of|worked with)|not familiar with|"
    r"i'?m not familiar|can'?t remember|don'?t remember|i forget|beats me|not my area)\b"
)
_HINT = re.compile(
    r"\b(?:hints?|nudge|pointers?|a clue|help me (?:out|here|think)|i'?m stuck|im stuck|stuck here|"
    r"point me|steer me|give me a direction|what should i be thinking|where to go from here|"
    r"what am i supposed to|lifeline)\b"
)
_OPINION = re.compile(
    r"\b(?:what do you think|what(?:'s| is) your (?:take|opinion|view|preference)|your thoughts|"
    r"thoughts\s*\?|does (?:that|this) (?:make sense|sound (?:ok|okay|good|right|reasonable))|"
    r"sound (?:ok|okay|good|right|reasonable)\s*\??$|"
    r"am i (?:on (?:the right )?track|missing|going in the right|heading in the right|overthinking)|"
    r"did i miss|have i missed|anything (?:i missed|i'?m missing|else you want|you'?d add)|"
    r"is (?:that|this) (?:what you'?d|ok|okay|fine|reasonable|right|enough|the right)|"
    r"would you (?:agree|do it|go with|prefer|choose)|what would you (?:do|prioriti[sz]e|pick|choose|focus)|"
    r"where (?:should|shall|do you want) (?:i|me to) (?:focus|go|dig|start|spend)|"
    r"(?:which|what) (?:area|part|component|topic|piece)s? (?:should|do you want|would you like)|"
    r"(?:do|would) you (?:want|like) me to (?:go deeper|dig|focus|elaborate|expand)|"
    r"should i (?:go deeper|dig|elaborate|expand|focus)|how am i doing on|good enough)\b"
)
_PROCESS = re.compile(
    r"\b(?:how (?:much|long) (?:time|do we have|have we got|is left|left)|time (?:left|remaining|check)|"
    r"minutes (?:left|remaining|do we have)|how many minutes|"
    r"should i (?:draw|sketch|write code|code|diagram)|"
    r"(?:can|may) i (?:draw|sketch|use the whiteboard)|do you want me to (?:draw|sketch|write|code)|"
    r"how does this (?:interview|work|session)|what(?:'s| is) the format|how is this (?:structured|scored)|"
    r"what happens (?:next|after)|is there a whiteboard|can i ask (?:you )?(?:a|some) questions?)\b"
)
_DISAGREE = re.compile(
    r"\b(?:i disagree|disagree|i don'?t (?:think|agree)(?: that'?s|"
    r" with| so| it'?s)|i'?d push back|push back|"
    r"that'?s not (?:right|true|correct|necessary|the case)|not sure i agree|i'?m not convinced|"
    r"i would argue|i'?d argue|that doesn'?t (?:seem|sound) right|i still think|actually no\b|"
    r"no,? (?:i think|that|because)|with respect)\b"
)
_GRADER = re.compile(
    r"\b(?:ignore (?:all |any |your |the |previous |prior |"
    r"above |earlier )*(?:instructions?|rules|prompts?|rubric)|"
    r"(?:note|message|instructions?) (?:to|for) (?:the )?(?:grader|"
    r"evaluator|ai|model|llm|assistant|scorer|system)|"
    r"dear (?:grader|evaluator|ai|model)|(?:grader|evaluator|scorer)s?\b|system prompt|developer mode|"
    r"jailbreak|you are (?:now|an? (?:ai|language model|assistant))|as an ai|language model|"
    r"(?:^|\n)\s*(?:system|assistant)\s*:|<\/?(?:system|instructions?)>|\[\/?(?:inst|system)\]|"
    r"pretend (?:you|to be)|role-?play|override|disregard (?:the|all|your|previous))\b"
)
_FILLER_ONLY = re.compile(
    r"(?:mhm+|mm+-?hmm+|uh-?huh|hmm+|um+|uh+|ok(?:ay)?|k|cool|sure|yeah|yep|right)[.!?]*"
)
_OFF_TOPIC_HINT = re.compile(
    r"\b(?:weather|weekend|lunch|coffee|vacation|holiday|football|soccer|movie|netflix|your team|"
    r"do you (?:like|enjoy) (?:working|it) (?:here|there)|tech stack do you|what do you use at|"
    r"how long have you (?:been|worked)|the culture|work[- ]life|remote work|salary|benefits)\b"
)
_PROJECTION = re.compile(
    r"\b(?:at|if|with|by|to|hit|reach)\s+(?:\w+\s+)?(?:[1-9]\d+|ten|a hundred)\s*x\b|"
    r"\b(?:[1-9]\d+|ten)\s*x\s+(?:the\s+)?(?:users|players|traffic|growth|data|scale|dau|load|usage|servers|"
    r"customers|more|bigger|larger)\b|\b(?:if|when|once) (?:we|it|traffic|usage|users?|this|the \w+) "
    r"(?:grows?|doubles?|triples?|scales?)|\bgrow(?:s|n)? (?:to|by)\b|\b(?:10|ten)[- ]?fold\b|"
    r"\bin (?:a|one|two|\d+) years?'? time\b|\bnext year\b|\bin the future\b"
)
_OTHER_QTY = re.compile(
    r"\b(?:cach\w*|turns? into|in[- ]memory|ram|memory|fan-?out|fanout|connections?|servers?|machines?|"
    r"nodes?|shards?|hosts?|boxes|instances|workers|partitions|replicas|bandwidth|egress|ingress|"
    r"index(?:es)?|heap|buffer|inbox(?:es)?|followers?|friends?)\b"
)
_PER_ITEM_CONTEXT = re.compile(
    r"\b(?:each|per|every|a single|one|an? (?:average|typical))\s+(?:\w+\s+){0,2}?"
    r"(?:message|msg|record|row|entry|item|url|link|mapping|object|post|user|video|file|photo|image|page|"
    r"key|value|event|notification|tweet|id|connection|server|node|machine|request|query|document|chunk|"
    r"block|counter|bucket|score|trie node|business|place|location|box|worker|fetcher|shard|host|instance|"
    r"profile|rendition)s?(?:\s+(?!so\b|then\b|thats?\b|that's\b|total\b|overall\b|in all\b)[\w+]+){0,4}?"
    r"\s*(?:(?:is|are|takes?|weighs?|at|of|=|:|~|≈|about|around|roughly|maybe|probably|like|does|can do|"
    r"handles?|holds?|ends? up(?: at)?|comes?(?: out)? to|would be|will be|stored)\s*)*$"
    r"|\b(?:message|msg|record|row|entry|item|url|link|mapping|object|post|video|file|photo|page|key|value|"
    r"event|notification|id|counter|bucket|score|document)s?\s+(?:is|are|takes?|weighs?|at|of|~|≈|around|"
    r"about|roughly|maybe|probably)\s*(?:~|about|around|roughly|maybe)?\s*$"
)

_WORD_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_WORD_SCALES = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_NUMBER_WORD = re.compile(
    r"(?<![\d.]\s)(?<![\d.])\b(?:(?:a|one|two|three|four|five|six|"
    r"seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|thousand|million|billion|trillion|half|and|point|zero)[\s-]+)*"
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety|hundred|"
    r"thousand|million|billion|trillion)\b",
    re.IGNORECASE,
)
_SCI = re.compile(
    r"(?P<m>\d+(?:\.\d+)?)\s*(?:[x×*]|times)\s*10\s*(?:\^|"
    r"\*\*)\s*(?P<e>\d{1,2})|(?P<m2>\d+(?:\.\d+)?)e(?P<e2>\d{1,2})\b"
    r"|(?<![\d.])10\s*\^\s*(?P<e3>\d{1,2})"
)


_UNIT_WORD_MAP = {
    "kilobytes": "KB", "kilobyte": "KB", "megabytes": "MB", "megabyte": "MB", "megs": "MB", "meg": "MB",
    "gigabytes": "GB", "gigabyte": "GB", "gigs": "GB", "gig": "GB", "terabytes": "TB", "terabyte": "TB",
    "teras": "TB", "petabytes": "PB", "petabyte": "PB", "exabytes": "EB",
}  # fmt: skip
_ABBREVIATION_MAP = {
    "msgs": "messages", "msg": "message", "reqs": "requests", "req": "request", "ppl": "people",
    "notifs": "notifications", "vids": "videos", "imgs": "images", "secs": "seconds", "sec": "second",
}  # fmt: skip
_ABBREVIATIONS = re.compile(r"(?<![/\w])(" + "|".join(_ABBREVIATION_MAP) + r")\b", re.IGNORECASE)
_UNIT_WORDS = re.compile(
    r"\b(" + "|".join(sorted(_UNIT_WORD_MAP, key=len, reverse=True)) + r")\b", re.IGNORECASE
)
_COUNT_AFTER = re.compile(
    r"^\s*(?:[a-z-]+\s+){0,2}?(servers?|machines?|nodes?|shards?|hosts?|boxes|instances|workers|fetchers|"
    r"partitions|sockets|connections|brokers|clusters|pods|containers|generators|keys|entries|"
    r"writes|reads|requests|messages|events|calls|lookups|queries|comparisons|hops)\b"
)
_FLEET_UNITS = frozenset(
    [
        "server",
        "servers",
        "machine",
        "machines",
        "node",
        "nodes",
        "shard",
        "shards",
        "host",
        "hosts",
        "boxes",
        "instances",
        "workers",
        "fetchers",
        "replicas",
        "partitions",
        "sockets",
        "connections",
        "brokers",
        "clusters",
        "pods",
        "containers",
        "generators",
    ]
)
_STORAGE_AFTER = re.compile(
    r"^[^.;]{0,30}\b(?:cache|cached|caching|memory|ram|redis|"
    r"in memory|fits (?:in|on)|heap|bloom|one node|a node|"
    r"per node|one box|a box|one machine)\b"
)
_PERIOD_AFTER = re.compile(
    r"^\s*(?:of\s+\w+\s+)?(?:over|in|for|per|a|each)\s+(?:the\s+)?(?:(\d+)\s+)?(year|month|day)s?\b"
)
_OPERATOR_NEXT = re.compile(r"^\s*(?:[*×x÷/]|times\b|divided\b|multiplied\b)(?!\s*(?:s\b|sec|second|day\b))")
_INPUT_UNITS = frozenset({"users", "user", "dau", "mau", "people"})


def _words_to_number(words: str) -> float | None:
    """'twenty three thousand' -> 23000.0; 'a hundred million' -> 1e8; 'one point two million' -> 1.2e6."""
    tokens = [t for t in re.split(r"[\s-]+", words.lower()) if t and t != "and"]
    if not tokens or all(t in {"a", "half", "point"} for t in tokens):
        return None
    total, current, decimal, seen = 0.0, 0.0, None, False
    for i, t in enumerate(tokens):
        if t == "a":
            current = current or 1.0
        elif t == "half":
            seen = True
            current = current + 0.5 if current >= 1 else (current or 1.0) * 0.5
        elif t == "point":
            decimal = ""
        elif t in _WORD_UNITS:
            seen = True
            if decimal is not None:
                decimal += str(_WORD_UNITS[t])
            else:
                current += _WORD_UNITS[t]
        elif t == "hundred":
            seen = True
            if decimal:
                current += float("0." + decimal)
                decimal = None
            current = (current or 1.0) * 100
        elif t in _WORD_SCALES:
            seen = True
            if decimal:
                current += float("0." + decimal)
                decimal = None
            total += (current or 1.0) * _WORD_SCALES[t]
            current = 0.0
        del i
    if decimal:
        current += float("0." + decimal)
    return total + current if seen else None


def _fmt(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def normalise_numbers(text: str) -> str:
    """Rewrite numbers written as words or in scientific forms as digits, so the parser reads them."""

    def sci(m: re.Match[str]) -> str:
        if m.group("e3"):
            return _fmt(10.0 ** int(m.group("e3")))
        mant = m.group("m") or m.group("m2")
        exp = m.group("e") or m.group("e2")
        return _fmt(float(mant) * 10.0 ** int(exp))

    text = _SCI.sub(sci, text)

    def words(m: re.Match[str]) -> str:
        found = m.group(0)
        lead = re.match(r"(?i)(?:and|point)[\s-]+", found)
        if lead:  # "... and one pool": the conjunction is not part of the number
            return found[: lead.end()] + words_of(found[lead.end() :])
        return words_of(found)

    def words_of(found: str) -> str:
        value = _words_to_number(found)
        scaled = re.search(r"(?i)hundred|thousand|million|billion|trillion|half|point", found)
        if value is None or (value < 20 and not scaled):
            return found  # "one pool", "two servers": an article-like word, not an estimate
        return _fmt(value)

    text = _UNIT_WORDS.sub(lambda m: _UNIT_WORD_MAP[m.group(1).lower()], text)
    text = re.sub(r"(\d)\s*B\b(?=\s+(?:a|per|each|every)\s+(?:month|day|year|week)\b)", r"\1 billion", text)
    text = re.sub(r"(?i)\byrs?\b", "years", text)
    text = _ABBREVIATIONS.sub(lambda m: _ABBREVIATION_MAP[m.group(1).lower()], text)
    text = re.sub(r"(?i)\bhalf an?\s+(?=(?:KB|MB|GB|TB|PB|thousand|million|billion)\b)", "0.5 ", text)
    text = _NUMBER_WORD.sub(words, text)
    return re.sub(r"(?i)(\d)\s*-?\s*ish\b", r"\1", text)


def _as_written(est: Estimate, original: str, rewritten: str) -> Estimate:
    """The estimate with its raw text and sentence as the candidate wrote them ("a thousand requests"),
    its value as parsed from the rewritten digits; quotes of it are then verbatim."""
    start = rewritten.find(est.raw, max(0, est.start - 2))
    if start < 0:
        start = rewritten.find(est.raw)
    if start < 0:
        return est
    end = start + len(est.raw)
    matcher = difflib.SequenceMatcher(None, rewritten, original, autojunk=False)

    def mapped(pos: int, right: bool) -> int:
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if i1 <= pos < i2 or (right and pos == i2):
                if tag == "equal":
                    return j1 + (pos - i1)
                return j2 if right else j1
        return len(original) if right else 0

    o_start, o_end = mapped(start, False), mapped(end, True)
    raw = original[o_start:o_end].strip() or est.raw
    sentence = next((s for s in split_sentences(original) if raw in s), est.sentence)
    return est.model_copy(update={"raw": raw, "sentence": sentence, "start": o_start})


def clauses(text: str) -> list[str]:
    """Sentences, with run-on questions split where a new question starts."""
    out: list[str] = []
    for sentence in split_sentences(text):
        parts: list[str] = []
        rest = sentence
        while True:
            cut = None
            for m in _CLAUSE_SPLIT.finditer(rest):
                left, right = rest[: m.start()], rest[m.end() :]
                last = left.split()[-1].lower() if left.split() else ""
                if last in _PREPOSITIONS:
                    continue  # "is there a limit on how many ...": one question, not two
                if len(left.split()) >= 3 and len(right.split()) >= 4 and _is_question_clause(left):
                    cut = m
                    break
            if cut is None:
                break
            parts.append(rest[: cut.start()].strip(" ,;-"))
            rest = rest[cut.end() :]
        parts.append(rest.strip())
        out.extend(p for p in parts if p)
    return out


_FRAGMENT_SPLIT = re.compile(r"\s*[,;]\s*|\s+(?:and|or|also|plus)\s+|\.\s+")


def _fragments(clause: str) -> list[str]:
    """The comma/and/or pieces of a clause with at least three words (only when there are several)."""
    parts = [p.strip() for p in _FRAGMENT_SPLIT.split(clause) if len(p.split()) >= 3]
    return parts if len(parts) >= 2 else []


_PREPOSITIONS = frozenset(
    [
        "on",
        "of",
        "about",
        "for",
        "in",
        "to",
        "with",
        "at",
        "by",
        "from",
        "into",
        "over",
        "than",
        "as",
        "like",
        "is",
    ]
)


def _strip_filler(clause: str) -> str:
    return _FILLER_PREFIX.sub("", _norm(clause)).strip()


_INVERTED = re.compile(
    r"(?:^|[,;:]\s*|\b(?:or|and|if|when|so|but|then|like)\s+)"
    r"(?:do|does|did|is|are|can|could|should|will|would|shall|must|has|have)\s+"
    r"(?:we|you|they|it|there|users?|people|ppl|folks|someone|"
    r"anyone|that|this|those|these|i|each|every|our)\b"
)
_CONFIRM = re.compile(r"(?:,\s*|\s)(?:right|correct|yeah|yes|true|ok|okay)\s*\??$|\bright\?")


def _is_question_clause(clause: str) -> bool:
    core = _strip_filler(clause)
    if not core:
        return False
    return (
        is_question(core)
        or is_question(clause)
        or bool(_EXTRA_QUESTION.search(core))
        or bool(_INVERTED.search(core))
    )


_MOVE_ON_EXTRA = re.compile(
    r"\b(?:wrap(?:ping)? (?:it |things |this )?up|happy to (?:stop|wrap|finish|end)|good to stop|"
    r"(?:that|this|i think that)(?:'s| is)? (?:about )?(?:it|"
    r"all|everything)(?: from me| for (?:me|now))?\s*[.!]?$|"
    r"(?:covers|covered|got|have) (?:the )?(?:requirements|reqs|scope|enough)|requirements (?:are )?done|"
    r"(?:get|dig|dive|go) (?:into|in to) (?:the )?(?:details|deep dive|specifics|weeds)|"
    r"(?:start|do|move to|go to|jump to|on to|"
    r"onto) (?:the )?(?:high[- ]level|design|api|numbers|math|estimates|"
    r"estimation|deep dive|details)|let'?s (?:do|start|move|go|jump|get)|i'?m done|we'?re done|"
    r"done (?:with|here)|ready (?:for|to))\b"
)
_OFF_MARKER = re.compile(
    r"\b(?:btw|by the way|unrelated|random (?:q|question)|side (?:q|question|note)|just curious|off[- ]topic|"
    r"out of curiosity|totally different|you guys|at your company|where you work|here at)\b"
)
_RHETORICAL_ANSWER = re.compile(
    r"^(?:nah|nope|no|yes|yeah|yep|yup|probably|pretty much|"
    r"prob|i'?ll|i'?d|i'?m (?:gonna|going)|we'?ll|we just|"
    r"we can|we don'?t|let'?s|going with|can'?t|cant|not really|just|mostly|usually|assume|say|so|ok so|"
    r"i think|i guess|obviously|definitely|for now|for v1|it'?s|its)\b"
)


_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "we",
        "you",
        "i",
        "it",
        "they",
        "he",
        "she",
        "them",
        "us",
        "our",
        "your",
        "my",
        "me",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "whats",
        "how",
        "which",
        "who",
        "whom",
        "when",
        "where",
        "why",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "have",
        "has",
        "had",
        "not",
        "no",
        "yes",
        "so",
        "just",
        "like",
        "really",
        "roughly",
        "about",
        "around",
        "any",
        "some",
        "all",
        "each",
        "every",
        "per",
        "one",
        "also",
        "too",
        "very",
        "much",
        "many",
        "more",
        "most",
        "lot",
        "lots",
        "kind",
        "sort",
        "thing",
        "things",
        "stuff",
        "need",
        "needs",
        "want",
        "wants",
        "ok",
        "okay",
        "um",
        "uh",
        "hmm",
        "right",
        "gonna",
        "going",
        "get",
        "got",
        "go",
        "make",
        "made",
        "sure",
        "mean",
        "means",
        "talking",
        "talk",
        "say",
        "said",
        "ask",
        "know",
        "think",
        "guess",
        "assume",
        "tell",
        "give",
        "share",
        "list",
        "show",
        "send",
        "provide",
        "everything",
        "once",
        "front",
        "up",
    ]
)
"""Words that say nothing about which fact a question asks for."""


def _stems(text: str) -> set[str]:
    out: set[str] = set()
    for w in re.findall(r"[a-z0-9]+", _norm(text)):
        if w in _STOP or len(w) < 3:
            continue
        for suffix in ("ing", "ies", "es", "ed", "s"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)] + ("y" if suffix == "ies" else "")
                break
        out.add(w)
    return out


_PREVIOUS_PER = re.compile(r"^\s*(?:[a-zA-Z]+\s+)?(?:per|each|an?|for each)\s+\w+", re.IGNORECASE)
_PEAK = re.compile(r"\b(?:peak|peaks|burst|bursts|busiest|spike|spikes|max(?:imum)?)\b")
_ASSUMED_INPUT = re.compile(r"\b(?:say|let'?s say|assume|assuming|suppose|given|if)\b[^.;=≈]{0,30}$")
_RESULT_WORDS = re.compile(r"\b(?:so|thats|that'?s|gives?|is|comes? (?:out )?to|=|≈|equals|means)\b")
_EACH_AFTER = re.compile(r"^\s*(?:each|apiece|a piece|per (?:one|item|entry|key|row))\b")
_OTHER_AFTER = re.compile(
    r"^\s*(?:of\s+)?(?:\w+\s+)?(?:cache|caches|of ram|ram|memory|in memory|heap|buffer|bloom|index|"
    r"fan-?out|feed writes|sockets|connections|of counters|counters|trie)\b"
)
_PER_THING = re.compile(
    r"\bper (?!second|sec\b|day|month|year|hour|minute|ms\b|millisecond)\w+|\bwith \d+ (?:nodes|servers)|"
    r"\bfor one\b|\bone (?:post|user|server|node|machine)\b"
)
_NUMBERISH = re.compile(r"\d(?![\d.,]*\s*x\b)[\d.,]*")


def _since_last_number(before: str) -> str:
    """The words between the previous number (not a multiplier like '10x') and this one."""
    last = None
    for m in _NUMBERISH.finditer(before):
        last = m
    return before[last.end() :] if last is not None else before


def _unit_noun(unit: str | None) -> str | None:
    """'pushes/s' -> 'push', 'messages/day' -> 'message'; None for units without a noun (QPS, TB)."""
    if not unit or "/" not in unit:
        return None
    noun = unit.split("/")[0].strip().lower()
    if not noun.isalpha() or noun in {"qps", "tps", "rps"}:
        return None
    for suffix in ("es", "s"):
        if noun.endswith(suffix) and len(noun) - len(suffix) >= 3:
            return noun[: -len(suffix)]
    return noun


def _until_next_number(after: str) -> str:
    """The words after this number up to the next one."""
    m = re.search(r"\d", after)
    return after[: m.start()] if m else after


def _needs_peak(label: str) -> bool:
    return "peak" in label.lower() or "burst" in label.lower()


def _restates_value(est: Estimate, problem: Problem) -> bool:
    """True when the number with its unit is one the fact sheet states (a per-item size, a limit)."""
    derived = [n.value for n in problem.numbers]
    for f in problem.hidden_facts:
        for v in f.values.values():
            if not v or not math.isclose(est.value, v, rel_tol=0.01):
                continue
            if (est.family in (None, "count", "daily") or est.kind == "per_item") and not any(
                math.isclose(v, d, rel_tol=0.01) for d in derived
            ):
                return True
    return False


def _window(est: Estimate) -> str:
    """The words around an estimate, from the previous number to the next one (its own clause)."""
    pos = est.sentence.find(est.raw)
    before = est.sentence[: max(0, pos)]
    after = est.sentence[pos + len(est.raw) :] if pos >= 0 else ""
    return _norm(_since_last_number(before)[-60:] + " " + est.raw + " " + _until_next_number(after)[:40])
