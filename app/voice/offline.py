"""The offline voice: words a Move from templates, no model needed.

Each move kind has several phrasings; the one used is picked from the turn index, so a run is
reproducible but consecutive turns read differently. The voice never states the expected value of
a challenged estimate (it asks for a recheck) and never adds a fact the Move does not carry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from app.interview.moves import Move, MoveKind
from app.interview.phases import Phase
from app.voice.base import TurnContext


def _pick(options: list[str], index: int, salt: int = 0) -> str:
    return options[(index + salt) % len(options)]


def _join(*parts: str | None) -> str:
    text = " ".join(p.strip() for p in parts if p and p.strip())
    return re.sub(r"\s+", " ", text).strip()


_OPEN = [
    "Hi, thanks for joining. Here's the problem for today: {prompt} Where would you like to start?",
    "Welcome! Let's get going. I'd like you to work on this: {prompt} How would you like to begin?",
    "Hello, good to meet you. Today's question: {prompt} Take it from here.",
]
_ANSWER_INTRO = ["Good question.", "Sure.", "", "Right.", "That's worth asking.", "Okay."]
_ANSWER_CLOSE = [
    "What else?",
    "Anything else you'd like to know?",
    "",
    "Go on.",
    "What's next on your list?",
    "",
]
_ALL_NUMBERS_NONE = [
    "I'm not going to hand you a spec sheet.",
    "Let's not do it all in one go.",
    "I'd rather not dump everything on you.",
]
_ALL_NUMBERS_SOME = [
    "On the part you asked about specifically:",
    "I'll answer the specific bit:",
    "For that one:",
]
_ASSUME = [
    "I don't have a fixed answer for that one. Make a reasonable assumption, state it, and keep going.",
    "That's your call: make a reasonable assumption and tell me what it is.",
    "Good thing to think about, but there's no set number. Pick a sensible assumption and state it.",
]
_STEER_TO_SCOPE = [
    "Hold on, that's jumping ahead a bit.",
    "I'd like to pause you there: we haven't pinned down the requirements yet.",
    "Before we design anything, let's make sure we're solving the right problem.",
]
_PROBE = ["Let me push on that a bit.", "Interesting.", "Okay.", "", "Let's dig into that."]
_CHALLENGE = [
    "Hmm, {value} seems off to me.",
    "I'm not sure about {value}.",
    "Let's pause on {value} for a second.",
]
_CHALLENGE_CLOSE = ["", "Take another look at it.", "Recheck it for me."]
_ACK_ESTIMATE = [
    "That's in the right ballpark.",
    "Those numbers look reasonable.",
    "Okay, that roughly matches what I'd expect.",
]
_ADVANCE = {
    Phase.HIGH_LEVEL: [
        "Good, I think we have a clear picture of the requirements. Let's move on to the high-level design.",
        "That's a solid scope. Next, I'd like to see the high-level design.",
        "Okay, let's take that scope into a high-level design.",
    ],
    Phase.DEEP_DIVE: [
        "This blueprint works as a starting point. Let's go deeper on a few areas.",
        "Good, I have a picture of the overall design. Now let's dig into some of the details.",
        "Okay, let's move on to a deep dive.",
    ],
    Phase.WRAP_UP: [
        "Let's start wrapping up.",
        "We're getting toward the end, so let's step back for a few minutes.",
        "Good. Let's use the last few minutes to look at the design critically.",
    ],
}
_ADVANCE_TIME = {
    Phase.HIGH_LEVEL: "We should keep an eye on the clock, so let's move on to the high-level design.",
    Phase.DEEP_DIVE: "In the interest of time, let's move on and go deeper on a few areas.",
    Phase.WRAP_UP: "We're running short on time, so let's wrap up.",
}
_DEEP_DIVE = [
    "Let's look at another area.",
    "Let's switch gears.",
    "Next area.",
    "Let's go deeper somewhere else.",
]
_WRAP_UP = ["", "Next:", "One more:", "Good."]
_STEER_EMPTY = ["I didn't quite catch that.", "No rush, take a moment.", "Take your time."]
_STEER_OFF = [
    "Let's keep our focus on the design.",
    "Ha, maybe another time. Back to the problem.",
    "Let's bring it back to the system we're designing.",
]
_REFUSE = {
    "score": [
        "No score until the interview is over; you'll get a full report at the end. Let's keep going.",
        "I can't give you a grade mid-interview. Let's keep going.",
    ],
    "skip": [
        "We'll take the steps in order, so we're not skipping ahead.",
        "Let's not jump ahead; there's still work to do in this step.",
    ],
    "too_early": [
        "Let's not rush this step; there's still time for it.",
        "I'd like to spend a little more time here first.",
    ],
}
_GUIDANCE = {
    Phase.SCOPE: "right now I'm looking for you to understand the problem and agree on the scope",
    Phase.HIGH_LEVEL: "right now I'd like to see the whole system end to end before we go deep",
    Phase.DEEP_DIVE: "right now I'd like you to go deep on the parts that matter most",
    Phase.WRAP_UP: "right now I'd like you to step back and look at the design critically",
    Phase.DONE: "we're done",
}
_NUDGES = {
    Phase.SCOPE: "think about who uses this, how much, and what they can and cannot do with it",
    Phase.HIGH_LEVEL: "follow the client's main request through each box to where the data lives",
    Phase.DEEP_DIVE: "pick the part that breaks first at this scale and say how you would protect it",
    Phase.WRAP_UP: "think about what fails first, what you would watch, and what changes at 10x",
    Phase.DONE: "we're done",
}
"""Generic hints per step: they point at a way of thinking, never at a hidden fact or number."""
_ACK = ["Okay.", "Makes sense.", "Got it.", "Sounds reasonable.", "Alright."]
_CLOSE = [
    "That's time. Thanks for walking me through your design; you'll get a report on how it went.",
    "Let's stop there. Thank you, that was a good discussion. Your report will be ready shortly.",
]
_CLOSE_DONE = "The interview is over. Have a look at your report for feedback."
_CLOSE_FINISHED = "Okay, we'll stop here. Thanks! Your report will cover what we got through."
_NOTE_HINT = ["It may help to think about {h}.", "You might consider {h}.", "Think about {h}."]


class OfflineVoice:
    """Template voice: natural phrasings, several per move kind, deterministic by turn index."""

    name = "offline"

    def render(self, move: Move, ctx: TurnContext) -> str:
        """The whole reply for one move."""
        i = ctx.turn_index
        q = move.question
        k = move.kind
        if k == MoveKind.OPEN:
            return _pick(_OPEN, i).format(prompt=ctx.problem_prompt.strip())
        if k == MoveKind.ANSWER:
            facts = " ".join(move.facts)
            if move.reason == "all_numbers":
                lead = _pick(_ALL_NUMBERS_SOME, i) if facts else _pick(_ALL_NUMBERS_NONE, i)
                return _join(lead, facts, q)
            return _join(_pick(_ANSWER_INTRO, i), facts, q or _pick(_ANSWER_CLOSE, i, 1))
        if k == MoveKind.ASSUME:
            return _join(_pick(_ASSUME, i), q)
        if k == MoveKind.STEER_TO_SCOPE:
            return _join(_pick(_STEER_TO_SCOPE, i), q)
        if k == MoveKind.PROBE:
            return _join(_pick(_PROBE, i), q, self._hint(ctx))
        if k == MoveKind.CHALLENGE_ESTIMATE:
            value = move.candidate_value or "that number"
            return _join(_pick(_CHALLENGE, i).format(value=value), q, _pick(_CHALLENGE_CLOSE, i, 1))
        if k == MoveKind.ACK_ESTIMATE:
            return _join(_pick(_ACK_ESTIMATE, i), q)
        if k == MoveKind.ADVANCE:
            if move.reason == "time":
                lead = _ADVANCE_TIME.get(move.phase, "Let's move on.")
            else:
                lead = _pick(_ADVANCE.get(move.phase, ["Let's move on."]), i)
            ack = "Those numbers look about right." if move.candidate_value else ""
            return _join(ack, lead, q)
        if k == MoveKind.DEEP_DIVE:
            return _join(_pick(_DEEP_DIVE, i), q, self._hint(ctx))
        if k == MoveKind.WRAP_UP:
            return _join(_pick(_WRAP_UP, i), q)
        if k == MoveKind.STEER_BACK:
            lead = _pick(_STEER_EMPTY if move.reason == "empty" else _STEER_OFF, i)
            return _join(lead, q)
        if k == MoveKind.REFUSE_SKIP:
            return _join(_pick(_REFUSE.get(move.reason, _REFUSE["skip"]), i), q)
        if k == MoveKind.ANSWER_QUESTION:
            phase_title = ctx.phase.label.split(". ", 1)[-1].lower()
            if move.reason == "time":
                lead = (
                    f"We're about {ctx.elapsed_minutes:.0f} minutes into {ctx.budget_minutes:.0f}, "
                    f"working on {phase_title}."
                )
            elif move.reason == "hint":
                lead = f"A nudge: {_NUDGES.get(ctx.phase, '')}."
            elif move.reason == "dont_know":
                lead = _pick(
                    ["That's fine, let's come at it from another side.", "No problem, try it this way."], i
                )
            elif move.reason == "opinion":
                lead = f"I'd rather hear how you'd weigh it first; {_GUIDANCE.get(ctx.phase, '')}."
            else:
                opener = _pick(["Good question:", "Fair question:", "Sure:"], i)
                lead = f"{opener} {_GUIDANCE.get(ctx.phase, '')}."
            return _join(lead, q)
        if k == MoveKind.ACKNOWLEDGE:
            return _join(_pick(_ACK, i), q)
        if k == MoveKind.CLOSE:
            if move.reason == "done":
                return _CLOSE_DONE
            if move.reason == "finished":
                return _CLOSE_FINISHED
            return _pick(_CLOSE, i)
        return _join(q) or "Go on."

    def _hint(self, ctx: TurnContext) -> str:
        """Sometimes, a one-line pointer taken from the top study note's heading."""
        if not ctx.notes or ctx.turn_index % 2:
            return ""
        heading = re.sub(r"^[#\s]+", "", ctx.notes[0].heading).strip().rstrip(".:")
        if not heading or len(heading) > 60:
            return ""
        return _pick(_NOTE_HINT, ctx.turn_index).format(h=heading[0].lower() + heading[1:])

    def speak(self, move: Move, ctx: TurnContext) -> Iterator[str]:
        """Yield the reply a few words at a time, like a streamed model reply."""
        words = self.render(move, ctx).split(" ")
        for n, word in enumerate(words):
            yield word if n == len(words) - 1 else word + " "
