namespace Foresight.Core.Statistics;

/// <summary>Ranks with mid-ranks for ties (R's rank(ties.method = "average")).</summary>
public static class Ranks
{
    /// <summary>Returns 1-based mid-ranks of <paramref name="values"/> and the sum of t^3 - t over tie groups.</summary>
    public static (double[] Ranks, double TieSum) MidRanks(ReadOnlySpan<double> values)
    {
        int n = values.Length;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        var copy = values.ToArray();
        Array.Sort(copy, order);
        var ranks = new double[n];
        double tieSum = 0;
        int start = 0;
        while (start < n)
        {
            int end = start + 1;
            while (end < n && copy[end] == copy[start]) end++;
            int t = end - start;
            double mid = (start + 1 + end) / 2.0; // mean of ranks start+1 .. end
            for (int k = start; k < end; k++) ranks[order[k]] = mid;
            if (t > 1) tieSum += (double)t * t * t - t;
            start = end;
        }
        return (ranks, tieSum);
    }
}
