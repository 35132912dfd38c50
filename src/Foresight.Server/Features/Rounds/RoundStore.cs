using System.Collections.Concurrent;
using System.Text.Json;
using Dapper;
using Foresight.Core;
using Foresight.Core.Consensus;
using Foresight.Server.Features.Questionnaire;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Rounds;

public sealed class RoundRow
{
    public long Id { get; init; }
    public long SurveyId { get; init; }
    public int Number { get; init; }
    public RoundStatus Status { get; init; } = RoundStatus.Open;
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
    /// <summary>The address of the request that opened the round, for e-mail links when Foresight:PublicUrl is not set.</summary>
    public string? LinkBase { get; init; }
    public bool IsOpen => Status == RoundStatus.Open;
    /// <summary>Closed to answers, its consensus not yet stored (the close's second step runs, or resumes at start).</summary>
    public bool IsClosing => Status == RoundStatus.Closed && DataHash is null;
    /// <summary>The status people see: open, closing or closed.</summary>
    public RoundStatus Shown => IsClosing ? RoundStatus.Closing : Status;
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
    public TopicStatus TopicStatus { get; init; } = TopicStatus.Active;
}

/// <summary>A stored answer with its member id; the row (its member the pseudonym) is what the consensus takes, shared, not copied.</summary>
public sealed record StoredAnswer(long MemberId, AnswerRow Row)
{
    public StoredAnswer(long memberId, string pseudonym, string topic, string question, string value, double? number, string? rationale)
        : this(memberId, new AnswerRow(pseudonym, topic, question, value, number, rationale)) { }

    public string Pseudonym => Row.ExpertId;
    public string Topic => Row.Topic;
    public string Question => Row.Question;
    public string Value => Row.Value;
    public double? Number => Row.Number;
    public string? Rationale => Row.Rationale;
}

/// <summary>The SQL of rounds and their answers, shared by the features that read rounds.</summary>
public static class RoundStore
{
    public static Task<RoundRow?> RoundAsync(SqliteConnection c, long surveyId, int number, SqliteTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<RoundRow>("SELECT * FROM rounds WHERE survey_id = @surveyId AND number = @number", new { surveyId, number }, tx);

    public static Task<RoundRow?> ByIdAsync(SqliteConnection c, long roundId, SqliteTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<RoundRow>("SELECT * FROM rounds WHERE id = @roundId", new { roundId }, tx);

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

    const int BlockRows = 2048, BlocksAhead = 4;

    /// <summary>A topic_answers row as read, before its JSON is parsed.</summary>
    readonly record struct RawRow(long Member, string Pseudonym, string Code, byte[] Json);

    static Task<List<StoredAnswer>> ParseAsync(List<RawRow> rows, ConcurrentDictionary<string, string> strings) => Task.Run(() =>
    {
        var answers = new List<StoredAnswer>(rows.Count * 12);
        // Question ids and short values repeat across millions of rows, which live as long as the computation that asked
        // for them: one instance each, shared by the blocks.
        var pool = new StringPool(shared: strings);
        foreach (var (member, pseudonym, code, json) in rows)
            TopicAnswerRow.ReadAnswers(json, (question, value, number, rationale) =>
                answers.Add(new StoredAnswer(member, pseudonym, code, question, value, number, rationale)), pool.Get);
        return answers;
    });

    /// <summary>
    /// The round's answers (of one topic, or all). For the whole round, pseudonyms and topic codes are looked up once
    /// rather than joined into every row, and rows are read without a mapper: a national round holds millions.
    /// </summary>
    public static async Task<List<StoredAnswer>> AnswersAsync(SqliteConnection c, long roundId, SqliteTransaction? tx = null, string? topic = null)
    {
        var result = new List<StoredAnswer>();
        if (topic is not null)
        {
            foreach (var (member, pseudonym, answers) in await c.QueryAsync<(long, string, string)>("""
                SELECT a.member_id, m.pseudonym, a.answers
                FROM topic_answers a JOIN panel_members m ON m.id = a.member_id JOIN topics t ON t.id = a.topic_id
                WHERE a.round_id = @roundId AND t.code = @topic ORDER BY a.member_id
                """, new { roundId, topic }, tx))
                foreach (var (question, a) in TopicAnswerRow.Parse(answers).OrderBy(a => a.Key, StringComparer.Ordinal))
                    result.Add(new StoredAnswer(member, pseudonym, topic, question, a.Value, a.Number, a.Rationale));
            return result;
        }
        var pseudonyms = (await c.QueryAsync<(long Id, string Pseudonym)>(
            "SELECT m.id, m.pseudonym FROM panel_members m JOIN rounds r ON r.survey_id = m.survey_id WHERE r.id = @roundId", new { roundId }, tx))
            .ToDictionary(m => m.Id, m => m.Pseudonym);
        var codes = (await c.QueryAsync<(long Id, string Code)>(
            "SELECT t.id, t.code FROM topics t JOIN rounds r ON r.survey_id = t.survey_id WHERE r.id = @roundId", new { roundId }, tx))
            .ToDictionary(t => t.Id, t => t.Code);
        await using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        // The rows themselves, not the answers view: SQLite's JSON functions take several times as long as parsing here.
        // In the order the per-answer table had (its key's).
        cmd.CommandText = "SELECT member_id, topic_id, answers FROM topic_answers WHERE round_id = $round ORDER BY member_id, topic_id";
        cmd.Parameters.AddWithValue("$round", roundId);
        await using var r = await cmd.ExecuteReaderAsync();
        // Parsing the rows is most of the read (2.8 million answers at national scale): blocks of rows are parsed on the
        // thread pool while SQLite reads on, a few at a time so that read rows do not pile up, and joined in read order.
        var parsed = new Queue<Task<List<StoredAnswer>>>();
        var strings = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var block = new List<RawRow>(BlockRows);
        while (await r.ReadAsync())
        {
            long member = r.GetInt64(0);
            // Outside a transaction, a member added (and answering) after the lookup above is not in it: skipped, as
            // the join it replaces would not have seen the row either.
            if (!pseudonyms.TryGetValue(member, out var pseudonym) || !codes.TryGetValue(r.GetInt64(1), out var code)) continue;
            block.Add(new RawRow(member, pseudonym, code, r.GetFieldValue<byte[]>(2)));
            if (block.Count < BlockRows) continue;
            parsed.Enqueue(ParseAsync(block, strings));
            block = new(BlockRows);
            while (parsed.Count > BlocksAhead) result.AddRange(await parsed.Dequeue());
        }
        if (block.Count > 0) parsed.Enqueue(ParseAsync(block, strings));
        while (parsed.Count > 0) result.AddRange(await parsed.Dequeue());
        return result;
    }

    /// <summary>
    /// The round's topics with the topic of the previous round each continues: itself when it was asked then,
    /// otherwise its single parent from a split. A merged topic has several parents and no single predecessor.
    /// </summary>
    public static async Task<List<RoundTopic>> WithPredecessorsAsync(SqliteConnection c, RoundRow round, IReadOnlyList<RoundTopicRow> topics,
        SqliteTransaction? tx = null)
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
