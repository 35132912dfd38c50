using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Foresight.Core.Answers;
using Foresight.Core.Statistics;
using Foresight.Core.Surveys;

namespace Foresight.Core.Consensus;

/// <summary>One stored answer, as the consensus sees it. Member is a stable pseudonymous key.</summary>
public sealed record AnswerRow(string Member, string Topic, string Question, string Value, double? Number, string? Rationale = null);

/// <summary>A topic of a round, with the topic of the previous round its answers continue (itself, or its single parent after a split).</summary>
public sealed record RoundTopic(string Code, string Field, string? PreviousCode);

public static class ConsensusStates
{
    public const string Consensus = "consensus";
    public const string NoConsensus = "no_consensus";
    public const string Dissensus = "dissensus";
}

public sealed record OptionCount(string Code, int Count, double Pct);

/// <summary>The result for one topic-question. Numeric questions have a summary; choice questions have counts.</summary>
public sealed record QuestionResult
{
    public required string Question { get; init; }
    public required QuestionKind Kind { get; init; }
    /// <summary>Experts who answered this question (any answer, including "don't know").</summary>
    public int Answered { get; init; }
    public ItemSummary? Summary { get; init; }
    /// <summary>Answers per option code (ordinal, choice, year periods, multiple choice); percentages over <see cref="Answered"/>.</summary>
    public IReadOnlyList<OptionCount> Counts { get; init; } = [];
    /// <summary>The consensus state when the survey's rules judge this question; null otherwise.</summary>
    public string? State { get; init; }
    public StabilityResult? Stability { get; init; }
    /// <summary>Null when there is no earlier round to compare with, or no expert answered both.</summary>
    public bool? Stable { get; init; }
}

public sealed record TopicResult
{
    public required string Topic { get; init; }
    public required string Field { get; init; }
    /// <summary>Experts who answered anything on this topic.</summary>
    public int Respondents { get; init; }
    public int NotFamiliar { get; init; }
    public required string State { get; init; }
    public bool? Stable { get; init; }
    /// <summary>Met the stop rule: retired from the next round unless the coordinator carries it.</summary>
    public bool Settled { get; init; }
    public bool Polarized { get; init; }
    public required IReadOnlyList<QuestionResult> Questions { get; init; }

    public QuestionResult? Question(string id) => Questions.FirstOrDefault(q => q.Question == id);
}

public sealed record RankedTopic(string Topic, double? MeanRank, int N);

public sealed record RankingResult(string Ranking, string? Field, KendallResult Kendall, IReadOnlyList<RankedTopic> Topics);

public sealed record RoundResult(
    int Round,
    IReadOnlyList<TopicResult> Topics,
    IReadOnlyList<RankingResult> Rankings,
    double SettledPct,
    bool StopRecommended,
    string StopReason);

/// <summary>
/// Consensus of one round: every topic-question's statistics (the statistics library), the consensus state of
/// each judged question and topic under the round's rules, stability against the previous round, and the stop rule.
/// </summary>
public static class RoundConsensus
{
    public static RoundResult Compute(
        SurveyDefinition survey, ConsensusRules rules, int round,
        IReadOnlyList<RoundTopic> topics, IReadOnlyList<AnswerRow> answers, IReadOnlyList<AnswerRow>? previousAnswers)
    {
        var byTopic = answers.ToLookup(a => a.Topic, StringComparer.Ordinal);
        var previousByTopic = previousAnswers?.ToLookup(a => a.Topic, StringComparer.Ordinal);
        // Topics are independent: computed on every core, in the round's order.
        var results = topics.AsParallel().AsOrdered().Select(t => ComputeTopic(survey, rules, round, t, byTopic[t.Code].ToList(),
            t.PreviousCode is not null && previousByTopic is not null ? previousByTopic[t.PreviousCode].ToList() : null)).ToList();
        return Assemble(survey, rules, round, topics, results, code => byTopic[code]);
    }

    /// <summary>
    /// The round's result from its topics' results (however they were computed): the rankings, from each topic's
    /// ranking rows, and the stop rule.
    /// </summary>
    /// <param name="results">one result per topic, in the round's order</param>
    /// <param name="rowsOf">a topic's answer rows; only the ranking questions' rows are read</param>
    public static RoundResult Assemble(
        SurveyDefinition survey, ConsensusRules rules, int round,
        IReadOnlyList<RoundTopic> topics, IReadOnlyList<TopicResult> results, Func<string, IEnumerable<AnswerRow>> rowsOf)
    {
        var rankings = new List<RankingResult>();
        foreach (var ranking in survey.Rankings.Where(r => r.AskedIn(round)))
        {
            var groups = ranking.Scope == RankingScope.Field
                ? topics.GroupBy(t => (string?)t.Field).ToList()
                : topics.GroupBy(_ => (string?)null).ToList();
            foreach (var group in groups)
            {
                var codes = group.Select(t => t.Code).ToList();
                var rows = codes.SelectMany(rowsOf).Where(a => a.Question == ranking.Id && a.Number is not null).ToList();
                if (rows.Count == 0) continue;
                var kendall = KendallW.Compute(codes, rows.Select(r => (r.Member, r.Topic, r.Number!.Value)));
                var ranked = codes.Select(c =>
                {
                    var ranks = rows.Where(r => r.Topic == c).Select(r => r.Number!.Value).ToList();
                    return new RankedTopic(c, ranks.Count > 0 ? ranks.Average() : null, ranks.Count);
                }).OrderBy(r => r.MeanRank ?? double.MaxValue).ToList();
                rankings.Add(new RankingResult(ranking.Id, group.Key, kendall, ranked));
            }
        }

        int settled = results.Count(r => r.Settled);
        double settledPct = results.Count == 0 ? 100 : 100.0 * settled / results.Count;
        string reason;
        bool stop;
        if (round >= rules.MaxRounds) { stop = true; reason = $"round {round} is the last one the rules allow ({rules.MaxRounds})"; }
        else if (settled == results.Count) { stop = true; reason = "every topic met the stop rule"; }
        else if (Tolerance.GreaterOrEqual(settledPct, rules.SettledPct)) { stop = true; reason = $"{settledPct:0.#} % of topics met the stop rule (the rules ask for {rules.SettledPct:0.#} %)"; }
        else { stop = false; reason = $"{results.Count - settled} of {results.Count} topics have not met the stop rule ({settledPct:0.#} % settled; the rules ask for {rules.SettledPct:0.#} %)"; }
        return new RoundResult(round, results, rankings, settledPct, stop, reason);
    }

    /// <param name="answers">all answers of the round to this topic (ranking rows are ignored)</param>
    /// <param name="previous">the previous round's answers to this topic's predecessor, for stability</param>
    public static TopicResult ComputeTopic(
        SurveyDefinition survey, ConsensusRules rules, int round, RoundTopic topic,
        IReadOnlyList<AnswerRow> answers, IReadOnlyList<AnswerRow>? previous)
    {
        var own = answers.Where(a => survey.Question(a.Question) is not null).ToList();
        var members = own.Select(a => a.Member).Distinct(StringComparer.Ordinal).ToList();
        var byQuestion = own.ToLookup(a => a.Question, StringComparer.Ordinal);
        var familiarity = Familiarity(survey, own);
        var familiarityQ = survey.Familiarity;
        int notFamiliar = familiarityQ is null ? 0 : byQuestion[familiarityQ.Id].Count(a => familiarityQ.OptionByCode(a.Value) is { SkipsTopic: true });

        var previousObservations = previous is null ? null : previous.Where(a => survey.Question(a.Question) is not null).ToLookup(a => a.Question, StringComparer.Ordinal);
        var previousMembers = previous?.Select(a => a.Member).Distinct(StringComparer.Ordinal).ToList();
        var previousFamiliarity = previous is null ? null : Familiarity(survey, previous);

        var questionResults = new List<QuestionResult>();
        foreach (var q in survey.Questions.Where(q => q.AskedIn(round)))
        {
            var rows = byQuestion[q.Id].ToList();
            var result = new QuestionResult
            {
                Question = q.Id,
                Kind = q.Kind,
                Answered = rows.Count,
                Counts = Counts(q, rows),
            };
            if (q.IsNumeric)
            {
                var options = Options(q, survey, rules);
                var summary = ItemStatistics.Compute(Observations(rows, members, familiarity), options);
                result = result with { Summary = summary };
                var criterion = rules.Criteria.FirstOrDefault(c => c.Question == q.Id);
                if (criterion is not null) result = result with { State = State(summary, criterion, rules) };
                if (previousObservations is not null && previousMembers is not null)
                {
                    var before = Observations(previousObservations[q.Id].ToList(), previousMembers, previousFamiliarity!);
                    var beforeSummary = ItemStatistics.Compute(before, options);
                    var after = Observations(rows, members, familiarity);
                    var stability = Statistics.Stability.Compute(before, after, beforeSummary, summary);
                    result = result with { Stability = stability, Stable = IsStable(stability, rules) };
                }
            }
            questionResults.Add(result);
        }

        var judged = questionResults.Where(r => r.State is not null).ToList();
        string state = judged.Count == 0 ? ConsensusStates.NoConsensus
            : judged.Any(r => r.State == ConsensusStates.Dissensus) ? ConsensusStates.Dissensus
            : judged.All(r => r.State == ConsensusStates.Consensus) ? ConsensusStates.Consensus
            : ConsensusStates.NoConsensus;
        bool? stable = judged.Count == 0 || judged.Any(r => r.Stable is null) ? null : judged.All(r => r.Stable == true);
        bool consensus = state == ConsensusStates.Consensus;
        bool isStable = stable == true;
        bool settled = rules.RetireWhen switch
        {
            RetireWhen.Consensus => consensus,
            RetireWhen.Stable => isStable,
            RetireWhen.ConsensusOrStable => consensus || isStable,
            _ => consensus && isStable,
        };
        return new TopicResult
        {
            Topic = topic.Code,
            Field = topic.Field,
            Respondents = members.Count,
            NotFamiliar = notFamiliar,
            State = state,
            Stable = stable,
            Settled = settled,
            Polarized = questionResults.Any(r => r.Summary?.Polarization?.Polarized == true),
            Questions = questionResults,
        };
    }

    /// <summary>The statistics options a question implies: its scale, agreement set, familiarity weights and the rules' polarization test.</summary>
    public static ItemOptions Options(Question q, SurveyDefinition survey, ConsensusRules rules)
    {
        var bounds = q.ScaleBounds;
        var fam = survey.Familiarity;
        Func<double, double>? weight = null;
        if (fam is not null && fam.Options.Any(o => o.Weight is not null))
        {
            var weights = fam.Options.Where(o => o.Value is not null).ToDictionary(o => o.Value!.Value, o => o.Weight ?? 0);
            weight = code => weights.TryGetValue(code, out var w) ? w : 0;
        }
        return new ItemOptions
        {
            Kind = q.Kind == QuestionKind.Year ? ItemKind.Year : q.IsRandUcla ? ItemKind.Rand9 : ItemKind.Likert,
            ScaleMin = bounds?.Min,
            ScaleMax = bounds?.Max,
            Agree = q.Agree,
            FamiliarityWeight = weight,
            Polarization = rules.Polarization,
        };
    }

    static Dictionary<string, double> Familiarity(SurveyDefinition survey, IEnumerable<AnswerRow> rows)
    {
        var q = survey.Familiarity;
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (q is null) return result;
        foreach (var a in rows.Where(a => a.Question == q.Id && a.Number is not null)) result[a.Member] = a.Number!.Value;
        return result;
    }

    /// <summary>Every expert who answered the topic is an observation: their answer, or a skip.</summary>
    static List<Observation> Observations(IReadOnlyList<AnswerRow> rows, IReadOnlyList<string> members, IReadOnlyDictionary<string, double> familiarity)
    {
        var byMember = rows.ToDictionary(r => r.Member, StringComparer.Ordinal);
        var list = new List<Observation>(members.Count);
        foreach (var m in members)
        {
            double? fam = familiarity.TryGetValue(m, out var f) ? f : null;
            if (!byMember.TryGetValue(m, out var a)) { list.Add(Observation.Skipped(m, fam)); continue; }
            var v = AnswerValue.FromStored(a.Value, a.Number);
            list.Add(v.Mark switch
            {
                AnswerMark.DontKnow => Observation.DontKnow(m, fam),
                AnswerMark.Never => Observation.Never(m, fam),
                _ when a.Number is { } x => Observation.Of(m, x, fam),
                _ => Observation.Skipped(m, fam),
            });
        }
        return list;
    }

    static IReadOnlyList<OptionCount> Counts(Question q, IReadOnlyList<AnswerRow> rows)
    {
        if (q.Options.Count == 0) return [];
        var counts = q.Options.ToDictionary(o => o.Code, _ => 0, StringComparer.Ordinal);
        foreach (var r in rows)
            foreach (var code in r.Value.Split(';', StringSplitOptions.RemoveEmptyEntries))
                if (counts.ContainsKey(code)) counts[code]++;
        int n = rows.Count;
        return q.Options.Select(o => new OptionCount(o.Code, counts[o.Code], n == 0 ? 0 : 100.0 * counts[o.Code] / n)).ToList();
    }

    public static string State(ItemSummary s, QuestionCriterion c, ConsensusRules rules)
    {
        if (s.Polarization?.Polarized == true) return ConsensusStates.Dissensus;
        bool reached = s.N >= rules.MinN
            && (c.IqrMax is null || (s.Iqr is { } iqr && Tolerance.LessOrEqual(iqr, c.IqrMax.Value)))
            && (c.AgreeMinPct is null || (s.PctAgree is { } pa && Tolerance.GreaterOrEqual(pa, c.AgreeMinPct.Value)))
            && (c.SdMax is null || (s.Sd is { } sd && Tolerance.LessOrEqual(sd, c.SdMax.Value)))
            && (c.CvMax is null || (s.Cv is { } cv && Tolerance.LessOrEqual(Math.Abs(cv), c.CvMax.Value)));
        return reached ? ConsensusStates.Consensus : ConsensusStates.NoConsensus;
    }

    /// <summary>Stable: at most the allowed share changed, and (if the rules use it) the Wilcoxon test finds no shift.</summary>
    public static bool? IsStable(StabilityResult s, ConsensusRules rules)
    {
        if (s.NPairs == 0 || s.PctChanged is null) return null;
        bool fewChanged = Tolerance.LessOrEqual(s.PctChanged.Value, rules.StabilityMaxPctChanged);
        bool noShift = rules.StabilityWilcoxonAlpha is not { } alpha || s.WilcoxonP is not { } p || Tolerance.GreaterOrEqual(p, alpha);
        return fewChanged && noShift;
    }

    /// <summary>
    /// A hash of a round's data, stated in reports so that two copies can be compared: the rules version, the
    /// round's topics and every answer (member, topic, question, value, rationale), in a fixed order.
    /// </summary>
    public static string DataHash(int round, int rulesVersion, IEnumerable<string> topics, IEnumerable<AnswerRow> answers)
    {
        var sb = new StringBuilder();
        sb.Append("foresight-round-data/1\n").Append(round).Append('\n').Append(rulesVersion).Append('\n');
        foreach (var t in topics.Order(StringComparer.Ordinal)) sb.Append("topic\t").Append(t).Append('\n');
        foreach (var a in answers.OrderBy(a => a.Topic, StringComparer.Ordinal).ThenBy(a => a.Question, StringComparer.Ordinal).ThenBy(a => a.Member, StringComparer.Ordinal))
            sb.Append(a.Member).Append('\t').Append(a.Topic).Append('\t').Append(a.Question).Append('\t')
              .Append(a.Value.Replace('\t', ' ').Replace('\n', ' ')).Append('\t')
              .Append((a.Rationale ?? "").Replace('\t', ' ').Replace('\n', ' ')).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }
}
