namespace Foresight.Core.Insights;

/// <summary>What experts did with a machine-proposed item (FW-DA-4, FW-HM-1).</summary>
public enum ReviewDecision { Accepted, Edited, Merged, Split, Rejected }

/// <summary>Decision counts; see <see cref="Evaluation.Shares"/>.</summary>
public sealed record DecisionCounts(int Accepted, int Edited, int Merged, int Split, int Rejected)
{
    public int Total => Accepted + Edited + Merged + Split + Rejected;

    public static DecisionCounts Of(IEnumerable<ReviewDecision> decisions)
    {
        var c = new int[5];
        foreach (var d in decisions) c[(int)d]++;
        return new DecisionCounts(c[0], c[1], c[2], c[3], c[4]);
    }
}

/// <summary>
/// Each decision's share of all decisions (0-1), and <see cref="Kept"/>: the share not rejected (accepted, edited,
/// merged or split: the proposal survived in some form). All null when there are no decisions.
/// </summary>
public sealed record DecisionShares(int Total, double? Accepted, double? Edited, double? Merged, double? Split, double? Rejected, double? Kept);

/// <summary>Measures for evaluating machine proposals against expert judgment (REC42-1).</summary>
public static class Evaluation
{
    /// <summary>
    /// Adjusted Rand index of two labelings of the same items (Hubert and Arabie 1985), as scikit-learn's
    /// adjusted_rand_score: from the pair counts of the contingency table, ARI = 2 (tp·tn - fn·fp) /
    /// ((tp + fn)(fn + tn) + (tp + fp)(fp + tn)), which equals (Σ C(n_ij, 2) - E) / (½(Σ C(a_i, 2) + Σ C(b_j, 2)) - E)
    /// with E = Σ C(a_i, 2) Σ C(b_j, 2) / C(n, 2). 1 for identical partitions whatever the label names; about 0 for
    /// chance agreement; can be negative. When no pair is split differently by the two (including fewer than two
    /// items, or both putting everything together) it is 1, as scikit-learn returns.
    /// </summary>
    public static double AdjustedRandIndex(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        if (a.Count != b.Count) throw new ArgumentException("the labelings must have the same length");
        long n = a.Count;
        var cells = new Dictionary<(int, int), long>();
        var rows = new Dictionary<int, long>();
        var cols = new Dictionary<int, long>();
        for (int i = 0; i < n; i++)
        {
            cells[(a[i], b[i])] = cells.GetValueOrDefault((a[i], b[i])) + 1;
            rows[a[i]] = rows.GetValueOrDefault(a[i]) + 1;
            cols[b[i]] = cols.GetValueOrDefault(b[i]) + 1;
        }
        // Ordered pair counts, as scikit-learn's pair_confusion_matrix.
        long sumSquares = cells.Values.Sum(v => v * v);
        long tp = sumSquares - n;
        long fp = cells.Sum(kv => kv.Value * cols[kv.Key.Item2]) - sumSquares;
        long fn = cells.Sum(kv => kv.Value * rows[kv.Key.Item1]) - sumSquares;
        long tn = n * n - fp - fn - sumSquares;
        if (fn == 0 && fp == 0) return 1.0;
        // Exact integers to the one division, as scikit-learn (Python ints); 128 bits hold the products for any list that fits in memory.
        Int128 TP = tp, TN = tn, FP = fp, FN = fn;
        return 2.0 * (double)(TP * TN - FN * FP) / (double)((TP + FN) * (FN + TN) + (TP + FP) * (FP + TN));
    }

    public static DecisionShares Shares(DecisionCounts counts)
    {
        if (counts.Accepted < 0 || counts.Edited < 0 || counts.Merged < 0 || counts.Split < 0 || counts.Rejected < 0)
            throw new ArgumentOutOfRangeException(nameof(counts), "counts cannot be negative");
        int total = counts.Total;
        if (total == 0) return new DecisionShares(0, null, null, null, null, null, null);
        double t = total;
        return new DecisionShares(total, counts.Accepted / t, counts.Edited / t, counts.Merged / t, counts.Split / t, counts.Rejected / t,
            (total - counts.Rejected) / t);
    }
}
