namespace Foresight.Core.Statistics;

/// <summary>
/// Threshold comparisons with a small tolerance, so that a value computed as 0.7999999999999989
/// counts as 0.8 when a rule says "at most 0.8". Every rule test in Foresight goes through here.
/// </summary>
public static class Tolerance
{
    /// <summary>Absolute tolerance, scaled up for large magnitudes (years, percentages).</summary>
    public const double Epsilon = 1e-9;

    static double Eps(double a, double b) => Epsilon * Math.Max(1.0, Math.Max(Math.Abs(a), Math.Abs(b)));

    public static bool LessOrEqual(double a, double b) => a <= b + Eps(a, b);
    public static bool GreaterOrEqual(double a, double b) => a >= b - Eps(a, b);
    public static bool Less(double a, double b) => a < b - Eps(a, b);
    public static bool Greater(double a, double b) => a > b + Eps(a, b);
    public static bool Equal(double a, double b) => Math.Abs(a - b) <= Eps(a, b);
}
