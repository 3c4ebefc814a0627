"""The labelled data under ``../shared/data`` and its fixed splits: which rows train, which validate,
which are held out (see ``../shared/data/SOURCES.md`` for the sets themselves).

Held-out rows are chosen by a hash of (dataset, text), not by shuffling, so the split is the same on
every machine and every run, and tests and benchmarks pick the same held-out rows with
:func:`is_heldout` without importing scikit-learn. The data is research material and is never
committed; only the trained model files are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nlp.sentiment import LABELS

DEFAULT_DATA = Path("../shared/data")
HELDOUT_PERCENT = 15
SPLIT_SALT = "yuqing-split-v1"
VALIDATION_PERCENT = 8
VALIDATION_SALT = "yuqing-val-v1"


def is_heldout(dataset: str, text: str, percent: int = HELDOUT_PERCENT) -> bool:
    """Whether a row belongs to the fixed held-out validation slice of its dataset."""
    h = hashlib.blake2b(f"{SPLIT_SALT}:{dataset}:{text}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") % 100 < percent


def is_validation(dataset: str, text: str, percent: int = VALIDATION_PERCENT) -> bool:
    """Whether a training row belongs to the validation slice (ensemble calibration, model choice).

    Carved from the rows that are not held out, with its own salt: the held-out slices are never used
    to tune anything.
    """
    h = hashlib.blake2b(f"{VALIDATION_SALT}:{dataset}:{text}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") % 100 < percent


@dataclass(frozen=True)
class SentimentSet:
    name: str
    file: str
    weight: float = 1.0  # sample weight of each training row
    max_train: int | None = None  # cap on training rows (deterministic: hash order)
    heldout_file: str | None = None  # a published dev split used whole as held-out, instead of carving
    news: bool = False  # finnsp: title + text; its post-level ``negative`` flag → negative, else neutral


SENTIMENT_SETS: tuple[SentimentSet, ...] = (
    SentimentSet("finfe", "sentiment/finfe_train.jsonl", weight=2.0),
    SentimentSet("stock_comments", "sentiment/stock_comments.jsonl", weight=1.5),
    SentimentSet("weibo_emotion", "sentiment/weibo_emotion_smp2020.jsonl", weight=1.5),
    SentimentSet(
        "chnsenticorp", "sentiment/chnsenticorp_train.jsonl", heldout_file="sentiment/chnsenticorp_dev.jsonl"
    ),
    SentimentSet("weibo_senti", "sentiment/weibo_senti_sample.jsonl"),
    SentimentSet("waimai", "sentiment/waimai_10k.jsonl"),
    SentimentSet("online_shopping", "sentiment/online_shopping_10_cats.jsonl", weight=0.5, max_train=20_000),
)
# Financial news about named firms (FinNSP): negative news vs the rest. Not in the first model's recipe
# (``linear``); ``--news`` adds it. Its held-out rows are the same as :func:`finnsp_rows` holds out.
NEWS_SET = SentimentSet("finnsp", "sentiment/finnsp_train.jsonl", news=True)


def read_jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                yield json.loads(line)


def sentiment_rows(data: Path, ds: SentimentSet, part: str, *, cap: bool = True) -> list[tuple[str, str]]:
    """(text, label) rows of one dataset.

    ``part``: ``heldout`` (the fixed test slice), ``train`` (everything else), or the two halves of
    ``train``: ``validation`` (:func:`is_validation`) and ``fit`` (the rest). ``cap=False`` ignores
    ``max_train``.
    """
    if part not in ("train", "fit", "validation", "heldout"):
        raise ValueError(f"unknown part {part!r}")
    if ds.heldout_file:
        path = data / (ds.file if part != "heldout" else ds.heldout_file)
        rows = [(r["text"], r["label"]) for r in read_jsonl(path)]
    else:
        want = part == "heldout"
        rows = [_row(ds, r) for r in read_jsonl(data / ds.file) if is_heldout(ds.name, r["text"]) == want]
    rows = [(t, lab) for t, lab in rows if t and lab in LABELS]
    if part in ("fit", "validation"):
        want = part == "validation"
        rows = [(t, lab) for t, lab in rows if is_validation(ds.name, t) == want]
    if part != "heldout" and cap and ds.max_train and len(rows) > ds.max_train:
        rows.sort(key=lambda r: hashlib.blake2b(r[0].encode(), digest_size=8).digest())
        rows = rows[: ds.max_train]
    return rows


def _row(ds: SentimentSet, r: dict) -> tuple[str, str]:
    if not ds.news:
        return r["text"], r["label"]
    title = (r.get("title") or "").strip()
    text = r["text"] if not title or title in r["text"] else f"{title}。{r['text']}"
    return text, "negative" if r["negative"] else "neutral"


# -- finnsp as entity rows (the negative-targets model) ---------------------------------------------

FINNSP = "finnsp"


def finnsp_rows(data: Path, part: str) -> list[dict]:
    """finnsp rows (``part``: train | heldout) with ``full`` = title + text as the analyzer reads them."""
    want = part == "heldout"
    out = []
    for r in read_jsonl(data / "sentiment" / "finnsp_train.jsonl"):
        text = str(r.get("text") or "")
        title = str(r.get("title") or "").strip()
        if is_heldout(FINNSP, text) != want:
            continue
        full = f"{title}\n{text}" if title and title != text.strip() else text
        r["full"] = full
        r["title_len"] = len(title) if title and title != text.strip() else 0
        out.append(r)
    return out


# -- the Weibo rumor sets (the rumor model) ---------------------------------------------------------

RUMOR_SETS = ("ced", "jin2017", "checked")


def rumor_rows(data: Path, part: str) -> list[tuple[str, str, int]]:
    """(set name, text, 1 if rumor) rows of ``part`` (train | heldout), split by :func:`is_heldout`."""
    want = part == "heldout"
    out = []
    for name in RUMOR_SETS:
        for r in read_jsonl(data / "rumor" / f"{name}_train.jsonl"):
            t = str(r.get("text") or "")
            if t and is_heldout(name, t) == want:
                out.append((name, t, int(r["label"] == "rumor")))
    return out
