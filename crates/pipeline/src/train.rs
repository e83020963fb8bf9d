//! Fitting the learned pair model (`cluster::pair_model`) on gold-labelled
//! corpora, and judging it leave-one-corpus-out: fit on all corpora but
//! one, score the one left out.

use rayon::prelude::*;
use serde::Serialize;

use cluster::pair_model::{self, PairModel, Sample};
use cluster::PairScore;
use ingest::Article;

use crate::eval::{score_run, Gold, Level};
use crate::run::{cluster_articles, with_docs, Embedded};
use crate::Settings;

/// One gold-labelled corpus, run through ingest and embed.
pub struct Corpus {
    pub name: String,
    /// What its gold ids label; story-level gold labels pairs of one story.
    pub level: Level,
    pub articles: Vec<Article>,
    pub embedded: Embedded,
    pub gold: Gold,
}

/// The thresholds a fit tries on the probability.
const THRESHOLDS: [f32; 11] = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7];

impl Corpus {
    /// Its candidate pairs whose articles both have a gold label: positive
    /// when the labels agree. Each weighs 1.
    pub fn samples(&self, settings: &Settings) -> Vec<Sample> {
        self.labelled_pairs(settings, false).into_iter().map(|p| p.2).collect()
    }

    /// Its labelled candidate pairs as the words-only model sees them (as
    /// if the model read none of its articles).
    pub fn word_samples(&self, settings: &Settings) -> Vec<Sample> {
        self.labelled_pairs(settings, true).into_iter().map(|p| p.2).collect()
    }

    /// Its labelled candidate pairs with the articles' ids.
    fn labelled_pairs(&self, settings: &Settings, words: bool) -> Vec<(usize, usize, Sample)> {
        let labels: Vec<Option<&String>> = self.articles.iter().map(|a| self.gold.event_of.get(&a.id)).collect();
        with_docs(&self.articles, &self.embedded, settings, |docs| cluster::candidate_signals(docs, &settings.cluster, words))
            .into_iter()
            .filter_map(|(i, j, s)| Some((i, j, Sample { features: s.features(), positive: labels[i]? == labels[j]?, weight: 1.0 })))
            .collect()
    }

    /// The corpus as a headline feed: each titled article reduced to its
    /// title (text, vector and lead are the title's), with its gold label.
    /// Its pairs teach the headline weights what one event looks like in a
    /// few words, from corpora labelled by event.
    pub fn headline_view(&self) -> Corpus {
        let keep: Vec<usize> = (0..self.articles.len()).filter(|&i| self.articles[i].title.is_some() && !self.embedded.leads[i].is_empty()).collect();
        let articles = keep
            .iter()
            .map(|&i| {
                let a = &self.articles[i];
                let title = a.title.clone().unwrap_or_default();
                Article { text: title.clone(), sentence_spans: std::iter::once(0..title.len()).collect(), duplicate_of: None, content: ingest::Content::TitleOnly, ..a.clone() }
            })
            .collect();
        let title = |i: usize| self.embedded.leads[i][0].clone();
        let embedded = Embedded {
            articles: keep.iter().map(|&i| title(i)).collect(),
            leads: keep.iter().map(|&i| vec![title(i)]).collect(),
            dim: self.embedded.dim,
            model_id: self.embedded.model_id.clone(),
            precision: self.embedded.precision,
            numerics: self.embedded.numerics.clone(),
            languages: self.embedded.languages.clone(),
        };
        Corpus { name: format!("{} headlines", self.name), level: self.level, articles, embedded, gold: Gold { event_of: self.gold.event_of.clone() } }
    }

    /// The corpus as if the model read none of its articles: what the
    /// words-only model is fitted and judged on.
    pub fn unread(&self) -> Corpus {
        Corpus {
            name: self.name.clone(),
            level: self.level,
            articles: self.articles.clone(),
            embedded: Embedded { languages: embed::Languages::default(), ..self.embedded.clone() },
            gold: Gold { event_of: self.gold.event_of.clone() },
        }
    }

    /// B³ F1 of the corpus clustered with `settings`, at its gold's level.
    pub fn bcubed(&self, settings: &Settings) -> f64 {
        let c = cluster_articles(&self.articles, &self.embedded, settings);
        score_run(&self.articles, self.level.ids(&c), &self.gold).0.bcubed.f1
    }
}

/// Settings that score pairs with `model` (as the words-only model, with `words`).
fn learned(base: &Settings, model: &PairModel, words: bool) -> Settings {
    let mut s = base.clone();
    s.cluster.pair_score = PairScore::Learned;
    if words {
        s.cluster.pair_model_words = model.clone();
    } else {
        s.cluster.pair_model = model.clone();
    }
    s
}

/// Fits the model on `corpora` (each corpus weighs the same in the loss,
/// whatever its number of pairs), then picks the threshold with the best
/// mean B³ F1 over them.
///
/// Two stages, so that the story-level labels of headline feeds (UCI's)
/// never tune how full articles are weighed: every weight but the headline
/// ones is fitted on pairs of full articles; the headline weights are then
/// fitted on the pairs with a headline, on top of the first stage's score,
/// with the pairs of `headline_views` (event corpora reduced to their
/// titles, see [`Corpus::headline_view`]) beside the corpora's own.
///
/// With `words`, the words-only model (`pair_model_words`): the features
/// that need vectors held at 0, on the corpora as if the model read none of
/// their articles ([`Corpus::unread`]).
pub fn fit(corpora: &[(&Corpus, &[Sample])], headline_views: &[&[Sample]], base: &Settings, l2: f64, words: bool) -> PairModel {
    let with_headline = |s: &Sample| (0..pair_model::FEATURES).any(|k| pair_model::is_headline_feature(k) && s.features[k] != 0.0);
    let stage = |headline: bool| -> Vec<Sample> {
        let mut out = Vec::new();
        let views = headline_views.iter().filter(|_| headline);
        for samples in corpora.iter().map(|c| c.1).chain(views.copied()) {
            let mine: Vec<&Sample> = samples.iter().filter(|s| with_headline(s) == headline).collect();
            let w = 1.0 / mine.len().max(1) as f64;
            out.extend(mine.into_iter().map(|s| Sample { weight: w, ..*s }));
        }
        out
    };
    let mut free = [true; pair_model::FEATURES + 1];
    for k in 0..pair_model::FEATURES {
        free[k + 1] = !pair_model::is_headline_feature(k);
    }
    let wordless = |k: usize| words && pair_model::needs_vectors(k);
    // A missing date says which corpus a pair is from (ECB+ is the undated
    // one, and 40% of its candidate pairs are one event, against 1-3%
    // elsewhere), not whether it is one event: its weight may lower a
    // pair's score, never raise it.
    let mut upper = [f32::INFINITY; pair_model::FEATURES + 1];
    upper[1 + pair_model::UNDATED] = 0.0;
    let first: [bool; pair_model::FEATURES + 1] = std::array::from_fn(|a| free[a] && (a == 0 || !wordless(a - 1)));
    let full = pair_model::fit_bounded(&stage(false), l2, &first, &[0.0; pair_model::FEATURES + 1], &upper);
    let free: [bool; pair_model::FEATURES + 1] = std::array::from_fn(|a| !free[a] && (a == 0 || !wordless(a - 1)));
    let weights = pair_model::fit_some(&stage(true), l2, &free, &full);
    // Three decimals: what the report scores is what storyline.toml holds.
    let weights = weights.map(|w| (w * 1000.0).round() / 1000.0);
    let base_model = &base.cluster.pair_model;
    let mean_at = |t: f32| -> f64 {
        let s = learned(base, &PairModel::from_weights(t, base_model.edge_min, &weights, base_model.floors()), words);
        corpora.iter().map(|(c, _)| c.bcubed(&s)).sum::<f64>() / corpora.len().max(1) as f64
    };
    let scores: Vec<f64> = THRESHOLDS.par_iter().map(|&t| mean_at(t)).collect();
    tracing::debug!(?scores, "mean B3 per threshold");
    // The first best (lowest threshold) on a tie, so the choice is fixed.
    let best = scores.iter().enumerate().fold(0, |b, (k, s)| if *s > scores[b] { k } else { b });
    PairModel::from_weights(THRESHOLDS[best], base_model.edge_min, &weights, base_model.floors())
}

/// The quantile of true pairs' cosines a good match reaches (see
/// [`PairModel::floor_dense`]).
const FLOOR_QUANTILE: f64 = 0.1;

/// The floors of the relative cosines: per corpus, the cosine (dense,
/// lexical, lead) that 90% of its true pairs of two full articles reach;
/// the mean over the corpora that have such pairs, to three decimals.
pub fn floors(samples: &[&[Sample]]) -> [f32; 3] {
    let mut sums = [0.0f64; 3];
    let mut n = 0;
    for corpus in samples {
        let positive: Vec<&Sample> =
            corpus.iter().filter(|s| s.positive && (0..pair_model::FEATURES).all(|k| !pair_model::is_headline_feature(k) || s.features[k] == 0.0)).collect();
        if positive.len() < 20 {
            continue;
        }
        n += 1;
        for (k, sum) in sums.iter_mut().enumerate() {
            let mut v: Vec<f32> = positive.iter().map(|s| s.features[k]).collect();
            v.sort_by(f32::total_cmp);
            *sum += f64::from(v[((v.len() - 1) as f64 * FLOOR_QUANTILE).round() as usize]);
        }
    }
    if n == 0 {
        return [0.0; 3];
    }
    sums.map(|s| ((s / n as f64) * 1000.0).round() as f32 / 1000.0)
}

/// One corpus' scores in a training report.
#[derive(Debug, Clone, Serialize)]
pub struct TrainRow {
    pub corpus: String,
    pub level: Level,
    /// Labelled candidate pairs, and how many are one event (or story).
    pub pairs: usize,
    pub positives: usize,
    /// B³ F1 with the hand-set weighted score (the base settings).
    pub weighted: f64,
    /// B³ F1 with the model fitted on every corpus.
    pub learned: f64,
    /// B³ F1 with the model fitted on the other corpora (leave-one-corpus-out),
    /// and the threshold that fit chose.
    pub held_out: Option<f64>,
    pub held_out_threshold: Option<f32>,
    /// B³ F1 as if the model could read none of the corpus: on its words
    /// alone, with the words-only model fitted on every corpus.
    pub words_only: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// The model fitted on every corpus.
    pub model: PairModel,
    /// The words-only model fitted on every corpus.
    pub words_model: PairModel,
    pub rows: Vec<TrainRow>,
    pub l2: f64,
}

/// Fits the model on every corpus and, with more than two corpora, once
/// more without each of them to score it out of sample.
pub fn train(corpora: &[Corpus], base: &Settings, l2: f64) -> TrainReport {
    // The floors of the relative cosines first: they come from the raw
    // cosines of true pairs, which no floor changes; then the pairs again
    // with their relative cosines on those floors. (From every corpus, the
    // held-out fits too: the floors differ little between corpora, 0.59 to
    // 0.64 for the dense one on the dev splits.)
    let raw: Vec<Vec<Sample>> = corpora.iter().map(|c| c.samples(base)).collect();
    let floors = floors(&raw.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let same = base.cluster.pair_model.floors() == floors;
    let mut base = base.clone();
    base.cluster.pair_model.floor_dense = floors[0];
    base.cluster.pair_model.floor_lexical = floors[1];
    base.cluster.pair_model.floor_lead = floors[2];
    let base = &base;
    let samples: Vec<Vec<Sample>> = if same { raw } else { corpora.iter().map(|c| c.samples(base)).collect() };
    let pairs: Vec<(&Corpus, &[Sample])> = corpora.iter().zip(&samples).map(|(c, s)| (c, s.as_slice())).collect();
    // Headline views of the corpora labelled by event (one per corpus, so
    // a corpus left out takes its view with it).
    let views: Vec<Vec<Sample>> =
        corpora.iter().map(|c| if c.level == Level::Event { c.headline_view().samples(base) } else { Vec::new() }).collect();
    let all_views: Vec<&[Sample]> = views.iter().map(Vec::as_slice).collect();
    let model = fit(&pairs, &all_views, base, l2, false);
    let with_model = learned(base, &model, false);
    // The words-only model, on the corpora read as if in a language the
    // model does not know.
    let unread: Vec<Corpus> = corpora.iter().map(Corpus::unread).collect();
    let word_samples: Vec<Vec<Sample>> = unread.iter().map(|c| c.word_samples(base)).collect();
    let word_pairs: Vec<(&Corpus, &[Sample])> = unread.iter().zip(&word_samples).map(|(c, s)| (c, s.as_slice())).collect();
    let word_views: Vec<Vec<Sample>> =
        corpora.iter().map(|c| if c.level == Level::Event { c.headline_view().unread().word_samples(base) } else { Vec::new() }).collect();
    let word_views: Vec<&[Sample]> = word_views.iter().map(Vec::as_slice).collect();
    let words_model = fit(&word_pairs, &word_views, &with_model, l2, true);
    let with_words = learned(&with_model, &words_model, true);
    let rows = corpora
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let held = (corpora.len() > 2).then(|| {
                let others: Vec<(&Corpus, &[Sample])> = pairs.iter().enumerate().filter(|&(o, _)| o != k).map(|(_, p)| *p).collect();
                let other_views: Vec<&[Sample]> = all_views.iter().enumerate().filter(|&(o, _)| o != k).map(|(_, v)| *v).collect();
                let m = fit(&others, &other_views, base, l2, false);
                tracing::info!(corpus = %c.name, threshold = m.threshold, "fitted without this corpus");
                (c.bcubed(&learned(base, &m, false)), m.threshold)
            });
            TrainRow {
                corpus: c.name.clone(),
                level: c.level,
                pairs: samples[k].len(),
                positives: samples[k].iter().filter(|s| s.positive).count(),
                weighted: c.bcubed(&Settings { cluster: cluster::ClusterConfig { pair_score: PairScore::Weighted, ..base.cluster.clone() }, ..base.clone() }),
                learned: c.bcubed(&with_model),
                held_out: held.map(|h| h.0),
                held_out_threshold: held.map(|h| h.1),
                words_only: unread[k].bcubed(&with_words),
            }
        })
        .collect();
    TrainReport { model, words_model, rows, l2 }
}

/// The fitted model as a settings file: pass it as `--config`, or copy its
/// table into storyline.toml.
pub fn model_toml(model: &PairModel, words_model: &PairModel, trained_on: &[String]) -> String {
    let mut out = format!("# Pair models fitted by `storyline-engine train` on: {}\n[cluster]\npair_score = \"learned\"\n", trained_on.join(", "));
    for (table, m) in [("pair_model", model), ("pair_model_words", words_model)] {
        // `{:?}`: a float always prints as one (0.0, not 0).
        out += &format!("\n[cluster.{table}]\nthreshold = {:?}\nedge_min = {:?}\n", m.threshold, m.edge_min);
        let w = m.weights();
        out += &format!("bias = {:?}\n", w[0]);
        for (name, x) in pair_model::FEATURE_NAMES.iter().zip(&w[1..]) {
            out += &format!("{name} = {x:?}\n");
        }
        let [d, l, lead] = m.floors();
        out += &format!("floor_dense = {d:?}\nfloor_lexical = {l:?}\nfloor_lead = {lead:?}\n");
    }
    out
}

/// Every corpus' labelled candidate pairs as CSV: corpus, the two article
/// ids, the features ([`pair_model::FEATURE_NAMES`]) and the label (1: one
/// event or story), for fitting or inspecting elsewhere.
pub fn pairs_csv(corpora: &[Corpus], settings: &Settings) -> String {
    let mut out = format!("corpus,a,b,{},positive\n", pair_model::FEATURE_NAMES.join(","));
    for c in corpora {
        for (i, j, s) in c.labelled_pairs(settings, false) {
            let features: Vec<String> = s.features.iter().map(f32::to_string).collect();
            let quote = |id: &str| format!("\"{}\"", id.replace('"', "\"\""));
            out += &format!("{},{},{},{},{}\n", c.name, quote(&c.articles[i].id), quote(&c.articles[j].id), features.join(","), u8::from(s.positive));
        }
    }
    out
}
