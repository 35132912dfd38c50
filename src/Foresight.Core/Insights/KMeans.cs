using System.Runtime.CompilerServices;

namespace Foresight.Core.Insights;

/// <summary>
/// Spherical k-means (Dhillon and Modha 2001): unit document vectors, each centroid the normalized mean of its members,
/// each document assigned to the centroid of highest cosine similarity (ties: the lower cluster number). Seeded by
/// greedy k-means++ (Arthur and Vassilvitskii 2007; the variant scikit-learn uses) with the cosine distance 1 - x·c.
/// A cluster left empty takes the document least similar to its own centroid. Stops when no assignment changes or
/// after the maximum number of rounds. Of several restarts the run with the highest sum of similarities is kept
/// (the first on a tie). Single-threaded, so the result depends only on the input order and the seed.
/// </summary>
internal static class KMeans
{
    public static (int[] Labels, int Iterations) Run(SparseVector[] points, int dims, int k, long seed, int restarts, int maxIterations)
    {
        int n = points.Length;
        if (k <= 1 || n <= 1) return (new int[n], 0);
        k = Math.Min(k, n);
        var rng = new SeededRandom(seed);
        (int[] Labels, int Iterations, double Objective)? best = null;
        for (int r = 0; r < restarts; r++)
        {
            var result = Once(points, dims, k, rng, maxIterations);
            if (best is null || result.Objective > best.Value.Objective) best = result;
        }
        return (best!.Value.Labels, best.Value.Iterations);
    }

    // The kernels run a few times with long loops: compiled optimized at once instead of through the JIT's slow first tier.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static (int[] Labels, int Iterations, double Objective) Once(SparseVector[] points, int dims, int k, SeededRandom rng, int maxIterations)
    {
        int n = points.Length;
        // Centroids term-major: centroid c's weight for term t at [t * k + c].
        var centroids = new double[(long)dims * k];
        var seeds = Seed(points, dims, k, rng);
        for (int c = 0; c < k; c++)
        {
            var p = points[seeds[c]];
            for (int j = 0; j < p.Idx.Length; j++) centroids[(long)p.Idx[j] * k + c] = p.Val[j];
        }

        var labels = new int[n];
        Array.Fill(labels, -1);
        var sim = new double[n];
        var dots = new double[k];
        int iterations = 0;
        double objective = 0;
        while (true)
        {
            // Assign.
            bool changed = false;
            for (int i = 0; i < n; i++)
            {
                Dots(points[i], centroids, k, dots);
                int arg = 0;
                for (int c = 1; c < k; c++) if (dots[c] > dots[arg]) arg = c;
                sim[i] = dots[arg];
                if (labels[i] != arg) { labels[i] = arg; changed = true; }
            }
            if (!changed || iterations == maxIterations) break;
            iterations++;

            // A cluster left empty takes the document least similar to its centroid (from a cluster that can spare it).
            var size = new int[k];
            foreach (var l in labels) size[l]++;
            for (int c = 0; c < k; c++)
            {
                if (size[c] > 0) continue;
                int far = -1;
                for (int i = 0; i < n; i++)
                    if (size[labels[i]] > 1 && (far < 0 || sim[i] < sim[far])) far = i;
                size[labels[far]]--;
                labels[far] = c;
                size[c] = 1;
                sim[far] = 1;
            }

            // Update: normalized mean of the members.
            Array.Clear(centroids);
            for (int i = 0; i < n; i++)
            {
                var p = points[i];
                int l = labels[i];
                for (int j = 0; j < p.Idx.Length; j++) centroids[(long)p.Idx[j] * k + l] += p.Val[j];
            }
            var norms = new double[k];
            for (long t = 0; t < dims; t++)
                for (int c = 0; c < k; c++) { double v = centroids[t * k + c]; norms[c] += v * v; }
            for (int c = 0; c < k; c++) norms[c] = norms[c] > 0 ? 1 / Math.Sqrt(norms[c]) : 0;
            for (long t = 0; t < dims; t++)
                for (int c = 0; c < k; c++) centroids[t * k + c] *= norms[c];
        }
        foreach (var s in sim) objective += s;
        return (labels, iterations, objective);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Dots(SparseVector p, double[] centroids, int k, double[] dots)
    {
        var d = dots.AsSpan(0, k);
        d.Clear();
        var idx = p.Idx;
        var val = p.Val;
        for (int j = 0; j < idx.Length; j++)
        {
            double v = val[j];
            var row = new ReadOnlySpan<double>(centroids, idx[j] * k, k);
            for (int c = 0; c < row.Length; c++) d[c] += v * row[c];
        }
    }

    /// <summary>
    /// Greedy k-means++ with cosine distance, as scikit-learn's: the first centre is uniform; for each next one,
    /// 2 + ⌊ln k⌋ candidates are drawn with probability proportional to D², the squared distance to the nearest centre
    /// so far, and the candidate leaving the smallest total D² is taken.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int[] Seed(SparseVector[] points, int dims, int k, SeededRandom rng)
    {
        int n = points.Length;
        int trials = 2 + (int)Math.Log(k);
        var chosen = new int[k];
        var d2 = new double[n];        // squared distance to the nearest chosen centre
        var candidate = new double[n]; // the same if a candidate were added
        var bestCandidate = new double[n];
        var dense = new double[dims];

        chosen[0] = rng.NextInt(n);
        SquaredDistances(points, points[chosen[0]], dense, null, d2);
        for (int c = 1; c < k; c++)
        {
            double total = d2.Sum();
            int pick = -1;
            double pickTotal = double.PositiveInfinity;
            for (int t = 0; t < trials; t++)
            {
                int x = total > 0 ? Draw(d2, total, rng) : rng.NextInt(n);
                SquaredDistances(points, points[x], dense, d2, candidate);
                double sum = candidate.Sum();
                if (sum < pickTotal) { pickTotal = sum; pick = x; (bestCandidate, candidate) = (candidate, bestCandidate); }
            }
            chosen[c] = pick;
            Array.Copy(bestCandidate, d2, n);
        }
        return chosen;
    }

    /// <summary>(1 - x·centre)² for each point, or the smaller of that and <paramref name="current"/>.</summary>
    static void SquaredDistances(SparseVector[] points, SparseVector centre, double[] dense, double[]? current, double[] result)
    {
        for (int j = 0; j < centre.Idx.Length; j++) dense[centre.Idx[j]] = centre.Val[j];
        for (int i = 0; i < points.Length; i++)
        {
            double d = Math.Max(0, 1 - points[i].Dot(dense));
            d *= d;
            result[i] = current is null ? d : Math.Min(current[i], d);
        }
        for (int j = 0; j < centre.Idx.Length; j++) dense[centre.Idx[j]] = 0;
    }

    /// <summary>An index drawn with probability proportional to its weight.</summary>
    static int Draw(double[] weights, double total, SeededRandom rng)
    {
        double u = rng.NextDouble() * total, acc = 0;
        int last = -1;
        for (int i = 0; i < weights.Length; i++)
        {
            if (weights[i] <= 0) continue;
            acc += weights[i];
            last = i;
            if (acc > u) return i;
        }
        return last; // rounding at the end of the sum
    }
}
