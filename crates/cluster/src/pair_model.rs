//! The learned pair model: the probability that two articles report one
//! event, a logistic function of the pair's signals, fitted on gold-labelled
//! candidate pairs (`storyline-engine train`, `cargo xtask train`).
//!
//! The signals are the ones the hand-set score mixes (dense, lexical and
//! best-lead cosines, the time gap, the year mismatch of undated texts) plus
//! the titles' cosine, whether the texts are headlines only, so that one
//! model can score a pair of headlines and a pair of long articles on one
//! scale (length calibration), and the cosines relative to each article's
//! best match. Average link then runs on the probability.

use serde::{Deserialize, Serialize};

/// What `cluster` knows about one candidate pair, before any weighting.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PairSignals {
    /// Cosine of the article vectors.
    pub dense: f32,
    /// Cosine of the TF-IDF vectors.
    pub lexical: f32,
    /// Best cosine between a lead sentence (or title) of each.
    pub lead: f32,
    /// Cosine of the title vectors (the dense cosine when either has no title).
    pub title: f32,
    /// Days between the two dates, when both are known.
    pub gap: Option<f32>,
    /// Undated, and the years the two texts are about differ.
    pub year_mismatch: bool,
    /// How many of the two are headlines only (0, 1 or 2).
    pub headlines: u8,
    /// The dense, lexical and lead cosines relative to the two articles'
    /// best matches: each divided by the lower of the two articles' highest
    /// value of it over all their candidate pairs (1: as close as the pair
    /// gets). A cosine means different things in a corpus of look-alike
    /// reports and in one of varied news; its rank among an article's
    /// neighbours means the same in both.
    pub relative: [f32; 3],
}

/// Number of features the model weighs.
pub const FEATURES: usize = 14;

/// Feature names, in the order of [`PairSignals::features`] and of the
/// model's weights (also the keys of `[cluster.pair_model]`).
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "dense",
    "lexical",
    "lead",
    "title",
    "log_gap",
    "undated",
    "year_mismatch",
    "headlines",
    "one_headline",
    "headline_dense",
    "headline_lexical",
    "relative_dense",
    "relative_lexical",
    "relative_lead",
];

/// Whether feature `k` says something only when the model reads the text
/// (the dense, lead and title cosines, the headline pair's dense one, and
/// the relative cosines): held at 0 in the words-only model.
pub fn needs_vectors(k: usize) -> bool {
    matches!(FEATURE_NAMES[k], "dense" | "lead" | "title" | "headline_dense" | "relative_dense" | "relative_lexical" | "relative_lead")
}

/// Index of the `undated` feature.
pub const UNDATED: usize = 5;

/// Whether feature `k` is one of the headline ones (`headlines` ...
/// `headline_lexical`): 0 for every pair of two full articles, so a
/// two-stage fit can leave them to the pairs with a headline.
pub fn is_headline_feature(k: usize) -> bool {
    (7..11).contains(&k)
}

impl PairSignals {
    /// The model's inputs: the signals, ln(1 + days) of the gap (0 when
    /// undated), indicators, and the cosines again for headline pairs (so a
    /// headline pair's cosines can count differently).
    pub fn features(&self) -> [f32; FEATURES] {
        let both = f32::from(u8::from(self.headlines == 2));
        [
            self.dense,
            self.lexical,
            self.lead,
            self.title,
            self.gap.map_or(0.0, f32::ln_1p),
            f32::from(u8::from(self.gap.is_none())),
            f32::from(u8::from(self.year_mismatch)),
            both,
            f32::from(u8::from(self.headlines == 1)),
            both * self.dense,
            both * self.lexical,
            self.relative[0],
            self.relative[1],
            self.relative[2],
        ]
    }

    /// The three cosines that [`PairSignals::relative`] puts in relation.
    pub fn cosines(&self) -> [f32; 3] {
        [self.dense, self.lexical, self.lead]
    }

    /// Sets [`PairSignals::relative`] from each article's best cosines:
    /// each cosine divided by the lower of the two articles' best, or by
    /// `floors` when that is higher. Being an article's best match is
    /// evidence only when the best is itself a good match: an article whose
    /// only candidates are poor (a small folder, a lone story in a big one)
    /// would otherwise call a poor pair "as close as it gets".
    pub fn relate(&mut self, best_a: &[f32; 3], best_b: &[f32; 3], floors: [f32; 3]) {
        let own = self.cosines();
        for k in 0..3 {
            self.relative[k] = (own[k] / best_a[k].min(best_b[k]).max(floors[k]).max(1e-6)).clamp(0.0, 1.0);
        }
    }
}

/// Coefficients of the logistic pair model, with the threshold average link
/// uses on its probability. Fitted by `cargo xtask train` on the gold dev
/// corpora; see storyline.toml for each value's meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PairModel {
    /// Groups merge into one event while the mean probability of their cross pairs is at least this.
    pub threshold: f32,
    /// Candidate pairs below this probability are dropped before clustering.
    pub edge_min: f32,
    pub bias: f32,
    pub dense: f32,
    pub lexical: f32,
    pub lead: f32,
    pub title: f32,
    pub log_gap: f32,
    pub undated: f32,
    pub year_mismatch: f32,
    pub headlines: f32,
    pub one_headline: f32,
    pub headline_dense: f32,
    pub headline_lexical: f32,
    pub relative_dense: f32,
    pub relative_lexical: f32,
    pub relative_lead: f32,
    /// What a good match's dense, lexical and lead cosines are: a relative
    /// cosine is divided by the articles' best or by this, whichever is
    /// higher. `train` sets each to the cosine that 90% of true pairs (of
    /// two full articles) reach, each corpus weighing the same.
    pub floor_dense: f32,
    pub floor_lexical: f32,
    pub floor_lead: f32,
}

impl Default for PairModel {
    /// The fit on the ECB+, GVC, GVA and UCI dev splits (`cargo xtask
    /// train`); storyline.toml explains each weight.
    fn default() -> Self {
        Self {
            threshold: 0.4,
            edge_min: 0.05,
            bias: -8.468,
            dense: -2.518,
            lexical: 11.538,
            lead: 1.865,
            title: 0.241,
            log_gap: -0.625,
            undated: 0.0,
            year_mismatch: -0.83,
            headlines: 1.702,
            one_headline: 0.852,
            headline_dense: 4.924,
            headline_lexical: -16.08,
            relative_dense: 1.972,
            relative_lexical: 4.596,
            relative_lead: 2.585,
            floor_dense: 0.617,
            floor_lexical: 0.173,
            floor_lead: 0.554,
        }
    }
}

impl PairModel {
    /// The words-only fit on the dev splits (`cargo xtask train`,
    /// `[cluster.pair_model_words]`): the features that need the model to
    /// read the text ([`needs_vectors`]) held at 0.
    pub fn words_default() -> Self {
        Self {
            threshold: 0.2,
            edge_min: 0.05,
            bias: -3.242,
            dense: 0.0,
            lexical: 21.467,
            lead: 0.0,
            title: 0.0,
            log_gap: -0.772,
            undated: -1.187,
            year_mismatch: -1.028,
            headlines: 1.709,
            one_headline: 1.142,
            headline_dense: 0.0,
            headline_lexical: -11.163,
            relative_dense: 0.0,
            relative_lexical: 0.0,
            relative_lead: 0.0,
            floor_dense: 0.617,
            floor_lexical: 0.173,
            floor_lead: 0.554,
        }
    }

    /// The model with `weights` = [bias, one weight per feature].
    pub fn from_weights(threshold: f32, edge_min: f32, weights: &[f32; FEATURES + 1], floors: [f32; 3]) -> Self {
        let [bias, dense, lexical, lead, title, log_gap, undated, year_mismatch, headlines, one_headline, headline_dense, headline_lexical, relative_dense, relative_lexical, relative_lead] =
            *weights;
        Self {
            threshold,
            edge_min,
            bias,
            dense,
            lexical,
            lead,
            title,
            log_gap,
            undated,
            year_mismatch,
            headlines,
            one_headline,
            headline_dense,
            headline_lexical,
            relative_dense,
            relative_lexical,
            relative_lead,
            floor_dense: floors[0],
            floor_lexical: floors[1],
            floor_lead: floors[2],
        }
    }

    /// The floors of the relative cosines: dense, lexical, lead.
    pub fn floors(&self) -> [f32; 3] {
        [self.floor_dense, self.floor_lexical, self.floor_lead]
    }

    /// [bias, one weight per feature], in [`FEATURE_NAMES`] order after the bias.
    pub fn weights(&self) -> [f32; FEATURES + 1] {
        [
            self.bias,
            self.dense,
            self.lexical,
            self.lead,
            self.title,
            self.log_gap,
            self.undated,
            self.year_mismatch,
            self.headlines,
            self.one_headline,
            self.headline_dense,
            self.headline_lexical,
            self.relative_dense,
            self.relative_lexical,
            self.relative_lead,
        ]
    }

    /// The probability that the pair is one event.
    pub fn probability(&self, s: &PairSignals) -> f32 {
        let w = self.weights();
        let z = w[0] + s.features().iter().zip(&w[1..]).map(|(x, w)| x * w).sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }
}

/// One labelled candidate pair for fitting.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub features: [f32; FEATURES],
    /// Same gold event.
    pub positive: bool,
    /// Its weight in the loss (e.g. so each corpus counts the same).
    pub weight: f64,
}

/// Fits L2-regularised logistic regression by Newton's method (iteratively
/// reweighted least squares): minimises
/// `sum_k weight_k * logloss_k / sum_k weight_k + l2 / 2 * |w|^2`
/// over standardised features (the bias is not penalised), then returns the
/// weights of the raw features. Fifteen unknowns, so each step solves a
/// 15x15 system; it converges in about ten steps.
pub fn fit(samples: &[Sample], l2: f64) -> [f32; FEATURES + 1] {
    fit_some(samples, l2, &[true; FEATURES + 1], &[0.0; FEATURES + 1])
}

/// [`fit`] of the weights marked `free` (index 0: the bias), the others
/// held at their value in `fixed` (raw-feature weights): the fixed part of
/// each sample's score is an offset the free weights add to.
#[allow(clippy::needless_range_loop)] // matrix code: indices say which entry
pub fn fit_some(samples: &[Sample], l2: f64, free: &[bool; FEATURES + 1], fixed: &[f32; FEATURES + 1]) -> [f32; FEATURES + 1] {
    const P: usize = FEATURES + 1;
    let total: f64 = samples.iter().map(|s| s.weight).sum::<f64>().max(f64::MIN_POSITIVE);
    // Standardise: weighted mean and deviation of each feature.
    let mut mean = [0.0f64; FEATURES];
    for s in samples {
        for (m, &x) in mean.iter_mut().zip(&s.features) {
            *m += s.weight * f64::from(x) / total;
        }
    }
    let mut sd = [0.0f64; FEATURES];
    for s in samples {
        for k in 0..FEATURES {
            sd[k] += s.weight * (f64::from(s.features[k]) - mean[k]).powi(2) / total;
        }
    }
    // A feature no pair varies in keeps its weight (0 unless fixed).
    let sd: Vec<f64> = sd.iter().map(|v| if *v > 1e-12 { v.sqrt() } else { 0.0 }).collect();
    let moves = |a: usize| free[a] && (a == 0 || sd[a - 1] > 0.0);
    // With the bias held, nothing can absorb a centring: scale only.
    if !free[0] {
        mean = [0.0; FEATURES];
    }
    // Each sample: its standardised features (1 for the bias) and offset.
    let rows: Vec<([f64; P], f64)> = samples
        .iter()
        .map(|s| {
            let mut x = [1.0f64; P];
            let mut offset = if moves(0) { 0.0 } else { f64::from(fixed[0]) };
            for k in 0..FEATURES {
                if moves(k + 1) {
                    x[k + 1] = (f64::from(s.features[k]) - mean[k]) / sd[k];
                } else {
                    x[k + 1] = 0.0;
                    offset += f64::from(fixed[k + 1]) * f64::from(s.features[k]);
                }
            }
            if !moves(0) {
                x[0] = 0.0;
            }
            (x, offset)
        })
        .collect();
    // A sample's linear score under weights `w`.
    let score = |(x, offset): &([f64; P], f64), w: &[f64; P]| -> f64 { offset + x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() };
    // The objective: mean weighted log loss plus the penalty.
    let loss = |w: &[f64; P]| -> f64 {
        let mut l = 0.0;
        for (row, s) in rows.iter().zip(samples) {
            let t = score(row, w);
            // log(1 + e^t) - y t, computed without overflow.
            let softplus = if t > 0.0 { t + (-t).exp().ln_1p() } else { t.exp().ln_1p() };
            l += s.weight / total * (softplus - if s.positive { t } else { 0.0 });
        }
        l + l2 / 2.0 * w[1..].iter().map(|v| v * v).sum::<f64>()
    };
    let mut w = [0.0f64; P];
    let mut current = loss(&w);
    for _ in 0..100 {
        let mut grad = [0.0f64; P];
        let mut hess = [[0.0f64; P]; P];
        for (row, s) in rows.iter().zip(samples) {
            let (x, t) = (&row.0, score(row, &w));
            let p = 1.0 / (1.0 + (-t).exp());
            let c = s.weight / total;
            let r = c * (p - f64::from(u8::from(s.positive)));
            let h = c * (p * (1.0 - p)).max(1e-12);
            for a in 0..P {
                grad[a] += r * x[a];
                for b in a..P {
                    hess[a][b] += h * x[a] * x[b];
                }
            }
        }
        for a in 0..P {
            for b in 0..a {
                hess[a][b] = hess[b][a];
            }
            if !moves(a) {
                // Not fitted: a unit diagonal keeps the system solvable and its step 0.
                hess[a][a] = 1.0;
                grad[a] = 0.0;
            } else if a > 0 {
                // Penalise every weight but the bias.
                grad[a] += l2 * w[a];
                hess[a][a] += l2;
            }
        }
        let step = solve(hess, grad);
        // Halve the Newton step until the objective falls (a full step
        // can overshoot far from the optimum).
        let mut scale = 1.0;
        let (next, value) = loop {
            let mut next = w;
            for a in 0..P {
                next[a] -= scale * step[a];
            }
            let value = loss(&next);
            if value <= current || scale < 1e-6 {
                break (next, value);
            }
            scale /= 2.0;
        };
        let moved = (0..P).map(|a| (next[a] - w[a]).abs()).fold(0.0, f64::max);
        w = next;
        current = value;
        if moved < 1e-9 {
            break;
        }
    }
    // Back to raw features: w_k x_k' = w_k (x_k - mean_k) / sd_k.
    let mut out = *fixed;
    let mut bias = if moves(0) { w[0] } else { f64::from(fixed[0]) };
    for k in 0..FEATURES {
        if moves(k + 1) {
            out[k + 1] = (w[k + 1] / sd[k]) as f32;
            bias -= w[k + 1] * mean[k] / sd[k];
        } else if free[k + 1] {
            out[k + 1] = 0.0;
        }
    }
    out[0] = bias as f32;
    out
}

/// [`fit_some`] with each free weight held at or below `upper` (raw-feature
/// weights; `f32::INFINITY`: no bound): a weight the fit would put above
/// its bound is held at the bound and the others fitted again, until none
/// is (an active-set method, each round one more weight held).
pub fn fit_bounded(samples: &[Sample], l2: f64, free: &[bool; FEATURES + 1], fixed: &[f32; FEATURES + 1], upper: &[f32; FEATURES + 1]) -> [f32; FEATURES + 1] {
    let (mut free, mut fixed) = (*free, *fixed);
    loop {
        let w = fit_some(samples, l2, &free, &fixed);
        let over: Vec<usize> = (0..=FEATURES).filter(|&a| free[a] && w[a] > upper[a]).collect();
        if over.is_empty() {
            return w;
        }
        for a in over {
            free[a] = false;
            fixed[a] = upper[a];
        }
    }
}

/// Solves `a x = b` for a symmetric positive definite `a` (Cholesky).
#[allow(clippy::needless_range_loop)] // matrix code: indices say which entry
fn solve<const P: usize>(mut a: [[f64; P]; P], b: [f64; P]) -> [f64; P] {
    for j in 0..P {
        let d = a[j][j] - (0..j).map(|k| a[j][k] * a[j][k]).sum::<f64>();
        a[j][j] = d.max(1e-300).sqrt();
        for i in j + 1..P {
            a[i][j] = (a[i][j] - (0..j).map(|k| a[i][k] * a[j][k]).sum::<f64>()) / a[j][j];
        }
    }
    let mut y = [0.0f64; P];
    for i in 0..P {
        y[i] = (b[i] - (0..i).map(|k| a[i][k] * y[k]).sum::<f64>()) / a[i][i];
    }
    let mut x = [0.0f64; P];
    for i in (0..P).rev() {
        x[i] = (y[i] - (i + 1..P).map(|k| a[k][i] * x[k]).sum::<f64>()) / a[i][i];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [bias, weights] with the named features' weights set, the rest 0.
    fn named(bias: f32, set: &[(&str, f32)]) -> [f32; FEATURES + 1] {
        let mut w = [0.0; FEATURES + 1];
        w[0] = bias;
        for (name, v) in set {
            w[1 + FEATURE_NAMES.iter().position(|n| n == name).unwrap()] = *v;
        }
        w
    }

    /// Pairs drawn from a known logistic model: the fit finds its weights.
    /// A fixed pseudo-random sequence (xorshift) of numbers in [0, 1).
    fn uniform(mut state: u64) -> impl FnMut() -> f64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn fit_recovers_a_known_model() {
        let truth = named(-3.0, &[("dense", 2.0), ("lexical", 6.0), ("lead", 1.0), ("log_gap", -0.5), ("undated", -1.0)]);
        let mut next = uniform(0x2545_f491_4f6c_dd1d);
        let samples: Vec<Sample> = (0..40_000)
            .map(|_| {
                let s = PairSignals {
                    dense: next() as f32,
                    lexical: next() as f32,
                    lead: next() as f32,
                    title: next() as f32,
                    gap: if next() < 0.5 { None } else { Some((next() * 30.0) as f32) },
                    year_mismatch: false,
                    headlines: 0,
                    relative: [0.0; 3],
                };
                let model = PairModel::from_weights(0.5, 0.0, &truth, [0.0; 3]);
                let positive = next() < f64::from(model.probability(&s));
                Sample { features: s.features(), positive, weight: 1.0 }
            })
            .collect();
        let w = fit(&samples, 1e-6);
        for (k, (got, want)) in w.iter().zip(&truth).enumerate().take(7) {
            assert!((got - want).abs() < 0.35, "weight {k}: fitted {got}, true {want} (all: {w:?})");
        }
        // Features no pair has stay at 0.
        assert_eq!(&w[8..], &[0.0; 7]);
    }

    /// Holding some weights fixed, the others fit around them.
    #[test]
    fn fit_some_keeps_fixed_weights_and_fits_the_rest() {
        let truth = named(-2.0, &[("lexical", 5.0), ("headlines", 1.5)]);
        let model = PairModel::from_weights(0.5, 0.0, &truth, [0.0; 3]);
        let samples: Vec<Sample> = (0..20_000)
            .map(|k| {
                let s = PairSignals { lexical: (k % 100) as f32 / 100.0, headlines: if k % 3 == 0 { 2 } else { 0 }, ..Default::default() };
                // Deterministic labels at the model's rate: the k-th of every 97 draws.
                let positive = ((k * 37) % 97) as f32 / 97.0 < model.probability(&s);
                Sample { features: s.features(), positive, weight: 1.0 }
            })
            .collect();
        let mut free = [false; FEATURES + 1];
        free[8] = true; // the headline pair's own shift
        let w = fit_some(&samples, 1e-6, &free, &truth);
        assert_eq!((w[0], w[2]), (-2.0, 5.0), "fixed weights stay");
        assert!((w[8] - 1.5).abs() < 0.3, "the free weight is fitted: {}", w[8]);
    }

    #[test]
    fn the_headline_features_are_the_ones_named_so() {
        let named: Vec<usize> = (0..FEATURES).filter(|&k| FEATURE_NAMES[k].contains("headline")).collect();
        assert_eq!(named, (0..FEATURES).filter(|&k| is_headline_feature(k)).collect::<Vec<_>>());
        let full = PairSignals { dense: 0.7, lexical: 0.4, lead: 0.6, title: 0.5, gap: Some(3.0), ..Default::default() };
        assert!(full.features().iter().enumerate().all(|(k, &x)| !is_headline_feature(k) || x == 0.0));
    }

    /// A weight bounded above stays at its bound when the data pull it
    /// higher, and the rest fit around it.
    #[test]
    fn a_bounded_weight_stays_at_its_bound() {
        let truth = named(-2.0, &[("lexical", 5.0), ("undated", 1.5)]);
        let model = PairModel::from_weights(0.5, 0.0, &truth, [0.0; 3]);
        let mut next = uniform(0x9e37_79b9_7f4a_7c15);
        let mut next = move || next() as f32;
        let samples: Vec<Sample> = (0..20_000)
            .map(|k| {
                let s = PairSignals { lexical: (k % 100) as f32 / 100.0, gap: if k % 2 == 0 { None } else { Some(next() * 30.0) }, ..Default::default() };
                let positive = next() < model.probability(&s);
                Sample { features: s.features(), positive, weight: 1.0 }
            })
            .collect();
        let free = [true; FEATURES + 1];
        assert!(fit(&samples, 1e-6)[1 + UNDATED] > 1.0, "unbounded, the weight is fitted positive");
        let mut upper = [f32::INFINITY; FEATURES + 1];
        upper[1 + UNDATED] = 0.0;
        let w = fit_bounded(&samples, 1e-6, &free, &[0.0; FEATURES + 1], &upper);
        assert_eq!(w[1 + UNDATED], 0.0);
        assert!(w[2] > 3.0, "the others still fit: {w:?}");
    }

    /// Being an article's best match says something only when the match is
    /// itself good: with the fitted defaults, a poor pair that is each
    /// article's only candidate stays apart (without the floors it would
    /// have been "as close as either gets" and joined), while look-alike
    /// reports that are each other's best (ECB+'s two earthquakes) and a
    /// good match still join.
    #[test]
    fn relative_cosines_count_only_above_a_good_match() {
        let m = PairModel::default();
        let p = |s: PairSignals, best: [f32; 3], floors: [f32; 3]| {
            let mut s = s;
            s.relate(&best, &best, floors);
            m.probability(&s)
        };
        let poor = PairSignals { dense: 0.3, lexical: 0.04, lead: 0.35, title: 0.2, gap: Some(0.0), ..Default::default() };
        let only = poor.cosines();
        assert!(p(poor, only, m.floors()) < m.threshold, "a lone poor candidate: {}", p(poor, only, m.floors()));
        assert!(p(poor, only, [0.0; 3]) > m.threshold, "without floors it would merge: {}", p(poor, only, [0.0; 3]));
        let alike = PairSignals { dense: 0.8, lexical: 0.3, lead: 0.78, title: 0.7, gap: None, ..Default::default() };
        assert!(p(alike, [0.82, 0.31, 0.8], m.floors()) > m.threshold, "look-alike best matches join");
        let good = PairSignals { dense: 0.85, lexical: 0.45, lead: 0.85, title: 0.8, gap: Some(1.0), ..Default::default() };
        assert!(p(good, [0.9, 0.6, 0.9], m.floors()) > m.threshold);
    }

    #[test]
    fn probability_rises_with_the_weighted_signals() {
        let m = PairModel::from_weights(0.5, 0.0, &named(-4.0, &[("dense", 1.0), ("lexical", 8.0), ("lead", 2.0), ("log_gap", -0.5), ("year_mismatch", -2.0)]), [0.0; 3]);
        let near = PairSignals { dense: 0.8, lexical: 0.6, lead: 0.9, title: 0.7, gap: Some(0.0), ..Default::default() };
        let far = PairSignals { lexical: 0.05, gap: Some(30.0), ..near };
        assert!(m.probability(&near) > 0.9 && m.probability(&far) < 0.1);
        let other_year = PairSignals { gap: None, year_mismatch: true, ..near };
        assert!(m.probability(&other_year) < m.probability(&PairSignals { gap: None, ..near }));
    }
}
