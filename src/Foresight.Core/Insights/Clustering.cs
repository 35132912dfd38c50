using System.Runtime.CompilerServices;

namespace Foresight.Core.Insights;

public enum ClusteringMethod
{
    /// <summary>Spherical k-means (cosine) with k-means++ seeding: any number of documents.</summary>
    KMeans,
    /// <summary>Average-linkage agglomerative clustering on cosine distance: deterministic without a seed, up to
    /// <see cref="Clustering.MaxAgglomerativeDocuments"/>.</summary>
    Agglomerative,
}

/// <summary>
/// Everything that decides a clustering, to be stored with its results so a run can be repeated exactly.
/// <see cref="K"/> null means automatic: the k in [<see cref="KMin"/>, <see cref="KMax"/>] with the highest mean
/// silhouette (cosine distance), the smaller k on a tie. The vocabulary limits are those of <see cref="TfIdfOptions"/>.
/// </summary>
public sealed record ClusteringParameters
{
    public ClusteringMethod Method { get; init; } = ClusteringMethod.KMeans;
    public int? K { get; init; }
    public int KMin { get; init; } = 2;
    public int KMax { get; init; } = 12;
    public long Seed { get; init; } = 1;
    /// <summary>Minimum number of documents a term must occur in.</summary>
    public int MinDf { get; init; } = 2;
    /// <summary>Terms in more than this fraction of documents say little about any one topic and are dropped.</summary>
    public double MaxDf { get; init; } = 0.8;
    /// <summary>Vocabulary cap: the most frequent terms.</summary>
    public int MaxFeatures { get; init; } = 20_000;
    /// <summary>k-means: at most this many assignment-update rounds per run.</summary>
    public int MaxIterations { get; init; } = 100;
    /// <summary>k-means: runs from different seedings; the one with the highest total cosine similarity to its centroids is kept.</summary>
    public int Restarts { get; init; } = 3;

    public TfIdfOptions TfIdf => new(MinDf, MaxDf, MaxFeatures);

    internal void Check()
    {
        if (K is < 1) throw new ArgumentOutOfRangeException(nameof(K), "K must be at least 1");
        if (KMin < 2 || KMax < KMin) throw new ArgumentOutOfRangeException(nameof(KMin), "automatic k needs 2 <= KMin <= KMax");
        if (MaxIterations < 1) throw new ArgumentOutOfRangeException(nameof(MaxIterations));
        if (Restarts < 1) throw new ArgumentOutOfRangeException(nameof(Restarts));
    }
}

/// <summary>The mean silhouette of one candidate k; null when undefined (k-means found fewer than 2 clusters).</summary>
public readonly record struct KScore(int K, double? Silhouette);

/// <summary>
/// A clustering: for each document its cluster 0..K-1, or -1 when its vector is zero (no term of the vocabulary, so
/// nothing to place it by). Clusters are numbered by size, largest first (ties: the one whose first document comes
/// first). <see cref="Silhouette"/> is the mean silhouette of the result (null with fewer than 2 clusters or as many
/// clusters as documents); <see cref="Scores"/> lists each k tried when k was automatic. <see cref="Iterations"/> is
/// the number of k-means rounds of the kept run (0 for agglomerative).
/// </summary>
public sealed record ClusteringResult(IReadOnlyList<int> Labels, int K, double? Silhouette, IReadOnlyList<KScore> Scores, int Iterations,
    ClusteringParameters Parameters)
{
    /// <summary>
    /// The parameters with <see cref="ClusteringParameters.K"/> fixed to the k found. Each k is clustered from the
    /// seed afresh, so these give the same labels again without the search (unless k-means left a cluster empty and
    /// fewer clusters were found than asked for).
    /// </summary>
    public ClusteringParameters Effective => Parameters with { K = K };
}

/// <summary>Clusters unit-length (or zero) vectors such as <see cref="TfIdfModel.Vectors"/>; deterministic for a given seed.</summary>
public static class Clustering
{
    /// <summary>Agglomerative clustering keeps all pairwise distances (n² / 2 doubles): 4,000 documents take 64 MB.</summary>
    public const int MaxAgglomerativeDocuments = 4_000;

    public static ClusteringResult Cluster(IReadOnlyList<SparseVector> vectors, ClusteringParameters parameters)
    {
        parameters.Check();
        var live = Enumerable.Range(0, vectors.Count).Where(i => !vectors[i].IsZero).ToArray();
        var points = live.Select(i => vectors[i]).ToArray();
        int n = points.Length;
        if (parameters.Method == ClusteringMethod.Agglomerative && n > MaxAgglomerativeDocuments)
            throw new ArgumentException($"agglomerative clustering takes at most {MaxAgglomerativeDocuments} documents (here {n}); use k-means",
                nameof(vectors));

        int dims = points.Length == 0 ? 0 : points.Max(p => p.Count == 0 ? 0 : p.Idx[^1]) + 1;
        int[] labels;
        int iterations = 0;
        var scores = new List<KScore>();
        Func<int, (int[] Labels, int Iterations)> run;
        if (parameters.Method == ClusteringMethod.KMeans)
            run = k => KMeans.Run(points, dims, k, parameters.Seed, parameters.Restarts, parameters.MaxIterations);
        else
        {
            var merges = AverageLinkage.Merges(points, dims);
            run = k => (AverageLinkage.Cut(n, merges, k), 0);
        }

        if (n == 0) labels = [];
        else if (parameters.K is int fixedK) (labels, iterations) = run(Math.Min(fixedK, n));
        else if (n < 3) (labels, iterations) = run(1); // no k >= 2 whose silhouette is defined
        else
        {
            (int[] Labels, int Iterations, double Score)? best = null;
            for (int k = parameters.KMin; k <= Math.Min(parameters.KMax, n - 1); k++)
            {
                var (l, it) = run(k);
                double? score = Silhouette.Mean(points, dims, l);
                scores.Add(new KScore(k, score));
                double s = score ?? double.NegativeInfinity;
                if (best is null || s > best.Value.Score) best = (l, it, s);
            }
            (labels, iterations) = best is { } b ? (b.Labels, b.Iterations) : run(1);
        }

        labels = Canonical(labels);
        int kFound = labels.Length == 0 ? 0 : labels.Max() + 1;
        var all = new int[vectors.Count];
        Array.Fill(all, -1);
        for (int i = 0; i < n; i++) all[live[i]] = labels[i];
        return new ClusteringResult(all, kFound, Silhouette.Mean(points, dims, labels), scores, iterations, parameters);
    }

    /// <summary>Renumbers clusters by size, largest first, ties by first member; drops empty cluster numbers.</summary>
    internal static int[] Canonical(int[] labels)
    {
        var groups = labels.Select((l, i) => (l, i)).GroupBy(x => x.l)
            .Select(g => (Label: g.Key, Size: g.Count(), First: g.Min(x => x.i)))
            .OrderByDescending(g => g.Size).ThenBy(g => g.First).ToList();
        var map = new Dictionary<int, int>();
        for (int i = 0; i < groups.Count; i++) map[groups[i].Label] = i;
        return labels.Select(l => map[l]).ToArray();
    }
}

/// <summary>
/// Silhouette with cosine distance d(x, y) = 1 - x·y on unit vectors, as scikit-learn's silhouette_score(metric='cosine')
/// and R's cluster::silhouette: for each point, a = its mean distance to the other members of its cluster, b = the
/// smallest mean distance to another cluster's members, s = (b - a) / max(a, b), and s = 0 for a point alone in its
/// cluster; the mean over all points. Computed exactly from cluster sums, since the mean of 1 - x·y over a cluster
/// is 1 - x·(sum of the cluster) / size: O(n k nnz) rather than O(n²).
/// </summary>
public static class Silhouette
{
    /// <summary>The mean silhouette; null unless 2 &lt;= clusters &lt; points. Labels are 0..k-1 (no -1 here).</summary>
    public static double? Mean(IReadOnlyList<SparseVector> points, IReadOnlyList<int> labels)
    {
        int dims = points.Count == 0 ? 0 : points.Max(p => p.Count == 0 ? 0 : p.Idx[^1]) + 1;
        return Mean(points, dims, labels);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double? Mean(IReadOnlyList<SparseVector> points, int dims, IReadOnlyList<int> labels)
    {
        int n = points.Count;
        if (n == 0) return null;
        int k = labels.Max() + 1;
        if (k < 2 || k >= n) return null;
        var size = new int[k];
        foreach (var l in labels) size[l]++;
        // Cluster sums, laid out term-major so one document's terms read k neighbouring values.
        var sums = new double[(long)dims * k];
        for (int i = 0; i < n; i++)
        {
            var p = points[i];
            int l = labels[i];
            for (int j = 0; j < p.Idx.Length; j++) sums[(long)p.Idx[j] * k + l] += p.Val[j];
        }
        var dots = new double[k];
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            int own = labels[i];
            if (size[own] == 1) continue; // s = 0
            var p = points[i];
            Array.Clear(dots);
            double self = 0;
            for (int j = 0; j < p.Idx.Length; j++)
            {
                double v = p.Val[j];
                self += v * v;
                long row = (long)p.Idx[j] * k;
                for (int c = 0; c < k; c++) dots[c] += v * sums[row + c];
            }
            double a = ((size[own] - 1) - (dots[own] - self)) / (size[own] - 1);
            double b = double.PositiveInfinity;
            for (int c = 0; c < k; c++)
                if (c != own && size[c] > 0) b = Math.Min(b, 1 - dots[c] / size[c]);
            double m = Math.Max(a, b);
            total += m > 0 ? (b - a) / m : 0;
        }
        return total / n;
    }
}
