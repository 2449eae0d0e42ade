"""The text zoo: tiny random-weight Hugging Face sequence classifiers (no hub is reachable, so
every model and tokenizer is built from a config, seeded), exported to ONNX as a user would,
with PyTorch's and onnxruntime's answers. Run from the repository root:

    python3 tests/data/text_zoo/make_text_zoo.py

Needs torch, transformers, tokenizers, onnx and onnxruntime. Made with torch 2.15.0,
transformers 5.24.0, tokenizers 0.23.3, onnx 1.23.2, onnxruntime 1.32.0 and numpy 2.4.6 (the
versions are also written into manifest.json). Writes, beside itself:

- wordpiece-tokenizer.json: a BERT-style WordPiece tokenizer (lowercasing BertNormalizer,
  BertPreTokenizer, [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, a "[CLS] $A [SEP]" template
  post-processor, no padding or truncation) with 400 tokens, trained on corpus() below (600
  generated movie-review-like sentences) by WordPiece's algorithm written out here, because
  tokenizers' WordPieceTrainer is not deterministic from one process to the next;
- bpe-tokenizer.json: a RoBERTa-style byte-level BPE tokenizer (<s>=0 <pad>=1 </s>=2 <unk>=3,
  RobertaProcessing post-processor, no padding or truncation), trained on the same corpus;
- for each model NAME (2 labels, hidden 32, 2 layers, 2 heads, intermediate 64, 64 positions):
  NAME.onnx, exported with the TorchScript exporter (dynamo=False), int64 inputs input_ids,
  attention_mask (and token_type_ids where the architecture takes them) with dynamic batch and
  sequence axes, one output, logits; and for each of the three SENTENCES k (batch 1, its own
  length, no padding):
    NAME_ids_k.npy       the token ids, int64, 1 x T;
    NAME_logits_k.npy    onnxruntime's logits on NAME.onnx (checked against PyTorch, 1e-4);
    NAME_attn_k.npy      PyTorch's attention probabilities, layers x heads x T x T;
    NAME_emb_k.npy       the embeddings module's output (what feeds the first layer; for ALBERT
                         before embedding_hidden_mapping_in, so 16 wide), 1 x T x E;
    NAME_emb_grad_k.npy  d logits[0, 1] / d that tensor, from PyTorch autograd, 1 x T x E;
- manifest.json: per model its file, opset, inputs, tokenizer, special ids, sizes, the ONNX
  name of the embeddings output and of each layer's attention Softmax output (both found by
  value: every float tensor of a copy of the graph is made an output and compared with
  PyTorch), the ops of the embeddings LayerNorm, the pooling, and what the export with the
  default attention implementation (sdpa) looks like;
- bert.json: a Glimpse description of bert.onnx with only `logits` under `outputs`.

The models:
  bert        BertForSequenceClassification, token_type_ids, opset 14;
  distilbert  DistilBertForSequenceClassification, no token_type_ids, opset 14;
  roberta     RobertaForSequenceClassification, no token_type_ids passed (the model uses its
              zero buffer), pad id 1, positions counted from pad id + 1 (so at most 62 tokens
              with 64 position embeddings), opset 17 (LayerNormalization is an ONNX op there);
  albert      AlbertForSequenceClassification, embedding_size 16, token_type_ids, opset 14;
  minilm      BertForSequenceClassification shaped like a MiniLM-L cross-encoder, exported
              through a wrapper that passes zero token_type_ids, so the graph takes only
              input_ids and attention_mask, opset 13.

Attention: the models are built with attn_implementation="eager", so each layer's attention is
an explicit MatMul / Softmax / MatMul in the graph and output_attentions works. The default
implementation (what from_pretrained gives) is "sdpa", which the TorchScript exporter lowers
differently (q and k each scaled by sqrt(scale), the Softmax followed by IsNaN / Where) and which
cannot return attentions; the script exports that too, in memory, and records in manifest.json
whether it still has one Softmax a layer and whether those match the eager attentions.

HF's initialisation leaves biases at zero and LayerNorm weights at one (the exporter then
deduplicates them into Identity nodes); so that every parameter matters, the weights are
redrawn here (seeded): matrices normal(0, 0.2), biases normal(0, 0.1), LayerNorm weights
1 + normal(0, 0.1).
"""
import collections
import contextlib
import copy
import io
import json
import os
import pathlib
import random
import sys
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import onnx
import onnxruntime as ort
import tokenizers
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from torch import nn
from transformers import (AlbertConfig, AlbertForSequenceClassification, BertConfig,
                          BertForSequenceClassification, DistilBertConfig,
                          DistilBertForSequenceClassification, PreTrainedTokenizerFast,
                          RobertaConfig, RobertaForSequenceClassification)

HERE = pathlib.Path(__file__).resolve().parent
SENTENCES = ["not bad at all", "a dull and lifeless film", "the acting was wonderful but the plot was thin"]
VOCAB = 400
TOLERANCE = 1e-4
# bert.json's examples (the last is 18 tokens, longer than its max_length 16)
EXAMPLES = ["not bad at all", "a dull and lifeless film", "the acting was wonderful but the plot was thin",
            "What a wonderful surprise!", "This is the worst movie I have ever seen."]
warnings.filterwarnings("ignore")
transformers.logging.set_verbosity_error()


# ---------------------------------------------------------------------------------------------
# The corpus: short movie-review-like sentences, generated deterministically from word lists.

SUBJECTS = ["the film", "this movie", "the acting", "the plot", "the script", "the ending", "the cast",
            "the story", "the dialogue", "the soundtrack", "the director", "the camera work", "the pacing",
            "the lead actor", "the villain", "the sequel", "this picture", "the first half", "the finale",
            "the characters", "the music", "the jokes", "the effects", "the premise"]
VERBS = ["was", "is", "felt", "seemed", "looked", "sounded", "remained", "became"]
ADVERBS = ["very", "really", "not", "quite", "rather", "so", "truly", "a bit", "far too", "never", "always",
           "oddly", "surprisingly", "completely"]
GOOD = ["wonderful", "brilliant", "moving", "funny", "clever", "beautiful", "gripping", "charming", "fresh",
        "great", "good", "strong", "touching", "smart", "lovely", "delightful", "sharp", "warm"]
BAD = ["bad", "dull", "lifeless", "thin", "boring", "awful", "flat", "silly", "slow", "weak", "messy",
       "tedious", "bland", "clumsy", "predictable", "forgettable", "cold", "empty"]
NOUNS = ["film", "movie", "story", "drama", "comedy", "thriller", "performance", "experience", "mess",
         "script", "night at the cinema", "debut", "adaptation", "romance", "documentary"]
OPENERS = ["i think", "honestly", "in the end", "sadly", "frankly", "overall", "to be fair", "at times",
           "for me", "all in all"]
TEMPLATES = [
    "{s} {v} {adv} {adj}",
    "{s} {v} {adj} but {s2} {v2} {adj2}",
    "{s} {v} {adj} and {s2} {v2} {adj2}",
    "a {adj} and {adj2} {n}",
    "not {adj} at all",
    "what a {adj} {n}",
    "{o}, {s} {v} {adj}",
    "i loved {s} but {s2} {v2} {adj2}",
    "i hated {s} and {s2} {v2} {adj2}",
    "{s} {v} {adv} {adj}, {o}",
    "it is a {adj} {n} with {adj2} moments",
    "{adv} {adj}: {s} {v} {adj2}!",
    "nobody will call this {n} {adj}",
    "the {n} {v} {adj} from start to finish",
    "did {s} work? not really, it {v} {adj}.",
    "one of the most {adj} {n}s of the year",
]


def corpus(count=600):
    rng = random.Random(0)
    lines = []
    for i in range(count):
        template = TEMPLATES[i % len(TEMPLATES)]
        tone = GOOD if rng.random() < 0.5 else BAD
        lines.append(template.format(
            s=rng.choice(SUBJECTS), s2=rng.choice(SUBJECTS), v=rng.choice(VERBS), v2=rng.choice(VERBS),
            adv=rng.choice(ADVERBS), adj=rng.choice(tone), adj2=rng.choice(GOOD + BAD), n=rng.choice(NOUNS),
            o=rng.choice(OPENERS)))
    lines += SENTENCES + EXAMPLES
    return lines


# ---------------------------------------------------------------------------------------------
# Tokenizers.

def wordpiece_vocab(lines, normalizer, pre_tokenizer, special, size):
    """WordPiece's training (BPE over word-initial letters and ##continuations, as tokenizers'
    WordPieceTrainer does), in Python so that ties are broken by the tokens' text. The library's
    trainer gives a different vocabulary from run to run: it numbers the ##letters in hash-map
    order, and its merge queue breaks ties by those numbers."""
    counts = collections.Counter(word for line in lines
                                 for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(line)))
    words = {word: [word[0]] + ["##" + c for c in word[1:]] for word in sorted(counts)}
    vocab = list(special) + sorted({piece for pieces in words.values() for piece in pieces})
    known = set(vocab)
    while len(vocab) < size:
        pairs = collections.Counter()
        for word, pieces in words.items():
            for pair in zip(pieces, pieces[1:]):
                pairs[pair] += counts[word]
        if not pairs:
            break
        a, b = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merged = a + b[2:]
        for word, pieces in words.items():
            out, i = [], 0
            while i < len(pieces):
                if i + 1 < len(pieces) and pieces[i] == a and pieces[i + 1] == b:
                    out.append(merged)
                    i += 2
                else:
                    out.append(pieces[i])
                    i += 1
            words[word] = out
        if merged not in known:
            known.add(merged)
            vocab.append(merged)
    return {token: i for i, token in enumerate(vocab)}


def wordpiece_tokenizer(lines):
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                            lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    vocab = wordpiece_vocab(lines, normalizer, pre_tokenizer, special, VOCAB)
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.WordPiece(prefix="##")
    assert [tok.token_to_id(t) for t in special] == [0, 1, 2, 3, 4]
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.no_padding()
    tok.no_truncation()
    return tok


def bpe_tokenizer(lines):
    """tokenizers' own BpeTrainer: with the byte alphabet given up front it numbers every symbol
    in a fixed order, and gives the same vocabulary and merges on every run."""
    special = ["<s>", "<pad>", "</s>", "<unk>"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=special, min_frequency=1,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer=trainer)
    assert [tok.token_to_id(t) for t in special] == [0, 1, 2, 3]
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True,
                                                      add_prefix_space=False)
    tok.no_padding()
    tok.no_truncation()
    return tok


def save_tokenizer(tok, name):
    path = HERE / name
    tok.save(str(path), pretty=True)
    loaded = Tokenizer.from_file(str(path))
    fast = PreTrainedTokenizerFast(tokenizer_file=str(path))
    for sentence in SENTENCES + EXAMPLES:
        ids = loaded.encode(sentence).ids
        assert ids == tok.encode(sentence).ids, (name, sentence)
        assert fast(sentence)["input_ids"] == ids, (name, sentence, fast(sentence)["input_ids"], ids)
    return path


# ---------------------------------------------------------------------------------------------
# Models.

def randomise(model, seed):
    """Redraw every parameter (seeded), so that none is a zero or a one the exporter folds."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            noise = torch.randn(p.shape, generator=generator)
            if "LayerNorm" in name or "layer_norm" in name:
                p.copy_(1 + 0.1 * noise if name.endswith("weight") else 0.1 * noise)
            elif p.dim() == 1:
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)
    return model


SIZE = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=64, num_labels=2)


def bert_config(vocab):
    return BertConfig(vocab_size=vocab, pad_token_id=0, type_vocab_size=2, **SIZE)


def distilbert_config(vocab):
    return DistilBertConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                            max_position_embeddings=64, pad_token_id=0, num_labels=2)


def roberta_config(vocab):
    return RobertaConfig(vocab_size=vocab, pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1,
                         **SIZE)


def albert_config(vocab):
    return AlbertConfig(vocab_size=vocab, embedding_size=16, pad_token_id=0, bos_token_id=2, eos_token_id=3,
                        **SIZE)


class NoTokenTypes(nn.Module):
    """What people write to export a BERT without its segment input: zeros for token_type_ids."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=torch.zeros_like(input_ids)).logits


# name, class, config, base attribute, tokenizer, opset, takes token_type_ids, exported without
# them through NoTokenTypes, seed
MODELS = [
    ("bert", BertForSequenceClassification, bert_config, "bert", "wordpiece", 14, True, False, 1),
    ("distilbert", DistilBertForSequenceClassification, distilbert_config, "distilbert", "wordpiece", 14,
     False, False, 2),
    ("roberta", RobertaForSequenceClassification, roberta_config, "roberta", "bpe", 17, False, False, 3),
    ("albert", AlbertForSequenceClassification, albert_config, "albert", "wordpiece", 14, True, False, 4),
    ("minilm", BertForSequenceClassification, bert_config, "bert", "wordpiece", 13, False, True, 5),
]


def build(cls, config_fn, vocab, seed, attn):
    torch.manual_seed(seed)
    kwargs = {} if attn is None else {"attn_implementation": attn}
    model = cls._from_config(config_fn(vocab), **kwargs)
    randomise(model, seed)
    return model.eval()


def export(model, input_names, opset, path):
    example = torch.tensor([[2, 5, 6, 7, 8, 3]], dtype=torch.int64)
    args = tuple(torch.ones_like(example) if n == "attention_mask" else
                 torch.zeros_like(example) if n == "token_type_ids" else example for n in input_names)
    axes = {n: {0: "batch", 1: "sequence"} for n in input_names}
    axes["logits"] = {0: "batch"}
    torch.onnx.export(model, args, path, dynamo=False, opset_version=opset, input_names=list(input_names),
                      output_names=["logits"], dynamic_axes=axes, do_constant_folding=True)


def feeds(ids, input_names):
    """onnxruntime's feed for one sentence: ids, a mask of ones and (when taken) zero segments."""
    ids = np.asarray(ids, dtype=np.int64)[None, :]
    every = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    return {n: every[n] for n in input_names}


def with_all_outputs(proto):
    """A copy of the graph whose every float intermediate tensor is also an output."""
    inferred = onnx.shape_inference.infer_shapes(proto)
    types = {vi.name: vi.type.tensor_type.elem_type for vi in inferred.graph.value_info}
    probe = copy.deepcopy(proto)
    existing = {o.name for o in probe.graph.output}
    names = []
    for node in probe.graph.node:
        for out in node.output:
            if out and out not in existing and types.get(out) == onnx.TensorProto.FLOAT:
                probe.graph.output.append(onnx.helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None))
                names.append(out)
    return probe, names


def producers(proto):
    return {out: node for node in proto.graph.node for out in node.output}


def lead_in(proto, name, depth=5):
    """The op types that lead to NAME, walking back through each node's first computed input."""
    made_by = producers(proto)
    fixed = {i.name for i in proto.graph.initializer}
    ops = []
    while depth and name in made_by:
        node = made_by[name]
        ops.append(node.op_type)
        computed = [i for i in node.input if i in made_by and i not in fixed and made_by[i].op_type != "Constant"]
        if not computed:
            break
        name, depth = computed[0], depth - 1
    return ops


def layer_norm_ops(proto, name):
    """The ops of the LayerNorm whose output is NAME: one LayerNormalization, or its decomposition
    (the nodes in the same scope as NAME's producer, e.g. /bert/embeddings/LayerNorm/...)."""
    node = producers(proto)[name]
    if node.op_type == "LayerNormalization":
        return ["LayerNormalization"]
    scope = node.name.rsplit("/", 1)[0] + "/"
    return [n.op_type for n in proto.graph.node if n.name.startswith(scope) and n.op_type != "Constant"]


def find_by_value(proto, ids_list, input_names, emb_refs, attn_refs):
    """ONNX names of the embeddings output and of each layer's Softmax output, matched by value
    against PyTorch on every sentence."""
    probe, names = with_all_outputs(proto)
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    runs = []
    for ids in ids_list:
        feed = feeds(ids, input_names)
        runs.append(dict(zip([o.name for o in session.get_outputs()], session.run(None, feed))))
    made_by = producers(proto)

    def matches(name, refs):
        return all(run[name].shape == ref.shape and np.allclose(run[name], ref, atol=TOLERANCE, rtol=0)
                   for run, ref in zip(runs, refs))

    emb = [n for n in names if matches(n, emb_refs)]
    layers = len(attn_refs[0])
    softmax = [n for n in names if made_by[n].op_type == "Softmax"]
    attn = []
    for layer in range(layers):
        found = [n for n in softmax if matches(n, [a[layer][None] for a in attn_refs])]
        attn.append(found)
    others = {layer: [n for n in names if made_by[n].op_type != "Softmax" and
                      matches(n, [a[layer][None] for a in attn_refs])] for layer in range(layers)}
    return emb, attn, softmax, others


@contextlib.contextmanager
def quiet():
    """Silence file descriptors 1 and 2 (the exporter's C++ side writes there directly)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def sdpa_check(cls, config_fn, vocab, eager, input_names, opset, wrap, ids_list, attn_refs):
    """Export the same weights with the default attention implementation, in memory, and say
    what became of the Softmax."""
    default = cls._from_config(config_fn(vocab))
    default.load_state_dict(eager.state_dict())
    default.eval()
    implementation = default.config._attn_implementation
    buffer = io.BytesIO()
    try:
        with quiet():  # the exporter prints the whole graph when it fails
            export(NoTokenTypes(default).eval() if wrap else default, input_names, opset, buffer)
    except Exception as error:  # e.g. aten::scaled_dot_product_attention needs opset 14
        return {"attn_implementation": implementation, "exported": False,
                "error": f"{type(error).__name__}: {str(error).splitlines()[0]}"}
    proto = onnx.load_from_string(buffer.getvalue())
    ops = [n.op_type for n in proto.graph.node]
    emb_dummy = [np.zeros((0,))] * len(ids_list)
    _, attn, softmax, _ = find_by_value(proto, ids_list, input_names, emb_dummy, attn_refs)
    after = sorted({n.op_type for s in softmax for n in proto.graph.node if s in n.input})
    return {
        "attn_implementation": implementation,
        "exported": True,
        "softmax_nodes": ops.count("Softmax"),
        "softmax_per_layer": ops.count("Softmax") == len(attn_refs[0]),
        "softmax_matches_eager_attentions": all(len(a) == 1 for a in attn),
        "softmax_outputs": [a[0] if a else None for a in attn],
        "ops_reading_softmax": after,
        "softmax_lead_in": lead_in(proto, softmax[0]) if softmax else None,
        "has_IsNaN": "IsNaN" in ops,
        "bytes": len(buffer.getvalue()),
    }


def references(model, base, ids, takes_types):
    """PyTorch: logits, attentions, the embeddings module's output and d logit[1] / d it."""
    store = {}

    def hook(module, inputs, output):
        output.retain_grad()
        store["emb"] = output

    model.eval()
    handle = getattr(model, base).embeddings.register_forward_hook(hook)
    t = torch.tensor([ids], dtype=torch.int64)
    kwargs = dict(input_ids=t, attention_mask=torch.ones_like(t), output_attentions=True)
    if takes_types:
        kwargs["token_type_ids"] = torch.zeros_like(t)
    model.zero_grad()
    out = model(**kwargs)
    out.logits[0, 1].backward()
    handle.remove()
    attn = torch.stack([a[0] for a in out.attentions]).detach().numpy()
    return (out.logits.detach().numpy(), attn, store["emb"].detach().numpy(),
            store["emb"].grad.detach().numpy())


def main():
    lines = corpus()
    wordpiece = wordpiece_tokenizer(lines)
    bpe = bpe_tokenizer(lines)
    toks = {"wordpiece": (wordpiece, save_tokenizer(wordpiece, "wordpiece-tokenizer.json")),
            "bpe": (bpe, save_tokenizer(bpe, "bpe-tokenizer.json"))}
    special = {"wordpiece": {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4},
               "bpe": {"pad": 1, "unk": 3, "cls": 0, "sep": 2}}

    manifest = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "onnx": onnx.__version__,
                     "onnxruntime": ort.__version__, "numpy": np.__version__,
                     "exporter": "torch.onnx.export (TorchScript, dynamo=False)"},
        "sentences": SENTENCES,
        "tolerance": TOLERANCE,
        "models": {},
    }
    for name, cls, config_fn, base, tok_name, opset, takes_types, wrap, seed in MODELS:
        tok, tok_path = toks[tok_name]
        vocab = tok.get_vocab_size()
        model = build(cls, config_fn, vocab, seed, "eager")
        assert model.config._attn_implementation == "eager"
        input_names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types else [])
        path = HERE / f"{name}.onnx"
        # eval(): the exporter restores the wrapper's training flag, which would switch on dropout
        export(NoTokenTypes(model).eval() if wrap else model, input_names, opset, str(path))
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
        assert [i.name for i in proto.graph.input] == input_names
        assert [o.name for o in proto.graph.output] == ["logits"]
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

        ids_list, emb_refs, attn_refs = [], [], []
        for k, sentence in enumerate(SENTENCES):
            ids = tok.encode(sentence).ids
            ids_list.append(ids)
            logits_pt, attn, emb, grad = references(model, base, ids, takes_types or wrap)
            feed = feeds(ids, input_names)
            logits = session.run(["logits"], feed)[0]
            assert np.allclose(logits, logits_pt, atol=TOLERANCE, rtol=0), (name, k, logits, logits_pt)
            np.save(HERE / f"{name}_ids_{k}.npy", feed["input_ids"])
            np.save(HERE / f"{name}_logits_{k}.npy", logits.astype(np.float32))
            np.save(HERE / f"{name}_attn_{k}.npy", attn.astype(np.float32))
            np.save(HERE / f"{name}_emb_{k}.npy", emb.astype(np.float32))
            np.save(HERE / f"{name}_emb_grad_{k}.npy", grad.astype(np.float32))
            emb_refs.append(emb)
            attn_refs.append(attn)

        emb, attn, softmax, others = find_by_value(proto, ids_list, input_names, emb_refs, attn_refs)
        assert emb, f"{name}: no tensor in the graph equals the embeddings output"
        assert all(len(a) == 1 for a in attn), (name, attn, softmax)
        made_by = producers(proto)
        order = {n.name: k for k, n in enumerate(proto.graph.node)}
        emb.sort(key=lambda n: order[made_by[n].name])
        embeddings = emb[0]
        softmax_inputs = []
        for a in attn:
            node = made_by[a[0]]
            before = made_by.get(node.input[0])
            softmax_inputs.append(before.op_type if before is not None else None)
        cfg = model.config
        entry = {
            "file": path.name,
            "bytes": path.stat().st_size,
            "class": cls.__name__ + (" via NoTokenTypes (zeros for token_type_ids)" if wrap else ""),
            "opset": opset,
            "inputs": input_names,
            "outputs": ["logits"],
            "tokenizer": tok_path.name,
            "special_tokens": special[tok_name],
            "pad_id": special[tok_name]["pad"],
            "cls_id": special[tok_name]["cls"],
            "sep_id": special[tok_name]["sep"],
            "vocab_size": vocab,
            "hidden_size": 32,
            "embedding_size": getattr(cfg, "embedding_size", 32),
            "layers": 2,
            "heads": 2,
            "intermediate_size": 64,
            "max_position_embeddings": 64,
            "pooling": "cls",
            "pooling_note": {
                "distilbert": "DistilBERT has no pooler: pre_classifier reads the first token's state",
                "roberta": "RobertaClassificationHead reads the first token (<s>)",
                "albert": "ALBERT's pooler (dense + tanh) over the first token",
            }.get(name, "BERT's pooler (dense + tanh) over [CLS]"),
            "seed": seed,
            "attn_implementation": "eager",
            "embeddings": embeddings,
            "embeddings_producer": {"node": made_by[embeddings].name, "op_type": made_by[embeddings].op_type},
            "embeddings_all_matches": emb,
            "embeddings_layer_norm": layer_norm_ops(proto, embeddings),
            "embeddings_layer_norm_form": "LayerNormalization" if made_by[embeddings].op_type ==
            "LayerNormalization" else "decomposed",
            "embeddings_shape": ["batch", "sequence", getattr(cfg, "embedding_size", 32)],
            "attentions": [a[0] for a in attn],
            "attention_softmax_nodes": [made_by[a[0]].name for a in attn],
            "attention_softmax_input_op": softmax_inputs,
            "attention_softmax_lead_in": lead_in(proto, attn[0][0]),
            "embeddings_readers": sorted({n.op_type for n in proto.graph.node if embeddings in n.input}),
            "attention_other_matches": {str(k): v for k, v in others.items()},
            "softmax_nodes": len(softmax),
            "default_attention_export": sdpa_check(cls, config_fn, vocab, model, input_names, opset, wrap,
                                                   ids_list, attn_refs),
            "token_counts": [len(i) for i in ids_list],
        }
        manifest["models"][name] = entry
        print(name, path.stat().st_size, embeddings, entry["embeddings_layer_norm"], entry["attentions"],
              entry["default_attention_export"])

    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")

    description = {
        "name": "tiny random BERT (text zoo, logits only)",
        "kind": "text",
        "labels": ["negative", "positive"],
        "tokenizer": "wordpiece-tokenizer.json",
        "max_length": 16,
        "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask",
                   "token_type_ids": "token_type_ids"},
        "outputs": {"logits": "logits"},
        "layers": 2,
        "heads": 2,
        "hidden": 32,
        "special_tokens": {"pad": 0, "unk": 1, "cls": 2, "sep": 3},
        "pooling": "cls",
        "examples": EXAMPLES,
    }
    (HERE / "bert.json").write_text(json.dumps(description, indent=1) + "\n")


if __name__ == "__main__":
    main()
