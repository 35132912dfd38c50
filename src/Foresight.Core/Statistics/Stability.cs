using System.Runtime.CompilerServices;

namespace Foresight.Core.Statistics;

/// <summary>Change of one topic-question between two consecutive rounds. Null where undefined.</summary>
public sealed record StabilityResult(int NPairs, double? PctChanged, double? WilcoxonV, double? WilcoxonP, double? DeltaCv, double? DeltaIqr);

/// <summary>
/// Stability between rounds r and r+1 over the experts with a valid answer in both:
/// pct_changed is the share of them whose answer changed; the Wilcoxon test takes x = answer in r+1
/// and y = answer in r, so V sums the ranks of increases. delta_cv and delta_iqr compare the two rounds'
/// item statistics (all valid answers of each round): value in r+1 minus value in r.
/// </summary>
public static class Stability
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static StabilityResult Compute(
        IEnumerable<Observation> from, IEnumerable<Observation> to, ItemSummary fromSummary, ItemSummary toSummary)
    {
        var earlier = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var o in from)
            if (o.Mark == AnswerMark.Valid) earlier[o.ExpertId] = o.Value;

        var x = new List<double>();
        var y = new List<double>();
        foreach (var o in to)
        {
            if (o.Mark == AnswerMark.Valid && earlier.TryGetValue(o.ExpertId, out var before))
            {
                x.Add(o.Value);
                y.Add(before);
            }
        }
        int pairs = x.Count;
        int changed = 0;
        for (int i = 0; i < pairs; i++) if (!Tolerance.Equal(x[i], y[i])) changed++;
        var wilcoxon = WilcoxonSignedRank.Paired(x.ToArray(), y.ToArray());
        return new StabilityResult(
            pairs,
            pairs > 0 ? 100.0 * changed / pairs : null,
            wilcoxon?.V,
            wilcoxon?.P,
            toSummary.Cv - fromSummary.Cv,
            toSummary.Iqr - fromSummary.Iqr);
    }
}
