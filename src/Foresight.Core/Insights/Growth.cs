namespace Foresight.Core.Insights;

/// <summary>
/// Growth of a set of records over time. The annual growth rate is exp(b) - 1, where b is the ordinary least-squares
/// slope of ln(count + 1) on the year over the <c>window</c> years ending at the reference year, years without records
/// counting 0. It reads as "records grow by this fraction per year" (0.5 = +50 % a year), uses every year of the
/// window rather than two end points, and the +1 keeps empty years defined while damping growth from very small
/// counts (1 → 2 is not treated as doubling). Checked against R: exp(coef(lm(log(n + 1) ~ year))[2]) - 1.
/// </summary>
public static class Growth
{
    /// <summary>The annual growth rate; null when the window is shorter than 2 years.</summary>
    /// <param name="years">the year of each record (records without a year are ignored)</param>
    public static double? AnnualRate(IEnumerable<int?> years, int referenceYear, int window)
    {
        if (window < 2) return null;
        var counts = new double[window];
        int first = referenceYear - window + 1;
        foreach (var y in years)
            if (y is int v && v >= first && v <= referenceYear) counts[v - first]++;
        // Slope of ln(n + 1) on x = 0..window-1 (the same slope as on the years).
        double meanX = (window - 1) / 2.0, meanY = 0;
        for (int i = 0; i < window; i++) meanY += Math.Log(counts[i] + 1);
        meanY /= window;
        double sxy = 0, sxx = 0;
        for (int i = 0; i < window; i++)
        {
            sxy += (i - meanX) * (Math.Log(counts[i] + 1) - meanY);
            sxx += (i - meanX) * (i - meanX);
        }
        return Math.Exp(sxy / sxx) - 1;
    }
}
