//! Articles in languages the model does not read (the shipped MiniLM reads
//! English): clustered on their words alone, apart from the articles the
//! model reads, and said so. The Arabic and Spanish texts are written here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipeline::{NoProgress, RunOptions, RunReport, Settings, Wait};

mod common;
use common::{model, workspace};

/// (id, title, text): three Arabic and two Spanish reports, each of
/// something else.
const FOREIGN: [(&str, &str, &str); 5] = [
    (
        "ar-withdrawal",
        "التحالف يعلن جدولاً زمنياً لانسحاب قواته القتالية من العراق",
        "أعلن التحالف الدولي يوم الخميس جدولاً زمنياً لانسحاب قواته القتالية من العراق، على أن تبقى فرق للتدريب والمشورة بعد نهاية العام. وقال مسؤولون في بغداد إن القوات العراقية ستتولى حماية القواعد العسكرية بنفسها، وإن الحكومة ترحب بهذه الخطوة.",
    ),
    (
        "ar-floods",
        "فيضانات تغمر مدناً في جنوب البرازيل",
        "غمرت الفيضانات مدناً في جنوب البرازيل بعد أمطار غزيرة استمرت أسبوعاً كاملاً، وأجبرت آلاف العائلات على مغادرة منازلها. وقالت السلطات في ولاية ريو غراندي دو سول إن فرق الإنقاذ تستخدم القوارب للوصول إلى القرى المعزولة وتوزع المياه والغذاء.",
    ),
    (
        "ar-derby",
        "ريال مدريد يفوز على أتلتيكو في الديربي",
        "فاز ريال مدريد على أتلتيكو مدريد بهدفين مقابل هدف واحد في مباراة الديربي مساء السبت، بعد هدف متأخر في الدقيقة الأخيرة من اللقاء. ورفع الفوز الفريق إلى صدارة الدوري الإسباني بفارق ثلاث نقاط عن أقرب منافسيه.",
    ),
    (
        "es-earthquake",
        "Un terremoto de magnitud 6,8 sacude el norte de Chile",
        "Un terremoto de magnitud 6,8 sacudió el martes la costa norte de Chile y dejó sin luz a varios barrios de Antofagasta. La Armada descartó la amenaza de tsunami y no se informó de víctimas, según las autoridades regionales, que revisan los daños en edificios y carreteras.",
    ),
    (
        "es-wage",
        "El Gobierno aprueba una subida del salario mínimo",
        "El Gobierno de España aprobó el martes una subida del salario mínimo del cinco por ciento para el próximo año, tras un acuerdo con los sindicatos. La patronal criticó la medida y advirtió de su efecto sobre el empleo en las pequeñas empresas del comercio y la hostelería.",
    ),
];

/// Another report of the Chilean earthquake: other words, the same names,
/// place and magnitude.
const SAME_EARTHQUAKE: (&str, &str, &str) = (
    "es-earthquake-2",
    "Sismo de 6,8 en Antofagasta: la Armada descarta tsunami",
    "El sismo de magnitud 6,8 que sacudió el martes el norte de Chile obligó a evacuar edificios en Antofagasta, donde varios barrios quedaron sin electricidad durante horas. La Armada de Chile descartó un tsunami tras el terremoto, informaron las autoridades regionales.",
);

fn write_jsonl(dir: &Path, name: &str, arts: &[(&str, &str, &str)]) -> PathBuf {
    let lines: Vec<String> = arts.iter().map(|(id, t, x)| serde_json::json!({"id": id, "title": t, "date": "2024-05-14", "text": x}).to_string()).collect();
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn run(inputs: Vec<PathBuf>, out: &Path) -> RunReport {
    let opts = RunOptions { inputs, out: out.to_path_buf(), model_dir: model(), cache_dir: None, model_threads: 2, wait: Wait::No };
    let report = pipeline::run(&opts, &Settings::default(), &NoProgress).expect("the run succeeds");
    common::verified(out);
    report
}

/// Each article's event, by article id.
fn events(r: &RunReport) -> BTreeMap<String, u32> {
    r.articles.iter().zip(&r.clustering.event).map(|(a, &e)| (a.id.clone(), e)).collect()
}

/// The groups of `ids` (as sets of ids), whatever the event numbers.
fn partition(ev: &BTreeMap<String, u32>, ids: &[String]) -> Vec<Vec<String>> {
    let mut by: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for id in ids {
        by.entry(ev[id]).or_default().push(id.clone());
    }
    let mut groups: Vec<Vec<String>> = by.into_values().collect();
    groups.sort();
    groups
}

#[test]
fn unrelated_foreign_articles_stay_apart_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_jsonl(dir.path(), "foreign.jsonl", &FOREIGN);
    let r = run(vec![input], &dir.path().join("run"));
    let langs: Vec<Option<&str>> = r.articles.iter().map(|a| a.language.as_deref()).collect();
    assert_eq!(langs, [Some("ara"), Some("ara"), Some("ara"), Some("spa"), Some("spa")]);
    assert_eq!(r.clustering.n_events, 5, "five reports of five things: {:?}", r.clustering.event);
    assert_eq!(r.manifest.outside_languages, vec![("ara".to_string(), 3), ("spa".to_string(), 2)]);
    assert_eq!(r.manifest.embed_languages.names(), ["eng"], "the shipped model reads English");
}

#[test]
fn the_samples_events_do_not_change_when_foreign_articles_are_added() {
    let dir = tempfile::tempdir().unwrap();
    let alone = run(vec![workspace().join("data/seeds")], &dir.path().join("alone"));
    let input = write_jsonl(dir.path(), "foreign.jsonl", &FOREIGN);
    let mixed = run(vec![workspace().join("data/seeds"), input], &dir.path().join("mixed"));
    let seeds: Vec<String> = alone.articles.iter().map(|a| a.id.clone()).collect();
    let (a, m) = (events(&alone), events(&mixed));
    assert_eq!(partition(&a, &seeds), partition(&m, &seeds), "the sample's events are the same with or without foreign articles");
    let foreign: Vec<String> = FOREIGN.iter().map(|f| f.0.to_string()).collect();
    let fe: std::collections::BTreeSet<u32> = foreign.iter().map(|id| m[id]).collect();
    assert_eq!(fe.len(), 5, "five foreign events");
    assert!(seeds.iter().all(|s| !fe.contains(&m[s])), "no foreign article joins an English event");
    assert_eq!(mixed.clustering.n_events, alone.clustering.n_events + 5);
}

#[test]
fn same_event_foreign_articles_join_on_names_and_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mut arts = FOREIGN.to_vec();
    arts.push(SAME_EARTHQUAKE);
    let input = write_jsonl(dir.path(), "foreign.jsonl", &arts);
    let r = run(vec![input], &dir.path().join("run"));
    let ev = events(&r);
    assert_eq!(ev["es-earthquake"], ev["es-earthquake-2"], "two reports of one earthquake: {ev:?}");
    assert_eq!(r.clustering.n_events, 5, "{ev:?}");
}

#[test]
fn the_summary_says_which_articles_the_model_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_jsonl(dir.path(), "foreign.jsonl", &FOREIGN);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_storyline"))
        .env("STORYLINE_CACHE", dir.path().join("cache"))
        .env("STORYLINE_MODEL", model())
        .args(["run", "--no-cache", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("5 articles in languages the model does not cover (ara 3, spa 2): clustered on their words only"),
        "{stdout}"
    );
}
