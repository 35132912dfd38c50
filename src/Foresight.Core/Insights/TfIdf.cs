namespace Foresight.Core.Insights;

/// <summary>
/// Vocabulary limits, as scikit-learn's TfidfVectorizer: a term is kept when it occurs in at least <see cref="MinDf"/>
/// documents and in at most <see cref="MaxDf"/> × n of them (min_df as a count, max_df as a fraction); of those, the
/// <see cref="MaxFeatures"/> with the highest total count are kept (ties: the term first in ordinal order).
/// The defaults are scikit-learn's (min_df 1, max_df 1.0, no cap).
/// </summary>
public sealed record TfIdfOptions(int MinDf = 1, double MaxDf = 1.0, int? MaxFeatures = null);

/// <summary>
/// A fitted TF-IDF space, computed as scikit-learn's TfidfVectorizer with its defaults (norm='l2', use_idf=True,
/// smooth_idf=True, sublinear_tf=False) on the terms of <see cref="Tokenizer"/>:
/// tf is the raw count of the term in the document; idf = ln((1 + n) / (1 + df)) + 1 with n documents and df the
/// number containing the term; each document vector tf × idf is divided by its Euclidean norm. A document with no
/// term of the vocabulary is the zero vector. Terms are numbered in ordinal (code point) order, as scikit-learn sorts
/// its feature names.
/// </summary>
public sealed class TfIdfModel
{
    readonly Dictionary<string, int> index;
    readonly string[] terms, display;
    readonly double[] idf;
    readonly int[] df;

    TfIdfModel(string[] terms, string[] display, double[] idf, int[] df, IReadOnlyList<SparseVector> vectors, TfIdfOptions options)
    {
        this.terms = terms; this.display = display; this.idf = idf; this.df = df;
        Vectors = vectors;
        Options = options;
        index = new Dictionary<string, int>(terms.Length, StringComparer.Ordinal);
        for (int i = 0; i < terms.Length; i++) index[terms[i]] = i;
    }

    /// <summary>The vocabulary, in term-index order.</summary>
    public IReadOnlyList<string> Terms => terms;
    /// <summary>For each term, the word most often seen for it ("batteries" for batteri; ties: the shorter, then ordinal order).</summary>
    public IReadOnlyList<string> Display => display;
    public IReadOnlyList<double> Idf => idf;
    /// <summary>For each term, the number of fitted documents that contain it.</summary>
    public IReadOnlyList<int> DocumentFrequency => df;
    /// <summary>The vectors of the fitted documents, in their order.</summary>
    public IReadOnlyList<SparseVector> Vectors { get; }
    public TfIdfOptions Options { get; }
    public int TermCount => terms.Length;

    /// <summary>The index of a term, or -1.</summary>
    public int IndexOf(string term) => index.TryGetValue(term, out int i) ? i : -1;

    /// <summary>Fits the vocabulary and idf on the documents and returns their vectors with the model.</summary>
    public static TfIdfModel Fit(IReadOnlyList<string> documents, TfIdfOptions? options = null) => Fit(documents, options, null);

    /// <summary>As <see cref="Fit(IReadOnlyList{string}, TfIdfOptions?)"/>, with each document's tokens rewritten (in place) before counting.</summary>
    internal static TfIdfModel Fit(IReadOnlyList<string> documents, TfIdfOptions? options, Action<List<Token>>? rewrite)
    {
        options ??= new TfIdfOptions();
        if (options.MinDf < 1) throw new ArgumentOutOfRangeException(nameof(options), "MinDf must be at least 1");
        if (options.MaxDf is <= 0 or > 1 || double.IsNaN(options.MaxDf)) throw new ArgumentOutOfRangeException(nameof(options), "MaxDf must be in (0, 1]");
        if (options.MaxFeatures is < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxFeatures must be at least 1");

        var tokenizer = new Tokenizer();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new List<string>();
        var docFreq = new List<int>();
        var totals = new List<long>();
        var surfaces = new Dictionary<string, (int Term, int Count)>(StringComparer.Ordinal);
        var docs = new (int[] Terms, int[] Counts)[documents.Count];
        var tokens = new List<Token>();
        var counts = new Dictionary<int, int>();
        for (int d = 0; d < documents.Count; d++)
        {
            tokens.Clear();
            tokenizer.Tokenize(documents[d] ?? "", tokens);
            rewrite?.Invoke(tokens);
            counts.Clear();
            foreach (var t in tokens)
            {
                if (!ids.TryGetValue(t.Term, out int id))
                {
                    id = names.Count;
                    ids[t.Term] = id;
                    names.Add(t.Term); docFreq.Add(0); totals.Add(0);
                }
                counts[id] = counts.GetValueOrDefault(id) + 1;
                totals[id]++;
                surfaces[t.Surface] = surfaces.TryGetValue(t.Surface, out var s) ? (id, s.Count + 1) : (id, 1);
            }
            foreach (var id in counts.Keys) docFreq[id]++;
            docs[d] = (counts.Keys.ToArray(), counts.Values.ToArray());
        }

        // Vocabulary: document-frequency limits, then the cap by total count.
        int n = documents.Count;
        double maxDocs = options.MaxDf * n;
        var kept = Enumerable.Range(0, names.Count).Where(i => docFreq[i] >= options.MinDf && docFreq[i] <= maxDocs).ToList();
        if (options.MaxFeatures is int cap && kept.Count > cap)
            kept = kept.OrderByDescending(i => totals[i]).ThenBy(i => names[i], StringComparer.Ordinal).Take(cap).ToList();
        kept.Sort((a, b) => string.CompareOrdinal(names[a], names[b]));

        var newId = new int[names.Count];
        Array.Fill(newId, -1);
        for (int i = 0; i < kept.Count; i++) newId[kept[i]] = i;
        var terms = kept.Select(i => names[i]).ToArray();
        var df = kept.Select(i => docFreq[i]).ToArray();
        var idf = df.Select(f => Math.Log((1.0 + n) / (1.0 + f)) + 1.0).ToArray();

        var best = new (string Surface, int Count)[kept.Count];
        foreach (var (surface, (term, count)) in surfaces)
        {
            int t = newId[term];
            if (t < 0) continue;
            var b = best[t];
            if (b.Surface is null || count > b.Count || count == b.Count && (surface.Length < b.Surface.Length ||
                surface.Length == b.Surface.Length && string.CompareOrdinal(surface, b.Surface) < 0))
                best[t] = (surface, count);
        }
        var display = best.Select((b, i) => b.Surface ?? terms[i]).ToArray();

        var vectors = new SparseVector[n];
        for (int d = 0; d < n; d++)
        {
            var (dt, dc) = docs[d];
            var pairs = new List<(int Term, double Weight)>(dt.Length);
            for (int j = 0; j < dt.Length; j++)
            {
                int t = newId[dt[j]];
                if (t >= 0) pairs.Add((t, dc[j] * idf[t]));
            }
            vectors[d] = Normalized(pairs);
        }
        return new TfIdfModel(terms, display, idf, df, vectors, options);
    }

    /// <summary>The vector of a new text in this space (terms outside the vocabulary are ignored).</summary>
    public SparseVector Transform(string text)
    {
        var counts = new Dictionary<int, int>();
        foreach (var t in new Tokenizer().Tokenize(text))
            if (index.TryGetValue(t.Term, out int i)) counts[i] = counts.GetValueOrDefault(i) + 1;
        return Normalized(counts.Select(kv => (kv.Key, kv.Value * idf[kv.Key])).ToList());
    }

    /// <summary>Sorted by term and divided by the Euclidean norm; the zero vector when empty.</summary>
    internal static SparseVector Normalized(List<(int Term, double Weight)> pairs)
    {
        if (pairs.Count == 0) return SparseVector.Empty;
        pairs.Sort((a, b) => a.Term.CompareTo(b.Term));
        double norm = 0;
        foreach (var p in pairs) norm += p.Weight * p.Weight;
        norm = Math.Sqrt(norm);
        var idx = new int[pairs.Count];
        var val = new double[pairs.Count];
        for (int i = 0; i < pairs.Count; i++) { idx[i] = pairs[i].Term; val[i] = pairs[i].Weight / norm; }
        return new SparseVector(idx, val);
    }
}
