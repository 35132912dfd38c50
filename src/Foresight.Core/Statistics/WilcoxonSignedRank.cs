using MathNet.Numerics.Distributions;

namespace Foresight.Core.Statistics;

/// <param name="NNonZero">pairs left after dropping zero differences</param>
/// <param name="V">sum of the ranks of the positive differences</param>
/// <param name="P">two-sided p-value; null when every difference is zero</param>
public sealed record WilcoxonResult(int NNonZero, double V, double? P);

/// <summary>
/// Wilcoxon signed-rank test for paired samples with the normal approximation and continuity
/// correction, as R's wilcox.test(x, y, paired = TRUE, exact = FALSE, correct = TRUE):
/// d = x - y; zero differences dropped; mid-ranks of |d|; V = sum of ranks where d &gt; 0;
/// z = (V - n(n+1)/4 - sign * 0.5) / sqrt(n(n+1)(2n+1)/24 - sum(t^3 - t)/48); p = 2 min(Phi(z), 1 - Phi(z)).
/// </summary>
public static class WilcoxonSignedRank
{
    /// <returns>null when there are no pairs at all</returns>
    public static WilcoxonResult? Paired(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (x.Length != y.Length) throw new ArgumentException("x and y must have the same length");
        if (x.Length == 0) return null;
        var d = new List<double>(x.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double diff = x[i] - y[i];
            if (!Tolerance.Equal(diff, 0)) d.Add(diff);
        }
        int n = d.Count;
        if (n == 0) return new WilcoxonResult(0, 0, null);

        var abs = d.Select(Math.Abs).ToArray();
        var (ranks, tieSum) = Ranks.MidRanks(abs);
        double v = 0;
        for (int i = 0; i < n; i++) if (d[i] > 0) v += ranks[i];

        double z = v - n * (n + 1) / 4.0;
        double sigma = Math.Sqrt(n * (n + 1.0) * (2 * n + 1.0) / 24.0 - tieSum / 48.0);
        double correction = Math.Sign(z) * 0.5;
        z = (z - correction) / sigma;
        double p = 2 * Normal.CDF(0, 1, -Math.Abs(z));
        return new WilcoxonResult(n, v, Math.Min(1, p));
    }
}
