"""One customer-service conversation: bot, customer and agent turns along one of five flows.

The flows are bot_resolved, quick_agent, long_wait, bot_loop (no human ever arrives) and unresolved
(a repeat contact ending in canned answers); the lines come from ``templates/chat_lines.yaml`` and
``templates/topics.yaml``.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from .hangul import format_minutes
from .people import fake_personal, fill_personal, random_name
from .period import APP_UPDATE, CHAT_HOURS, END, KST
from .records import Truth, Turn
from .tables import (
    AGENT,
    BOT,
    CUSTOMER,
    MIXES,
    SERVICE,
    SPIKE_SENTENCES,
    TOPIC_BY_KEY,
    TOPICS,
    UPDATE_TOPIC,
    Topic,
    pairs,
)
from .text import Context, touchpoints_of, weighted

# Chats during the delivery surge open with its delivery complaints (not the call-centre ones).
SPIKE_OPENERS = tuple(p for p in SPIKE_SENTENCES if p[0] == "delivery")
UNRESOLVED_REACTIONS = pairs(CUSTOMER.unresolved_reactions)  # (pain category, customer line)


class ChatBuilder:
    """Appends turns to one conversation while advancing its clock."""

    def __init__(self, ctx: Context, start: datetime) -> None:
        self.ctx = ctx
        self.rng = ctx.rng
        self.now = start
        self.turns: list[Turn] = []
        self.pains: list[str] = []
        self.clean: list[str] = []
        self.pii = False
        self.case = 0  # index of the opener, for topics whose fixes are paired with openers
        self.agent_name = random_name(ctx.rng)

    def _say(self, sender: str, message: str, lo: int, hi: int) -> None:
        if self.turns:
            self.now += timedelta(seconds=self.rng.randint(lo, hi))
        self.turns.append(Turn(self.now, sender, message))

    def bot(self, message: str) -> None:
        """A bot message a few seconds after the last turn."""
        self._say("bot", self.ctx.fill(message), 1, 4)

    def agent(self, message: str, lo: int = 20, hi: int = 150) -> None:
        """A polite agent message."""
        self.ctx.slots["agent"] = self.agent_name
        self._say("agent", self.ctx.fill(message), lo, hi)

    def customer(
        self, template: str, mood: str = "neg", pain: str | None = None, lo: int = 8, hi: int = 90
    ) -> None:
        """A customer message, roughened."""
        text = self.ctx.fill(template)
        self.clean.append(text)
        if pain:
            self.pains.append(pain)
        self._say("customer", self.ctx.noisy(text, mood), lo, hi)

    def customer_pii(self, template: str) -> None:
        """The customer gives personal data (left tidy so masking can be checked)."""
        self.pii = True
        self._say("customer", fill_personal(template, fake_personal(self.rng)), 15, 70)

    def fix(self, topic: Topic) -> None:
        """The agent's resolution for the customer's case."""
        fix = topic.fixes[self.case % len(topic.fixes)] if topic.paired else self.rng.choice(topic.fixes)
        self.agent(fix, 30, 180)

    def wait(self, lo_s: int, hi_s: int) -> None:
        """Let time pass without a message."""
        self.now += timedelta(seconds=self.rng.randint(lo_s, hi_s))


def _opener(b: ChatBuilder, topic: Topic, spike: bool) -> None:
    """The customer's first message about the topic."""
    rng = b.rng
    if spike:
        cat, template = rng.choice(SPIKE_OPENERS)
        b.customer(template, "neg", cat, 10, 60)
    else:
        opener = b.ctx.pick(topic.openers)
        b.case = topic.openers.index(opener)
        b.customer(opener, "neg" if topic.pain else "neu", topic.pain, 10, 60)


def _detail(b: ChatBuilder, topic: Topic) -> None:
    """The agent asks for details; the customer answers (sometimes with personal data)."""
    rng = b.rng
    if topic.key == "address_change" and rng.random() < 0.6:
        b.agent(rng.choice(AGENT.ask_detail), 5, 30)
        b.customer_pii(rng.choice(CUSTOMER.new_address))
        return
    roll = rng.random()
    if roll < 0.08:
        b.agent(AGENT.ask_contact, 5, 30)
        b.customer_pii(rng.choice(CUSTOMER.contact_replies))
    elif roll < 0.45:
        b.agent(AGENT.ask_order, 5, 30)
        b.customer(rng.choice(CUSTOMER.order_replies), "neu", lo=20, hi=90)
    else:
        b.agent(rng.choice(AGENT.ask_detail), 5, 30)
        b.customer(b.ctx.pick(topic.details), "neu")
    if len(b.turns) <= 7 and rng.random() < 0.5:
        b.agent(AGENT.hold, 5, 30)
        b.wait(40, 180)


def _flow_bot_resolved(b: ChatBuilder, topic: Topic) -> str:
    """The bot's answer is enough; returns the conversation's tone."""
    b.bot(topic.bot_answer)
    warm = False
    if b.rng.random() < 0.8:
        warm = b.rng.random() < 0.3
        b.customer(b.rng.choice(CUSTOMER.thanks_warm if warm else CUSTOMER.thanks), "pos", lo=15, hi=120)
        if b.rng.random() < 0.6:
            b.bot(b.rng.choice(BOT.done))
    if topic.pain is None:
        return "praise" if warm else "neutral"
    return "complaint"


def _flow_quick_agent(b: ChatBuilder, topic: Topic) -> str:
    """Handed to an agent within minutes and solved; the customer thanks."""
    rng = b.rng
    if rng.random() < 0.5:
        b.bot(BOT.menu)
        b.customer(rng.choice(CUSTOMER.menu_picks), "neu", lo=5, hi=40)
    b.bot(BOT.handoff.replace("{n}", str(rng.randint(0, 3))))
    b.agent(rng.choice(AGENT.greetings), 40, 240)
    if rng.random() < 0.8:
        _detail(b, topic)
    b.fix(topic)
    warm = rng.random() < 0.45
    b.customer(rng.choice(CUSTOMER.thanks_warm if warm else CUSTOMER.thanks), "pos", lo=15, hi=90)
    if len(b.turns) < 12 and rng.random() < 0.7:
        b.agent(rng.choice(AGENT.closings), 5, 40)
    if topic.pain is None:
        return "praise" if warm else "neutral"
    return "mixed"


def _flow_long_wait(b: ChatBuilder, topic: Topic) -> str:
    """10-90 minutes until the first agent reply; the customer nudges and complains."""
    rng = b.rng
    b.bot(BOT.handoff.replace("{n}", str(rng.randint(8, 40))))
    gap = rng.randint(10 * 60, 90 * 60)
    handoff = b.now
    nudges = 1 if gap < 25 * 60 else rng.randint(1, 2)
    for k in range(nudges):
        target = handoff + timedelta(seconds=int(gap * (0.3 + 0.4 * k) * rng.uniform(0.8, 1.1)))
        b.now = max(b.now + timedelta(seconds=30), target)
        b.customer(rng.choice(CUSTOMER.nudges), "neg", "waiting" if k == 0 else None, 0, 0)
    b.now = max(b.now + timedelta(seconds=60), handoff + timedelta(seconds=gap))
    b.ctx.slots["waited"] = format_minutes(gap // 60)
    b.agent(rng.choice(AGENT.sorry_greetings), 0, 0)
    b.customer(rng.choice(CUSTOMER.wait_complaints), "neg", "waiting", 15, 80)
    if len(b.turns) <= 8 and rng.random() < 0.6:
        _detail(b, topic)
    if rng.random() < 0.75:
        b.fix(topic)
        b.customer(rng.choice(CUSTOMER.wait_after), "neg", lo=15, hi=90)
    else:
        b.agent(rng.choice(AGENT.canned), 40, 200)
        b.customer(rng.choice(CUSTOMER.unresolved_final), "neg", "unresolved", 15, 90)
    if len(b.turns) < 12 and rng.random() < 0.6:
        b.agent(rng.choice(AGENT.closings), 5, 40)
    return "complaint"


def _flow_bot_loop(b: ChatBuilder, topic: Topic, hour: int) -> str:
    """The bot never understands and no human ever arrives."""
    rng = b.rng
    b.bot(rng.choice(BOT.not_understood))
    b.customer(b.ctx.pick(topic.details), "neg", lo=10, hi=60)
    b.bot(rng.choice((BOT.menu, BOT.faq)))
    b.customer(rng.choice(CUSTOMER.ask_human), "neg", "over_automation", 8, 50)
    if hour < 9 or hour >= 18:
        b.bot(BOT.off_hours)
    else:
        b.bot(rng.choice((BOT.busy, BOT.choose_first)))
    if rng.random() < 0.7:
        b.customer(rng.choice(CUSTOMER.ask_human[1:]), "neg", lo=8, hi=50)  # asks again, not plainly
        b.bot(rng.choice(BOT.not_understood))
    b.customer(rng.choice(CUSTOMER.bot_exits), "neg", "over_automation", 10, 80)
    if rng.random() < 0.4:
        b.bot(BOT.done[1])
    return "complaint"


def _flow_unresolved(b: ChatBuilder, topic: Topic) -> str:
    """A repeat contact that ends with canned answers and nothing solved."""
    rng = b.rng
    b.customer(rng.choice(CUSTOMER.repeat_contact), "neg", "unresolved", 5, 40)
    b.bot(BOT.handoff.replace("{n}", str(rng.randint(1, 6))))
    b.agent(rng.choice(AGENT.greetings), 60, 400)
    _detail(b, topic)
    b.agent(rng.choice(AGENT.canned), 30, 150)
    cat, reaction = rng.choice(UNRESOLVED_REACTIONS)
    b.customer(reaction, "neg", cat, 15, 90)
    b.agent(rng.choice(AGENT.canned), 30, 150)
    b.customer(rng.choice(CUSTOMER.unresolved_final), "neg", lo=15, hi=90)
    if len(b.turns) < 12 and rng.random() < 0.5:
        b.agent(rng.choice(AGENT.closings), 5, 40)
    return "complaint"


def make_chat(rng: random.Random, day: date, event: str | None) -> tuple[list[Turn], Truth]:
    """Turns and ground truth for one conversation on the given day."""
    if event == "delivery_spike":
        topic = TOPIC_BY_KEY[rng.choice(("delivery_delay", "delivery_delay", "not_received"))]
        flow = rng.choices(("long_wait", "bot_loop", "unresolved"), weights=(60, 15, 25))[0]
    elif event == "app_update":
        topic = UPDATE_TOPIC
        flow = rng.choices(
            ("bot_resolved", "quick_agent", "long_wait", "bot_loop", "unresolved"),
            weights=(15, 35, 15, 15, 20),
        )[0]
    else:
        topic = rng.choices(TOPICS, weights=[t.weight for t in TOPICS])[0]
        if topic.key == "app_crash" and day >= APP_UPDATE and rng.random() < 0.5:
            topic = UPDATE_TOPIC
        flow = weighted(rng, MIXES.chat_flows)
    if flow == "bot_resolved" and not topic.bot_answer:
        flow = "quick_agent"
    agent_flow = flow in ("quick_agent", "long_wait", "unresolved")
    weekend = day.weekday() >= 5
    if agent_flow:
        hour = rng.randint(10, 15) if weekend else rng.randint(9, 16)
    else:
        hour = rng.choices(range(24), weights=CHAT_HOURS)[0]
        hour = min(hour, 21) if day == END else hour
    start = datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), rng.randint(0, 59), tzinfo=KST)
    ctx = Context.new(rng, day, SERVICE)
    ctx.slots["order_no"] = f"SR{day:%y%m%d}{rng.randint(1000, 9999)}"
    b = ChatBuilder(ctx, start)
    b.bot(rng.choice(BOT.greetings))
    _opener(b, topic, event == "delivery_spike")
    if topic is UPDATE_TOPIC and flow != "bot_loop" and rng.random() < 0.5:
        b.bot(BOT.update_notice)
    if flow == "bot_resolved":
        tone = _flow_bot_resolved(b, topic)
    elif flow == "quick_agent":
        tone = _flow_quick_agent(b, topic)
    elif flow == "long_wait":
        tone = _flow_long_wait(b, topic)
    elif flow == "bot_loop":
        tone = _flow_bot_loop(b, topic, hour)
    else:
        tone = _flow_unresolved(b, topic)
    if not 3 <= len(b.turns) <= 12:
        raise AssertionError(f"{flow} produced {len(b.turns)} turns")
    truth = Truth(tone, tuple(b.pains), touchpoints_of(" ".join(b.clean) + " 상담"), event, b.pii)
    return b.turns, truth
