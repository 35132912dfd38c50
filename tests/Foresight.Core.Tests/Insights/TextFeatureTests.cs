using Foresight.Core.Insights;

namespace Foresight.Core.Tests.Insights;

public class PorterStemmerTests
{
    /// <summary>
    /// The examples of Porter (1980), "An algorithm for suffix stripping", Program 14(3): 130-137, run through the whole
    /// algorithm. The paper lists them per step (relational -> relate in step 2); the full stem goes on through the later
    /// steps (relate -> relat in step 5a), as the comments trace.
    /// </summary>
    [Theory]
    // Step 1a
    [InlineData("caresses", "caress")]
    [InlineData("ponies", "poni")]
    [InlineData("ties", "ti")]
    [InlineData("caress", "caress")]
    [InlineData("cats", "cat")]
    // Step 1b
    [InlineData("feed", "feed")]           // EED needs m > 0 of "f"
    [InlineData("agreed", "agre")]         // agreed -> agree (1b), -> agre (5a: m = 1, not *o)
    [InlineData("plastered", "plaster")]
    [InlineData("bled", "bled")]           // no vowel in "bl"
    [InlineData("motoring", "motor")]
    [InlineData("sing", "sing")]
    [InlineData("conflated", "conflat")]   // conflat -> conflate (AT) -> conflat (5a: m = 2)
    [InlineData("troubled", "troubl")]     // troubl -> trouble (BL) -> troubl (5a)
    [InlineData("sized", "size")]          // siz -> size (IZ); 5a keeps e: m = 1 and *o
    [InlineData("hopping", "hop")]
    [InlineData("tanned", "tan")]
    [InlineData("falling", "fall")]        // double l is kept
    [InlineData("hissing", "hiss")]
    [InlineData("fizzed", "fizz")]
    [InlineData("failing", "fail")]
    [InlineData("filing", "file")]         // m = 1 and *o: add e
    // Step 1c
    [InlineData("happy", "happi")]
    [InlineData("sky", "sky")]
    // Step 2, then the later steps
    [InlineData("relational", "relat")]    // ATIONAL -> ATE, then 5a
    [InlineData("conditional", "condit")]  // TIONAL -> TION, then ION in step 4
    [InlineData("rational", "ration")]     // ATIONAL matches but m("r") = 0, so nothing in step 2; AL in step 4
    [InlineData("valenci", "valenc")]
    [InlineData("hesitanci", "hesit")]
    [InlineData("digitizer", "digit")]
    [InlineData("conformabli", "conform")]
    [InlineData("radicalli", "radic")]
    [InlineData("differentli", "differ")]
    [InlineData("vileli", "vile")]
    [InlineData("analogousli", "analog")]
    [InlineData("vietnamization", "vietnam")]
    [InlineData("predication", "predic")]
    [InlineData("operator", "oper")]
    [InlineData("feudalism", "feudal")]
    [InlineData("decisiveness", "decis")]
    [InlineData("hopefulness", "hope")]
    [InlineData("callousness", "callous")]
    [InlineData("formaliti", "formal")]
    [InlineData("sensitiviti", "sensit")]
    [InlineData("sensibiliti", "sensibl")]
    // Step 3
    [InlineData("triplicate", "triplic")]
    [InlineData("formative", "form")]
    [InlineData("formalize", "formal")]
    [InlineData("electriciti", "electr")]
    [InlineData("electrical", "electr")]
    [InlineData("hopeful", "hope")]
    [InlineData("goodness", "good")]
    // Step 4
    [InlineData("revival", "reviv")]
    [InlineData("allowance", "allow")]
    [InlineData("inference", "infer")]
    [InlineData("airliner", "airlin")]
    [InlineData("gyroscopic", "gyroscop")] // y after a consonant is a vowel: m("gyroscop") = 3
    [InlineData("adjustable", "adjust")]
    [InlineData("defensible", "defens")]
    [InlineData("irritant", "irrit")]
    [InlineData("replacement", "replac")]
    [InlineData("adjustment", "adjust")]
    [InlineData("dependent", "depend")]
    [InlineData("adoption", "adopt")]
    [InlineData("homologou", "homolog")]
    [InlineData("communism", "commun")]
    [InlineData("activate", "activ")]
    [InlineData("angulariti", "angular")]
    [InlineData("homologous", "homolog")]
    [InlineData("effective", "effect")]
    [InlineData("bowdlerize", "bowdler")]
    // Step 5
    [InlineData("probate", "probat")]
    [InlineData("rate", "rate")]
    [InlineData("cease", "ceas")]
    [InlineData("controll", "control")]
    [InlineData("roll", "roll")]
    // The paper's introduction: one stem for a family of words.
    [InlineData("generalizations", "gener")]
    [InlineData("oscillators", "oscil")]
    [InlineData("connect", "connect")]
    [InlineData("connected", "connect")]
    [InlineData("connecting", "connect")]
    [InlineData("connection", "connect")]
    [InlineData("connections", "connect")]
    public void Porter_1980_examples(string word, string stem) => Assert.Equal(stem, PorterStemmer.Stem(word));

    [Fact]
    public void Follows_the_paper_where_the_later_C_version_differs()
    {
        // The paper's step 2 has ABLI -> ABLE and no LOGI -> LOG; Porter's C code has BLI -> BLE and LOGI -> LOG,
        // which would give "possibl" and "archaeolog".
        Assert.Equal("possibli", PorterStemmer.Stem("possibly"));
        Assert.Equal("archaeologi", PorterStemmer.Stem("archaeology"));
    }

    [Theory]
    [InlineData("is", "is")]           // two letters: left alone
    [InlineData("as", "as")]
    [InlineData("5g", "5g")]           // not all a-z: unchanged
    [InlineData("naïve", "naïve")]
    [InlineData("yellow", "yellow")]   // initial y is a consonant
    [InlineData("boys", "boi")]     // 1c: the stem "bo" has a vowel, so its y becomes i
    public void Short_and_other_words(string word, string stem) => Assert.Equal(stem, PorterStemmer.Stem(word));
}

public class TokenizerTests
{
    static List<string> Terms(string text) => new Tokenizer().Tokenize(text).Select(t => t.Term).ToList();

    [Fact]
    public void English_is_lower_cased_stop_words_dropped_and_stemmed()
    {
        Assert.Equal(["lithium", "ion", "batteri", "batteri", "energi", "densiti"],
            Terms("Lithium-ion batteries: the BATTERY's energy density."));
    }

    [Fact]
    public void Tokens_keep_the_word_they_came_from()
    {
        var t = new Tokenizer().Tokenize("Batteries");
        Assert.Equal(new Token("batteri", "batteries"), Assert.Single(t));
    }

    [Fact]
    public void Numbers_single_letters_and_boilerplate_are_dropped()
    {
        Assert.Equal(["5g", "co2", "captur"], Terms("In 2030, a 5G and CO2 capture study using x is proposed."));
    }

    [Fact]
    public void Chinese_runs_become_bigrams_cut_at_stop_words()
    {
        // 的 cuts the run; each piece gives its overlapping bigrams.
        Assert.Equal(["固态", "态电", "电池", "能量", "量密", "密度"], Terms("固态电池的能量密度"));
        // A multi-character stop word is matched before a single one: 我认为 goes whole.
        Assert.Equal(["成本", "本太", "太高"], Terms("我认为成本太高。"));
        // Punctuation ends a run.
        Assert.Equal(["量子", "通信", "卫星"], Terms("量子，通信；卫星"));
    }

    [Fact]
    public void A_single_character_piece_is_kept_as_a_unigram()
    {
        Assert.Equal(["氢"], Terms("氢"));
        Assert.Equal(["氢", "储能"], Terms("氢和储能"));
    }

    [Fact]
    public void Full_width_text_is_folded_to_half_width_and_scripts_split()
    {
        // NFKC: ５Ｇ -> 5G; the Latin run ends where the Chinese one begins.
        Assert.Equal(["5g", "网络", "batteri"], Terms("５Ｇ网络ＢＡＴＴＥＲＩＥＳ"));
    }

    [Fact]
    public void Internal_stop_characters_in_content_words_are_not_listed()
    {
        // 在 and 等 are not stop words, so 存在 and 等离子体 are not cut apart.
        Assert.Equal(["存在", "在等", "等离", "离子", "子体"], Terms("存在等离子体"));
    }

    [Fact]
    public void Nothing_in_nothing_out()
    {
        Assert.Empty(Terms(""));
        Assert.Empty(Terms("the of and, 的 了 。 2024"));
    }
}

public class TfIdfTests
{
    /// <summary>
    /// scikit-learn TfidfVectorizer() defaults (smooth_idf, norm='l2', raw counts) on the stems of
    /// d0 = "battery anode", d1 = "battery cathode battery", d2 = "quantum gate"; vocabulary sorted: anod, batteri, cathod, gate, quantum.
    /// n = 3. idf(df = 1) = ln(4/2) + 1 = 1.6931471805599454; idf(df = 2, batteri) = ln(4/3) + 1 = 1.2876820724517808.
    /// d0 = (1.69315, 1.28768, 0, 0, 0) / sqrt(1.69315² + 1.28768²) = (0.7959605415681652, 0.6053485081062916, 0, 0, 0)
    /// d1 = (0, 2 × 1.28768, 1.69315, 0, 0) / sqrt(2.57536² + 1.69315²) = (0, 0.8355915419449176, 0.5493512310263033, 0, 0)
    /// d2 = (0, 0, 0, 1.69315, 1.69315) / (1.69315 √2) = (0, 0, 0, 0.7071067811865475, 0.7071067811865475)
    /// </summary>
    [Fact]
    public void Matches_scikit_learn_arithmetic()
    {
        var m = TfIdfModel.Fit(["battery anode", "battery cathode battery", "quantum gate"]);
        Assert.Equal(["anod", "batteri", "cathod", "gate", "quantum"], m.Terms);
        Assert.Equal([1, 2, 1, 1, 1], m.DocumentFrequency);
        Near(1.6931471805599454, m.Idf[0]);
        Near(1.2876820724517808, m.Idf[1]);
        Dense([0.7959605415681652, 0.6053485081062916, 0, 0, 0], m.Vectors[0]);
        Dense([0, 0.8355915419449176, 0.5493512310263033, 0, 0], m.Vectors[1]);
        Dense([0, 0, 0, 0.7071067811865475, 0.7071067811865475], m.Vectors[2]);
        // A new text in the same space: "quantum battery" = (0, 1.28768, 0, 0, 1.69315) normalized.
        Dense([0, 0.6053485081062916, 0, 0, 0.7959605415681652], m.Transform("Quantum batteries, again"));
    }

    [Fact]
    public void Min_df_drops_rare_terms_and_can_leave_a_zero_vector()
    {
        var m = TfIdfModel.Fit(["battery anode", "battery cathode battery", "quantum gate"], new TfIdfOptions(MinDf: 2));
        Assert.Equal(["batteri"], m.Terms);
        // One term left: every document with it is (1); idf = ln(4/3) + 1 as before.
        Near(1.2876820724517808, m.Idf[0]);
        Dense([1], m.Vectors[0]);
        Dense([1], m.Vectors[1]);
        Assert.True(m.Vectors[2].IsZero);
    }

    [Fact]
    public void Max_df_drops_terms_in_too_many_documents()
    {
        // batteri is in 2 of 3 documents, more than 0.5 × 3.
        var m = TfIdfModel.Fit(["battery anode", "battery cathode battery", "quantum gate"], new TfIdfOptions(MaxDf: 0.5));
        Assert.Equal(["anod", "cathod", "gate", "quantum"], m.Terms);
        // Exactly at the limit is kept: 2 <= 0.67 × 3.
        Assert.Contains("batteri", TfIdfModel.Fit(["battery anode", "battery cathode battery", "quantum gate"], new TfIdfOptions(MaxDf: 0.67)).Terms);
    }

    [Fact]
    public void Max_features_keeps_the_most_frequent_ties_in_ordinal_order()
    {
        // Totals: batteri 3, the others 1 each; the first of those in ordinal order is anod.
        var m = TfIdfModel.Fit(["battery anode", "battery cathode battery", "quantum gate"], new TfIdfOptions(MaxFeatures: 2));
        Assert.Equal(["anod", "batteri"], m.Terms);
    }

    [Fact]
    public void Display_is_the_most_frequent_word_of_a_stem()
    {
        var m = TfIdfModel.Fit(["battery batteries batteries", "cathodes", "cathode"]);
        Assert.Equal("batteries", m.Display[m.IndexOf("batteri")]);
        // A tie goes to the shorter word.
        Assert.Equal("cathode", m.Display[m.IndexOf("cathod")]);
    }

    [Fact]
    public void Chinese_and_English_share_one_space()
    {
        var m = TfIdfModel.Fit(["固态电池 battery", "固态电池", "quantum"]);
        Assert.Equal(["batteri", "quantum", "固态", "态电", "电池"], m.Terms);
        Assert.True(m.Vectors[0].Dot(m.Vectors[1]) > 0);
        Assert.Equal(0, m.Vectors[1].Dot(m.Vectors[2]));
    }

    [Fact]
    public void Bad_options_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TfIdfModel.Fit(["a b"], new TfIdfOptions(MinDf: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => TfIdfModel.Fit(["a b"], new TfIdfOptions(MaxDf: 1.5)));
        Assert.Throws<ArgumentOutOfRangeException>(() => TfIdfModel.Fit(["a b"], new TfIdfOptions(MaxFeatures: 0)));
    }

    static void Near(double expected, double actual, double tol = 1e-15) =>
        Assert.True(Math.Abs(expected - actual) <= tol, $"expected {expected:R}, got {actual:R}");

    static void Dense(double[] expected, SparseVector v)
    {
        for (int i = 0; i < expected.Length; i++) Near(expected[i], v[i]);
        Assert.Equal(expected.Count(x => x != 0), v.Count);
    }
}
