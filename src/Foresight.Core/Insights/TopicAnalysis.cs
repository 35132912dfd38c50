using Foresight.Core.Statistics;

namespace Foresight.Core.Insights;

/// <summary>A preset field (领域) of the exercise, described in words; clusters unlike every field are flagged.</summary>
public sealed record FieldDescription(string Id, string Text);

/// <summary>
/// How clusters are described, with the thresholds of the flags.
/// </summary>
public sealed record DescriptorOptions
{
    /// <summary>Label terms per cluster.</summary>
    public int LabelTerms { get; init; } = 8;
    /// <summary>Representative records per cluster: those most similar to the centroid.</summary>
    public int RepresentativeRecords { get; init; } = 3;
    /// <summary>Years in the growth window (see <see cref="Growth.AnnualRate"/>).</summary>
    public int GrowthWindowYears { get; init; } = 5;
    /// <summary>Last year of the growth window; null takes the latest year among the records. Pass the last complete year when the data end mid-year.</summary>
    public int? ReferenceYear { get; init; }
    /// <summary>
    /// A cluster is <see cref="TopicCluster.OutsideFields"/> when its centroid's cosine similarity to every field
    /// description is below this. Field texts are short, so a cluster on a field's subject typically scores 0.15-0.5
    /// against it and an unrelated one under 0.05.
    /// </summary>
    public double OutsideFieldsThreshold { get; init; } = 0.08;
    /// <summary>A weak signal is smaller than this quantile (type 7) of the cluster sizes...</summary>
    public double WeakSignalSizeQuantile { get; init; } = 0.25;
    /// <summary>...and grows at least this fast (annual rate; 0.3 = +30 % a year).</summary>
    public double WeakSignalMinGrowth { get; init; } = 0.3;
}

/// <summary>
/// A label term: the term, the word it is shown as, <see cref="Weight"/> its mean TF-IDF weight in the cluster, and
/// <see cref="Distinctiveness"/> the score it was ranked by (see <see cref="TopicCluster"/>; equal to the weight when
/// there was nothing to contrast the cluster with).
/// </summary>
public readonly record struct LabelTerm(string Term, string Display, double Weight)
{
    public double Distinctiveness { get; init; }
}
public readonly record struct YearCount(int Year, int Count);
/// <summary>Records of the cluster that list the country, and their share of the cluster's records that list any country.</summary>
public readonly record struct CountryShare(string Country, int Records, double Share);

/// <summary>
/// One machine-proposed topic: a cluster of records and what describes it.
/// <see cref="Members"/> and <see cref="Representatives"/> are indices into the analysed record list.
/// <see cref="Countries"/> uses whole counting (a record with authors in two countries counts for both), so shares can
/// add up to more than 1; ordered by share, then name.
/// <see cref="LabelTerms"/> are the terms most distinctive of the cluster, shown as words: ranked by
/// w × ln(lift), w the term's mean TF-IDF weight in the cluster and lift its mean share in the cluster's records over
/// its mean share in the other clustered records (smoothed by one pseudo-record at the mean of all), a record's share
/// of a term being taken among its terms of the same script (Chinese, or other). Only terms with lift above 1
/// qualify, so a word used alike in every cluster (技术, development) labels none. The slots are shared between Chinese and Latin-script terms in proportion to
/// the
/// cluster's Chinese and other records (at least one each when both are present), then ordered by that score.
/// With one cluster there is nothing to contrast and terms are ranked by weight.
/// </summary>
public sealed record TopicCluster(
    int Id,
    int Size,
    IReadOnlyList<int> Members,
    IReadOnlyList<LabelTerm> LabelTerms,
    IReadOnlyList<int> Representatives,
    IReadOnlyList<YearCount> RecordsPerYear,
    double? GrowthRate,
    IReadOnlyList<CountryShare> Countries,
    string? NearestField,
    double? NearestFieldSimilarity,
    bool OutsideFields,
    bool WeakSignal);

/// <summary>
/// The result of <see cref="TopicAnalysis.Run"/>: the clustering (labels per record, -1 for records with no vocabulary
/// term), the clusters described, and the figures the flags were judged by.
/// </summary>
public sealed record TopicAnalysisResult(
    ClusteringResult Clustering,
    IReadOnlyList<TopicCluster> Clusters,
    int VocabularySize,
    int? ReferenceYear,
    double? CorpusGrowthRate,
    double? WeakSignalSizeThreshold,
    DescriptorOptions Options);

/// <summary>Literature and patent records in, machine-proposed topics with their evidence out.</summary>
public static class TopicAnalysis
{
    /// <summary>TF-IDF on each record's <see cref="LiteratureRecord.Text"/>, clustering, then <see cref="Describe"/>.</summary>
    public static TopicAnalysisResult Run(IReadOnlyList<LiteratureRecord> records, ClusteringParameters? clustering = null,
        DescriptorOptions? descriptors = null, IReadOnlyList<FieldDescription>? fields = null)
    {
        clustering ??= new ClusteringParameters();
        var model = TfIdfModel.Fit(records.Select(r => r.Text).ToList(), clustering.TfIdf);
        var result = Clustering.Cluster(model.Vectors, clustering);
        return Describe(records, model, result, descriptors, fields);
    }

    /// <summary>Describes the clusters of a clustering of these records, whose vectors are <paramref name="model"/>'s.</summary>
    public static TopicAnalysisResult Describe(IReadOnlyList<LiteratureRecord> records, TfIdfModel model, ClusteringResult clustering,
        DescriptorOptions? options = null, IReadOnlyList<FieldDescription>? fields = null)
    {
        options ??= new DescriptorOptions();
        fields ??= [];
        if (records.Count != model.Vectors.Count || records.Count != clustering.Labels.Count)
            throw new ArgumentException("records, vectors and labels must match one to one");
        int? reference = options.ReferenceYear ?? records.Max(r => r.Year);
        var fieldVectors = fields.Select(f => model.Transform(f.Text)).ToList();

        var members = new List<int>[clustering.K];
        for (int c = 0; c < clustering.K; c++) members[c] = [];
        for (int i = 0; i < records.Count; i++)
            if (clustering.Labels[i] >= 0) members[clustering.Labels[i]].Add(i);

        var growth = new double?[clustering.K];
        if (reference is int refYear)
            for (int c = 0; c < clustering.K; c++)
                growth[c] = Growth.AnnualRate(members[c].Select(i => records[i].Year), refYear, options.GrowthWindowYears);
        double? corpusGrowth = reference is int ry ? Growth.AnnualRate(records.Select(r => r.Year), ry, options.GrowthWindowYears) : null;

        var sizes = members.Select(m => (double)m.Count).Order().ToArray();
        double? sizeThreshold = sizes.Length == 0 ? null : Quantile.Type7(sizes, options.WeakSignalSizeQuantile);

        var background = clustering.K >= 2 ? TermShares.Of(model, members.SelectMany(m => m)) : null;
        var clusters = new List<TopicCluster>();
        for (int c = 0; c < clustering.K; c++)
        {
            var m = members[c];
            var centroid = Centroid(m.Select(i => model.Vectors[i]), model.TermCount);
            var lift = background?.Lift(TermShares.Of(model, m));
            var unit = Unit(centroid);

            var representatives = m.Select(i => (i, Sim: model.Vectors[i].Dot(unit))).OrderByDescending(x => x.Sim).ThenBy(x => x.i)
                .Take(options.RepresentativeRecords).Select(x => x.i).ToList();

            string? nearest = null;
            double? nearestSim = null;
            for (int f = 0; f < fields.Count; f++)
            {
                double s = fieldVectors[f].Dot(unit);
                if (nearestSim is null || s > nearestSim) { nearestSim = s; nearest = fields[f].Id; }
            }
            bool outside = nearestSim is double ns && ns < options.OutsideFieldsThreshold;
            bool weak = sizeThreshold is double st && m.Count < st && growth[c] is double g && g >= options.WeakSignalMinGrowth;

            double chineseShare = m.Count == 0 ? 0 : m.Count(i => IsChinese(records[i])) / (double)m.Count;
            clusters.Add(new TopicCluster(
                c, m.Count, m,
                Labels(model, centroid, options.LabelTerms, chineseShare, lift),
                representatives,
                m.Where(i => records[i].Year is not null).GroupBy(i => records[i].Year!.Value).OrderBy(g => g.Key)
                    .Select(g => new YearCount(g.Key, g.Count())).ToList(),
                growth[c],
                CountryShares(m.Select(i => records[i])),
                nearest, nearestSim, outside, weak));
        }
        return new TopicAnalysisResult(clustering, clusters, model.TermCount, reference, corpusGrowth, sizeThreshold, options);
    }

    /// <summary>Mean of the member vectors, dense.</summary>
    internal static double[] Centroid(IEnumerable<SparseVector> vectors, int dims)
    {
        var sum = new double[dims];
        int n = 0;
        foreach (var v in vectors)
        {
            n++;
            for (int j = 0; j < v.Idx.Length; j++) sum[v.Idx[j]] += v.Val[j];
        }
        if (n > 0) for (int t = 0; t < dims; t++) sum[t] /= n;
        return sum;
    }

    internal static double[] Unit(double[] v)
    {
        double norm = Math.Sqrt(v.Sum(x => x * x));
        return norm == 0 ? v : v.Select(x => x / norm).ToArray();
    }

    /// <summary>Chinese when the language says so, or, without a language, when at least 30 % of its letters are Chinese.</summary>
    internal static bool IsChinese(LiteratureRecord r)
    {
        if (r.Language is not null) return r.Language == "zh";
        return ChineseLetterShare(r.Text) >= 0.3;
    }

    internal static double ChineseLetterShare(string text)
    {
        int cjk = 0, letters = 0;
        foreach (var ch in text)
        {
            if (Tokenizer.IsCjk(ch)) { cjk++; letters++; }
            else if (char.IsLetter(ch)) letters++;
        }
        return letters == 0 ? 0 : cjk / (double)letters;
    }

    /// <summary>
    /// Label terms: those with lift above 1 ranked by centroid weight × ln(lift), or, with no lift (nothing to contrast
    /// with), all terms by centroid weight; split between Chinese and other terms by the given Chinese share.
    /// Weight alone favours words frequent everywhere (技术, 发展, system); the lift alone favours rare words seen in a
    /// few members. Their product is, up to the smoothing, the term's contribution to the Kullback-Leibler
    /// divergence of the cluster from the rest, the usual way to pick words both frequent in a group and peculiar to it.
    /// The lift is taken against the other records, not all, so a word merely more common in the cluster (ratio 2-3)
    /// ranks well below one found nowhere else (ratio of tens to thousands).
    /// </summary>
    internal static List<LabelTerm> Labels(TfIdfModel model, double[] centroid, int count, double chineseShare, double[]? lift = null)
    {
        var score = new double[centroid.Length];
        for (int t = 0; t < centroid.Length; t++)
            score[t] = lift is null ? centroid[t] : centroid[t] > 0 && lift[t] > 1 ? centroid[t] * Math.Log(lift[t]) : 0;
        var ranked = Enumerable.Range(0, centroid.Length).Where(t => score[t] > 0)
            .OrderByDescending(t => score[t]).ThenBy(t => model.Terms[t], StringComparer.Ordinal).ToList();
        var zh = ranked.Where(t => Tokenizer.IsCjk(model.Terms[t][0])).ToList();
        var other = ranked.Where(t => !Tokenizer.IsCjk(model.Terms[t][0])).ToList();
        int zhSlots = (int)Math.Round(count * chineseShare, MidpointRounding.AwayFromZero);
        if (chineseShare > 0 && zh.Count > 0) zhSlots = Math.Max(zhSlots, 1);
        if (chineseShare < 1 && other.Count > 0 && count > 1) zhSlots = Math.Min(zhSlots, count - 1);
        zhSlots = Math.Min(zhSlots, zh.Count);
        int otherSlots = Math.Min(count - zhSlots, other.Count);
        zhSlots = Math.Min(count - otherSlots, zh.Count); // Chinese terms fill what other terms cannot
        return zh.Take(zhSlots).Concat(other.Take(otherSlots))
            .OrderByDescending(t => score[t]).ThenBy(t => model.Terms[t], StringComparer.Ordinal)
            .Select(t => new LabelTerm(model.Terms[t], model.Display[t], centroid[t]) { Distinctiveness = score[t] }).ToList();
    }

    internal static List<CountryShare> CountryShares(IEnumerable<LiteratureRecord> records)
    {
        int withCountry = 0;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var r in records)
        {
            if (r.Countries.Count == 0) continue;
            withCountry++;
            foreach (var c in r.Countries.Distinct()) counts[c] = counts.GetValueOrDefault(c) + 1;
        }
        return counts.Select(kv => new CountryShare(kv.Key, kv.Value, kv.Value / (double)withCountry))
            .OrderByDescending(s => s.Records).ThenBy(s => s.Country, StringComparer.Ordinal).ToList();
    }
}

/// <summary>
/// How much of a set of records' text each term makes up, within its script. A record's share of a term is the
/// term's count over the count of all vocabulary terms of the same script (Chinese, or other) in the record; the
/// shares are summed over the records, and the records that have any term of each script are counted.
/// Shares within a script, not TF-IDF weights, because a Chinese title over an English abstract (as in CNKI records)
/// gives its Chinese terms small normalized weights: compared by weight, every generic Chinese word would look
/// peculiar to the clusters of all-Chinese records, and compared over all records, to the clusters with more Chinese.
/// </summary>
internal sealed class TermShares
{
    readonly double[] sums;
    readonly int records, chineseRecords, otherRecords;
    readonly bool[] chinese;

    TermShares(double[] sums, int records, int chineseRecords, int otherRecords, bool[] chinese)
    {
        this.sums = sums; this.records = records; this.chineseRecords = chineseRecords; this.otherRecords = otherRecords; this.chinese = chinese;
    }

    public static TermShares Of(TfIdfModel model, IEnumerable<int> records) =>
        Of(model, records.Select(i => model.Vectors[i]));

    public static TermShares Of(TfIdfModel model, IEnumerable<SparseVector> vectors)
    {
        var chinese = model.Terms.Select(t => Tokenizer.IsCjk(t[0])).ToArray();
        var sums = new double[model.TermCount];
        int records = 0, zhRecords = 0, otherRecords = 0;
        foreach (var v in vectors)
        {
            records++;
            // Counts up to the record's norm, which cancels in the shares: tf = weight / idf × norm.
            double zh = 0, other = 0;
            for (int j = 0; j < v.Idx.Length; j++)
            {
                double tf = v.Val[j] / model.Idf[v.Idx[j]];
                if (chinese[v.Idx[j]]) zh += tf; else other += tf;
            }
            if (zh > 0) zhRecords++;
            if (other > 0) otherRecords++;
            for (int j = 0; j < v.Idx.Length; j++)
                sums[v.Idx[j]] += v.Val[j] / model.Idf[v.Idx[j]] / (chinese[v.Idx[j]] ? zh : other);
        }
        return new TermShares(sums, records, zhRecords, otherRecords, chinese);
    }

    /// <summary>
    /// For each term, its mean share in <paramref name="part"/> (a subset of these records) over its mean share in the
    /// rest; 0 where the part lacks it. The rest's mean is smoothed with one pseudo-record holding the term's mean over
    /// all records of either script (an informative prior, as in Monroe, Colaresi and Quinn's weighted log-odds), so a
    /// term found only in the part gets a large but finite ratio. When the part holds every record of the term's
    /// script (the only Chinese argument among English ones) the ratio is the same for all its terms, which are then
    /// ranked by weight; with no records outside the part at all it is 1.
    /// </summary>
    public double[] Lift(TermShares part)
    {
        var lift = new double[sums.Length];
        for (int t = 0; t < sums.Length; t++)
        {
            if (part.sums[t] <= 0) continue;
            int all = chinese[t] ? chineseRecords : otherRecords, inPart = chinese[t] ? part.chineseRecords : part.otherRecords;
            double prior = sums[t] / records;
            double rest = (Math.Max(0, sums[t] - part.sums[t]) + prior) / (all - inPart + 1);
            lift[t] = part.sums[t] / inPart / rest;
        }
        return lift;
    }
}
