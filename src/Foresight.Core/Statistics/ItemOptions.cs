namespace Foresight.Core.Statistics;

/// <summary>What the statistics of one item need to know beyond the answers.</summary>
public sealed record ItemOptions
{
    public ItemKind Kind { get; init; } = ItemKind.Likert;

    /// <summary>Lowest and highest point of the scale, for the importance index and the polarization camps.</summary>
    public double? ScaleMin { get; init; }
    public double? ScaleMax { get; init; }

    /// <summary>Answers that count as agreement (e.g. the top two points). Empty: pct_agree is null.</summary>
    public IReadOnlyCollection<double> Agree { get; init; } = [];

    /// <summary>
    /// Weight of an expert's answer given their familiarity code, for importance_index_famw.
    /// Null: the familiarity code itself (1-4) is the weight.
    /// </summary>
    public Func<double, double>? FamiliarityWeight { get; init; }

    /// <summary>Familiarity code from which importance_index_fam_ge3 counts an expert.</summary>
    public double FamiliarityAtLeast { get; init; } = 3;

    public PolarizationOptions Polarization { get; init; } = PolarizationOptions.Default;

    public double? EffectiveMin => ScaleMin ?? (Kind == ItemKind.Rand9 ? 1 : null);
    public double? EffectiveMax => ScaleMax ?? (Kind == ItemKind.Rand9 ? 9 : null);

    public static ItemOptions For(ItemKind kind) => new() { Kind = kind };
}

/// <summary>
/// The polarization (dissensus) test: the lowest and the highest third of the scale each hold at least
/// <see cref="MinCampPct"/> % of the n valid answers, with n at least <see cref="MinN"/>.
/// </summary>
public sealed record PolarizationOptions(double MinCampPct = 100.0 / 3.0, int MinN = 4)
{
    public static readonly PolarizationOptions Default = new();
}
