using System.Runtime.CompilerServices;

namespace Foresight.Core.Statistics;

/// <summary>
/// The outcome of the polarization test. LowPct and HighPct are the shares of answers in the lowest and
/// highest third of the scale. The minority view is the smaller side of the scale's midpoint (null when
/// both sides are the same size or one is empty), so a dissenting group stays visible even without polarization.
/// </summary>
public sealed record PolarizationResult(
    double? Bimodality,
    bool Polarized,
    double LowPct,
    double HighPct,
    string? MinoritySide,
    double? MinorityPct,
    double? MinorityMedian);

/// <summary>
/// Dissensus: a topic split into two camps. The rule generalises the RAND/UCLA method's classic definition
/// of disagreement (Fitch et al. 2001, ch. 7: at least a third of the panel rates in 1-3 and at least a third
/// in 7-9): the item is polarized when the lowest third of the scale and the highest third each hold at
/// least <see cref="PolarizationOptions.MinCampPct"/> % of the valid answers. The thirds are
/// x &lt; min + (max - min)/3 and x &gt; max - (max - min)/3: on 1-9 that is 1-3 and 7-9, on 1-5 it is 1-2 and 4-5.
/// Sarle's bimodality coefficient BC = (G1^2 + 1) / (G2 + 3 (n-1)^2 / ((n-2)(n-3))) (G1, G2 the bias-corrected
/// skewness and excess kurtosis, as e1071 type 2 and scipy bias=False) is reported beside it; it is not part of
/// the rule, because on short ordinal scales it misses clear splits (1,1,1,1,2,4,5,5,5,5 gives 0.503 &lt; 5/9).
/// </summary>
public static class Polarization
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static PolarizationResult Test(double[] sorted, double? scaleMin, double? scaleMax, PolarizationOptions options)
    {
        int n = sorted.Length;
        double lo = scaleMin ?? sorted[0], hi = scaleMax ?? sorted[^1];
        double third = (hi - lo) / 3, mid = (lo + hi) / 2;
        int low = 0, high = 0;
        foreach (var x in sorted)
        {
            if (Tolerance.Less(x, lo + third)) low++;
            else if (Tolerance.Greater(x, hi - third)) high++;
        }
        double lowPct = 100.0 * low / n, highPct = 100.0 * high / n;
        bool polarized = n >= options.MinN && hi > lo
            && Tolerance.GreaterOrEqual(lowPct, options.MinCampPct) && Tolerance.GreaterOrEqual(highPct, options.MinCampPct);

        int nBelow = 0, nAbove = 0;
        foreach (var x in sorted)
        {
            if (Tolerance.Less(x, mid)) nBelow++;
            else if (Tolerance.Greater(x, mid)) nAbove++;
        }
        string? side = null; double[]? minority = null;
        if (nBelow > 0 && nAbove > 0 && nBelow != nAbove)
        {
            bool lowSide = nBelow < nAbove;
            side = lowSide ? "low" : "high";
            minority = new double[lowSide ? nBelow : nAbove];
            int k = 0;
            foreach (var x in sorted)
                if (lowSide ? Tolerance.Less(x, mid) : Tolerance.Greater(x, mid)) minority[k++] = x;
        }

        return new PolarizationResult(BimodalityCoefficient(sorted), polarized, lowPct, highPct, side,
            minority is null ? null : 100.0 * minority.Length / n,
            minority is null ? null : Quantile.Type7(minority, 0.5));
    }

    /// <summary>Null when n &lt; 4 or all values are equal.</summary>
    public static double? BimodalityCoefficient(ReadOnlySpan<double> xs)
    {
        int n = xs.Length;
        if (n < 4) return null;
        double mean = 0;
        foreach (var x in xs) mean += x;
        mean /= n;
        double m2 = 0, m3 = 0, m4 = 0;
        foreach (var x in xs)
        {
            double d = x - mean, d2 = d * d;
            m2 += d2; m3 += d2 * d; m4 += d2 * d2;
        }
        m2 /= n; m3 /= n; m4 /= n;
        if (m2 <= 0) return null;
        double g1 = m3 / Math.Pow(m2, 1.5);
        double g2 = m4 / (m2 * m2) - 3;
        double skew = g1 * Math.Sqrt((double)n * (n - 1)) / (n - 2);
        double kurt = (n - 1.0) / ((n - 2.0) * (n - 3.0)) * ((n + 1.0) * g2 + 6);
        return (skew * skew + 1) / (kurt + 3.0 * (n - 1.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0)));
    }
}
