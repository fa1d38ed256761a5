"""Kiwi tokens of one text, indexed by character offset for the name and address rules."""

from __future__ import annotations

from collections.abc import Iterable

import kiwipiepy

#: One token as the rules see it: ``(start, end, tag, oov)``, offsets into the analysed text.
TokenInfo = tuple[int, int, str, bool]


class KiwiTokens:
    """Kiwi tokens of one text, indexed for the lookups the name/address rules need.

    ``tokens`` is None for texts that were not analysed (no name/address anchor in them, or a masker
    without name/address detection); every lookup then finds nothing.
    """

    __slots__ = ("toks", "starts", "ends", "cover")

    def __init__(self, text: str, tokens: Iterable[kiwipiepy.Token] | None) -> None:
        self.toks: list[TokenInfo] = []
        self.starts: set[int] = set()
        self.ends: set[int] = set()
        self.cover: list[int] = [-1] * len(text)
        for tok in tokens or ():
            start, end = tok.start, tok.end
            idx = len(self.toks)
            self.toks.append((start, end, tok.tag, bool(tok.oov)))
            self.starts.add(start)
            self.ends.add(end)
            for i in range(start, min(end, len(text))):
                if self.cover[i] < 0:
                    self.cover[i] = idx

    def at(self, pos: int) -> TokenInfo | None:
        """Token covering character ``pos``."""
        if 0 <= pos < len(self.cover) and self.cover[pos] >= 0:
            return self.toks[self.cover[pos]]
        return None

    def inside_oov(self, pos: int) -> bool:
        """Is ``pos`` inside (not at the start of) an unknown word Kiwi glued together?"""
        tok = self.at(pos)
        return tok is not None and tok[3] and tok[0] < pos

    def within(self, start: int, end: int) -> list[TokenInfo]:
        """Tokens overlapping [start, end)."""
        seen: dict[int, None] = {}
        for i in range(start, min(end, len(self.cover))):
            if self.cover[i] >= 0:
                seen.setdefault(self.cover[i])
        return [self.toks[i] for i in seen]
