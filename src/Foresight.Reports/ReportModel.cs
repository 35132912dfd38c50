using Foresight.Core.Consensus;
using Foresight.Core.Statistics;
using Foresight.Core.Surveys;

namespace Foresight.Reports;

/// <summary>Everything a report shows, already computed; the renderer only lays it out.</summary>
public sealed record ReportModel
{
    /// <summary>"round" for a round report, "study" for the final study report.</summary>
    public required string Kind { get; init; }
    public required string Language { get; init; }
    public required SurveyDefinition Survey { get; init; }
    /// <summary>The round reported (the last one for a study report).</summary>
    public required int Round { get; init; }
    public required IReadOnlyList<RoundFacts> Rounds { get; init; }
    public required PanelComposition Panel { get; init; }
    /// <summary>The rules as declared before round 1, and those the reported round was judged by.</summary>
    public required ConsensusRules DeclaredRules { get; init; }
    public required int DeclaredRulesVersion { get; init; }
    public required ConsensusRules RoundRules { get; init; }
    public required int RoundRulesVersion { get; init; }
    public required IReadOnlyList<ReportField> Fields { get; init; }
    public IReadOnlyList<RankedKeyTechnology> Ranking { get; init; } = [];
    public IReadOnlyList<KeySelection> Selections { get; init; } = [];
    /// <summary>The hash of the reported round's data (as stored when it closed).</summary>
    public required string DataHash { get; init; }
    /// <summary>A hash of everything in this report: two reports with the same version show the same data.</summary>
    public required string DataVersion { get; init; }
    public required DateTimeOffset GeneratedAt { get; init; }
    /// <summary>Breakdowns by group show groups of at least this many experts.</summary>
    public int MinGroupSize { get; init; } = 5;
    /// <summary>The study report's evaluation of the machine layer; null when it was not used (or is switched off).</summary>
    public MachineLayer? Machine { get; init; }

    public IEnumerable<ReportTopic> Topics => Fields.SelectMany(f => f.Topics);
}

/// <param name="Dropped">experts who answered the previous round but not this one</param>
public sealed record RoundFacts(
    int Number, DateTimeOffset OpenedAt, DateTimeOffset? ClosedAt, int RulesVersion, int Topics, int Invited, int Responded, int Finished,
    int? Dropped, int Settled, string? DataHash);

/// <summary>Panel size and composition; groups smaller than the minimum are shown as "fewer than k".</summary>
public sealed record PanelComposition(int Size, IReadOnlyList<GroupCount> ByOrgType, IReadOnlyList<GroupCount> ByRegion);

public sealed record GroupCount(string Code, LocalizedText? Label, int Count);

public sealed record ReportField(string Code, LocalizedText Name, IReadOnlyList<ReportTopic> Topics);

/// <param name="Title">the wording the reported round asked</param>
/// <param name="History">the topic's results in each round up to the reported one (null where it was not asked)</param>
/// <param name="Decision">carry or retire, after the round</param>
public sealed record ReportTopic(
    string Code, string Field, LocalizedText Title, LocalizedText? Background, string Origin, IReadOnlyList<string> Tags,
    TopicResult Result, IReadOnlyList<(int Round, TopicResult? Result)> History, string? Decision,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Rationales);

public sealed record RankedKeyTechnology(int Rank, int? RankFamW, string Code, LocalizedText Title, double? ImportanceIndex, double? ImportanceIndexFamW,
    string State);

public sealed record KeySelection(DateTimeOffset At, int Round, string Criteria, IReadOnlyList<(int Rank, string Code, LocalizedText Title)> Topics);

/// <summary>
/// How the machine proposals fared (design 1.7): decisions per proposal and their shares, and the adjusted Rand index
/// of the machine's clusters against the fields the coordinators put the resulting topics in, over <paramref name="AriRecords"/> records.
/// </summary>
public sealed record MachineLayer(long Records, int Analyses, int Proposals, int Open, Foresight.Core.Insights.DecisionCounts Decided,
    Foresight.Core.Insights.DecisionShares Shares, double? AdjustedRandIndex, int AriRecords, int AriProposals, int AriFields, int MachineTopics);
