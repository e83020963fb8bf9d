//! Language of an article: ISO 639-3 code, `None` when unreliable.
//!
//! whatlang scores every candidate language's 300 trigrams against the text,
//! 60-85 µs an article whatever its length: more than all the rest of
//! ingestion. Most scraped news is English, and English prose is easy to
//! recognise from its function words: in English news 25-50% of the words
//! are among the 48 below and "the" is rarely under 1.5%. Texts in other
//! languages share only a few short ones ("a", "in", "is", "on", "was") and
//! almost never "the": of 189,000 pieces (8 to 200 words) of the gettext
//! translations on a Debian system, into 160 languages, 393 had 20% or
//! more of these words, and the four that also had "the" were wholly or
//! largely English left untranslated. Words in other scripts and with
//! accents count as words, so a Korean or Greek text quoting English does
//! not pass on the quote.
//! Texts that fail go to whatlang, as do texts under 15 words. On the ECB+,
//! GVC and GVA dev corpora the fast path takes 93% of the articles and agrees
//! with whatlang on every one that whatlang calls reliable.
//!
//! Headlines are too short for either: whatlang left 1,917 of UCI's 3,052
//! English headlines without a language and called 29 of them French,
//! German or Latin. A short text is English when six in ten of its words
//! are English words (the whole words of BERT's English vocabulary, in
//! `english_words.txt`) or their inflections ("apologizes", "currencies"),
//! names and acronyms aside (unknown words with a capital, "SXSW"), and
//! none is a function word of another language that uses the Latin
//! alphabet ("el", "de", "une", "della": that vocabulary has some of them,
//! and a French headline of cognates can pass the first test) or a
//! lowercase word with an accent ("dirección": English headlines have
//! none). Inline markup ("<em>") is not counted. With it, 10 of UCI's
//! headlines are left without a language (names and slang: "Snowden
//! speaks", "SXSW 2014: Day 3 Recap"). Of 834,869 short strings (3 to 14
//! words) of the gettext translations on a Debian system, into some 190
//! locales other than English, 25,014 pass (many are untranslated English or command
//! syntax), against 47,936 with the vocabulary test alone.

/// How many words are enough for the function-word test.
const MIN_WORDS: usize = 15;
/// How many words it looks at, at most.
const MAX_WORDS: usize = 200;

/// English function words (and "said", the reporting verb of news), up to
/// five letters, lowercase.
const FUNCTION_WORDS: &[&str] = &[
    "the", "of", "and", "to", "a", "in", "is", "was", "that", "for", "on", "with", "as", "by", "at", "he", "it", "from",
    "his", "said", "are", "were", "be", "has", "have", "had", "an", "not", "this", "but", "they", "their", "who",
    "which", "been", "will", "after", "its", "her", "she", "would", "or", "we", "there", "than", "when", "about",
    "into",
];

/// A word of at most eight ASCII letters as one number (its bytes, little
/// endian), so that looking it up is comparing integers.
const fn packed(w: &[u8]) -> u64 {
    let mut x = 0u64;
    let mut i = 0;
    while i < w.len() {
        x |= (w[i] as u64) << (8 * i);
        i += 1;
    }
    x
}

/// [`FUNCTION_WORDS`] packed, sorted for a binary search.
static PACKED_FUNCTION_WORDS: [u64; FUNCTION_WORDS.len()] = {
    let mut t = [0u64; FUNCTION_WORDS.len()];
    let mut i = 0;
    while i < t.len() {
        t[i] = packed(FUNCTION_WORDS[i].as_bytes());
        i += 1;
    }
    // Insertion sort (const context).
    let mut i = 1;
    while i < t.len() {
        let mut j = i;
        while j > 0 && t[j - 1] > t[j] {
            let x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
            j -= 1;
        }
        i += 1;
    }
    t
};

const THE: u64 = packed(b"the");

/// A word of at most five ASCII letters, lowercased and packed (all five
/// letters at once: an ASCII letter's lowercase has bit 0x20 set).
fn packed_lowercase(w: &[u8]) -> u64 {
    packed(w) | packed(&[0x20; 5][..w.len()])
}

fn is_function_word(packed_lowercase: u64) -> bool {
    PACKED_FUNCTION_WORDS.binary_search(&packed_lowercase).is_ok()
}

/// True when `word` is one of the English function words (any case).
pub(crate) fn is_function(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() <= 5 && b.iter().all(u8::is_ascii_alphabetic) && is_function_word(packed_lowercase(b))
}

/// True when `text` is plainly English prose: at least 20% function words
/// and at least 1.5% "the" among its first words.
fn plainly_english(text: &str) -> bool {
    let passes = |words: usize, function: usize, the: usize| words >= MIN_WORDS && function * 5 >= words && the * 1000 >= words * 15;
    let (mut words, mut function, mut the) = (0usize, 0usize, 0usize);
    for w in words_for_english(text.as_bytes()) {
        words += 1;
        if w.len() <= 5 && w.is_ascii() {
            let lower = packed_lowercase(w);
            if is_function_word(lower) {
                function += 1;
                the += usize::from(lower == THE);
            }
        }
        // Counts that pass at MAX_WORDS words pass at any count from here
        // on (news English gets there some 130 words in).
        if words == MAX_WORDS || words >= MIN_WORDS && passes(MAX_WORDS, function, the) {
            break;
        }
    }
    passes(words, function, the)
}

/// The words of `text` for the function-word test: runs of ASCII letters
/// and non-ASCII characters (letters of other alphabets and scripts, and
/// accented ones), split by ASCII non-letters and by the general
/// punctuation block (U+2000-U+206F: curly quotes, dashes, ellipsis), which
/// English news uses between words.
fn words_for_english(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut i = 0;
    std::iter::from_fn(move || {
        // The length of the separator at `j`, 0 when a word byte is there.
        let separator = |j: usize| match bytes[j] {
            b if b.is_ascii_alphabetic() => 0,
            b if b.is_ascii() => 1,
            0xE2 if matches!(bytes.get(j + 1), Some(0x80 | 0x81)) => 3,
            _ => 0,
        };
        while i < bytes.len() {
            let skip = separator(i);
            if skip == 0 {
                break;
            }
            i += skip;
        }
        if i >= bytes.len() {
            return None;
        }
        let start = i;
        while i < bytes.len() && separator(i) == 0 {
            i += 1;
        }
        Some(&bytes[start..i])
    })
}

/// The whole-word entries of BERT's English vocabulary, sorted.
static ENGLISH_WORDS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    let mut v: Vec<&str> = include_str!("english_words.txt").lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect();
    v.sort_unstable();
    v
});

/// Function words of other languages in the Latin alphabet (Spanish,
/// French, Portuguese, Italian, German, Dutch) that are not English words
/// ("per", "do", "den", "com" and the like are left out: English has them).
const FOREIGN_FUNCTION_WORDS: &[&str] = &[
    "el", "la", "los", "las", "de", "del", "des", "en", "et", "y", "una", "uno", "por", "para", "su", "sus", "lo", "como", "pero", "más", "le", "les", "du", "un",
    "une", "est", "dans", "pour", "sur", "avec", "au", "aux", "qui", "que", "leur", "da", "das", "uma", "em", "na", "nos", "nas", "não",
    "il", "gli", "della", "dei", "delle", "di", "che", "nel", "nella", "sono", "der", "und", "ist", "nicht", "mit", "dem", "ein",
    "eine", "einen", "auf", "für", "von", "zu", "sich", "auch", "het", "een", "niet", "voor", "zijn",
];

/// True when a short text (a headline) is English: six in ten of its
/// words (at least two) are English words or their inflections, none is
/// another language's function word or a lowercase accented word English
/// does not have ("dirección", "échec"), and words that are neither but
/// start with a capital (names: "Yellen", "MtGox") or are acronyms ("EM",
/// "SXSW") are left out of the count. Inline markup ("<em>") is not text.
fn short_english(text: &str) -> bool {
    let text = without_tags(text);
    let all_caps = !text.chars().any(char::is_lowercase);
    let (mut words, mut known) = (0usize, 0usize);
    for (k, w) in words_for_english(text.as_bytes()).take(60).enumerate() {
        let Ok(w) = std::str::from_utf8(w) else { continue };
        if w.chars().count() < 2 && !w.eq_ignore_ascii_case("a") {
            continue;
        }
        let lower = w.to_lowercase();
        let acronym = !all_caps && w.len() >= 2 && w.chars().all(char::is_uppercase);
        // Lowercase, first or in capitals: "El", "Der" open a sentence;
        // "Des Moines" is a name.
        if !acronym && (lower == w || k == 0 || all_caps) && FOREIGN_FUNCTION_WORDS.contains(&lower.as_str()) {
            return false;
        }
        let english = is_function(&lower) || english_word(&lower);
        if !english && (acronym || w.chars().next().is_some_and(char::is_uppercase)) {
            continue;
        }
        if !w.is_ascii() && (lower == w || all_caps) {
            return false;
        }
        words += 1;
        known += usize::from(english);
    }
    known >= 2 && known * 10 >= words * 6
}

/// True when the lowercase `word` or its stem ("apologizes", "currencies",
/// "boxes", "slumped", "rowers", "firmer": four letters or more) is an
/// English word. "-es" is a plural after a hiss or an "o" only, as in
/// English: "errores" is no "error".
fn english_word(word: &str) -> bool {
    let known = |w: &str| ENGLISH_WORDS.binary_search(&w).is_ok();
    if known(word) {
        return true;
    }
    let stems = [("ies", "y"), ("s", ""), ("es", ""), ("ed", ""), ("d", ""), ("ing", ""), ("ing", "e"), ("er", ""), ("r", ""), ("est", "")];
    word.is_ascii()
        && stems.iter().any(|&(suffix, end)| {
            word.strip_suffix(suffix).is_some_and(|stem| {
                let hiss = ["s", "x", "z", "ch", "sh", "o"].iter().any(|e| stem.ends_with(e));
                stem.len() + end.len() >= 4 && (suffix != "es" || hiss) && known(&format!("{stem}{end}"))
            })
        })
}

/// `text` with inline markup tags (`<em>`, `</a>`, `<br/>`) turned into spaces.
fn without_tags(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('<') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let tag = after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/');
        match after.find('>').filter(|_| tag) {
            Some(close) if !after[..close].contains('<') => {
                out.push(' ');
                rest = &after[close + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.into()
}

/// The article's language, `None` when detection is unreliable.
pub(crate) fn detect_language(text: &str) -> Option<String> {
    if plainly_english(text) || short_english(text) {
        return Some("eng".to_string());
    }
    // whatlang is linear; a few kilobytes decide the language.
    let mut end = text.len().min(1000);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let info = whatlang::detect(&text[..end])?;
    (info.is_reliable() || info.confidence() > 0.5).then(|| info.lang().code().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENGLISH: &str = "The U.S.-led coalition formally ended its combat mission in Iraq on Friday, \
        officials said, and the remaining troops will stay in an advisory role. The decision was \
        announced after months of talks between Baghdad and Washington, which had been under \
        pressure from parties that want all foreign forces to leave the country.";

    #[test]
    fn english_news_takes_the_fast_path() {
        assert!(plainly_english(ENGLISH));
        assert_eq!(detect_language(ENGLISH).as_deref(), Some("eng"));
    }

    #[test]
    fn english_headlines_are_english_and_foreign_ones_are_not() {
        for h in [
            "Fed Yellen hints at earlier rate rise",
            "GM recalls 1.5 million cars over ignition switch",
            "Obama signs new sanctions on Russia",
            // Acronyms, markup and inflections the vocabulary lacks.
            "EM Evening Wrap: Asia Slumped On Weak Exports Data",
            "Five Likely Twists for Tonight's <em>Survivor</em> Finale",
            "Regional currencies steadies as yuan firmer; rupee shines",
        ] {
            assert_eq!(detect_language(h).as_deref(), Some("eng"), "{h}");
        }
        for h in [
            "Un séisme de magnitude 6,8 frappe le nord du Chili",
            "Terremoto de magnitud 6,8 sacude el norte de Chile",
            "Der Mindestlohn steigt in Spanien um acht Prozent",
            "Il governo alza il salario minimo",
            "O governo aumenta o salário mínimo em oito por cento",
            "sube el precio de la gasolina",
            "no hay valor de dirección",
            "Comunicar errores a la oficina",
        ] {
            assert_ne!(detect_language(h).as_deref(), Some("eng"), "{h}");
        }
    }

    #[test]
    fn other_languages_go_to_whatlang() {
        let texts = [
            ("fra", "La coalition menée par les États-Unis a officiellement mis fin à sa mission de combat en Irak vendredi, ont annoncé les responsables, et les soldats qui restent auront un rôle de conseil. La décision a été annoncée après des mois de discussions entre Bagdad et Washington, qui subissait la pression des partis qui veulent le départ de toutes les forces étrangères du pays."),
            ("spa", "La coalición liderada por Estados Unidos puso fin oficialmente a su misión de combate en Irak el viernes, dijeron los funcionarios, y las tropas que quedan tendrán un papel de asesoramiento. La decisión se anunció tras meses de conversaciones entre Bagdad y Washington, que estaba bajo la presión de los partidos que quieren que todas las fuerzas extranjeras abandonen el país."),
            ("deu", "Die von den USA geführte Koalition hat ihren Kampfeinsatz im Irak am Freitag offiziell beendet, sagten Beamte, und die verbleibenden Soldaten werden eine beratende Rolle übernehmen. Die Entscheidung wurde nach monatelangen Gesprächen zwischen Bagdad und Washington bekannt gegeben, das unter dem Druck von Parteien stand, die den Abzug aller ausländischen Truppen aus dem Land fordern."),
            ("nld", "De door de Verenigde Staten geleide coalitie heeft vrijdag haar gevechtsmissie in Irak officieel beëindigd, zeiden functionarissen, en de overgebleven troepen krijgen een adviserende rol. Het besluit werd bekendgemaakt na maanden van overleg tussen Bagdad en Washington, dat onder druk stond van partijen die willen dat alle buitenlandse troepen het land verlaten, en het was een lange weg."),
            ("ita", "La coalizione guidata dagli Stati Uniti ha concluso ufficialmente venerdì la sua missione di combattimento in Iraq, hanno detto i funzionari, e le truppe rimaste avranno un ruolo di consulenza. La decisione è stata annunciata dopo mesi di colloqui tra Baghdad e Washington, che era sotto la pressione dei partiti che vogliono il ritiro di tutte le forze straniere dal paese."),
        ];
        for (code, text) in texts {
            assert!(!plainly_english(text), "{code} taken for English");
            assert_eq!(detect_language(text).as_deref(), Some(code));
        }
    }

    #[test]
    fn inflections_acronyms_and_tags() {
        for w in ["apologizes", "currencies", "boxes", "slumped", "rowers", "firmer", "shines", "reporting"] {
            assert!(english_word(w), "{w}");
        }
        // A stem under four letters is no evidence ("dels", "las").
        for w in ["dels", "errores", "xyzzies"] {
            assert!(!english_word(w), "{w}");
        }
        assert_eq!(without_tags("for <em>Bachelor</em> a<b x=1>b 3 < 4 <3 <>"), "for  Bachelor  a b 3 < 4 <3 <>");
        // All capitals: no word is an acronym, and an accent still counts.
        assert!(!short_english("SUBE EL PRECIO DE LA GASOLINA"));
        assert!(!short_english("PRECIO RÉCORD PARA GASOLINA"));
        assert!(short_english("FED RAISES RATES AGAIN"));
    }

    #[test]
    fn function_words_are_found_in_any_case() {
        for w in FUNCTION_WORDS {
            assert!(is_function(w) && is_function(&w.to_uppercase()), "{w}");
        }
        for w in ["thee", "th", "iraq", "Said", "SAID", "saidx"] {
            assert_eq!(is_function(w), FUNCTION_WORDS.contains(&w.to_lowercase().as_str()), "{w}");
        }
    }

    #[test]
    fn short_texts_go_to_whatlang() {
        assert!(!plainly_english("The mission ended on Friday."));
        assert_eq!(detect_language("").as_deref(), None);
        // Fifteen words are enough.
        assert!(plainly_english("The last American combat troops left the base on Friday, officials said in a statement."));
    }

    #[test]
    fn words_of_other_scripts_count_against_an_english_quote() {
        let quote = "the suspect was taken into custody at the scene and the weapon was found in the car";
        assert!(plainly_english(quote));
        let korean = format!(
            "서울 경찰청은 금요일 발표한 성명에서 \"{quote}\"라고 밝혔으며 사건의 경위와 동기는 아직 조사 중이라고 \
             덧붙였다 경찰은 목격자들의 진술과 주변 감시 카메라 영상을 확보해 분석하고 있으며 추가 피해자는 없는 것으로 \
             파악됐다 주민들은 사건 직후 큰 소리를 들었다고 말했다"
        );
        assert!(!plainly_english(&korean));
    }

    #[test]
    fn curly_quotes_and_dashes_separate_words() {
        let words: Vec<&str> = words_for_english("It’s “the” end—naïve 서울,x…".as_bytes())
            .map(|w| std::str::from_utf8(w).unwrap())
            .collect();
        assert_eq!(words, ["It", "s", "the", "end", "naïve", "서울", "x"]);
    }
}

