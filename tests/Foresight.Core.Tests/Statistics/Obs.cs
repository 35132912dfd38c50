using Foresight.Core.Statistics;

namespace Foresight.Core.Tests.Statistics;

static class Obs
{
    /// <summary>Valid answers from experts e1, e2, ... with optional familiarity codes.</summary>
    public static List<Observation> Of(double[] values, double[]? familiarity = null) =>
        values.Select((v, i) => Observation.Of($"e{i + 1}", v, familiarity?[i])).ToList();

    public static void Near(double expected, double? actual, double tol = 1e-12)
    {
        Assert.NotNull(actual);
        Assert.True(Math.Abs(expected - actual!.Value) <= tol * Math.Max(1, Math.Abs(expected)),
            $"expected {expected:R}, got {actual:R}");
    }
}
