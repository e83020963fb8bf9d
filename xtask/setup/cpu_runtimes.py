"""The fastest CPU runtimes a user could run all-MiniLM-L6-v2 on instead of
storyline, on the same sentences, threads and batch size
(`cargo xtask bench --anchor` runs it next to storyline and
sentence-transformers).

    python cpu_runtimes.py MODEL_DIR SENTENCES THREADS BATCH WORKDIR RUNTIME REFERENCE

RUNTIME is one of ort-f32, ort-int8, ort-int8-matmul, ov-f32, ov-bf16.
REFERENCE is storyline's f32 vectors of the same sentences (raw
little-endian f32, one row per sentence). Prints one JSON object:
sentences, seconds, sentences_per_second, and the cosine of each vector to
the reference (min, median); or `skipped` with the reason.

The model is exported to ONNX once (torch.onnx, opset 17, dynamic batch and
sequence axes; inputs input_ids, attention_mask, token_type_ids; output
last_hidden_state) into WORKDIR, and quantised there for the int8 rows.
Sentences are tokenised from the model's tokenizer.json (no padding,
truncation at 256), sorted by length, cut into batches of BATCH, each padded
to its longest; vectors are mean-pooled over the attention mask and
L2-normalised, as sentence-transformers does.
"""

import json
import os
import sys
import time

import numpy as np

model_dir, path, threads, batch, workdir, runtime, reference = sys.argv[1:8]
threads, batch = int(threads), int(batch)
sentences = [s for s in open(path, encoding="utf-8").read().split("\n") if s]
os.makedirs(workdir, exist_ok=True)
onnx_path = os.path.join(workdir, "model.onnx")


def export():
    if os.path.exists(onnx_path):
        return
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(model_dir).eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    tmp = onnx_path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            tmp,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]},
            opset_version=17,
        )
    os.replace(tmp, onnx_path)


def quantised(name, **options):
    out = os.path.join(workdir, name)
    if not os.path.exists(out):
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(onnx_path, out + ".tmp", weight_type=QuantType.QInt8, **options)
        os.replace(out + ".tmp", out)
    return out


def batches():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(256)
    encoded = tok.encode_batch(sentences)
    order = sorted(range(len(sentences)), key=lambda i: len(encoded[i].ids))
    out = []
    for start in range(0, len(order), batch):
        who = order[start : start + batch]
        width = max(len(encoded[i].ids) for i in who)
        ids = np.zeros((len(who), width), dtype=np.int64)
        mask = np.zeros((len(who), width), dtype=np.int64)
        for r, i in enumerate(who):
            n = len(encoded[i].ids)
            ids[r, :n] = encoded[i].ids
            mask[r, :n] = 1
        out.append((who, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}))
    return out


def runner():
    """A function from a batch's inputs to last_hidden_state, or a reason to skip."""
    export()
    if runtime.startswith("ort-"):
        import onnxruntime as ort

        model = {
            "ort-f32": onnx_path,
            "ort-int8": quantised("model-int8.onnx"),
            "ort-int8-matmul": quantised("model-int8-matmul.onnx", per_channel=True, op_types_to_quantize=["MatMul"]),
        }[runtime]
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        return lambda feed: session.run(["last_hidden_state"], feed)[0]
    if runtime.startswith("ov-"):
        import openvino as ov

        core = ov.Core()
        precision = runtime[3:]
        if precision == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            return "OpenVINO reports no BF16 capability on this CPU (it would run f32)"
        compiled = core.compile_model(
            onnx_path, "CPU", {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision}
        )
        return lambda feed: compiled(feed)[0]
    sys.exit(f"unknown runtime {runtime!r}")


run = runner()
if isinstance(run, str):
    print(json.dumps({"runtime": runtime, "skipped": run}))
    sys.exit(0)
work = batches()


def embed():
    vectors = None
    for who, feed in work:
        hidden = run(feed)
        mask = feed["attention_mask"][:, :, None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        if vectors is None:
            vectors = np.zeros((len(sentences), pooled.shape[1]), dtype=np.float32)
        vectors[who] = pooled
    return vectors


run(work[0][1])  # warm-up
start = time.perf_counter()
vectors = embed()
seconds = time.perf_counter() - start
ours = np.fromfile(reference, dtype="<f4").reshape(len(sentences), -1)
cosines = (vectors * ours).sum(axis=1) / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(ours, axis=1))
print(
    json.dumps(
        {
            "runtime": runtime,
            "sentences": len(sentences),
            "seconds": seconds,
            "sentences_per_second": len(sentences) / seconds,
            "cosine_min": float(cosines.min()),
            "cosine_median": float(np.median(cosines)),
        }
    )
)
