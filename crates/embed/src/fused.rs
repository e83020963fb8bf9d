//! A BERT encoder in few libtorch operators: `embed.engine = "fused"`.
//!
//! rust-bert's BERT spends most of a bf16 call outside its matrix products
//! (profile of the bench-embed run on a Sapphire Rapids, 2,000 GVA dev
//! sentences: oneDNN's kernels 31% of the samples; softmax and its `exp`
//! 9%, the five operators of its GELU (`x * 0.5 * (1 + erf(x / √2))`) and
//! the scaling and masking of attention scores 20%, copies 4%). This
//! encoder computes the same function with fewer, fused operators: one
//! matrix product for the query, key and value projections, libtorch's
//! fused attention (`scaled_dot_product_attention`: scaling, mask, softmax
//! and both products in one kernel), and libtorch's one-kernel exact GELU.
//! The weights, the tokenizer, the pooling and the dense layers are the
//! same files read the same way; rust-bert's encoder stays the reference
//! the tests hold this one to (`embed.engine = "rust-bert"`).

use tch::{Kind, TchError, Tensor};

/// LayerNorm epsilon of BERT (rust-bert's too).
const EPS: f64 = 1e-12;

/// One transformer layer's weights.
struct Layer {
    /// Query, key and value projections stacked: (3 × hidden, hidden).
    qkv: (Tensor, Tensor),
    attention_out: (Tensor, Tensor),
    attention_norm: (Tensor, Tensor),
    up: (Tensor, Tensor),
    down: (Tensor, Tensor),
    out_norm: (Tensor, Tensor),
}

/// A BERT encoder (absolute positions, exact GELU) as fused operators.
pub(crate) struct FusedBert {
    word: Tensor,
    position: Tensor,
    /// The embedding of token type 0 (sentence embedding has no other).
    token_type: Tensor,
    norm: (Tensor, Tensor),
    heads: i64,
    layers: Vec<Layer>,
}

impl FusedBert {
    /// The encoder from a BERT checkpoint's named tensors (with or without
    /// the `bert.` prefix), converted to `kind`. `Err` names what is missing
    /// or why this encoder cannot compute the model (then rust-bert's does).
    pub(crate) fn load(tensors: Vec<(String, Tensor)>, config: &rust_bert::bert::BertConfig, kind: Kind) -> Result<Self, String> {
        if !matches!(config.hidden_act, rust_bert::Activation::gelu) {
            return Err(format!("activation {:?} (the fused encoder computes gelu)", config.hidden_act));
        }
        let (h, inner) = (config.hidden_size, config.intermediate_size);
        if h % config.num_attention_heads != 0 {
            return Err(format!("hidden size {h} is not a multiple of {} heads", config.num_attention_heads));
        }
        let mut tensors: std::collections::HashMap<String, Tensor> =
            tensors.into_iter().map(|(n, t)| (n.strip_prefix("bert.").map(str::to_string).unwrap_or(n), t)).collect();
        // A tensor of the shape config.json says, in `kind`.
        let mut take = |name: &str, shape: &[i64]| -> Result<Tensor, String> {
            let t = tensors.remove(name).ok_or_else(|| format!("no tensor {name}"))?;
            if t.size() != shape {
                return Err(format!("{name} is {:?}, config.json says {shape:?}", t.size()));
            }
            Ok(t.to_kind(kind))
        };
        let word = take("embeddings.word_embeddings.weight", &[config.vocab_size, h])?;
        let position = take("embeddings.position_embeddings.weight", &[config.max_position_embeddings, h])?;
        let token_type = take("embeddings.token_type_embeddings.weight", &[config.type_vocab_size, h])?.get(0);
        // A linear layer (or a LayerNorm: `inputs` 0) of `outputs` values.
        let mut pair = |prefix: &str, outputs: i64, inputs: i64| -> Result<(Tensor, Tensor), String> {
            let shape: &[i64] = if inputs == 0 { &[outputs] } else { &[outputs, inputs] };
            Ok((take(&format!("{prefix}.weight"), shape)?, take(&format!("{prefix}.bias"), &[outputs])?))
        };
        let norm = pair("embeddings.LayerNorm", h, 0)?;
        let mut layers = Vec::new();
        for l in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            let [q, k, v] = ["query", "key", "value"].map(|n| pair(&format!("{p}.attention.self.{n}"), h, h));
            let (q, k, v) = (q?, k?, v?);
            layers.push(Layer {
                qkv: (Tensor::cat(&[q.0, k.0, v.0], 0), Tensor::cat(&[q.1, k.1, v.1], 0)),
                attention_out: pair(&format!("{p}.attention.output.dense"), h, h)?,
                attention_norm: pair(&format!("{p}.attention.output.LayerNorm"), h, 0)?,
                up: pair(&format!("{p}.intermediate.dense"), inner, h)?,
                down: pair(&format!("{p}.output.dense"), h, inner)?,
                out_norm: pair(&format!("{p}.output.LayerNorm"), h, 0)?,
            });
        }
        Ok(Self { word, position, token_type, norm, heads: config.num_attention_heads, layers })
    }

    /// Hidden states (rows × len × hidden) of token ids `ids` under the
    /// attention mask `mask` (1 for a token, 0 for padding), both rows × len.
    pub(crate) fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor, TchError> {
        let (rows, len) = ids.size2()?;
        let hidden = self.word.size()[1];
        let norm = |x: &Tensor, (w, b): &(Tensor, Tensor)| x.f_layer_norm([hidden], Some(w), Some(b), EPS, false);
        let linear = |x: &Tensor, (w, b): &(Tensor, Tensor)| x.f_linear(w, Some(b));
        // The same sum, in the same order, as rust-bert's embeddings.
        let words = Tensor::f_embedding(&self.word, ids, -1, false, false)?;
        let mut x = norm(&(words + self.position.f_narrow(0, 0, len)? + &self.token_type), &self.norm)?;
        // Additive mask: 0 on tokens, -10000 on padding, as rust-bert's.
        let additive = ((mask.f_to_kind(Kind::Float)?.f_neg()? + 1.0) * -10000.0).f_to_kind(x.kind())?.f_view([rows, 1, 1, len])?;
        let head = hidden / self.heads;
        for l in &self.layers {
            let qkv = linear(&x, &l.qkv)?.f_view([rows, len, 3, self.heads, head])?.f_permute([2, 0, 3, 1, 4])?;
            let (q, k, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
            let context = Tensor::f_scaled_dot_product_attention(&q, &k, &v, Some(&additive), 0.0, false, None)?;
            let context = context.f_transpose(1, 2)?.f_reshape([rows, len, hidden])?;
            x = norm(&(&x + linear(&context, &l.attention_out)?), &l.attention_norm)?;
            let inner = linear(&x, &l.up)?.f_gelu("none")?;
            x = norm(&(&x + linear(&inner, &l.down)?), &l.out_norm)?;
        }
        Ok(x)
    }
}
