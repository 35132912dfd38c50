namespace Foresight.Core.Statistics;

/// <summary>
/// Sample quantiles by Hyndman and Fan's definition 7: the default of R's quantile(),
/// numpy.quantile and Excel's QUARTILE.INC. Computed the way R computes it,
/// (1 - h) * x[lo] + h * x[hi], so results agree with R to the last bits.
/// </summary>
public static class Quantile
{
    /// <param name="sorted">values in ascending order; must not be empty</param>
    /// <param name="p">probability in [0, 1]</param>
    public static double Type7(ReadOnlySpan<double> sorted, double p)
    {
        if (sorted.Length == 0) throw new ArgumentException("no values", nameof(sorted));
        if (p < 0 || p > 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p));
        double index = (sorted.Length - 1) * p; // zero-based form of R's 1 + (n - 1) * p
        int lo = (int)Math.Floor(index);
        int hi = (int)Math.Ceiling(index);
        double q = sorted[lo];
        double h = index - lo;
        if (h > 0 && sorted[hi] != q) q = (1 - h) * q + h * sorted[hi];
        return q;
    }
}
