"""Personal-data (PII) masking for Korean customer text.

Every review, survey answer and chat turn goes through :class:`PiiMasker` before anything is stored, so
that the warehouse never holds a phone number, e-mail, resident registration number (주민번호), card
number, bank account, car plate, street-address or building-unit number or a customer's / agent's
name. Each detection is replaced by a typed placeholder (:data:`PLACEHOLDERS`); downstream code
recognises these exact strings, e.g. to keep ``[이름]`` out of keyword lists.

Design
------
* Structured identifiers (phone, e-mail, RRN, card, account, car plate, URL query tokens) are found with
  regular expressions over the raw text; Kiwi's ``W_EMAIL`` / ``W_URL`` tags are added as extra
  candidates. Phone numbers also count when read out digit by digit, in number words (공일공-육삼이일-…)
  or in digits written apart (0 1 0 2 …).
* Names and addresses need language knowledge, so they use Kiwi tokens. A name is a 2-4 syllable
  Hangul chunk next to an anchor (an honorific/title, a turn-initial self-introduction, a label such as
  "제 이름은" or "예금주") that Kiwi reads as a proper noun or an unknown word and that is spelled like a
  Korean name (:mod:`pipeline.text.pii.names`). A road/lot-number candidate is kept only when Kiwi reads
  the "-로/-길/-동/-리" as part of a place name (테헤란로, 역삼동) and not as the particle "로" ("택배로
  2개"), or a district (강남구) precedes it. A building's wing/floor/unit after the building's name
  ("에이치스퀘어 N동 7층") is masked unless the building is a hotel (:mod:`pipeline.text.pii.detectors`).
* Once a name is found, its other mentions in the text are masked too, bare or with a particle
  (민수가, 지훈이는); callers that know names from elsewhere (a record's name column) pass them in.
* Overlapping detections resolve to the longest span; ties go to the more specific kind
  (email > url > rrn > card > phone > account > plate > address > name).
* Order / tracking / reference numbers are *kept*: a digit run right after a label such as 주문번호,
  송장번호, 운송장, 접수번호, 예약번호, 승인번호 is exempt from the RRN, account and bare-digit card
  detectors (phone numbers and grouped card numbers are still masked there). Shapes like
  ``20261021-000123`` (a date + sequence) are not phone/RRN shapes anyway.
* Masking is idempotent by construction: placeholders are protected from every detector, and the
  masker re-runs on its own output (only for texts where something was masked) until nothing new is
  found, because replacing a value can change Kiwi's analysis of the words around it.
* Width is folded first (NFKC, keeping Hangul compatibility jamo, as
  :func:`pipeline.text.normalize.nfkc_keeping_jamo` does), whoever calls: full-width ``０１０－３３８４``
  would otherwise slip past every digit rule. Masked text and spans refer to the folded text, which is
  the input itself for normalised text.

Layout: :mod:`~pipeline.text.pii.patterns` holds the regular expressions and word tables,
:mod:`~pipeline.text.pii.detectors` the structured-identifier and address detectors,
:mod:`~pipeline.text.pii.names` the name finder; this module combines them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import kiwipiepy

from pipeline.text.korean import shared_kiwi
from pipeline.text.normalize import nfkc_keeping_jamo
from pipeline.text.pii.detectors import (
    Candidate,
    find_accounts,
    find_addresses,
    find_cards,
    find_emails,
    find_phones,
    find_plates,
    find_reference_numbers,
    find_rrns,
    find_sensitive_url_queries,
    find_urls,
)
from pipeline.text.pii.names import NAME_LABEL_RE, SELF_INTRODUCTION_RE, TITLE_RE, NameFinder
from pipeline.text.pii.patterns import ADDRESS_MERGE_GAP_RE, blank_out, luhn_ok, overlaps_any
from pipeline.text.pii.tokens import KiwiTokens

__all__ = ["KINDS", "PLACEHOLDERS", "PLACEHOLDER_RE", "MaskSpan", "Masked", "PiiMasker", "luhn_ok"]

#: Every kind the masker knows, in the order used for documentation and defaults.
KINDS: tuple[str, ...] = ("phone", "email", "rrn", "card", "account", "plate", "address", "name", "url")

#: Stable placeholder strings; downstream code matches on these exact values.
PLACEHOLDERS: dict[str, str] = {
    "phone": "[전화번호]",
    "email": "[이메일]",
    "rrn": "[주민번호]",
    "card": "[카드번호]",
    "account": "[계좌번호]",
    "plate": "[차량번호]",
    "address": "[주소]",
    "name": "[이름]",
    "url": "[URL]",
}

#: Matches any placeholder, e.g. to skip them when extracting keywords.
PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))

# Ties between equally long spans go to the more specific detector.
_PRIORITY = {
    "email": 9, "url": 8, "rrn": 7, "card": 6, "phone": 5, "account": 4, "plate": 3, "address": 2, "name": 1,
}
_MAX_PASSES = 4  # masking until nothing new is found; two passes are the most seen in practice

# Texts without any of these cannot produce a Kiwi-dependent detection.
_NEEDS_TOKENS_RE = re.compile(
    "|".join(["[0-9@]", "www", "http", TITLE_RE.pattern, SELF_INTRODUCTION_RE.pattern, NAME_LABEL_RE.pattern])
)


@dataclass(frozen=True)
class MaskSpan:
    """One masked region, with offsets into the original text after width folding (so callers can audit
    what was hidden)."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Masked:
    """Result of masking one text: the safe text plus where and what was masked."""

    text: str
    spans: list[MaskSpan] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        """Distinct kinds masked, in order of first appearance (cheap per-text PII statistics)."""
        return list(dict.fromkeys(s.kind for s in self.spans))


class PiiMasker:
    """Masks personal data in Korean customer text with typed placeholders (see module docstring)."""

    def __init__(self, kiwi: kiwipiepy.Kiwi | None = None, kinds: Iterable[str] | None = None) -> None:
        """``kinds`` limits which detectors run (default: all of :data:`KINDS`). Without ``kiwi`` the
        process-wide :func:`pipeline.text.korean.shared_kiwi` is used, so no second model is loaded."""
        selected = tuple(KINDS if kinds is None else dict.fromkeys(kinds))
        unknown = [k for k in selected if k not in PLACEHOLDERS]
        if unknown:
            raise ValueError(f"unknown PII kinds {unknown}; choose from {list(KINDS)}")
        self.kinds: frozenset[str] = frozenset(selected)
        # Kiwi is only needed for names and addresses; skip loading it otherwise.
        self._kiwi: kiwipiepy.Kiwi | None = None
        if self.kinds & {"name", "address"}:
            self._kiwi = kiwi if kiwi is not None else shared_kiwi()
        self._name_finder = (
            NameFinder(self._kiwi) if self._kiwi is not None and "name" in self.kinds else None
        )

    # -- public API ---------------------------------------------------------------------------------

    def mask(self, text: str, known_names: Iterable[str] = ()) -> Masked:
        """Mask one text; spans point into its width-folded form (``text`` itself when normalised)."""
        return self.mask_many([text], [known_names])[0]

    def mask_many(
        self, texts: Sequence[str], known_names: Sequence[Iterable[str]] | None = None
    ) -> list[Masked]:
        """Mask a batch; Kiwi analyses the whole batch in one call, which is several times faster.

        ``known_names`` gives, per text, names known from elsewhere (a record's name column): their
        mentions are masked like those of a name found in the text.
        """
        texts = [nfkc_keeping_jamo(t) for t in texts]
        known = [list(names) for names in known_names] if known_names is not None else [[] for _ in texts]
        if len(known) != len(texts):
            raise ValueError("known_names needs one entry per text")
        spans: list[list[MaskSpan]] = [[] for _ in texts]
        current = list(texts)
        todo = list(range(len(texts)))
        for _ in range(_MAX_PASSES):
            if not todo:
                break
            tokens = self._tokenize([current[i] for i in todo])
            still: list[int] = []
            for i, toks in zip(todo, tokens, strict=True):
                found = self._detect(current[i], toks, known[i])
                if not found:
                    continue
                spans[i] = sorted(spans[i] + self._to_original(found, spans[i]), key=lambda s: s.start)
                current[i] = self._apply(texts[i], spans[i])
                still.append(i)
            todo = still
        return [Masked(current[i], spans[i]) for i in range(len(texts))]

    def whole_name(self, value: str) -> bool:
        """Is ``value`` nothing but a person's full name (a record's field: "김민수")? Always False for a
        masker that does not mask names."""
        return self._name_finder is not None and self._name_finder.whole_name(value)

    # -- internals ----------------------------------------------------------------------------------

    def _tokenize(self, texts: list[str]) -> list[KiwiTokens]:
        """Kiwi tokens, computed only for texts where a name or address rule could fire: Kiwi dominates
        the cost, so texts with no digit and no title/introduction/label anchor skip it."""
        if self._kiwi is None:
            return [KiwiTokens(t, None) for t in texts]
        need = [i for i, t in enumerate(texts) if _NEEDS_TOKENS_RE.search(t)]
        analysed = dict(zip(need, self._kiwi.tokenize([texts[i] for i in need]), strict=True))
        return [KiwiTokens(t, analysed.get(i)) for i, t in enumerate(texts)]

    @staticmethod
    def _apply(text: str, spans: list[MaskSpan]) -> str:
        out: list[str] = []
        pos = 0
        for sp in spans:
            out.append(text[pos : sp.start])
            out.append(PLACEHOLDERS[sp.kind])
            pos = sp.end
        out.append(text[pos:])
        return "".join(out)

    @staticmethod
    def _to_original(found: list[MaskSpan], applied: list[MaskSpan]) -> list[MaskSpan]:
        """Map spans found in already-masked text back to offsets in the original text."""
        if not applied:
            return found

        def back(pos: int) -> int:
            shift = 0
            for sp in applied:
                cur_start = sp.start + shift
                if pos <= cur_start:
                    break
                shift += len(PLACEHOLDERS[sp.kind]) - (sp.end - sp.start)
            return pos - shift

        return [MaskSpan(s.kind, back(s.start), back(s.end)) for s in found]

    def _detect(self, text: str, toks: KiwiTokens, known_names: list[str]) -> list[MaskSpan]:
        if not text:
            return []
        protected = [(m.start(), m.end()) for m in PLACEHOLDER_RE.finditer(text)]
        ctx = blank_out(text, protected) if protected else text
        cands: list[Candidate] = []
        k = self.kinds
        urls = find_urls(text, toks)
        if "email" in k:
            cands += find_emails(text, toks)
        if "url" in k:
            cands += find_sensitive_url_queries(text, urls)
        if "phone" in k:
            cands += find_phones(text)
        refs = find_reference_numbers(ctx)
        if "rrn" in k:
            cands += find_rrns(text, ctx, refs)
        if "card" in k:
            cands += find_cards(text, ctx, refs + urls)
        soft_block = protected + [(s, e) for s, e in urls]
        if "account" in k:
            cands += [c for c in find_accounts(text, ctx, refs) if not overlaps_any(c[0], c[1], soft_block)]
        if "plate" in k:
            cands += [c for c in find_plates(text, ctx) if not overlaps_any(c[0], c[1], soft_block)]
        if "address" in k:
            cands += [c for c in find_addresses(text, ctx, toks) if not overlaps_any(c[0], c[1], soft_block)]
        if self._name_finder is not None:
            names = self._name_finder.find(text, toks)
            names = [c for c in names if not overlaps_any(c[0], c[1], soft_block)]
            found = known_names + [text[s:e] for s, e, _ in names]
            if found:
                names += self._name_finder.mentions(text, found)
            cands += [c for c in names if not overlaps_any(c[0], c[1], soft_block)]
        cands = [c for c in cands if c[1] > c[0] and not overlaps_any(c[0], c[1], protected)]
        return self._resolve(text, cands)

    @staticmethod
    def _resolve(text: str, cands: list[Candidate]) -> list[MaskSpan]:
        """Longest span wins; equal lengths go to the more specific kind; adjacent address parts merge."""
        chosen: list[Candidate] = []
        for s, e, kind in sorted(cands, key=lambda c: (c[0] - c[1], -_PRIORITY[c[2]], c[0])):
            if not overlaps_any(s, e, ((a, b) for a, b, _ in chosen)):
                chosen.append((s, e, kind))
        chosen.sort()
        merged: list[Candidate] = []
        for s, e, kind in chosen:
            if merged and kind == "address" and merged[-1][2] == "address":
                ps, pe, _ = merged[-1]
                gap = ADDRESS_MERGE_GAP_RE.fullmatch(text, pe, s)
                if gap is not None:
                    merged[-1] = (ps, e, kind)
                    continue
            merged.append((s, e, kind))
        return [MaskSpan(kind, s, e) for s, e, kind in merged]
