using System.Text.Json.Serialization;
namespace Foresight.Core.Surveys;

/// <summary>
/// When a topic-question has reached consensus. Every stated criterion must hold;
/// a question with fewer than <see cref="ConsensusRules.MinN"/> valid answers has not reached it.
/// </summary>
public sealed record QuestionCriterion(string Question, double? IqrMax, double? AgreeMinPct, double? SdMax, double? CvMax);

public enum RetireWhen { Consensus, Stable, ConsensusOrStable, ConsensusAndStable }

/// <summary>
/// The survey's consensus and stop rules. They are declared before round 1 opens and versioned:
/// each round records the version it was announced with and is judged by it.
/// </summary>
public sealed record ConsensusRules
{
    public int MinN { get; init; } = 5;
    public required IReadOnlyList<QuestionCriterion> Criteria { get; init; }
    /// <summary>A topic is stable when, for each judged question, at most this share of experts changed their answer ...</summary>
    public double StabilityMaxPctChanged { get; init; } = 15;
    /// <summary>... and the Wilcoxon test finds no shift at this level (p &gt;= alpha). Null: not used.</summary>
    public double? StabilityWilcoxonAlpha { get; init; } = 0.05;
    /// <summary>Polarized when both extreme thirds of the scale hold at least this share of answers.</summary>
    public double MinCampPct { get; init; } = 100.0 / 3.0;
    public RetireWhen RetireWhen { get; init; } = RetireWhen.Consensus;
    public int MaxRounds { get; init; } = 3;
    /// <summary>The study stops when at least this share of the round's topics is settled.</summary>
    public double SettledPct { get; init; } = 80;

    [JsonIgnore]
    public Statistics.PolarizationOptions Polarization => new(MinCampPct);
}
