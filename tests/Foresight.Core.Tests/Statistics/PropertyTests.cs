using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Foresight.Core.Statistics;

namespace Foresight.Core.Tests.Statistics;

/// <summary>Invariants that hold for any answers (FsCheck generates the answers).</summary>
public class PropertyTests
{
    static Arbitrary<int[]> Ratings(int min, int max) =>
        Gen.Choose(min, max).ArrayOf().Where(a => a.Length > 0).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property Quartiles_are_ordered()
    {
        return Prop.ForAll(Ratings(1, 9), values =>
        {
            var s = ItemStatistics.Compute(values.Select((v, i) => Observation.Of($"e{i}", v)), new ItemOptions());
            return s.Min <= s.Q1 && s.Q1 <= s.Median && s.Median <= s.Q3 && s.Q3 <= s.Max && s.Iqr >= 0;
        });
    }

    [Property(MaxTest = 200)]
    public Property Statistics_do_not_depend_on_the_order_of_experts()
    {
        return Prop.ForAll(Ratings(1, 7), Gen.Choose(0, 1000).ToArbitrary(), (values, seed) =>
        {
            var obs = values.Select((v, i) => Observation.Of($"e{i}", v, 1 + i % 4)).ToList();
            var shuffled = obs.OrderBy(_ => new Random(seed).Next()).ToList();
            var shuffled2 = obs.ToList();
            new Random(seed).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(shuffled2));
            var o = new ItemOptions { ScaleMin = 1, ScaleMax = 7, Agree = [6, 7] };
            var a = ItemStatistics.Compute(obs, o);
            var b = ItemStatistics.Compute(shuffled2, o);
            return Same(a.Median, b.Median) && Same(a.Q1, b.Q1) && Same(a.Q3, b.Q3) && Same(a.Sd, b.Sd)
                && Same(a.PctAgree, b.PctAgree) && Same(a.ImportanceIndexFamW, b.ImportanceIndexFamW)
                && a.Polarization!.Polarized == b.Polarization!.Polarized;
        });
    }

    [Property(MaxTest = 200)]
    public Property Kendall_W_lies_between_0_and_1()
    {
        var gen = from n in Gen.Choose(2, 6)
                  from m in Gen.Choose(1, 6)
                  from rows in Gen.Choose(1, n).ArrayOf(n).ArrayOf(m)
                  select rows;
        return Prop.ForAll(gen.ToArbitrary(), rows =>
        {
            int n = rows[0].Length;
            var items = Enumerable.Range(0, n).Select(i => $"t{i}").ToList();
            var k = KendallW.Compute(items, rows.SelectMany((r, e) => r.Select((v, i) => ($"e{e}", $"t{i}", (double)v))));
            return k.W is null || (k.W >= -1e-12 && k.W <= 1 + 1e-12 && k.P >= 0 && k.P <= 1 + 1e-12);
        });
    }

    [Property(MaxTest = 200)]
    public Property Kendall_W_does_not_depend_on_the_order_of_experts()
    {
        var gen = from m in Gen.Choose(2, 6)
                  from rows in Gen.Choose(1, 5).ArrayOf(4).ArrayOf(m)
                  select rows;
        return Prop.ForAll(gen.ToArbitrary(), rows =>
        {
            var items = Enumerable.Range(0, 4).Select(i => $"t{i}").ToList();
            var k1 = KendallW.Compute(items, rows.SelectMany((r, e) => r.Select((v, i) => ($"e{e}", $"t{i}", (double)v))));
            var k2 = KendallW.Compute(items, rows.Reverse().SelectMany((r, e) => r.Select((v, i) => ($"x{e}", $"t{i}", (double)v))));
            return Same(k1.W, k2.W);
        });
    }

    [Property(MaxTest = 200)]
    public Property Wilcoxon_p_is_a_probability()
    {
        return Prop.ForAll(Ratings(1, 5), Ratings(1, 5), (a, b) =>
        {
            int n = Math.Min(a.Length, b.Length);
            var w = WilcoxonSignedRank.Paired(a.Take(n).Select(x => (double)x).ToArray(), b.Take(n).Select(x => (double)x).ToArray());
            return w is not null && (w.P is null || (w.P >= 0 && w.P <= 1)) && w.V >= 0 && w.V <= w.NNonZero * (w.NNonZero + 1) / 2.0;
        });
    }

    static bool Same(double? a, double? b) => a is null ? b is null : b is not null && Math.Abs(a.Value - b.Value) < 1e-9;
}
