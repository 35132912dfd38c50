using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Foresight.Core.Answers;
using Foresight.Core.Statistics;
using Foresight.Core.Surveys;

namespace Foresight.Core.Consensus;

/// <summary>One stored answer, as the consensus sees it. ExpertId is the expert's pseudonym (the expert_id of the long format), never a name.</summary>
public sealed record AnswerRow(string ExpertId, string Topic, string Question, string Value, double? Number, string? Rationale = null);

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

/// <summary>
/// One topic's answers as the statistics read them: an expert per row (their pseudonym), a question of the survey
/// per column (by its position in <see cref="SurveyDefinition.Questions"/>), value and number per cell (null and NaN
/// where there is none). Only experts with at least one answer to a question of the survey are rows. The arrays are
/// read, never changed.
/// </summary>
public sealed class TopicTable(IReadOnlyList<string> members, IReadOnlyList<string?[]> values, IReadOnlyList<double[]> numbers)
{
    // Arrays, so that the statistics' loops index them directly rather than through an interface.
    readonly string[] _members = members as string[] ?? [.. members];
    internal readonly string?[][] V = values as string?[][] ?? [.. values];
    internal readonly double[][] N = numbers as double[][] ?? [.. numbers];

    public IReadOnlyList<string> Members => _members;
    /// <summary>Values[expert][question]: the stored text, null where not answered.</summary>
    public IReadOnlyList<string?[]> Values => V;
    /// <summary>Numbers[expert][question]: the stored number, NaN where there is none.</summary>
    public IReadOnlyList<double[]> Numbers => N;
    public int Count => _members.Length;

    /// <summary>The table of a topic's stored rows (rows of other questions, e.g. rankings, are left out); experts in the order they first appear.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static TopicTable FromRows(SurveyDefinition survey, IEnumerable<AnswerRow> rows)
    {
        int width = survey.Questions.Count;
        var position = new Dictionary<string, int>(width, StringComparer.Ordinal);
        for (int i = 0; i < width; i++) position.TryAdd(survey.Questions[i].Id, i);
        var rowOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var members = new List<string>();
        var values = new List<string?[]>();
        var numbers = new List<double[]>();
        foreach (var a in rows)
        {
            if (!position.TryGetValue(a.Question, out var qi)) continue;
            if (!rowOf.TryGetValue(a.ExpertId, out var m))
            {
                rowOf[a.ExpertId] = m = members.Count;
                members.Add(a.ExpertId);
                values.Add(new string?[width]);
                var n = new double[width];
                Array.Fill(n, double.NaN);
                numbers.Add(n);
            }
            values[m][qi] = a.Value;
            numbers[m][qi] = a.Number ?? double.NaN;
        }
        return new TopicTable(members, values, numbers);
    }

    /// <summary>Each expert's familiarity (the number of their answer to question <paramref name="fi"/>), null where unknown.</summary>
    internal double?[] Familiarity(int fi)
    {
        var result = new double?[Count];
        if (fi >= 0)
            for (int m = 0; m < result.Length; m++)
                if (!double.IsNaN(N[m][fi])) result[m] = N[m][fi];
        return result;
    }
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
                var kendall = KendallW.Compute(codes, rows.Select(r => (r.ExpertId, r.Topic, r.Number!.Value)));
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
        else if (Tolerance.GreaterOrEqual(settledPct,
            rules.SettledPct)) { stop = true; reason = $"{settledPct:0.#} % of topics met the stop rule (the rules ask for {rules.SettledPct:0.#} %)"; }
        else { stop =
            false; reason = $"{results.Count - settled} of {results.Count} topics have not met the stop rule ({settledPct:0.#} % settled; the rules ask for " +
                $"{rules.SettledPct:0.#} %)"; }
        return new RoundResult(round, results, rankings, settledPct, stop, reason);
    }

    /// <param name="answers">all answers of the round to this topic (ranking rows are ignored)</param>
    /// <param name="previous">the previous round's answers to this topic's predecessor, for stability</param>
    public static TopicResult ComputeTopic(
        SurveyDefinition survey, ConsensusRules rules, int round, RoundTopic topic,
        IReadOnlyList<AnswerRow> answers, IReadOnlyList<AnswerRow>? previous) =>
        ComputeTopic(survey, rules, round, topic, TopicTable.FromRows(survey, answers),
            previous is null ? null : TopicTable.FromRows(survey, previous));

    /// <summary>
    /// The topic's result from its answers as a table (an expert per row, a survey question per column): what
    /// <see cref="ComputeTopic(SurveyDefinition, ConsensusRules, int, RoundTopic, IReadOnlyList{AnswerRow}, IReadOnlyList{AnswerRow}?)"/>
    /// computes from rows, without a row object per answer.
    /// </summary>
    // Compiled optimized at once: a round's consensus is computed in bursts, often the first time in a process's life,
    // when tier-0 code ran a national round's topics about twice as slowly while their re-compilation took a core.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static TopicResult ComputeTopic(
        SurveyDefinition survey, ConsensusRules rules, int round, RoundTopic topic, TopicTable answers, TopicTable? previous)
    {
        var familiarityQ = survey.Familiarity;
        int fi = familiarityQ is null ? -1 : IndexOf(survey.Questions, familiarityQ);
        var familiarity = answers.Familiarity(fi);
        int notFamiliar = 0;
        if (fi >= 0)
            for (int m = 0; m < answers.Count; m++)
                if (answers.V[m][fi] is { } v && familiarityQ!.OptionByCode(v) is { SkipsTopic: true }) notFamiliar++;
        var previousFamiliarity = previous?.Familiarity(fi);

        var questionResults = new List<QuestionResult>();
        for (int qi = 0; qi < survey.Questions.Count; qi++)
        {
            var q = survey.Questions[qi];
            if (!q.AskedIn(round)) continue;
            int answered = 0;
            for (int m = 0; m < answers.Count; m++) if (answers.V[m][qi] is not null) answered++;
            var result = new QuestionResult
            {
                Question = q.Id,
                Kind = q.Kind,
                Answered = answered,
                Counts = Counts(q, answers, qi, answered),
            };
            if (q.IsNumeric)
            {
                var options = Options(q, survey, rules);
                var after = Observations(answers, qi, familiarity);
                var summary = ItemStatistics.Compute(after, options);
                result = result with { Summary = summary };
                var criterion = rules.Criteria.FirstOrDefault(c => c.Question == q.Id);
                if (criterion is not null) result = result with { State = State(summary, criterion, rules) };
                if (previous is not null)
                {
                    var before = Observations(previous, qi, previousFamiliarity!);
                    var beforeSummary = ItemStatistics.Compute(before, options);
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
            Respondents = answers.Count,
            NotFamiliar = notFamiliar,
            State = state,
            Stable = stable,
            Settled = settled,
            Polarized = questionResults.Any(r => r.Summary?.Polarization?.Polarized == true),
            Questions = questionResults,
        };
    }

    static int IndexOf(IReadOnlyList<Question> questions, Question q)
    {
        for (int i = 0; i < questions.Count; i++) if (ReferenceEquals(questions[i], q)) return i;
        return -1;
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

    /// <summary>Every expert who answered the topic is an observation: their answer to question <paramref name="qi"/>, or a skip.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static Observation[] Observations(TopicTable t, int qi, double?[] familiarity)
    {
        var list = new Observation[t.Count];
        for (int m = 0; m < list.Length; m++)
        {
            var member = t.Members[m];
            double? fam = familiarity[m];
            var value = t.V[m][qi];
            double number = t.N[m][qi];
            list[m] = (value switch
            {
                null => Observation.Skipped(member, fam),
                AnswerValue.DontKnowText => Observation.DontKnow(member, fam),
                AnswerValue.NeverText => Observation.Never(member, fam),
                _ when !double.IsNaN(number) => Observation.Of(member, number, fam),
                _ => Observation.Skipped(member, fam),
            });
        }
        return list;
    }

    /// <summary>Answers per option code; a multiple-choice answer counts once for each code it names (codes joined by ';').</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static IReadOnlyList<OptionCount> Counts(Question q, TopicTable t, int qi, int answered)
    {
        if (q.Options.Count == 0) return [];
        var options = q.Options;
        var counts = new int[options.Count];
        // The same few strings come again and again (the server keeps one string per distinct value): a value seen
        // before that named one option is counted by reference, without reading its characters.
        Span<int> seenOption = stackalloc int[8];
        var seen = new string?[8];
        int nSeen = 0;
        for (int m = 0; m < t.Count; m++)
        {
            if (t.V[m][qi] is not { } value) continue;
            int known = -1;
            for (int k = 0; k < nSeen; k++) if (ReferenceEquals(seen[k], value)) { known = seenOption[k]; break; }
            if (known >= 0) { counts[known]++; continue; }
            int single = -1, named = 0;
            var rest = value.AsSpan();
            while (true)
            {
                int cut = rest.IndexOf(';');
                var code = cut < 0 ? rest : rest[..cut];
                if (!code.IsEmpty)
                    for (int o = 0; o < options.Count; o++)
                        if (code.SequenceEqual(options[o].Code)) { counts[o]++; single = o; named++; break; }
                if (cut < 0) break;
                rest = rest[(cut + 1)..];
            }
            if (named == 1 && value.Length == options[single].Code.Length && nSeen < seen.Length)
            {
                seen[nSeen] = value;
                seenOption[nSeen++] = single;
            }
        }
        var result = new OptionCount[options.Count];
        for (int o = 0; o < options.Count; o++)
            result[o] = new OptionCount(options[o].Code, counts[o], answered == 0 ? 0 : 100.0 * counts[o] / answered);
        return result;
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
        // The hashed text (format foresight-round-data/1) is fixed, since stated hashes are compared: UTF-8 of a header,
        // one line per topic in ordinal order, then one line per answer ordered by topic, question and member (ordinal).
        // A national round has millions of answers: they are ordered by integer ranks rather than by comparing strings,
        // and the text is hashed in blocks of whole lines rather than built whole (no character's UTF-8 is split).
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var sb = new StringBuilder();
        sb.Append("foresight-round-data/1\n").Append(round).Append('\n').Append(rulesVersion).Append('\n');
        foreach (var t in topics.Order(StringComparer.Ordinal)) sb.Append("topic\t").Append(t).Append('\n');
        var rows = answers as IReadOnlyList<AnswerRow> ?? answers.ToList();
        var topicRank = new Ranks(rows, a => a.Topic);
        var questionRank = new Ranks(rows, a => a.Question);
        var memberRank = new Ranks(rows, a => a.ExpertId);
        // (topic, question, member) as one number, sorted with the rows' indexes; rows with equal keys are then put
        // back in their given order, as the stable sort this replaces left them.
        var keys = new long[rows.Count];
        var order = new int[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            var a = rows[i];
            keys[i] = checked((topicRank.Of(a.Topic) * questionRank.Count + questionRank.Of(a.Question)) * memberRank.Count + memberRank.Of(a.ExpertId));
            order[i] = i;
        }
        Array.Sort(keys, order);
        for (int start = 0, end; start < keys.Length; start = end)
        {
            for (end = start + 1; end < keys.Length && keys[end] == keys[start]; end++) { }
            if (end - start > 1) Array.Sort(order, start, end - start);
        }
        sha.AppendData(Encoding.UTF8.GetBytes(sb.ToString()));
        // The answers' lines are written in blocks on every core, a wave of blocks at a time, and hashed in order.
        var blocks = new ArrayBufferWriter<byte>[LineBlocksPerWave];
        for (int b = 0; b < blocks.Length; b++) blocks[b] = new ArrayBufferWriter<byte>();
        for (int wave = 0; wave < order.Length; wave += LineBlock * LineBlocksPerWave)
        {
            int start = wave, count = Math.Min(LineBlocksPerWave, (order.Length - wave + LineBlock - 1) / LineBlock);
            Parallel.For(0, count, b =>
            {
                blocks[b].ResetWrittenCount();
                int from = start + b * LineBlock;
                WriteLines(rows, order.AsSpan(from, Math.Min(LineBlock, order.Length - from)), blocks[b]);
            });
            for (int b = 0; b < count; b++) sha.AppendData(blocks[b].WrittenSpan);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    const int LineBlock = 8192, LineBlocksPerWave = 8;

    /// <summary>The UTF-8 of the answers' lines, in the given order.</summary>
    static void WriteLines(IReadOnlyList<AnswerRow> rows, ReadOnlySpan<int> order, ArrayBufferWriter<byte> output)
    {
        var sb = new StringBuilder();
        foreach (var i in order)
        {
            var a = rows[i];
            sb.Append(a.ExpertId).Append('\t').Append(a.Topic).Append('\t').Append(a.Question).Append('\t')
              .Append(a.Value.Replace('\t', ' ').Replace('\n', ' ')).Append('\t')
              .Append((a.Rationale ?? "").Replace('\t', ' ').Replace('\n', ' ')).Append('\n');
            // Whole lines only, so that no character's UTF-8 is split; strings kept off the large-object heap.
            if (sb.Length >= 1 << 13) { Encoding.UTF8.GetBytes(sb.ToString(), output); sb.Clear(); }
        }
        Encoding.UTF8.GetBytes(sb.ToString(), output);
    }

    /// <summary>Each distinct value's place in ordinal order.</summary>
    sealed class Ranks
    {
        readonly Dictionary<string, long> _rank = new(StringComparer.Ordinal);
        // Rows come grouped (by member and topic): the last string asked for is usually the same instance again.
        string? _last;
        long _lastRank;

        public Ranks(IReadOnlyList<AnswerRow> rows, Func<AnswerRow, string> of)
        {
            var distinct = new HashSet<string>(StringComparer.Ordinal);
            string? previous = null;
            foreach (var a in rows)
            {
                var value = of(a);
                if (!ReferenceEquals(value, previous)) distinct.Add(previous = value);
            }
            var sorted = distinct.ToArray();
            Array.Sort(sorted, StringComparer.Ordinal);
            for (int i = 0; i < sorted.Length; i++) _rank[sorted[i]] = i;
        }

        public long Count => _rank.Count;

        public long Of(string value)
        {
            if (!ReferenceEquals(value, _last)) (_last, _lastRank) = (value, _rank[value]);
            return _lastRank;
        }
    }
}
