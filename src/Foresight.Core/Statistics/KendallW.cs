using MathNet.Numerics;

namespace Foresight.Core.Statistics;

/// <param name="NItems">n, the number of items (topics) ranked</param>
/// <param name="NExperts">m, the experts with a complete ranking</param>
/// <param name="ExpertsDropped">experts left out because they did not rank every item</param>
public sealed record KendallResult(int NItems, int NExperts, double? W, double? Chi2, int? Df, double? P, IReadOnlyList<string> ExpertsDropped);

/// <summary>
/// Kendall's coefficient of concordance W with the tie correction, as R's irr::kendall(correct = TRUE):
/// each expert's values are turned into mid-ranks; R_i is the rank sum of item i; S = sum (R_i - mean R)^2;
/// T = sum over experts and tie groups of (t^3 - t);
/// W = 12 S / (m^2 (n^3 - n) - m T); chi2 = m (n - 1) W on n - 1 degrees of freedom.
/// W is null with fewer than two items, no complete ranking, or when every expert tied every item.
/// </summary>
public static class KendallW
{
    /// <param name="items">the items every expert is expected to rank</param>
    /// <param name="values">(expert, item, value): a rank or a rating; smaller or larger does not matter to W</param>
    public static KendallResult Compute(IReadOnlyCollection<string> items, IEnumerable<(string Expert, string Item, double Value)> values)
    {
        var itemIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in items) itemIndex.TryAdd(item, itemIndex.Count);
        int n = itemIndex.Count;

        var byExpert = new Dictionary<string, double[]>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (expert, item, value) in values)
        {
            if (!itemIndex.TryGetValue(item, out int i)) continue;
            if (!byExpert.TryGetValue(expert, out var row))
            {
                row = new double[n];
                Array.Fill(row, double.NaN);
                byExpert[expert] = row;
            }
            row[i] = value;
        }

        var dropped = new List<string>();
        var complete = new List<double[]>();
        foreach (var (expert, row) in byExpert.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (row.Any(double.IsNaN)) dropped.Add(expert);
            else complete.Add(row);
        }
        int m = complete.Count;
        if (n < 2 || m == 0) return new KendallResult(n, m, null, null, null, null, dropped);

        var rankSums = new double[n];
        double tieSum = 0;
        foreach (var row in complete)
        {
            var (ranks, t) = Ranks.MidRanks(row);
            for (int i = 0; i < n; i++) rankSums[i] += ranks[i];
            tieSum += t;
        }
        double meanR = rankSums.Average();
        double s = rankSums.Sum(r => (r - meanR) * (r - meanR));
        double denominator = (double)m * m * ((double)n * n * n - n) - m * tieSum;
        if (denominator <= 0) return new KendallResult(n, m, null, null, n - 1, null, dropped);

        double w = 12 * s / denominator;
        double chi2 = m * (n - 1) * w;
        int df = n - 1;
        // Upper tail of the chi-square distribution, Q(df/2, chi2/2), kept exact for tiny p-values.
        double p = SpecialFunctions.GammaUpperRegularized(df / 2.0, chi2 / 2.0);
        return new KendallResult(n, m, w, chi2, df, p, dropped);
    }
}
