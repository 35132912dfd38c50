using System.Text.Json;
using Dapper;
using Foresight.Core.Consensus;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Rounds;

public sealed class RoundRow
{
    public long Id { get; init; }
    public long SurveyId { get; init; }
    public int Number { get; init; }
    public string Status { get; init; } = "";
    public int RulesVersion { get; init; }
    public string OpenedAt { get; init; } = "";
    public string? Deadline { get; init; }
    public string? ClosedAt { get; init; }
    public string? DataHash { get; init; }
    public int? Invited { get; init; }
    public int? Responded { get; init; }
    public int? Finished { get; init; }
    public double? SettledPct { get; init; }
    public string? StopReason { get; init; }
    public long? Stop { get; init; }
    public string? Rankings { get; init; }
    public bool IsOpen => Status == "open";
}

public sealed class RoundTopicRow
{
    public long TopicId { get; init; }
    public string Code { get; init; } = "";
    public string FieldCode { get; init; } = "";
    public long FieldId { get; init; }
    public string? TitleZh { get; init; }
    public string? TitleEn { get; init; }
    public int Position { get; init; }
    public string? State { get; init; }
    public long? Stable { get; init; }
    public string? Proposed { get; init; }
    public string? Decision { get; init; }
    public string? DecisionNote { get; init; }
    public string TopicStatus { get; init; } = "";
}

/// <summary>A stored answer with its member's pseudonym and member id.</summary>
public sealed record StoredAnswer(long MemberId, string Pseudonym, string Topic, string Question, string Value, double? Number, string? Rationale)
{
    public AnswerRow Row => new(Pseudonym, Topic, Question, Value, Number, Rationale);
}

/// <summary>The SQL of rounds and their answers, shared by the features that read rounds.</summary>
public static class RoundStore
{
    public static Task<RoundRow?> RoundAsync(SqliteConnection c, long surveyId, int number, SqliteTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<RoundRow>("SELECT * FROM rounds WHERE survey_id = @surveyId AND number = @number", new { surveyId, number }, tx);

    public static Task<RoundRow?> OpenRoundAsync(SqliteConnection c, long surveyId, SqliteTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<RoundRow>("SELECT * FROM rounds WHERE survey_id = @surveyId AND status = 'open'", new { surveyId }, tx);

    public static Task<RoundRow?> LatestAsync(SqliteConnection c, long surveyId, SqliteTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<RoundRow>("SELECT * FROM rounds WHERE survey_id = @surveyId ORDER BY number DESC LIMIT 1", new { surveyId }, tx);

    public static async Task<List<RoundRow>> AllAsync(SqliteConnection c, long surveyId) =>
        (await c.QueryAsync<RoundRow>("SELECT * FROM rounds WHERE survey_id = @surveyId ORDER BY number", new { surveyId })).ToList();

    public static async Task<List<RoundTopicRow>> TopicsAsync(SqliteConnection c, long roundId, SqliteTransaction? tx = null) =>
        (await c.QueryAsync<RoundTopicRow>("""
            SELECT t.id AS topic_id, t.code, f.code AS field_code, f.id AS field_id, t.title_zh, t.title_en, rt.position,
                   rt.state, rt.stable, rt.proposed, rt.decision, rt.decision_note, t.status AS topic_status
            FROM round_topics rt JOIN topics t ON t.id = rt.topic_id JOIN fields f ON f.id = t.field_id
            WHERE rt.round_id = @roundId ORDER BY rt.position
            """, new { roundId }, tx)).ToList();

    public static async Task<List<StoredAnswer>> AnswersAsync(SqliteConnection c, long roundId, SqliteTransaction? tx = null, string? topic = null) =>
        (await c.QueryAsync<StoredAnswer>("""
            SELECT a.member_id, m.pseudonym, t.code AS topic, a.question, a.value, a.number, a.rationale
            FROM answers a JOIN panel_members m ON m.id = a.member_id JOIN topics t ON t.id = a.topic_id
            WHERE a.round_id = @roundId AND (@topic IS NULL OR t.code = @topic)
            """, new { roundId, topic }, tx)).ToList();

    /// <summary>
    /// The round's topics with the topic of the previous round each continues: itself when it was asked then,
    /// otherwise its single parent from a split. A merged topic has several parents and no single predecessor.
    /// </summary>
    public static async Task<List<RoundTopic>> WithPredecessorsAsync(SqliteConnection c, RoundRow round, IReadOnlyList<RoundTopicRow> topics, SqliteTransaction? tx = null)
    {
        var previousCodes = new HashSet<string>();
        var parents = new Dictionary<long, List<string>>();
        if (round.Number > 1 && await RoundAsync(c, round.SurveyId, round.Number - 1, tx) is { } previous)
        {
            previousCodes = (await TopicsAsync(c, previous.Id, tx)).Select(t => t.Code).ToHashSet();
            foreach (var (topicId, code) in await c.QueryAsync<(long, string)>("""
                SELECT l.topic_id, p.code FROM topic_lineage l JOIN topics p ON p.id = l.parent_id JOIN topics t ON t.id = l.topic_id
                WHERE t.survey_id = @SurveyId
                """, new { round.SurveyId }, tx))
            {
                if (!parents.TryGetValue(topicId, out var list)) parents[topicId] = list = [];
                list.Add(code);
            }
        }
        return topics.Select(t =>
        {
            string? previous = previousCodes.Contains(t.Code) ? t.Code
                : parents.TryGetValue(t.TopicId, out var ps) && ps.Count(previousCodes.Contains) == 1 ? ps.Single(previousCodes.Contains)
                : null;
            return new RoundTopic(t.Code, t.FieldCode, previous);
        }).ToList();
    }

    /// <summary>The topic results of a closed round, as stored when it closed.</summary>
    public static async Task<Dictionary<string, TopicResult>> SnapshotAsync(SqliteConnection c, long roundId, SqliteTransaction? tx = null)
    {
        var rows = await c.QueryAsync<(string Code, string Result)>("""
            SELECT t.code, k.result FROM consensus k JOIN topics t ON t.id = k.topic_id WHERE k.round_id = @roundId
            """, new { roundId }, tx);
        return rows.ToDictionary(r => r.Code, r => JsonSerializer.Deserialize<TopicResult>(r.Result, Plumbing.Json.Stored)!);
    }
}
