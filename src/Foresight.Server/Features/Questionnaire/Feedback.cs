using Dapper;
using Foresight.Core.Answers;
using Foresight.Core.Consensus;
using Foresight.Core.Statistics;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Questionnaire;

/// <param name="Value">the scale point, year or option code</param>
public sealed record DistributionEntry(string Value, LocalizedText? Label, int Count, double Pct);

public sealed record GroupFeedback(string Group, int N, double? Median, double? Q1, double? Q3);

public sealed record OwnAnswer(object Value, string? Rationale);

public sealed record QuestionFeedback(
    string Question, QuestionKind Kind, int N, double? Median, double? Q1, double? Q3, double? Iqr, double? PctAgree, string? State,
    IReadOnlyList<DistributionEntry> Distribution, OwnAnswer? YourAnswer, IReadOnlyList<GroupFeedback> Groups, int GroupsSuppressed,
    IReadOnlyList<string> Rationales);

/// <param name="Relation">same: this topic in the previous round; merged_from / split_from: a topic it replaces</param>
/// <param name="Arguments">the argument clusters of the rationales the coordinator chose to show (machine-grouped, anonymous quotes)</param>
public sealed record SourceFeedback(string Topic, LocalizedText Title, string Relation, string State, int Respondents,
    IReadOnlyList<QuestionFeedback> Questions,
    IReadOnlyList<Insights.ChosenArgument> Arguments);

public sealed record TopicFeedback(int Round, IReadOnlyList<SourceFeedback> Sources);

/// <summary>
/// What an expert sees next to a topic from round 2 on: per question the previous round's median, quartiles,
/// distribution and n (from the consensus stored when that round closed), optionally by stakeholder group (groups
/// below the minimum size are not shown), their own previous answer, and the anonymized rationales. A reworded topic
/// keeps its feedback; a merged or split topic gets its parents'.
/// </summary>
public static class Feedback
{
    public sealed record Source(TopicRow Topic, string Relation);

    public static async Task<List<Source>> SourcesAsync(SqliteConnection c, long surveyId, RoundRow previous, TopicRow topic, SqliteTransaction? tx = null)
    {
        var previousTopics = (await RoundStore.TopicsAsync(c, previous.Id, tx)).Select(t => t.Code).ToHashSet();
        if (previousTopics.Contains(topic.Code)) return [new Source(topic, "same")];
        var parents = await c.QueryAsync<(string Code, string Kind)>("""
            SELECT p.code, l.kind FROM topic_lineage l JOIN topics p ON p.id = l.parent_id WHERE l.topic_id = @Id ORDER BY p.position
            """, new { topic.Id }, tx);
        var result = new List<Source>();
        foreach (var (code, kind) in parents.Where(p => previousTopics.Contains(p.Code)))
            result.Add(new Source((await SurveyStore.TopicAsync(c, surveyId, code, tx))!, kind == "merge" ? "merged_from" : "split_from"));
        return result;
    }

    /// <summary>The previous round's quartiles of each numeric question, when the topic has exactly one source.</summary>
    public static async Task<Func<string, PreviousQuartiles?>> PreviousQuartilesAsync(SqliteConnection c, long surveyId, RoundRow? previous, TopicRow topic,
        SqliteTransaction? tx = null)
    {
        if (previous is null) return _ => null;
        var sources = await SourcesAsync(c, surveyId, previous, topic, tx);
        if (sources.Count != 1) return _ => null;
        var snapshot = await RoundStore.SnapshotAsync(c, previous.Id, tx);
        if (!snapshot.TryGetValue(sources[0].Topic.Code, out var result)) return _ => null;
        return q => result.Question(q)?.Summary is { Q1: { } q1, Q3: { } q3 } ? new PreviousQuartiles(q1, q3) : null;
    }

    /// <param name="arguments">whether the argument clusters chosen by the coordinator are shown (the machine layer is on)</param>
    public static async Task<TopicFeedback?> BuildAsync(SqliteConnection c, SurveyDefinition survey, RoundRow previous, TopicRow topic, long memberId,
        bool arguments)
    {
        var sources = await SourcesAsync(c, previous.SurveyId, previous, topic);
        if (sources.Count == 0) return null;
        var snapshot = await RoundStore.SnapshotAsync(c, previous.Id);
        var result = new List<SourceFeedback>();
        foreach (var source in sources)
        {
            if (!snapshot.TryGetValue(source.Topic.Code, out var stats)) continue;
            var answers = await RoundStore.AnswersAsync(c, previous.Id, topic: source.Topic.Code);
            var groups = survey.Feedback.ByGroup is { } role ? await GroupsAsync(c, survey, previous.SurveyId, role) : null;
            var questions = new List<QuestionFeedback>();
            foreach (var q in survey.Questions.Where(q => q.AskedIn(previous.Number) && q.Kind != QuestionKind.Text))
            {
                var r = stats.Question(q.Id);
                if (r is null) continue;
                var rows = answers.Where(a => a.Question == q.Id).ToList();
                var own = rows.FirstOrDefault(a => a.MemberId == memberId);
                var (groupStats, suppressed) = groups is null || !q.IsNumeric ? ([], 0) : GroupStats(survey, q, rows, groups);
                questions.Add(new QuestionFeedback(q.Id, q.Kind, r.Summary?.N ?? r.Answered, r.Summary?.Median, r.Summary?.Q1, r.Summary?.Q3, r.Summary?.Iqr,
                    r.Summary?.PctAgree, r.State, Distribution(q, r),
                    own is null ? null : new OwnAnswer(AnswerValue.FromStored(own.Value, own.Number).ToJson(q), own.Rationale),
                    groupStats, suppressed, Rationales.Anonymous(rows.Select(a => a.Rationale))));
            }
            foreach (var q in survey.Questions.Where(q => q.Kind == QuestionKind.Text && q.ShowInFeedback && q.AskedIn(previous.Number)))
            {
                var rows = answers.Where(a => a.Question == q.Id).ToList();
                var own = rows.FirstOrDefault(a => a.MemberId == memberId);
                questions.Add(new QuestionFeedback(q.Id, q.Kind, rows.Count, null, null, null, null, null, null, [],
                    own is null ? null : new OwnAnswer(own.Value, null), [], 0, Rationales.Anonymous(rows.Select(a => a.Value))));
            }
            result.Add(new SourceFeedback(source.Topic.Code, source.Topic.Title, source.Relation, stats.State, stats.Respondents, questions,
                arguments ? await Insights.Arguments.FeedbackAsync(c, previous.Id, source.Topic.Id) : []));
        }
        return new TopicFeedback(previous.Number, result);
    }

    static IReadOnlyList<DistributionEntry> Distribution(Question q, QuestionResult r)
    {
        if (r.Counts.Count > 0)
            return r.Counts.Select(c => new DistributionEntry(c.Code, q.OptionByCode(c.Code)?.Label, c.Count, c.Pct)).ToList();
        var s = r.Summary;
        if (s is null || s.N == 0) return [];
        if (q.Kind == QuestionKind.Rating)
            return Enumerable.Range(q.Min!.Value, q.Max!.Value - q.Min.Value + 1).Select(point =>
            {
                int count = s.Distribution.FirstOrDefault(d => d.Value == point).Count;
                return new DistributionEntry(point.ToString(), q.Anchors.GetValueOrDefault(point), count, 100.0 * count / s.N);
            }).ToList();
        return s.Distribution.Select(d => new DistributionEntry(d.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), null, d.Count,
            100.0 * d.Count / s.N)).ToList();
    }

    /// <summary>member → group code, from the profile question with the role, or the expert pool's attribute.</summary>
    public static async Task<Dictionary<long, string>> GroupsAsync(SqliteConnection c, SurveyDefinition survey, long surveyId, ProfileRole role)
    {
        var question = survey.Profile.FirstOrDefault(p => p.Role == role)?.Id ?? "";
        var column = role switch { ProfileRole.OrgType => "org_type", ProfileRole.Region => "region", _ => "work" };
        var rows = await c.QueryAsync<(long Id, string? Group)>($"""
            SELECT m.id, COALESCE(pa.value, e.{column}) FROM panel_members m JOIN experts e ON e.id = m.expert_id
            LEFT JOIN profile_answers pa ON pa.member_id = m.id AND pa.question = @question
            WHERE m.survey_id = @surveyId
            """, new { surveyId, question });
        return rows.Where(r => !string.IsNullOrEmpty(r.Group)).ToDictionary(r => r.Id, r => r.Group!);
    }

    static (IReadOnlyList<GroupFeedback>, int) GroupStats(SurveyDefinition survey, Question q, IReadOnlyList<StoredAnswer> rows,
        IReadOnlyDictionary<long, string> groups)
    {
        var result = new List<GroupFeedback>();
        int suppressed = 0;
        foreach (var g in rows.Where(r => r.Number is not null && groups.ContainsKey(r.MemberId)).GroupBy(r => groups[r.MemberId]).OrderBy(g => g.Key))
        {
            var s = ItemStatistics.Compute(g.Select(r => Observation.Of(r.Pseudonym, r.Number!.Value)), new ItemOptions());
            if (s.N < survey.Feedback.MinGroupSize) { suppressed++; continue; }
            result.Add(new GroupFeedback(g.Key, s.N, s.Median, s.Q1, s.Q3));
        }
        return (result, suppressed);
    }
}
