namespace Foresight.Benchmarks;

/// <summary>Latency figures from a set of samples in milliseconds.</summary>
public static class Percentiles
{
    public static double Of(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN
        : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
