using System.Runtime.CompilerServices;

namespace Foresight.Core.Insights;

/// <summary>
/// Average-linkage (UPGMA) agglomerative clustering on cosine distance 1 - x·y, as R's hclust(method = "average") and
/// scipy's linkage(method='average'). Built with the nearest-neighbour chain algorithm (O(n²) time, n²/2 distances),
/// with the Lance-Williams update d(k, i∪j) = (|i| d(k,i) + |j| d(k,j)) / (|i| + |j|). Average linkage is reducible,
/// so the chain finds the same merges as the greedy algorithm; sorted by height (stable), they are cut into k clusters
/// by applying the n - k lowest.
/// </summary>
internal static class AverageLinkage
{
    /// <summary>A merge of the clusters holding points A and B at distance Height.</summary>
    internal readonly record struct Merge(int A, int B, double Height);

    /// <summary>The n - 1 merges in ascending order of height.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Merge[] Merges(SparseVector[] points, int dims)
    {
        int n = points.Length;
        if (n < 2) return [];
        // Condensed upper triangle: d(i, j), i < j, at Row(i) + j - i - 1.
        var d = new double[(long)n * (n - 1) / 2];
        var dense = new double[dims];
        for (int i = 0; i < n; i++)
        {
            var p = points[i];
            for (int j = 0; j < p.Idx.Length; j++) dense[p.Idx[j]] = p.Val[j];
            long row = Row(i, n);
            for (int j = i + 1; j < n; j++) d[row + j - i - 1] = Math.Max(0, 1 - points[j].Dot(dense));
            for (int j = 0; j < p.Idx.Length; j++) dense[p.Idx[j]] = 0;
        }

        var size = new int[n];
        Array.Fill(size, 1);
        var active = new bool[n];
        Array.Fill(active, true);
        var merges = new List<Merge>(n - 1);
        var chain = new List<int>();
        int remaining = n;
        while (remaining > 1)
        {
            if (chain.Count == 0) chain.Add(Array.IndexOf(active, true));
            int a = chain[^1];
            int prev = chain.Count >= 2 ? chain[^2] : -1;
            // Nearest active neighbour of a; on a tie the previous chain element wins (needed for the chain to end), then the lower index.
            int b = prev;
            double best = prev >= 0 ? D(d, a, prev, n) : double.PositiveInfinity;
            for (int c = 0; c < n; c++)
            {
                if (!active[c] || c == a) continue;
                double x = D(d, a, c, n);
                if (x < best) { best = x; b = c; }
            }
            if (b != prev)
            {
                chain.Add(b);
                continue;
            }
            // a and b are reciprocal nearest neighbours: merge them; the merged cluster lives in the lower index.
            chain.RemoveRange(chain.Count - 2, 2);
            int keep = Math.Min(a, b), drop = Math.Max(a, b);
            merges.Add(new Merge(keep, drop, best));
            for (int c = 0; c < n; c++)
            {
                if (!active[c] || c == keep || c == drop) continue;
                double x = (size[keep] * D(d, keep, c, n) + size[drop] * D(d, drop, c, n)) / (size[keep] + size[drop]);
                Set(d, keep, c, n, x);
            }
            size[keep] += size[drop];
            active[drop] = false;
            remaining--;
        }
        // Stable sort by height: OrderBy is stable.
        return merges.OrderBy(m => m.Height).ToArray();
    }

    /// <summary>Labels for k clusters: the n - k lowest merges applied.</summary>
    public static int[] Cut(int n, Merge[] merges, int k) => Apply(n, merges, n - Math.Max(1, k));

    /// <summary>Labels when every merge at a distance of at most <paramref name="height"/> is applied (scikit-learn's distance_threshold, inclusive).</summary>
    public static int[] CutAtHeight(int n, Merge[] merges, double height) => Apply(n, merges, merges.Count(m => m.Height <= height));

    static int[] Apply(int n, Merge[] merges, int count)
    {
        var parent = Enumerable.Range(0, n).ToArray();
        int Find(int x) { while (parent[x] != x) x = parent[x] = parent[parent[x]]; return x; }
        for (int m = 0; m < Math.Min(merges.Length, count); m++)
        {
            int ra = Find(merges[m].A), rb = Find(merges[m].B);
            if (ra != rb) parent[Math.Max(ra, rb)] = Math.Min(ra, rb);
        }
        var labels = new int[n];
        var number = new Dictionary<int, int>();
        for (int i = 0; i < n; i++)
        {
            int r = Find(i);
            if (!number.TryGetValue(r, out int l)) number[r] = l = number.Count;
            labels[i] = l;
        }
        return labels;
    }

    static long Row(int i, int n) => (long)i * (2L * n - i - 1) / 2;

    static double D(double[] d, int i, int j, int n) => i < j ? d[Row(i, n) + j - i - 1] : d[Row(j, n) + i - j - 1];

    static void Set(double[] d, int i, int j, int n, double x)
    {
        if (i < j) d[Row(i, n) + j - i - 1] = x; else d[Row(j, n) + i - j - 1] = x;
    }
}
