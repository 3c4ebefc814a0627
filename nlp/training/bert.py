"""Train the small Chinese BERT behind the shipped sentiment model (torch + transformers: the ``train`` extra).

    python -m nlp.training sentiment-bert --data ../shared/data --work /tmp/yuqing-bert \\
        --mlm-minutes 30 --ft-minutes 25 --out nlp/models/sentiment-bert

No pretrained Chinese weights can be downloaded here, so the model starts from random weights:

1. vocabulary: the bert-base-chinese WordPiece vocabulary (``../shared/models/bert-base-chinese-vocab``)
   trimmed to the pieces that occur at least twice in the corpora (a smaller embedding matrix, same
   tokenisation of what matters);
2. masked-language-model pre-training on the unlabelled text of every shared corpus (sentiment,
   FinNSP, rumor sets), held-out rows excluded so the figures stay honest;
3. fine-tuning for negative / neutral / positive on the sentiment training rows (the validation slice
   of :func:`nlp.training.data.is_validation` kept out: it calibrates the ensemble);
4. export: ONNX (int8 dynamic quantisation) next to the transformers files (config.json with id2label,
   tokenizer files, model.safetensors), so the desk runs it with onnxruntime + tokenizers, without torch.

Every phase is time-boxed and checkpointed under ``--work``: a phase that runs out of time keeps its last
checkpoint, and ``--phase`` restarts from any of them. The 2-CPU machine this was built on is the
constraint the sizes below answer to (see nlp/models/README.md).
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from nlp.sentiment import LABELS
from nlp.training.data import SENTIMENT_SETS, is_heldout, read_jsonl, sentiment_rows

BASE_VOCAB = (
    Path(__file__).resolve().parents[3] / "shared" / "models" / "bert-base-chinese-vocab" / "vocab.txt"
)
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
ARCH = {
    "hidden_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 512,
    "max_position_embeddings": 256,
}
MLM_LEN = 48
FT_LEN = 64


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- data ------------------------------------------------------------------------------------------


def unlabelled_texts(data: Path) -> list[str]:
    """Text of every shared corpus, held-out rows of each left out (MLM must not read the test slices)."""
    out: list[str] = []
    for ds in SENTIMENT_SETS:
        out += [t for t, _ in sentiment_rows(data, ds, "train", cap=False)]
    for r in read_jsonl(data / "sentiment/finnsp_train.jsonl"):
        for t in (r.get("title") or "", r.get("text") or ""):
            if t and not is_heldout("finnsp", t):
                out.append(t)
    for f in sorted((data / "rumor").glob("*.jsonl")):
        out += [r["text"] for r in read_jsonl(f) if r.get("text") and not is_heldout(f.stem, r["text"])]
    return list(dict.fromkeys(t.strip() for t in out if t and t.strip()))


def build_tokenizer(texts: list[str], out_dir: Path, min_count: int = 2):
    """Trimmed WordPiece vocabulary + fast tokenizer files (vocab.txt, tokenizer.json, configs) in out_dir."""
    from tokenizers import BertWordPieceTokenizer

    base = BASE_VOCAB.read_text(encoding="utf-8").splitlines()
    full = BertWordPieceTokenizer(str(BASE_VOCAB), lowercase=True, handle_chinese_chars=True)
    counts: Counter[int] = Counter()
    for enc in full.encode_batch(texts, add_special_tokens=False):
        counts.update(enc.ids)
    keep = [tok for i, tok in enumerate(base) if tok in SPECIALS or counts[i] >= min_count]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "vocab.txt").write_text("\n".join(keep) + "\n", encoding="utf-8")
    tok = BertWordPieceTokenizer(str(out_dir / "vocab.txt"), lowercase=True, handle_chinese_chars=True)
    tok.save(str(out_dir / "tokenizer.json"))
    (out_dir / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "BertTokenizer",
                "do_lower_case": True,
                "tokenize_chinese_chars": True,
                "model_max_length": ARCH["max_position_embeddings"],
                "pad_token": "[PAD]",
                "unk_token": "[UNK]",
                "cls_token": "[CLS]",
                "sep_token": "[SEP]",
                "mask_token": "[MASK]",
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    (out_dir / "special_tokens_map.json").write_text(
        json.dumps(
            {
                k: f"[{k.split('_')[0].upper()}]"
                for k in ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token")
            }
        )
        + "\n",
        encoding="utf-8",
    )
    log(f"vocabulary: {len(keep)} of {len(base)} pieces kept (count >= {min_count})")
    return tok


def encode(tok, texts: list[str], max_len: int) -> list[list[int]]:
    tok.enable_truncation(max_len)
    tok.no_padding()
    return [e.ids for e in tok.encode_batch(texts)]


def batches(seqs: list[list[int]], size: int, rng: random.Random) -> list[list[int]]:
    """Index batches of similar length (less padding, much less CPU), in random order."""
    order = list(range(len(seqs)))
    rng.shuffle(order)
    chunk = size * 50
    out: list[list[int]] = []
    for i in range(0, len(order), chunk):
        part = sorted(order[i : i + chunk], key=lambda j: len(seqs[j]))
        out += [part[k : k + size] for k in range(0, len(part), size)]
    rng.shuffle(out)
    return out


def pad(seqs: list[list[int]]):
    import torch

    n = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), n), dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


# -- phases ----------------------------------------------------------------------------------------


def _schedule(opt, warmup: int, budget_s: float, t0: float):
    """Linear warm-up over ``warmup`` steps, then linear decay over the *time* budget.

    On a shared CPU the step time can change tenfold within a run; a schedule planned in steps from the
    first steps' speed ends far too early or too late, one planned in seconds does not.
    """
    import torch

    def f(step: int) -> float:
        decay = max(0.02, 1 - (time.time() - t0) / budget_s)
        return min(1.0, (step + 1) / warmup) * decay

    return torch.optim.lr_scheduler.LambdaLR(opt, f)


def pretrain_mlm(work: Path, data: Path, minutes: float, batch: int = 64, lr: float = 7e-4) -> Path:
    import torch
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    rng = random.Random(0)
    texts = unlabelled_texts(data)
    log(f"unlabelled texts: {len(texts)}, {sum(map(len, texts)):,} chars")
    tok = build_tokenizer(texts, work / "tokenizer")
    vocab_size = tok.get_vocab_size()
    seqs = [s for s in encode(tok, texts, MLM_LEN) if len(s) > 4]
    cfg = BertConfig(vocab_size=vocab_size, **ARCH)
    if (work / "mlm" / "config.json").exists():  # resume: more pre-training on top of the last checkpoint
        model = BertForMaskedLM.from_pretrained(work / "mlm")
        if model.config.vocab_size != vocab_size:
            raise RuntimeError(f"{work / 'mlm'} has another vocabulary; use a fresh --work")
        log(f"MLM: resuming from {work / 'mlm'}")
    else:
        model = BertForMaskedLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    budget = minutes * 60
    step, t0, last_save = 0, time.time(), time.time()
    sched = _schedule(opt, warmup=200, budget_s=budget, t0=t0)
    mask_id, cls_id, sep_id = (tok.token_to_id(t) for t in ("[MASK]", "[CLS]", "[SEP]"))
    model.train()
    done = False
    epoch = 0
    while not done:
        for idx in batches(seqs, batch, rng):
            ids, att = pad([seqs[i] for i in idx])
            labels = ids.clone()
            special = (ids == 0) | (ids == cls_id) | (ids == sep_id)
            prob = torch.full(ids.shape, 0.15)
            prob[special] = 0
            chosen = torch.bernoulli(prob).bool()
            labels[~chosen] = -100
            r = torch.rand(ids.shape)
            inp = ids.clone()
            inp[chosen & (r < 0.8)] = mask_id
            rand_tok = chosen & (r >= 0.8) & (r < 0.9)
            inp[rand_tok] = torch.randint(5, vocab_size, (int(rand_tok.sum()),))
            # the vocabulary projection only where a token was masked (most of an MLM step's cost otherwise)
            hidden = model.bert(input_ids=inp, attention_mask=att).last_hidden_state
            logits = model.cls(hidden[chosen])
            loss = torch.nn.functional.cross_entropy(logits, labels[chosen])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 500 == 0:
                log(f"MLM step {step} epoch {epoch} loss {loss.item():.3f}")
            if time.time() - last_save > 300:
                model.save_pretrained(work / "mlm")
                last_save = time.time()
            if time.time() - t0 > budget:
                done = True
                break
        epoch += 1
    model.save_pretrained(work / "mlm")
    log(f"MLM done: {step} steps, {epoch} epochs started, {time.time() - t0:.0f}s")
    return work / "mlm"


def _labelled(data: Path, part: str) -> tuple[list[str], list[int], list[float], list[str]]:
    texts, ys, ws, names = [], [], [], []
    for ds in SENTIMENT_SETS:
        for t, lab in sentiment_rows(data, ds, part):
            texts.append(t)
            ys.append(LABELS.index(lab))
            ws.append(ds.weight)
            names.append(ds.name)
    return texts, ys, ws, names


def predict_torch(model, tok, texts: list[str], batch: int = 128) -> np.ndarray:
    import torch

    seqs = encode(tok, texts, FT_LEN)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    model.eval()
    with torch.no_grad():
        for k in range(0, len(order), batch):
            idx = order[k : k + batch]
            ids, att = pad([seqs[i] for i in idx])
            out[idx] = torch.softmax(model(input_ids=ids, attention_mask=att).logits, -1).numpy()
    model.train()
    return out


def finetune(work: Path, data: Path, minutes: float, batch: int = 32, lr: float = 3e-4) -> Path:
    import torch
    from tokenizers import Tokenizer
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    rng = random.Random(0)
    tok = Tokenizer.from_file(str(work / "tokenizer" / "tokenizer.json"))
    texts, ys, ws, _ = _labelled(data, "fit")
    vtexts, vys, _, vnames = _labelled(data, "validation")
    log(f"fine-tune: {len(texts)} training rows, {len(vtexts)} validation rows")
    seqs = encode(tok, texts, FT_LEN)
    model = BertForSequenceClassification.from_pretrained(
        work / "mlm",
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={lab: i for i, lab in enumerate(LABELS)},
    )
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    y_all = torch.tensor(ys)
    w_all = torch.tensor(ws, dtype=torch.float32)
    budget = minutes * 60
    step, t0 = 0, time.time()
    sched = _schedule(opt, warmup=200, budget_s=budget * 0.92, t0=t0)
    best = -1.0
    eval_every = max(60.0, budget / 6)
    last_eval = time.time()

    def evaluate_and_keep() -> None:
        nonlocal best
        p = predict_torch(model, tok, vtexts)
        acc = float((p.argmax(1) == np.array(vys)).mean())
        per = {
            n: round(float((p.argmax(1)[m] == np.array(vys)[m]).mean()), 4)
            for n in sorted(set(vnames))
            for m in [np.array([x == n for x in vnames])]
        }
        log(f"validation accuracy {acc:.4f} {per}")
        if acc > best:
            best = acc
            model.save_pretrained(work / "ft")
            (work / "ft" / "validation.json").write_text(
                json.dumps({"accuracy": acc, "per_set": per, "step": step})
            )

    model.train()
    done = False
    while not done:
        for idx in batches(seqs, batch, rng):
            ids, att = pad([seqs[i] for i in idx])
            logits = model(input_ids=ids, attention_mask=att).logits
            loss_each = torch.nn.functional.cross_entropy(logits, y_all[idx], reduction="none")
            w = w_all[idx]
            loss = (loss_each * w).sum() / w.sum()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 500 == 0:
                log(f"fine-tune step {step} ({step * batch / len(seqs):.2f} epochs) loss {loss.item():.3f}")
            if time.time() - last_eval > eval_every:
                evaluate_and_keep()
                last_eval = time.time()
            if time.time() - t0 > budget:
                done = True
                break
    evaluate_and_keep()
    log(f"fine-tune done: {step} steps, best validation accuracy {best:.4f}")
    return work / "ft"


def export_onnx(model, fp32: Path, int8: Path) -> None:
    """A transformers sequence classifier → ONNX (logits from input_ids, attention_mask) → int8 weights."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Logits(torch.nn.Module):
        def __init__(self, m) -> None:
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).logits

    ids = torch.tensor([[2, 10, 11, 12, 3]])
    torch.onnx.export(
        Logits(model.eval()),
        (ids, torch.ones_like(ids)),
        str(fp32),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)


def export(work: Path, out: Path, data: Path | None = None) -> Path:
    """transformers files + model.onnx (int8) into ``out``; the int8 ONNX must agree with torch."""
    import shutil

    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(work / "ft")
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(work / "tokenizer" / f, out / f)
    export_onnx(model, work / "model-fp32.onnx", out / "model.onnx")
    cfg = json.loads((out / "config.json").read_text(encoding="utf-8"))
    cfg["yuqing_max_length"] = FT_LEN
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    from tokenizers import Tokenizer

    from nlp.sentiment import OnnxSentimentClassifier

    probe = [t for t, _ in _labelled_probe(data)] if data else []
    if probe:
        tok = Tokenizer.from_file(str(out / "tokenizer.json"))
        p_torch = predict_torch(model, tok, probe)
        p_onnx = OnnxSentimentClassifier(out).predict_proba(probe)
        agree = float((p_torch.argmax(1) == p_onnx.argmax(1)).mean())
        log(
            f"int8 ONNX vs torch on {len(probe)} validation texts: argmax agreement {agree:.3f}, "
            f"max |Δp| {np.abs(p_torch - p_onnx).max():.3f}"
        )
        if agree < 0.97:
            raise RuntimeError(f"int8 ONNX disagrees with torch on {1 - agree:.1%} of validation texts")
    log(f"exported {out / 'model.onnx'} ({(out / 'model.onnx').stat().st_size / 1e6:.1f} MB)")
    return out


def _labelled_probe(data: Path, n: int = 500) -> list[tuple[str, int]]:
    texts, ys, _, _ = _labelled(data, "validation")
    step = max(1, len(texts) // n)
    return list(zip(texts[::step], ys[::step], strict=True))


def run(args) -> dict:
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    import torch

    torch.set_num_threads(args.threads)
    phases = ["mlm", "finetune", "export"]
    start = phases.index(args.phase) if args.phase != "all" else 0
    if start <= 0:
        pretrain_mlm(work, args.data, args.mlm_minutes)
    if start <= 1:
        finetune(work, args.data, args.ft_minutes)
    export(work, args.out, args.data)
    return json.loads((work / "ft" / "validation.json").read_text())


def add_arguments(p) -> None:
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--work", type=Path, default=Path("/tmp/yuqing-bert"))
    p.add_argument("--out", type=Path, default=Path("nlp/models/sentiment-bert"))
    p.add_argument("--phase", choices=["all", "mlm", "finetune", "export"], default="all")
    p.add_argument("--mlm-minutes", type=float, default=30)
    p.add_argument("--ft-minutes", type=float, default=25)
    p.add_argument("--threads", type=int, default=2)
