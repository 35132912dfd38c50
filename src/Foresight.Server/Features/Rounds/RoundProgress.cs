using Dapper;
using Foresight.Core.Answers;
using Foresight.Core.Surveys;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Rounds;

/// <summary>Who of a round's panel has answered and finished, per round and per field.</summary>
public static class RoundProgress
{
    /// <summary>
    /// Response: invited experts who answered anything; finished: those who completed every topic of their fields
    /// (answered its required questions or marked it not familiar); drop-out: responded in the previous round, not in this one.
    /// </summary>
    public static async Task<(HashSet<long> Invited, HashSet<long> Responded, HashSet<long> Finished)> MembersByProgressAsync(
        SqliteConnection c, SurveyDefinition survey, RoundRow round, IReadOnlyList<RoundTopicRow> topics, IReadOnlyList<StoredAnswer> answers,
        SqliteTransaction? tx = null)
    {
        var invited = (await c.QueryAsync<long>("SELECT member_id FROM round_members WHERE round_id = @Id", new { round.Id }, tx)).ToHashSet();
        var assignments = await AssignmentsAsync(c, round, topics, tx);
        // member → topic → the member's answers to it, grouped once (a national round holds millions of answers).
        var byMember = new Dictionary<long, Dictionary<string, List<StoredAnswer>>>();
        foreach (var a in answers)
        {
            if (survey.Question(a.Question) is null) continue;
            if (!byMember.TryGetValue(a.MemberId, out var topicsOf)) byMember[a.MemberId] = topicsOf = new(StringComparer.Ordinal);
            if (!topicsOf.TryGetValue(a.Topic, out var rows)) topicsOf[a.Topic] = rows = [];
            rows.Add(a);
        }
        HashSet<long> responded = [], finished = [];
        foreach (var member in invited)
        {
            if (!byMember.TryGetValue(member, out var mine)) continue;
            responded.Add(member);
            var assigned = assignments[member].ToList();
            if (assigned.Count > 0 && assigned.All(topic => TopicAnswers.IsComplete(survey, round.Number, Current(mine.GetValueOrDefault(topic) ?? []))))
                finished.Add(member);
        }
        return (invited, responded, finished);
    }

    public static async Task<Participation> ParticipationAsync(
        SqliteConnection c, SurveyDefinition survey, RoundRow round, IReadOnlyList<RoundTopicRow> topics, IReadOnlyList<StoredAnswer> answers,
        SqliteTransaction? tx = null)
    {
        var (invited, respondedSet, finishedSet) = await MembersByProgressAsync(c, survey, round, topics, answers, tx);
        int responded = respondedSet.Count, finished = finishedSet.Count;
        int? dropped = null;
        if (round.Number > 1 && await RoundStore.RoundAsync(c, round.SurveyId, round.Number - 1, tx) is { } previous)
        {
            var before = (await c.QueryAsync<long>("SELECT DISTINCT member_id FROM topic_answers WHERE round_id = @Id", new { previous.Id }, tx)).ToHashSet();
            var now = answers.Where(a => survey.Question(a.Question) is not null).Select(a => a.MemberId).ToHashSet();
            dropped = before.Count(m => !now.Contains(m));
            return new Participation(invited.Count, responded, finished, Rate(responded, invited.Count), Rate(finished, invited.Count), dropped,
                Rate(dropped.Value, before.Count));
        }
        return new Participation(invited.Count, responded, finished, Rate(responded, invited.Count), Rate(finished, invited.Count), null, null);
    }

    internal static async Task<List<FieldProgress>> FieldProgressAsync(SqliteConnection c, SurveyDefinition survey, RoundRow round,
        IReadOnlyList<RoundTopicRow> topics, IReadOnlyList<StoredAnswer> answers)
    {
        var members = (await c.QueryAsync<(long MemberId, string Field)>("""
            SELECT pf.member_id, f.code FROM panel_fields pf JOIN fields f ON f.id = pf.field_id
            JOIN round_members rm ON rm.member_id = pf.member_id AND rm.round_id = @Id
            """, new { round.Id })).ToLookup(x => x.Field, x => x.MemberId);
        var topicField = topics.ToDictionary(t => t.Code, t => t.FieldCode);
        var answered = answers.Where(a => survey.Question(a.Question) is not null)
            .Select(a => (a.MemberId, a.Topic)).Distinct().ToLookup(x => topicField.GetValueOrDefault(x.Topic) ?? "");
        return topics.GroupBy(t => t.FieldCode).Select(g =>
        {
            var experts = members[g.Key].ToHashSet();
            var pairs = answered[g.Key].Where(x => experts.Contains(x.MemberId)).ToList();
            return new FieldProgress(g.Key, experts.Count, pairs.Select(x => x.MemberId).Distinct().Count(), g.Count(), pairs.Count, experts.Count * g.Count());
        }).ToList();
    }

    /// <summary>member → the codes of the round's topics in the fields assigned to them.</summary>
    public static async Task<ILookup<long, string>> AssignmentsAsync(SqliteConnection c, RoundRow round, IReadOnlyList<RoundTopicRow> topics,
        SqliteTransaction? tx = null)
    {
        var fields = await c.QueryAsync<(long MemberId, long FieldId)>("""
            SELECT pf.member_id, pf.field_id FROM panel_fields pf JOIN round_members rm ON rm.member_id = pf.member_id AND rm.round_id = @Id
            """, new { round.Id }, tx);
        var byField = topics.ToLookup(t => t.FieldId, t => t.Code);
        return fields.SelectMany(f => byField[f.FieldId].Select(code => (f.MemberId, code))).ToLookup(x => x.MemberId, x => x.code);
    }

    public static IReadOnlyDictionary<string, QuestionAnswer> Current(IEnumerable<StoredAnswer> rows) =>
        rows.ToDictionary(a => a.Question, a => new QuestionAnswer(AnswerValue.FromStored(a.Value, a.Number), a.Rationale), StringComparer.Ordinal);

    static double? Rate(int part, int whole) => whole == 0 ? null : 100.0 * part / whole;
}
