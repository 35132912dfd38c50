namespace Foresight.Core.Insights;

/// <summary>
/// Spherical k-means (Dhillon and Modha 2001): unit document vectors, each centroid the normalized mean of its members,
/// each document assigned to the centroid of highest cosine similarity (ties: the lower cluster number). Seeded by
/// k-means++ (Arthur and Vassilvitskii 2007) with the cosine distance 1 - x·c: the first centre is a uniformly random
/// document, each next one is drawn with probability proportional to the squared distance to its nearest centre.
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

    static void Dots(SparseVector p, double[] centroids, int k, double[] dots)
    {
        Array.Clear(dots);
        for (int j = 0; j < p.Idx.Length; j++)
        {
            double v = p.Val[j];
            long row = (long)p.Idx[j] * k;
            for (int c = 0; c < k; c++) dots[c] += v * centroids[row + c];
        }
    }

    /// <summary>k-means++ with cosine distance: the documents chosen as first centres.</summary>
    static int[] Seed(SparseVector[] points, int dims, int k, SeededRandom rng)
    {
        int n = points.Length;
        var chosen = new int[k];
        var best = new double[n]; // highest similarity to a chosen centre so far
        Array.Fill(best, double.NegativeInfinity);
        var dense = new double[dims];
        var isChosen = new bool[n];
        chosen[0] = rng.NextInt(n);
        for (int c = 0; ; c++)
        {
            int centre = chosen[c];
            isChosen[centre] = true;
            var q = points[centre];
            for (int j = 0; j < q.Idx.Length; j++) dense[q.Idx[j]] = q.Val[j];
            for (int i = 0; i < n; i++) best[i] = Math.Max(best[i], points[i].Dot(dense));
            for (int j = 0; j < q.Idx.Length; j++) dense[q.Idx[j]] = 0;
            if (c + 1 == k) break;

            double total = 0;
            for (int i = 0; i < n; i++) if (!isChosen[i]) { double d = Math.Max(0, 1 - best[i]); total += d * d; }
            int next = -1;
            if (total > 0)
            {
                double u = rng.NextDouble() * total, acc = 0;
                for (int i = 0; i < n; i++)
                {
                    if (isChosen[i]) continue;
                    double d = Math.Max(0, 1 - best[i]);
                    acc += d * d;
                    if (acc > u) { next = i; break; }
                }
                if (next < 0) for (int i = n - 1; i >= 0; i--) if (!isChosen[i] && best[i] < 1) { next = i; break; } // rounding at the end of the sum
            }
            if (next < 0)
            {
                // Every remaining document coincides with a centre: take any not yet chosen.
                int skip = rng.NextInt(n - c - 1);
                for (int i = 0; i < n; i++) if (!isChosen[i] && skip-- == 0) { next = i; break; }
            }
            chosen[c + 1] = next;
        }
        return chosen;
    }
}
