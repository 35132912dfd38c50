using System.Text.Json.Serialization;
namespace Foresight.Core.Surveys;

/// <summary>A survey as declared in its YAML file (see docs/survey-format.md).</summary>
public sealed record SurveyDefinition
{
    public required string Id { get; init; }
    public required LocalizedText Title { get; init; }
    public LocalizedText? Description { get; init; }
    public required IReadOnlyList<string> Languages { get; init; }
    public IReadOnlyList<ProfileQuestion> Profile { get; init; } = [];
    public required IReadOnlyList<Question> Questions { get; init; }
    public IReadOnlyList<Ranking> Rankings { get; init; } = [];
    public required ConsensusRules Consensus { get; init; }
    public FeedbackSettings Feedback { get; init; } = new();
    public LiveSettings Live { get; init; } = new();
    /// <summary>
    /// The questions whose importance indices, averaged, rank topics for the key-technology selection.
    /// Empty in the file: the ordinal and rating questions the consensus rules judge.
    /// </summary>
    public IReadOnlyList<string> KeyTechnologyIndex { get; init; } = [];
    public required IReadOnlyList<FieldDefinition> Fields { get; init; }

    [JsonIgnore]
    public IReadOnlyList<Question> IndexQuestions => KeyTechnologyIndex.Count > 0
        ? KeyTechnologyIndex.Select(id => Question(id)!).ToList()
        : Questions.Where(q => q.Kind is QuestionKind.Ordinal or QuestionKind.Rating && q.Role != QuestionRole.Familiarity
            && Consensus.Criteria.Any(c => c.Question == q.Id)).ToList();

    [JsonIgnore]
    public IEnumerable<TopicDefinition> Topics => Fields.SelectMany(f => f.Topics);

    // Asked once per stored answer when a round is computed: a lookup, not a scan. Keyed by the list itself (not a
    // field of the record, which would take part in its equality), since `with` may give a copy other questions.
    public Question? Question(string id) => QuestionIndex.GetValue(Questions, list =>
    {
        var byId = new Dictionary<string, Question>(StringComparer.Ordinal);
        foreach (var q in list) byId.TryAdd(q.Id, q);
        return byId;
    }).GetValueOrDefault(id);

    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IReadOnlyList<Question>, Dictionary<string, Question>> QuestionIndex = new();

    /// <summary>The topic's familiarity question, if the survey has one.</summary>
    [JsonIgnore]
    public Question? Familiarity => Questions.FirstOrDefault(q => q.Role == QuestionRole.Familiarity);
}

public sealed record FieldDefinition(string Code, LocalizedText Name, LocalizedText? Description, IReadOnlyList<TopicDefinition> Topics);

/// <param name="Origin">how the topic entered the list: coordinator, expert or machine</param>
public sealed record TopicDefinition(string Code, LocalizedText Title, LocalizedText? Background, IReadOnlyList<string> Tags, string Origin);

public enum QuestionKind
{
    /// <summary>Ordered single choice whose options carry numeric values (familiarity, importance, R&amp;D level).</summary>
    Ordinal,
    /// <summary>Integer rating scale from min to max (1-5, 1-7, 1-9 RAND/UCLA).</summary>
    Rating,
    /// <summary>Realization year, free within min..max or one of a list of periods with midpoints.</summary>
    Year,
    /// <summary>Unordered single choice (e.g. the gap band, an opinion on the wording).</summary>
    Choice,
    /// <summary>Several options (constraints, policy measures, leading countries).</summary>
    MultiChoice,
    /// <summary>Free text (a rationale, a comment).</summary>
    Text,
}

public enum QuestionRole { None, Familiarity }

public enum RationaleRule
{
    /// <summary>No rationale field.</summary>
    None,
    /// <summary>The expert may add a rationale.</summary>
    Optional,
    /// <summary>From round 2, an answer outside the previous round's interquartile range needs one.</summary>
    OutsideIqr,
    /// <summary>Every answer needs one.</summary>
    Always,
}

/// <param name="Value">the number the statistics use (ordinal value, period midpoint); null for nominal options</param>
/// <param name="Weight">familiarity weight (familiarity question only)</param>
/// <param name="SkipsTopic">answering this option marks the topic "not familiar": its other questions are skipped</param>
public sealed record Option(string Code, LocalizedText Label, double? Value, double? Weight, bool SkipsTopic, LocalizedText? Help);

/// <summary>Show a question only when another question's answer is one of some codes.</summary>
public sealed record Condition(string Question, IReadOnlyList<string> In);

public sealed record Question
{
    public required string Id { get; init; }
    public required QuestionKind Kind { get; init; }
    public required LocalizedText Text { get; init; }
    public LocalizedText? Help { get; init; }
    public QuestionRole Role { get; init; }
    public bool Required { get; init; }
    public IReadOnlyList<Option> Options { get; init; } = [];
    /// <summary>Rating: scale bounds. Year without periods: the accepted years.</summary>
    public int? Min { get; init; }
    public int? Max { get; init; }
    /// <summary>Rating anchors, e.g. 1 = "not at all", 9 = "fully".</summary>
    public IReadOnlyDictionary<int, LocalizedText> Anchors { get; init; } = new Dictionary<int, LocalizedText>();
    /// <summary>"rand_ucla" for 1-9 appropriateness ratings.</summary>
    public string? Method { get; init; }
    public int? MaxSelections { get; init; }
    public int MaxLength { get; init; } = 2000;
    public bool AllowDontKnow { get; init; }
    public bool AllowNever { get; init; }
    /// <summary>Numeric values that count as agreement.</summary>
    public IReadOnlyList<double> Agree { get; init; } = [];
    /// <summary>Rounds in which the question is asked; empty: every round.</summary>
    public IReadOnlyList<int> Rounds { get; init; } = [];
    public Condition? When { get; init; }
    /// <summary>Year questions: the answer may not be earlier than this other year question's.</summary>
    public string? NotBefore { get; init; }
    public RationaleRule Rationale { get; init; }
    /// <summary>Text questions: shown anonymized in the next round's feedback.</summary>
    public bool ShowInFeedback { get; init; }

    [JsonIgnore]
    public bool IsRandUcla => Method == "rand_ucla";

    /// <summary>Whether answers are numbers the consensus statistics apply to.</summary>
    [JsonIgnore]
    public bool IsNumeric => Kind is QuestionKind.Ordinal or QuestionKind.Rating or QuestionKind.Year;

    public bool AskedIn(int round) => Rounds.Count == 0 || Rounds.Contains(round);

    public Option? OptionByCode(string code) => Options.FirstOrDefault(o => o.Code == code);

    /// <summary>Lowest and highest numeric value of the scale (for the importance index).</summary>
    [JsonIgnore]
    public (double Min, double Max)? ScaleBounds => Kind switch
    {
        QuestionKind.Ordinal when Options.Count > 0 => (Options.Min(o => o.Value!.Value), Options.Max(o => o.Value!.Value)),
        QuestionKind.Rating => (Min!.Value, Max!.Value),
        _ => null,
    };
}

public enum RankingScope { Field, Survey }

/// <summary>A question that asks the expert to rank the topics of a field (or of the whole survey).</summary>
public sealed record Ranking(string Id, LocalizedText Text, RankingScope Scope, IReadOnlyList<int> Rounds)
{
    public bool AskedIn(int round) => Rounds.Count == 0 || Rounds.Contains(round);
}

/// <summary>What the respondent profile question describes, so that breakdowns know where to look.</summary>
public enum ProfileRole { Other, OrgType, Region, Work }

public sealed record ProfileQuestion(string Id, ProfileRole Role, LocalizedText Text, IReadOnlyList<Option> Options, bool Required);

/// <summary>What experts see from round 2 on.</summary>
public sealed record FeedbackSettings
{
    /// <summary>Split the feedback by this profile role (e.g. org_type), when each group has enough answers.</summary>
    public ProfileRole? ByGroup { get; init; }
    /// <summary>Groups smaller than this are not shown, for anonymity.</summary>
    public int MinGroupSize { get; init; } = 5;
}

/// <summary>What stakeholders may watch live: nothing, the response progress, or progress and consensus.</summary>
public enum StakeholderView { None, Progress, Consensus }

/// <summary>
/// The live view. Real-Time Delphi: experts see the live group view of a topic once they have answered it and at
/// least <see cref="MinAnswers"/> experts have; stakeholders see what <see cref="Stakeholders"/> publishes, with the
/// same minimum per topic.
/// </summary>
public sealed record LiveSettings
{
    public bool RealTime { get; init; }
    public int MinAnswers { get; init; } = 5;
    public StakeholderView Stakeholders { get; init; } = StakeholderView.None;
}
