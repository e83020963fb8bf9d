"""Anchor: Python sentence-transformers throughput on the same sentences,
model files and thread count as storyline's embed stage.

    python anchor.py MODEL_DIR SENTENCES_FILE THREADS BATCH [f32|bf16]
Prints one JSON object: sentences, seconds, sentences_per_second, precision.
With bf16 the model is converted as a user would (`model.to(torch.bfloat16)`).
"""

import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

model_dir, path, threads, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
precision = sys.argv[5] if len(sys.argv) > 5 else "f32"
torch.set_num_threads(threads)
sentences = [s for s in open(path, encoding="utf-8").read().split("\n") if s]
model = SentenceTransformer(model_dir, device="cpu")
if precision == "bf16":
    model = model.to(torch.bfloat16)
elif precision != "f32":
    sys.exit(f"unknown precision {precision!r}: f32 or bf16")


def encode(texts):
    # As tensors: numpy has no bfloat16, so both precisions take this path.
    return model.encode(texts, batch_size=batch, normalize_embeddings=True, convert_to_tensor=True).float()


encode(sentences[:64])  # warm-up
start = time.perf_counter()
vectors = encode(sentences)
seconds = time.perf_counter() - start
assert vectors.shape[0] == len(sentences)
print(json.dumps({"sentences": len(sentences), "seconds": seconds, "sentences_per_second": len(sentences) / seconds, "precision": precision}))
