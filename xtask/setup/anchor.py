"""Anchor: Python sentence-transformers throughput on the same sentences,
model files and thread count as storyline's embed stage.

    python anchor.py MODEL_DIR SENTENCES_FILE THREADS BATCH
Prints one JSON object: sentences, seconds, sentences_per_second.
"""

import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

model_dir, path, threads, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
sentences = [s for s in open(path, encoding="utf-8").read().split("\n") if s]
model = SentenceTransformer(model_dir, device="cpu")
model.encode(sentences[:64], batch_size=batch)  # warm-up
start = time.perf_counter()
model.encode(sentences, batch_size=batch, normalize_embeddings=True)
seconds = time.perf_counter() - start
print(json.dumps({"sentences": len(sentences), "seconds": seconds, "sentences_per_second": len(sentences) / seconds}))
