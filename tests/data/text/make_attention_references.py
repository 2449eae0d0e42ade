"""Reference data for attention-based and perturbation-based explanations of the text model
(models/minilm-sentiment.onnx, labels [negative, positive]), to check Glimpse's implementations.
Reuses make_references.py (beside this file) for the PyTorch twin of the ONNX model; does not
touch anything that script writes. Run from the repository root (deterministic, re-runnable):

    pip install torch==2.* onnx onnxruntime tokenizers scipy
    python3 tests/data/text/make_attention_references.py

It writes, beside itself, for SENTENCES ("not bad at all" and the long review, the last of
models/minilm-sentiment.json's examples), target 1 (positive), n = number of real tokens:
- gradient_rollout.json: in float64 (the dequantised weights cast to double), with y = logit 1
  and A_l the attention probabilities of layer l ([1, 12, 64, 64], the tensor multiplied by V):
    attention_gradients_sum[l]: sum over heads of dy/dA_l * A_l, first n rows and columns;
    gradient_rollout: Chefer et al. 2021: Abar_l = mean over heads of max(0, dy/dA_l * A_l) on
      the n x n block; R = I_n; R = R + Abar_l @ R for l = 0..5;
    rollout_cls: row 0 of plain rollout (Abnar & Zuidema 2020) on the n x n block: per layer mean
      over heads, A' = 0.5 A + 0.5 I, rows renormalised within the block, R = A'_5 ... A'_0.
- occlusion.json: onnxruntime logits of the full sentence and with each token i in 1..n-2
  removed (input_ids[i] = 0 = [PAD] and attention_mask[i] = 0, every other position unchanged,
  so later tokens keep their position ids); target_logit_drop = logit_full[1] - logit_without_i[1].
- shapley_not_bad.json: onnxruntime, players the 4 word tokens of "not bad at all" (positions
  1..4); the target logit for all 16 coalitions (absent players removed as in occlusion; [CLS]
  and [SEP] always kept) and the exact Shapley values.
- kendall.json: pairs of float vectors with scipy.stats.kendalltau (tau-b), null where scipy
  gives nan.
"""

import itertools
import json
import math
import pathlib
import sys
from unittest import mock

import numpy as np
import onnxruntime as ort
import scipy
import scipy.stats
import torch

OUT = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(OUT))
import make_references as mr  # noqa: E402  (also puts models/ on sys.path)

ex = mr.ex
torch.set_num_threads(1)  # one thread in torch and onnxruntime: identical output on every run

TARGET = mr.TARGET  # 1 = positive
SENTENCES = {"not_bad": "not bad at all", "review": ex.EXAMPLES[-1]}
PAD_ID = 0
CLS_ID, SEP_ID = 101, 102


def dump(name, doc):
    (OUT / name).write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n")


def session():
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(mr.MODEL), options, providers=["CPUExecutionProvider"])


def ort_logits(sess, ids, mask):
    """Logits for int64 numpy arrays [B, 64], one row at a time (batching cannot change them)."""
    return np.concatenate([sess.run(["logits"], {"input_ids": ids[i:i + 1], "attention_mask": mask[i:i + 1]})[0]
                           for i in range(len(ids))]).astype(np.float64)


def remove_tokens(ids, mask, positions):
    """Copies with the given positions removed: id [PAD] and mask 0; positions keep their ids."""
    ids, mask = ids.copy(), mask.copy()
    for i in positions:
        ids[i], mask[i] = PAD_ID, 0
    return ids, mask


# ---------------------------------------------------------------------------------------------
# Gradient-weighted rollout (float64 PyTorch)


def attention_grads(model, ids, mask):
    """y = logit[0, TARGET], the 6 attention tensors [12, 64, 64] and dy/dA for each."""
    out = model(ids, mask)
    attentions = list(out[1:1 + ex.LAYERS])
    for a in attentions:
        a.retain_grad()
    y = out[0][0, TARGET]
    y.backward()
    return y.item(), [a[0].detach().numpy() for a in attentions], [a.grad[0].numpy() for a in attentions]


def logit_with_perturbed_attention(model, ids, mask, layer, index, delta):
    """The target logit with A_layer[0][index] += delta, injected into the model's own forward
    (its softmax call for that layer), so the check covers the real computation path."""
    real_softmax = torch.softmax
    calls = itertools.count()

    def softmax(x, dim):
        p = real_softmax(x, dim=dim)
        if next(calls) == layer:
            p = p.clone()
            p[(0, *index)] += delta
        return p

    with torch.no_grad(), mock.patch.object(torch, "softmax", softmax):
        return model(ids, mask)[0][0, TARGET].item()


def finite_difference_check(model, ids, mask, grads, n, layer):
    """Central difference on the n x n entry of `layer` with the largest |dy/dA|."""
    g = grads[layer][:, :n, :n]
    index = np.unravel_index(np.abs(g).argmax(), g.shape)
    eps = 1e-5
    plus = logit_with_perturbed_attention(model, ids, mask, layer, index, eps)
    minus = logit_with_perturbed_attention(model, ids, mask, layer, index, -eps)
    fd = (plus - minus) / (2 * eps)
    analytic = float(g[index])
    assert abs(fd - analytic) <= 1e-6 * max(1.0, abs(analytic)), (fd, analytic)
    return {"layer": layer, "head_row_col": [int(i) for i in index], "analytic": analytic,
            "central_difference": fd, "eps": eps}


def gradient_rollout(weighted):
    """Chefer et al. 2021: weighted per layer [heads, n, n] = dy/dA * A; R = R + mean_h(relu) @ R."""
    n = weighted[0].shape[-1]
    r = np.eye(n)
    for w in weighted:
        r = r + np.maximum(w, 0.0).mean(axis=0) @ r
    return r


def gradient_rollout_references(model32, model64, tokenizer, sess):
    sentences = {}
    for name, text in SENTENCES.items():
        ids, mask = ex.encode_fixed(tokenizer, [text])
        n = int(mask.sum())
        y, attentions, grads = attention_grads(model64, ids, mask)
        nonzero = [float(np.abs(g[:, :n, :n]).max()) for g in grads]
        assert all(v > 0 for v in nonzero), nonzero
        checks = [finite_difference_check(model64, ids, mask, grads, n, layer) for layer in (0, ex.LAYERS - 1)]
        weighted = [(g * a)[:, :n, :n] for g, a in zip(grads, attentions)]
        r = gradient_rollout(weighted)
        assert (r >= 0).all() and (np.diag(r) >= 1).all()
        plain = mr.rollout([a[:, :n, :n] for a in attentions])
        # The padded 64 x 64 rollout of make_references.py agrees on the real block (up to float32).
        stored = np.load(OUT / f"rollout_{name}.npy")
        plain_vs_stored = float(np.abs(plain[0] - stored[0, :n]).max())
        assert plain_vs_stored < 1e-5, plain_vs_stored

        # For the record: the same quantities from the float32 model.
        y32, attentions32, grads32 = attention_grads(model32, ids, mask)
        r32 = gradient_rollout([(g.astype(np.float64) * a)[:, :n, :n] for g, a in zip(grads32, attentions32)])
        y_ort = float(ort_logits(sess, ids.numpy(), mask.numpy())[0, TARGET])

        sentences[name] = {
            "text": text, "input_ids": ids[0].tolist(), "n": n, "target": TARGET,
            "logit_target": y, "logit_target_float32_torch": y32, "logit_target_onnxruntime": y_ort,
            "attention_gradients_sum": [w.sum(axis=0).tolist() for w in weighted],
            "gradient_rollout": r.tolist(),
            "rollout_cls": plain[0].tolist(),
            "checks": {
                "max_abs_dy_dA_per_layer": nonzero,
                "finite_difference": checks,
                "rollout_cls_vs_rollout_npy_max_abs": plain_vs_stored,
                "gradient_rollout_float32_vs_float64_max_abs": float(np.abs(r32 - r).max()),
            },
        }
        print(f"gradient rollout {name}: n {n}, logit {y:.6f} (ort {y_ort:.6f}), "
              f"fd {[(c['analytic'], c['central_difference']) for c in checks]}, "
              f"f32 vs f64 {sentences[name]['checks']['gradient_rollout_float32_vs_float64_max_abs']:.1e}")
    dump("gradient_rollout.json", {
        "model": "models/minilm-sentiment.onnx as PyTorch (make_references.shipped_model), cast to float64",
        "precision": "float64 throughout (weights are the dequantised int8 float32 values, exactly, in double)",
        "labels": ex.LABELS,
        "attention": "A_l: post-softmax attention probabilities of layer l (ONNX output attention_l), "
                     "[1, 12, 64, 64]; y = logits[0, target]",
        "attention_gradients_sum": "per layer l = 0..5: sum over heads of dy/dA_l * A_l, rows and columns 0..n-1",
        "gradient_rollout": "Chefer et al. 2021: Abar_l = mean over heads of max(0, dy/dA_l * A_l) on the n x n "
                            "block; R = I_n; for l = 0..5: R = R + Abar_l @ R",
        "rollout_cls": "row 0 of attention rollout on the n x n block: per layer mean over heads, "
                       "A' = 0.5 A + 0.5 I, rows renormalised within the block, R = A'_5 @ ... @ A'_0",
        "sentences": sentences,
    })
    return sentences


# ---------------------------------------------------------------------------------------------
# Occlusion and Shapley values (onnxruntime)


def occlusion_references(tokenizer, sess):
    sentences = {}
    for name, text in SENTENCES.items():
        ids, mask = (t[0].numpy() for t in ex.encode_fixed(tokenizer, [text]))
        n = int(mask.sum())
        positions = list(range(1, n - 1))
        variants = [remove_tokens(ids, mask, [i]) for i in positions]
        logits = ort_logits(sess, np.stack([ids] + [v[0] for v in variants]),
                            np.stack([mask] + [v[1] for v in variants]))
        full, removed = logits[0], logits[1:]
        drops = (full[TARGET] - removed[:, TARGET]).tolist()
        sentences[name] = {"text": text, "input_ids": ids.tolist(), "n": n, "target": TARGET,
                           "positions": positions, "logits_full": full.tolist(),
                           "logits_without": removed.tolist(), "target_logit_drop": drops}
        print(f"occlusion {name}: drops " + " ".join(f"{d:+.3f}" for d in drops[:8])
              + (" ..." if len(drops) > 8 else ""))
    dump("occlusion.json", {
        "model": "models/minilm-sentiment.onnx (onnxruntime, float32)",
        "labels": ex.LABELS,
        "removal": "token i removed: input_ids[i] = 0 ([PAD]) and attention_mask[i] = 0, every other "
                   "position unchanged (later tokens keep their position ids)",
        "positions": "1..n-2: every real token except [CLS] (0) and [SEP] (n-1); logits_without and "
                     "target_logit_drop are in this order",
        "target_logit_drop": "logits_full[target] - logits_without[i][target]",
        "sentences": sentences,
    })
    return sentences


def shapley_values(values, players):
    """Exact Shapley values from v(S) for every coalition S (tuples of 0/1 in player order)."""
    phi = []
    for i in range(players):
        total = 0.0
        for s, v in values.items():
            if s[i]:
                continue
            k = sum(s)
            weight = math.factorial(k) * math.factorial(players - k - 1) / math.factorial(players)
            with_i = s[:i] + (1,) + s[i + 1:]
            total += weight * (values[with_i] - v)
        phi.append(total)
    return phi


def shapley_references(tokenizer, sess):
    text = SENTENCES["not_bad"]
    ids, mask = (t[0].numpy() for t in ex.encode_fixed(tokenizer, [text]))
    n = int(mask.sum())
    players = list(range(1, n - 1))
    assert len(players) == 4 and ids[0] == CLS_ID and ids[n - 1] == SEP_ID
    coalitions = list(itertools.product((0, 1), repeat=len(players)))  # (0,0,0,0), (0,0,0,1), ...
    variants = [remove_tokens(ids, mask, [p for p, keep in zip(players, s) if not keep]) for s in coalitions]
    logits = ort_logits(sess, np.stack([v[0] for v in variants]), np.stack([v[1] for v in variants]))
    values = {s: float(l[TARGET]) for s, l in zip(coalitions, logits)}
    phi = shapley_values(values, len(players))
    f_all, f_none = values[(1,) * len(players)], values[(0,) * len(players)]
    assert abs(sum(phi) - (f_all - f_none)) < 1e-9
    tokens = tokenizer.encode(text).tokens
    doc = {
        "model": "models/minilm-sentiment.onnx (onnxruntime, float32 logits; Shapley sums in float64)",
        "text": text, "input_ids": ids.tolist(), "n": n, "target": TARGET,
        "players": players, "player_tokens": [tokens[p] for p in players],
        "removal": "a player not in the coalition: input_ids = 0 ([PAD]) and attention_mask = 0; "
                   "[CLS] and [SEP] are always present",
        "coalitions": [{"members": list(s), "logit_target": values[s], "logits": l.tolist()}
                       for s, l in zip(coalitions, logits)],
        "f_all": f_all, "f_none": f_none,
        "shapley_values": phi,
    }
    dump("shapley_not_bad.json", doc)
    print(f"shapley {doc['player_tokens']}: {[round(p, 4) for p in phi]}, f(all) {f_all:.4f}, f(none) {f_none:.4f}")
    return doc


# ---------------------------------------------------------------------------------------------
# Kendall tau-b (scipy)


def kendall_references():
    rng = np.random.default_rng(20240601)
    x30 = rng.normal(size=30)
    x12 = rng.normal(size=12)
    cases = [
        ("concordant", [0.1, 0.5, 1.2, 3.0, 7.5, 9.9], [-2.0, -1.0, 0.0, 0.25, 4.0, 100.0]),
        ("reversed", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], [7.0, 6.5, 6.0, 5.0, 2.0, 1.0, -3.0]),
        ("length_2", [0.5, 1.5], [3.0, 1.0]),
        ("ties_in_a", [1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 5.0], [1.0, 3.0, 2.0, 4.0, 6.0, 5.0, 7.0]),
        ("ties_in_both", [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 5.0], [2.0, 1.0, 1.0, 3.0, 3.0, 4.0, 4.0, 4.0]),
        ("ties_in_both_same_pairs", [0.0, 0.0, 1.0, 1.0, 2.0], [5.0, 5.0, 3.0, 3.0, 1.0]),
        ("random_30", x30.tolist(), rng.normal(size=30).tolist()),
        ("random_correlated_12", x12.tolist(), (x12 + 0.7 * rng.normal(size=12)).tolist()),
        ("random_rounded_20", np.round(rng.normal(size=20), 0).tolist(), np.round(rng.normal(size=20), 0).tolist()),
        ("constant_a", [2.0, 2.0, 2.0, 2.0, 2.0], [1.0, 2.0, 3.0, 4.0, 5.0]),
    ]
    out = []
    for name, a, b in cases:
        tau = float(scipy.stats.kendalltau(a, b).statistic)
        out.append({"name": name, "a": a, "b": b, "tau": None if math.isnan(tau) else tau})
    dump("kendall.json", {
        "function": f"scipy.stats.kendalltau(a, b) (tau-b, the default), scipy {scipy.__version__}",
        "nan": "tau is null where scipy returns nan (a constant vector)",
        "cases": out,
    })
    print("kendall: " + ", ".join(f"{c['name']} {c['tau'] if c['tau'] is None else round(c['tau'], 4)}" for c in out))
    return out


def main():
    model32 = mr.shipped_model()
    model64 = ex.MiniLMSentiment().eval()
    model64.load_state_dict(model32.state_dict())
    model64 = model64.double()
    tokenizer = ex.load_tokenizer(mr.TOKENIZER)
    sess = session()
    gradient_rollout_references(model32, model64, tokenizer, sess)
    occlusion_references(tokenizer, sess)
    shapley_references(tokenizer, sess)
    kendall_references()


if __name__ == "__main__":
    main()
