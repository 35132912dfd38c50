namespace Foresight.Core.Insights;

/// <summary>An expert's rationale for one topic, under an anonymous id.</summary>
public sealed record Rationale(string Id, string Text);

/// <summary>A group of rationales making the same argument, with its label terms and 1-3 quotes (the rationales closest to its centroid).</summary>
public sealed record ArgumentCluster(int Id, IReadOnlyList<string> MemberIds, IReadOnlyList<LabelTerm> LabelTerms, IReadOnlyList<Rationale> Quotes);

/// <summary>
/// The argument clusters of one topic's rationales, largest first (ties: the one whose first rationale comes first).
/// <see cref="Unclustered"/> lists rationales with no usable term (empty, or only stop words and punctuation).
/// <see cref="Silhouette"/> is the mean silhouette of the rationales that share terms (null when undefined), for
/// information; <see cref="Parameters"/> records the method, vocabulary limits and the k found.
/// </summary>
public sealed record ArgumentClustering(
    IReadOnlyList<ArgumentCluster> Clusters, IReadOnlyList<string> Unclustered, ClusteringParameters Parameters, ArgumentOptions Options, double? Silhouette);

/// <summary>Options for <see cref="ArgumentClusters.Group"/>.</summary>
public sealed record ArgumentOptions
{
    /// <summary>
    /// Groups of rationales are merged while their average cosine similarity, on the terms rationales share, is at
    /// least this (average linkage cut at distance 1 - MinSimilarity). Rationales of one argument typically score
    /// 0.6-1 and different arguments under 0.1.
    /// </summary>
    public double MinSimilarity { get; init; } = 0.3;
    /// <summary>Quotes per cluster (at most this, at least 1).</summary>
    public int Quotes { get; init; } = 3;
    public int LabelTerms { get; init; } = 5;
    /// <summary>
    /// Compare rationales with the words of <see cref="RationaleConcepts.All"/> replaced by their concept, so that
    /// "cost" and "成本" count as the same term. Labels and quotes still use the words as written.
    /// </summary>
    public bool BilingualConcepts { get; init; } = true;
}

/// <summary>
/// Groups the rationales given for one topic into argument clusters, with the topics' machinery (TF-IDF, cosine,
/// average linkage) tuned for a few short texts:
/// <list type="number">
/// <item>Rationales with no term at all are set apart as unclustered.</item>
/// <item>Rationales are compared on the terms at least two of them use (TF-IDF with min_df 2, max_df 1.0). In texts
/// of one or two sentences most words occur once, and comparing on all of them drowns the shared words that carry an
/// argument ("cost", "安全", "人才"). A rationale sharing no term with any other is an argument of its own.</item>
/// <item>The others are clustered by average linkage and the tree is cut where the groups' average similarity falls
/// below <see cref="ArgumentOptions.MinSimilarity"/>. The number of clusters follows from the cut, including one
/// cluster when all rationales make the same argument, which a silhouette criterion cannot choose.</item>
/// <item>Label terms and quotes come from TF-IDF over all terms (min_df 1): the quotes are the rationales most similar
/// to the cluster's centroid, so a rationale that mostly talks about something else is quoted last.</item>
/// </list>
/// No rationale gives no cluster; one gives one cluster; two form one cluster when they share a term.
/// Chinese and English rationales are tokenized alike, and nothing is translated: the same argument made in two
/// languages shares only the words of the small bilingual list <see cref="RationaleConcepts"/> (cost/成本,
/// safety/安全, ...), which the comparison treats as one term each. An argument put in words outside that list lands
/// in one cluster per language. At most <see cref="Clustering.MaxAgglomerativeDocuments"/> rationales.
/// </summary>
public static class ArgumentClusters
{
    public static ArgumentClustering Group(IReadOnlyList<Rationale> rationales, ArgumentOptions? options = null)
    {
        options ??= new ArgumentOptions();
        if (rationales.Count > Clustering.MaxAgglomerativeDocuments)
            throw new ArgumentException($"at most {Clustering.MaxAgglomerativeDocuments} rationales", nameof(rationales));
        var parameters = new ClusteringParameters { Method = ClusteringMethod.Agglomerative, MinDf = 2, MaxDf = 1.0 };

        var all = TfIdfModel.Fit(rationales.Select(r => r.Text).ToList(), new TfIdfOptions(MinDf: 1));
        var live = Enumerable.Range(0, rationales.Count).Where(i => !all.Vectors[i].IsZero).ToList();
        var unclustered = Enumerable.Range(0, rationales.Count).Where(i => all.Vectors[i].IsZero).Select(i => rationales[i].Id).ToList();

        var shared = TfIdfModel.Fit(live.Select(i => rationales[i].Text).ToList(), parameters.TfIdf,
            options.BilingualConcepts ? RationaleConcepts.Rewrite : null);
        var sharing = Enumerable.Range(0, live.Count).Where(j => !shared.Vectors[j].IsZero).ToList();
        var points = sharing.Select(j => shared.Vectors[j]).ToArray();
        var labels = AverageLinkage.CutAtHeight(points.Length, AverageLinkage.Merges(points, shared.TermCount), 1 - options.MinSimilarity);
        double? silhouette = points.Length == 0 ? null : Silhouette.Mean(points, labels);

        // Groups as lists of indices into rationales: the clusters, then each lone rationale.
        var groups = new Dictionary<int, List<int>>();
        for (int j = 0; j < sharing.Count; j++)
        {
            if (!groups.TryGetValue(labels[j], out var g)) groups[labels[j]] = g = [];
            g.Add(live[sharing[j]]);
        }
        var ordered = groups.Values
            .Concat(Enumerable.Range(0, live.Count).Where(j => shared.Vectors[j].IsZero).Select(j => new List<int> { live[j] }))
            .Select(g => g.Order().ToList())
            .OrderByDescending(g => g.Count).ThenBy(g => g[0]).ToList();

        // Labels contrast each argument with all rationales of the topic, so a word every expert uses (the topic's own
        // name, 技术) labels none; a single argument has nothing to contrast with.
        var background = ordered.Count >= 2 ? TermShares.Of(all, live) : null;
        var clusters = new List<ArgumentCluster>();
        foreach (var members in ordered)
        {
            var centroid = TopicAnalysis.Centroid(members.Select(i => all.Vectors[i]), all.TermCount);
            var unit = TopicAnalysis.Unit(centroid);
            var quotes = members.Select(i => (i, Sim: all.Vectors[i].Dot(unit))).OrderByDescending(x => x.Sim).ThenBy(x => x.i)
                .Take(Math.Max(1, options.Quotes)).Select(x => rationales[x.i]).ToList();
            double chineseShare = members.Count(i => TopicAnalysis.ChineseLetterShare(rationales[i].Text) >= 0.3) / (double)members.Count;
            clusters.Add(new ArgumentCluster(clusters.Count, members.Select(i => rationales[i].Id).ToList(),
                TopicAnalysis.Labels(all, centroid, options.LabelTerms, chineseShare, background?.Lift(TermShares.Of(all, members))), quotes));
        }
        return new ArgumentClustering(clusters, unclustered, parameters with { K = clusters.Count }, options, silhouette);
    }
}
