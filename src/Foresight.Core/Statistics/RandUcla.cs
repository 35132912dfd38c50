namespace Foresight.Core.Statistics;

/// <param name="RandClass">"appropriate", "inappropriate" or "uncertain"</param>
public sealed record RandUclaResult(double P30, double P70, double Ipr, double Ai, double Ipras, bool Disagreement, string RandClass);

/// <summary>
/// The RAND/UCLA Appropriateness Method's disagreement test for 1-9 ratings (Fitch et al. 2001, ch. 7):
/// IPR = p70 - p30 (type-7 percentiles); AI = |5 - (p30 + p70) / 2|; IPRAS = 2.35 + 1.5 * AI;
/// disagreement when IPR > IPRAS. Class: appropriate when median >= 7 without disagreement,
/// inappropriate when median &lt; 4 without disagreement, otherwise uncertain.
/// </summary>
public static class RandUcla
{
    public const string Appropriate = "appropriate";
    public const string Inappropriate = "inappropriate";
    public const string Uncertain = "uncertain";

    public static RandUclaResult Classify(double[] sorted, double median)
    {
        double p30 = Quantile.Type7(sorted, 0.30), p70 = Quantile.Type7(sorted, 0.70);
        double ipr = p70 - p30;
        double ai = Math.Abs(5 - (p30 + p70) / 2);
        double ipras = 2.35 + 1.5 * ai;
        bool disagreement = Tolerance.Greater(ipr, ipras);
        string cls = !disagreement && Tolerance.GreaterOrEqual(median, 7) ? Appropriate
            : !disagreement && Tolerance.Less(median, 4) ? Inappropriate
            : Uncertain;
        return new RandUclaResult(p30, p70, ipr, ai, ipras, disagreement, cls);
    }
}
