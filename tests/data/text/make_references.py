"""Reference data for the text model, from the shipped files only: models/minilm-sentiment.onnx
(its int8 weights dequantised back into the PyTorch module of models/export_minilm_sentiment.py,
so PyTorch and the ONNX compute the same function) and models/minilm-tokenizer.json.
models/export_minilm_sentiment.py runs this at its end; alone, from the repository root:

    pip install torch==2.* onnx onnxruntime captum tokenizers
    python3 tests/data/text/make_references.py

It writes, beside itself (index and numbers in references.json):
- tokenizer_cases.json: Hugging Face `tokenizers` on 60+ strings, each (1) plain (no padding, no
  truncation) and (2) truncated and padded to 64: ids, tokens, offsets (in Unicode code points,
  as `tokenizers` gives them) and byte_offsets (the same in UTF-8 bytes), attention_mask;
- logits.json: input_ids, attention_mask, logits from onnxruntime and from PyTorch;
- IG on the embeddings output (the ONNX tensor `embeddings`, BertEmbeddings' output after its
  LayerNorm), target 1 (positive), captum gausslegendre 50 steps:
  ig_zero_<name>.npy [64, 384]: baseline the zero tensor in embedding-output space (captum
    IntegratedGradients on from_embeddings(e, mask): the same as LayerIntegratedGradients on the
    embeddings layer with a layer-space baseline of zeros); _tokens.npy [64] is the sum over the
    hidden dimension; _f64 the same in float64 (stored as float32) to measure float32 noise.
    From zero the path crosses a sharp dip of the logit (near 0.15 e), so 50 steps leave a large
    convergence delta (0.07 to 0.5); references.json also gives the token sums at 1000 steps;
  lig_pad_<name>.npy: captum LayerIntegratedGradients on model.embeddings, baseline input ids
    with every token except [CLS]/[SEP] replaced by [PAD] (id 0), same attention mask; in
    embedding space its baseline is the `embeddings` output for those ids (checked: IG on the
    embeddings from that baseline gives the same numbers);
- rollout_<name>.npy [64, 64]: attention rollout (Abnar & Zuidema 2020) on the model's
  attentions: per layer mean over heads, A' = 0.5 A + 0.5 I, rows renormalised, R = A'_6 ... A'_1
  (R = A'_l @ R from the first layer to the last), in float64, stored as float32.
"""

import json
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
from captum.attr import IntegratedGradients, LayerIntegratedGradients
from onnx import numpy_helper

OUT = pathlib.Path(__file__).resolve().parent
ROOT = OUT.parent.parent.parent
sys.path.insert(0, str(ROOT / "models"))
import export_minilm_sentiment as ex  # noqa: E402

torch.manual_seed(0)
torch.set_num_threads(2)

MODEL = ROOT / "models" / "minilm-sentiment.onnx"
TOKENIZER = ROOT / "models" / "minilm-tokenizer.json"
TARGET = 1
IG_STEPS = 50
IG_METHOD = "gausslegendre"
IG_BATCH = 10
CONVERGED_STEPS = 1000

IG_SENTENCES = {
    "not_bad": "not bad at all",
    "delayed": "The flight was delayed again and nobody told us anything.",
    "love": "I love this!",
}
ROLLOUT_SENTENCES = {"not_bad": "not bad at all", "review": ex.EXAMPLES[-1]}
LOGIT_SENTENCES = ex.EXAMPLES + ["", "Meh.", "The food was great but the service was painfully slow."]

TOKENIZER_CASES = [
    "",
    " ",
    "Hello, world!",
    "hello world",
    "HELLO WORLD",
    "HeLLo WoRLD",
    "I love this!",
    "not bad at all",
    "I don't like it.",
    "You're right, it isn't what we'd hoped.",
    "We'll see... maybe?!",
    "Rock 'n' roll",
    "\"Quoted\" text and (parentheses) [brackets] {braces}",
    "café naïve résumé",
    "CAFÉ NAÏVE",
    "Ångström, Øresund, Łódź, façade, jalapeño",
    "Straße groß",
    "İstanbul",
    "Ελληνικά κείμενα",
    "Русский текст",
    "東京は日本の首都です。",
    "我爱自然语言处理",
    "한국어 문장",
    "日本語とEnglishのmix",
    "I love it 😀😀",
    "👍🏽 great job 🎉",
    "❤️ thanks",
    "☃ snowman and ★ star",
    "3.14159 and 2,000,000 and 1st 2nd 3rd",
    "Call 555-1234 at 10:30pm",
    "50% off, $19.99 only! €5 £3 ¥100",
    "https://example.com/path?query=1&x=2#frag",
    "email me at someone@example.org",
    "#hashtag @mention RT",
    "antidisestablishmentarianism",
    "supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "unbelievably disappointing",
    "Transformers tokenization wordpieces",
    "   leading and trailing spaces   ",
    "multiple     spaces\tand\ttabs\nand\nnewlines",
    "line one\r\nline two",
    "zero\u200bwidth space",
    "non\u00a0breaking space",
    "control\u0007char",
    "unassigned \u0378 char",
    "soft\u00adhyphen",
    "combining e\u0301 accent",
    "full-width ＡＢＣ１２３",
    "ligature ﬁ ﬂ",
    "math 𝔸𝔹ℂ symbols",
    "dash — en – hyphen -",
    "ellipsis… and “smart quotes” ‘single’",
    "a",
    "!!!",
    "...",
    "???!!!",
    "a-b_c/d\\e",
    "x" * 120,
    "The Quick Brown Fox Jumps Over The Lazy Dog",
    "@united thanks for nothing, 3 hours on the tarmac #fail",
    "RT @JetBlue: Our fleet's on fleek. http://t.co/abc123",
    "I can't believe it's not butter!",
    "It's O.K., I guess.",
    "U.S.A. vs. U.K.",
    "e.g. i.e. etc.",
    "[CLS] [SEP] [PAD] [UNK] [MASK] are special",
    "[cls] in lowercase",
    "<html><b>bold</b></html>",
    ex.EXAMPLES[-1],
    " ".join(["This sentence is deliberately long, so that it has to be truncated at sixty-four tokens."] * 3),
]


def shipped_model(path=MODEL):
    """MiniLMSentiment with the ONNX file's weights: int8 ones dequantised as the graph does."""
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    model = ex.MiniLMSentiment().eval()
    state = {}
    for name, value in model.state_dict().items():
        if name in inits:
            state[name] = torch.from_numpy(inits[name].copy())
        else:
            q, scale = inits[f"{name}.int8"], inits[f"{name}.scale"]
            deq = q.astype(np.float32) * scale  # embeddings: [vocab, 384] * [vocab, 1]
            if not name.startswith("embeddings."):
                deq = deq.T  # MatMul B is [in, out]; nn.Linear's weight is [out, in]
            state[name] = torch.from_numpy(np.ascontiguousarray(deq))
        assert state[name].shape == value.shape, name
    model.load_state_dict(state)
    return model


def byte_offsets(text, offsets):
    starts = np.cumsum([0] + [len(c.encode("utf-8")) for c in text])
    return [[int(starts[a]), int(starts[b])] for a, b in offsets]


def tokenizer_cases():
    from tokenizers import Tokenizer
    plain = Tokenizer.from_file(str(TOKENIZER))
    plain.no_padding()
    plain.no_truncation()
    padded = Tokenizer.from_file(str(TOKENIZER))
    padded.enable_truncation(ex.MAX_LENGTH)
    padded.enable_padding(length=ex.MAX_LENGTH, pad_id=0, pad_token="[PAD]")
    cases = []
    for text in TOKENIZER_CASES:
        case = {"text": text}
        for key, tokenizer in (("plain", plain), ("padded_64", padded)):
            e = tokenizer.encode(text)
            offsets = [list(o) for o in e.offsets]
            case[key] = {"ids": e.ids, "tokens": e.tokens, "offsets": offsets,
                         "byte_offsets": byte_offsets(text, offsets), "attention_mask": e.attention_mask}
        cases.append(case)
    assert len(cases) >= 60
    assert any(len(c["plain"]["ids"]) > ex.MAX_LENGTH for c in cases)
    doc = {
        "tokenizer": "models/minilm-tokenizer.json (Hugging Face tokenizers "
                     f"{__import__('tokenizers').__version__})",
        "plain": "no padding, no truncation",
        "padded_64": "truncation to 64 (LongestFirst) and padding to 64 with [PAD] = 0, right",
        "offsets": "character offsets into text, in Unicode code points, as tokenizers gives them; "
                   "[CLS], [SEP] and [PAD] have (0, 0)",
        "byte_offsets": "the same offsets in UTF-8 bytes",
        "cases": cases,
    }
    (OUT / "tokenizer_cases.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return len(cases)


def logits_reference(model, tokenizer, session):
    ids, mask = ex.encode_fixed(tokenizer, LOGIT_SENTENCES)
    ort_logits = session.run(["logits"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    with torch.no_grad():
        torch_logits = model(ids, mask)[0].numpy()
    diff = float(np.abs(ort_logits - torch_logits).max())
    assert diff < 1e-4, diff
    doc = {"sentences": LOGIT_SENTENCES, "input_ids": ids.tolist(), "attention_mask": mask.tolist(),
           "logits_onnxruntime": ort_logits.tolist(), "logits_torch": torch_logits.tolist(),
           "labels": ex.LABELS, "max_abs_diff": diff}
    (OUT / "logits.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return diff


def ig_references(model, tokenizer, session):
    results = {}
    model64 = ex.MiniLMSentiment().eval()
    model64.load_state_dict(model.state_dict())
    model64 = model64.double()
    for name, text in IG_SENTENCES.items():
        ids, mask = ex.encode_fixed(tokenizer, [text])
        with torch.no_grad():
            emb = model.embeddings(ids)
            emb64 = model64.embeddings(ids)
        ort_emb = session.run(["embeddings"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
        entry = {"text": text, "input_ids": ids[0].tolist(), "attention_mask": mask[0].tolist(), "target": TARGET,
                 "method": IG_METHOD, "n_steps": IG_STEPS,
                 "embeddings_torch_vs_onnxruntime_max_abs_diff": float(np.abs(emb.numpy() - ort_emb).max())}

        # Zero baseline in embedding-output space, float32 and float64.
        for suffix, m, e in (("", model, emb), ("_f64", model64, emb64)):
            ig = IntegratedGradients(m.from_embeddings)
            attr, delta = ig.attribute(e, baselines=torch.zeros_like(e), target=TARGET,
                                       additional_forward_args=(mask,), method=IG_METHOD, n_steps=IG_STEPS,
                                       internal_batch_size=IG_BATCH, return_convergence_delta=True)
            attr = attr[0].detach().double().numpy()
            np.save(OUT / f"ig_zero_{name}{suffix}.npy", attr.astype(np.float32))
            np.save(OUT / f"ig_zero_{name}{suffix}_tokens.npy", attr.sum(-1).astype(np.float32))
            with torch.no_grad():
                fx = m.from_embeddings(e, mask)[0, TARGET].item()
                f0 = m.from_embeddings(torch.zeros_like(e), mask)[0, TARGET].item()
            entry[f"ig_zero{suffix}"] = {"file": f"ig_zero_{name}{suffix}.npy", "tokens_file": f"ig_zero_{name}{suffix}_tokens.npy",
                                         "logit_x": fx, "logit_baseline": f0,
                                         "convergence_delta": float(delta.item()), "sum": float(attr.sum())}
        a32 = np.load(OUT / f"ig_zero_{name}.npy").astype(np.float64)
        a64 = np.load(OUT / f"ig_zero_{name}_f64.npy").astype(np.float64)
        entry["ig_zero"]["vs_f64_rel_l2"] = float(np.linalg.norm(a32 - a64) / np.linalg.norm(a64))
        entry["ig_zero"]["vs_f64_max_abs"] = float(np.abs(a32 - a64).max())
        # From the zero baseline the path crosses a sharp bump (the logit dips near 0.15 e), so
        # 50 steps are far from converged: for the record, the same rule with 1000 steps.
        attr, delta = IntegratedGradients(model.from_embeddings).attribute(
            emb, baselines=torch.zeros_like(emb), target=TARGET, additional_forward_args=(mask,), method=IG_METHOD,
            n_steps=CONVERGED_STEPS, internal_batch_size=50, return_convergence_delta=True)
        entry["ig_zero_converged"] = {"n_steps": CONVERGED_STEPS, "convergence_delta": float(delta.item()),
                                      "tokens": attr[0].detach().double().sum(-1).tolist()}

        # The standard captum baseline: LayerIntegratedGradients on the embeddings layer, from
        # the ids with every token but [CLS]/[SEP] replaced by [PAD].
        baseline_ids = torch.where((ids == 101) | (ids == 102), ids, torch.zeros_like(ids))
        lig = LayerIntegratedGradients(lambda i, m_: model(i, m_)[0], model.embeddings)
        attr, delta = lig.attribute(ids, baselines=baseline_ids, target=TARGET, additional_forward_args=(mask,),
                                    method=IG_METHOD, n_steps=IG_STEPS, internal_batch_size=IG_BATCH,
                                    return_convergence_delta=True)
        attr = attr[0].detach().double().numpy()
        with torch.no_grad():
            base_emb = model.embeddings(baseline_ids)
        same = IntegratedGradients(model.from_embeddings).attribute(
            emb, baselines=base_emb, target=TARGET, additional_forward_args=(mask,), method=IG_METHOD,
            n_steps=IG_STEPS, internal_batch_size=IG_BATCH)[0].detach().double().numpy()
        assert np.abs(same - attr).max() < 1e-5, np.abs(same - attr).max()
        np.save(OUT / f"lig_pad_{name}.npy", attr.astype(np.float32))
        np.save(OUT / f"lig_pad_{name}_tokens.npy", attr.sum(-1).astype(np.float32))
        with torch.no_grad():
            fb = model(baseline_ids, mask)[0][0, TARGET].item()
            fx = model(ids, mask)[0][0, TARGET].item()
        entry["lig_pad"] = {"file": f"lig_pad_{name}.npy", "tokens_file": f"lig_pad_{name}_tokens.npy",
                            "baseline_input_ids": baseline_ids[0].tolist(), "logit_x": fx, "logit_baseline": fb,
                            "convergence_delta": float(delta.item()), "sum": float(attr.sum()),
                            "vs_ig_on_embeddings_max_abs": float(np.abs(same - attr).max())}
        results[name] = entry
        print(f"IG {name}: delta {entry['ig_zero']['convergence_delta']:.2e}, "
              f"vs f64 rel l2 {entry['ig_zero']['vs_f64_rel_l2']:.2e}, "
              f"lig_pad delta {entry['lig_pad']['convergence_delta']:.2e}")
    return results


def rollout(attentions):
    """attentions: per layer [heads, n, n]. Returns R = A'_L ... A'_1 in float64."""
    n = attentions[0].shape[-1]
    result = np.eye(n)
    for a in attentions:
        a = a.astype(np.float64).mean(axis=0)
        a = 0.5 * a + 0.5 * np.eye(n)
        a = a / a.sum(axis=-1, keepdims=True)
        result = a @ result
    return result


def rollout_references(model, tokenizer, session):
    results = {}
    for name, text in ROLLOUT_SENTENCES.items():
        ids, mask = ex.encode_fixed(tokenizer, [text])
        with torch.no_grad():
            attentions = [a[0].numpy() for a in model(ids, mask)[1:1 + ex.LAYERS]]
        ort_attentions = session.run(ex.ATTENTION_NAMES, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
        r = rollout(attentions)
        r_ort = rollout([a[0] for a in ort_attentions])
        np.save(OUT / f"rollout_{name}.npy", r.astype(np.float32))
        n = int(mask.sum())
        results[name] = {"file": f"rollout_{name}.npy", "text": text, "input_ids": ids[0].tolist(),
                         "attention_mask": mask[0].tolist(), "tokens": n,
                         "torch_vs_onnxruntime_max_abs": float(np.abs(r - r_ort).max()),
                         "cls_row_real_tokens": r[0, :n].tolist()}
    return results


def main():
    from tokenizers import Tokenizer  # noqa: F401
    model = shipped_model()
    tokenizer = ex.load_tokenizer(TOKENIZER)
    session = ex.ort_session(MODEL)
    n_cases = tokenizer_cases()
    diff = logits_reference(model, tokenizer, session)
    print(f"{n_cases} tokenizer cases; logits onnxruntime vs PyTorch max |diff| {diff:.2e}")
    references = {
        "model": "models/minilm-sentiment.onnx",
        "labels": ex.LABELS,
        "tokenizer_cases": "tokenizer_cases.json",
        "logits": {"file": "logits.json", "max_abs_diff_onnxruntime_vs_torch": diff},
        "ig": {"layer": "embeddings", "target": TARGET, "method": IG_METHOD, "n_steps": IG_STEPS,
               "sentences": ig_references(model, tokenizer, session)},
        "rollout": {"rule": "per layer mean over heads; A' = 0.5 A + 0.5 I; rows renormalised; "
                            "R = A'_6 @ ... @ A'_1 over all 64 positions (padded rows included; real "
                            "rows only ever reach real columns)",
                    "sentences": rollout_references(model, tokenizer, session)},
    }
    (OUT / "references.json").write_text(json.dumps(references, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
