using System.Text.Json.Serialization;
namespace Foresight.Core.Statistics;

/// <summary>How many experts gave one value.</summary>
public readonly record struct ValueCount(double Value, int Count);

/// <summary>
/// The statistics of one topic-question in one round. Null where a figure is undefined
/// (no answers, one answer for a standard deviation, a zero mean for the CV ...).
/// Percentages are 0-100.
/// </summary>
public sealed record ItemSummary
{
    public int N { get; init; }
    public int NSkip { get; init; }
    public int NDontKnow { get; init; }
    public int NNever { get; init; }
    public double? Median { get; init; }
    public double? Q1 { get; init; }
    public double? Q3 { get; init; }
    public double? Iqr { get; init; }
    public double? Mean { get; init; }
    public double? Sd { get; init; }
    public double? Cv { get; init; }
    public double? Min { get; init; }
    public double? Max { get; init; }
    public double? PctAgree { get; init; }
    public double? PctNever { get; init; }
    public double? ImportanceIndex { get; init; }
    [JsonPropertyName("importance_index_famw")]
    public double? ImportanceIndexFamW { get; init; }
    public double? ImportanceIndexFamGe3 { get; init; }
    /// <summary>Only for <see cref="ItemKind.Rand9"/> items with at least one answer.</summary>
    public RandUclaResult? Rand { get; init; }
    /// <summary>Only for Likert and Rand9 items.</summary>
    public PolarizationResult? Polarization { get; init; }
    /// <summary>Valid answers by value, ascending.</summary>
    public IReadOnlyList<ValueCount> Distribution { get; init; } = [];
}
