namespace Foresight.Core.Statistics;

/// <summary>Descriptive and consensus statistics of one item (a topic-question in a round).</summary>
public static class ItemStatistics
{
    public static ItemSummary Compute(IEnumerable<Observation> observations, ItemOptions options)
    {
        var list = observations as IReadOnlyList<Observation> ?? observations.ToList();
        int nSkip = 0, nDontKnow = 0, nNever = 0;
        var values = new List<double>(list.Count);
        foreach (var o in list)
        {
            switch (o.Mark)
            {
                case AnswerMark.Valid: values.Add(o.Value); break;
                case AnswerMark.Skip: nSkip++; break;
                case AnswerMark.DontKnow: nDontKnow++; break;
                case AnswerMark.Never: nNever++; break;
            }
        }

        int n = values.Count;
        var summary = new ItemSummary
        {
            N = n,
            NSkip = nSkip,
            NDontKnow = nDontKnow,
            NNever = nNever,
            PctNever = n + nNever > 0 ? 100.0 * nNever / (n + nNever) : null,
        };
        if (n == 0) return summary;

        var sorted = values.ToArray();
        Array.Sort(sorted);
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

        var (ii, famw, famGe3) = ImportanceIndices(list, options);

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
    /// </summary>
    static (double?, double?, double?) ImportanceIndices(IReadOnlyList<Observation> list, ItemOptions options)
    {
        if (options.EffectiveMin is not { } min || options.EffectiveMax is not { } max || !(max > min))
            return (null, null, null);
        double range = max - min;
        double sum = 0; int n = 0;
        double wsum = 0, wxsum = 0;
        double gsum = 0; int gn = 0;
        // Summed in a fixed order (by value, then familiarity) so that the result does not depend on the order
        // of the experts, to the last bit: the server and `foresight stats` read the same answers in different orders.
        int count = 0;
        foreach (var o in list) if (o.Mark == AnswerMark.Valid) count++;
        var values = new double[count];
        var familiarities = new double[count]; // -infinity where unknown, which sorts first as before
        count = 0;
        foreach (var o in list)
            if (o.Mark == AnswerMark.Valid) { values[count] = o.Value; familiarities[count++] = o.Familiarity ?? double.NegativeInfinity; }
        // By value, then by familiarity within equal values: answers equal in both keys add the same terms, so the
        // sums see the same numbers in the same order whatever the order of the experts.
        Array.Sort(values, familiarities);
        for (int start = 0; start < count;)
        {
            int end = start + 1;
            while (end < count && values[end] == values[start]) end++;
            if (end - start > 1) Array.Sort(familiarities, start, end - start);
            start = end;
        }
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
        var result = new List<ValueCount>();
        int i = 0;
        while (i < sorted.Length)
        {
            int j = i + 1;
            while (j < sorted.Length && sorted[j] == sorted[i]) j++;
            result.Add(new ValueCount(sorted[i], j - i));
            i = j;
        }
        return result.ToArray();
    }
}
