using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Foresight.Core.Statistics;

/// <summary>Descriptive and consensus statistics of one item (a topic-question in a round).</summary>
public static class ItemStatistics
{
    // The statistics run in bursts (a round's consensus, often the first in a process's life): compiled optimized at
    // once, not first as tier-0 code while the re-compilation takes one of the cores.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ItemSummary Compute(IEnumerable<Observation> observations, ItemOptions options)
    {
        ReadOnlySpan<Observation> list = observations switch
        {
            Observation[] array => array,
            List<Observation> l => CollectionsMarshal.AsSpan(l),
            _ => observations.ToArray(),
        };
        int nSkip = 0, nDontKnow = 0, nNever = 0, n = 0;
        for (int i = 0; i < list.Length; i++)
        {
            switch (list[i].Mark)
            {
                case AnswerMark.Valid: n++; break;
                case AnswerMark.Skip: nSkip++; break;
                case AnswerMark.DontKnow: nDontKnow++; break;
                case AnswerMark.Never: nNever++; break;
            }
        }

        var summary = new ItemSummary
        {
            N = n,
            NSkip = nSkip,
            NDontKnow = nDontKnow,
            NNever = nNever,
            PctNever = n + nNever > 0 ? 100.0 * nNever / (n + nNever) : null,
        };
        if (n == 0) return summary;

        // The valid answers with their experts' familiarity (-infinity where unknown, which sorts first), sorted once:
        // by value for the quantiles, and by familiarity within equal values for the importance indices.
        var sorted = new double[n];
        var familiarities = new double[n];
        for (int i = 0, k = 0; i < list.Length; i++)
        {
            var o = list[i];
            if (o.Mark != AnswerMark.Valid) continue;
            sorted[k] = o.Value;
            familiarities[k++] = o.Familiarity ?? double.NegativeInfinity;
        }
        var (ii, famw, famGe3) = ImportanceIndices(sorted, familiarities, options);

        double q1 = Quantile.Type7(sorted, 0.25), median = Quantile.Type7(sorted, 0.5), q3 = Quantile.Type7(sorted, 0.75);
        double mean = Mean(sorted);
        double? sd = n >= 2 ? SampleSd(sorted, mean) : null;
        double? cv = sd is { } s && mean != 0 ? s / mean : null;

        double? pctAgree = null;
        if (options.Agree.Count > 0)
        {
            int agree = 0;
            foreach (var v in sorted)
                foreach (var a in options.Agree)
                    if (Tolerance.Equal(v, a)) { agree++; break; }
            pctAgree = 100.0 * agree / n;
        }

        return summary with
        {
            Median = median,
            Q1 = q1,
            Q3 = q3,
            Iqr = q3 - q1,
            Mean = mean,
            Sd = sd,
            Cv = cv,
            Min = sorted[0],
            Max = sorted[^1],
            PctAgree = pctAgree,
            ImportanceIndex = ii,
            ImportanceIndexFamW = famw,
            ImportanceIndexFamGe3 = famGe3,
            Rand = options.Kind == ItemKind.Rand9 ? RandUcla.Classify(sorted, median) : null,
            Polarization = options.Kind is ItemKind.Likert or ItemKind.Rand9
                ? Statistics.Polarization.Test(sorted, options.EffectiveMin, options.EffectiveMax, options.Polarization)
                : null,
            Distribution = Distribution(sorted),
        };
    }

    static double Mean(ReadOnlySpan<double> xs)
    {
        double sum = 0;
        foreach (var x in xs) sum += x;
        return sum / xs.Length;
    }

    static double SampleSd(ReadOnlySpan<double> xs, double mean)
    {
        double ss = 0;
        foreach (var x in xs) ss += (x - mean) * (x - mean);
        return Math.Sqrt(ss / (xs.Length - 1));
    }

    /// <summary>
    /// importance_index = 100 * mean((x - min) / (max - min)); the familiarity-weighted form divides by the
    /// sum of weights; the fam_ge3 form keeps experts whose familiarity is at least the threshold.
    /// Answers whose expert has no familiarity are left out of the two familiarity forms.
    /// Sorts <paramref name="values"/> (with <paramref name="familiarities"/> alongside) in place.
    /// </summary>
    static (double?, double?, double?) ImportanceIndices(double[] values, double[] familiarities, ItemOptions options)
    {
        // Summed in a fixed order (by value, then familiarity) so that the result does not depend on the order
        // of the experts, to the last bit: the server and `foresight stats` read the same answers in different orders.
        // Answers equal in both keys add the same terms, so the sums see the same numbers in the same order.
        if (options.EffectiveMin is not { } min || options.EffectiveMax is not { } max || !(max > min))
        {
            Array.Sort(values);
            return (null, null, null);
        }
        int count = values.Length;
        Array.Sort(values, familiarities);
        for (int start = 0; start < count;)
        {
            int end = start + 1;
            while (end < count && values[end] == values[start]) end++;
            if (end - start > 1) Array.Sort(familiarities, start, end - start);
            start = end;
        }
        double range = max - min;
        double sum = 0; int n = 0;
        double wsum = 0, wxsum = 0;
        double gsum = 0; int gn = 0;
        for (int i = 0; i < count; i++)
        {
            double s = (values[i] - min) / range;
            sum += s; n++;
            if (familiarities[i] is var f && !double.IsNegativeInfinity(f))
            {
                double w = options.FamiliarityWeight?.Invoke(f) ?? f;
                wsum += w; wxsum += w * s;
                if (Tolerance.GreaterOrEqual(f, options.FamiliarityAtLeast)) { gsum += s; gn++; }
            }
        }
        return (
            n > 0 ? 100 * sum / n : null,
            wsum > 0 ? 100 * wxsum / wsum : null,
            gn > 0 ? 100 * gsum / gn : null);
    }

    static ValueCount[] Distribution(double[] sorted)
    {
        int distinct = 1;
        for (int i = 1; i < sorted.Length; i++) if (sorted[i] != sorted[i - 1]) distinct++;
        var result = new ValueCount[distinct];
        for (int i = 0, d = 0; i < sorted.Length; d++)
        {
            int j = i + 1;
            while (j < sorted.Length && sorted[j] == sorted[i]) j++;
            result[d] = new ValueCount(sorted[i], j - i);
            i = j;
        }
        return result;
    }
}
