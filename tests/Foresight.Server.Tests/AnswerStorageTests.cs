using Dapper;
using Foresight.Server.Features.Questionnaire;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Foresight.Server.Tests;

/// <summary>
/// Migration 0007 (issue 9) stores one row per topic answer and keeps the answers view with the old table's columns:
/// answers written under the old layout must read back the same through the view, the writer's parser and the
/// whole-round reader, and the view must search by the new indexes.
/// </summary>
public sealed class AnswerStorageTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("foresight-storage-").FullName;
    string DatabasePath => Path.Combine(_dir, "foresight.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    sealed record Row(long RoundId, long MemberId, long TopicId, string Question, string Value, double? Number, string? Rationale, long Revision,
        string UpdatedAt);

    static readonly Row[] OldRows =
    [
        new(1, 1, 1, "comment", "说明 \"quoted\"\nnext line", null, null, 3, "2026-03-01T10:00:00.0000000Z"),
        new(1, 1, 1, "importance", "4", 4, "因为……", 2, "2026-03-01T10:00:01.0000000Z"),
        new(1, 1, 1, "priority", "1", 1, null, 5, "2026-03-02T08:00:00.0000000Z"), // a ranking row
        new(1, 1, 2, "importance", "dont_know", null, null, 1, "2026-03-01T11:00:00.0000000Z"),
        new(1, 1, 2, "priority", "2", 2, null, 1, "2026-03-02T08:00:00.0000000Z"),
        new(1, 2, 1, "probability", "0.30000000000000004", 0.1 + 0.2, null, 7, "2026-03-03T09:00:00.0000000Z"),
        new(1, 2, 2, "realization_year", "2045", 2045, "", 1, "2026-03-03T09:00:01.0000000Z"),
        new(2, 1, 1, "importance", "5", 5, null, 1, "2026-04-01T09:00:00.0000000Z"),
    ];

    [Fact]
    public async Task Answers_of_the_old_layout_read_back_the_same_after_the_migration()
    {
        await using (var c = Open())
        {
            await c.ExecuteAsync("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
            foreach (var (version, name, sql) in Migrator.Scripts().Where(s => s.Version <= 6))
            {
                await c.ExecuteAsync(sql);
                await c.ExecuteAsync("INSERT INTO schema_migrations VALUES (@version, @name, 'then')", new { version, name });
            }
            await c.ExecuteAsync("""
                INSERT INTO surveys (id, slug, definition, file_name, created_at) VALUES (1, 's', '', 's.yaml', 'then');
                INSERT INTO fields (id, survey_id, code, position) VALUES (1, 1, 'F', 1);
                INSERT INTO topics (id, survey_id, field_id, code, origin, position, created_at)
                    VALUES (1, 1, 1, 'F-T1', 'coordinator', 1, 'then'), (2, 1, 1, 'F-T2', 'coordinator', 2, 'then');
                INSERT INTO experts (id, name, email, created_at) VALUES (1, 'A', 'a@test', 'then'), (2, 'B', 'b@test', 'then');
                INSERT INTO panel_members (id, survey_id, expert_id, pseudonym, secret_hash, secret_issued_at, joined_at)
                    VALUES (1, 1, 1, 'E-1', 'h1', 'then', 'then'), (2, 1, 2, 'E-2', 'h2', 'then', 'then');
                INSERT INTO rounds (id, survey_id, number, status, rules_version, opened_at)
                    VALUES (1, 1, 1, 'closed', 1, 'then'), (2, 1, 2, 'open', 1, 'then');
                """);
            await c.ExecuteAsync("""
                INSERT INTO answers (round_id, member_id, topic_id, question, value, number, rationale, revision, updated_at)
                VALUES (@RoundId, @MemberId, @TopicId, @Question, @Value, @Number, @Rationale, @Revision, @UpdatedAt)
                """, OldRows);
        }

        await MigrateAsync();

        await using var after = Open();
        Assert.Equal("view", await after.ExecuteScalarAsync<string>("SELECT type FROM sqlite_master WHERE name = 'answers'"));
        Assert.Equal(5, await after.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM topic_answers"));
        // Through the view: the same rows, values and column types (number REAL, revision INTEGER).
        // (Read without Dapper: the view's computed columns have no declared type to map by when a first value is null.)
        var viewed = new List<Row>();
        await using (var read = after.CreateCommand())
        {
            read.CommandText = "SELECT * FROM answers ORDER BY round_id, member_id, topic_id, question";
            await using var r = await read.ExecuteReaderAsync();
            while (await r.ReadAsync())
                viewed.Add(new Row(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetDouble(5),
                    r.IsDBNull(6) ? null : r.GetString(6), r.GetInt64(7), r.GetString(8)));
        }
        Assert.Equal(OldRows, viewed);
        Assert.Equal(["integer|null|null|integer", "integer|real|text|integer"],
            (await after.QueryAsync<string>("""
                SELECT DISTINCT typeof(member_id) || '|' || typeof(number) || '|' || typeof(rationale) || '|' || typeof(revision) FROM answers
                WHERE question IN ('importance', 'comment') AND round_id = 1 AND member_id = 1 AND topic_id = 1 ORDER BY 1
                """)).ToList());
        // Through the writer's parser, rankings and revisions included.
        var parsed = new List<Row>();
        foreach (var (round, member, topic, answers) in await after.QueryAsync<(long, long, long,
            string)>("SELECT round_id, member_id, topic_id, answers FROM topic_answers"))
            parsed.AddRange(TopicAnswerRow.Parse(answers).Select(a => new Row(round, member, topic, a.Key, a.Value.Value, a.Value.Number, a.Value.Rationale,
                a.Value.Revision, a.Value.UpdatedAt)));
        Assert.Equal(OldRows, parsed.OrderBy(r => (r.RoundId, r.MemberId, r.TopicId)).ThenBy(r => r.Question, StringComparer.Ordinal));
        // Through the whole-round reader, which reads topic_answers itself.
        var round1 = await RoundStore.AnswersAsync(after, 1);
        Assert.Equal(OldRows.Where(r => r.RoundId == 1).Select(r => (r.MemberId, r.TopicId == 1 ? "F-T1" : "F-T2", r.Question, r.Value, r.Number, r.Rationale)),
            round1.Select(a => (a.MemberId, a.Topic, a.Question, a.Value, a.Number, a.Rationale)));
    }

    [Fact]
    public async Task A_whole_round_is_read_in_the_views_order_with_one_instance_per_short_value()
    {
        // Enough rows for the reader's parallel blocks (2,048 rows each, several ahead), written in shuffled order so
        // that the table's order is not the key's.
        const int members = 240, topics = 60;
        await MigrateAsync();
        await using var c = Open();
        await c.ExecuteAsync("""
            INSERT INTO surveys (id, slug, definition, file_name, created_at) VALUES (1, 's', '', 's.yaml', 'then');
            INSERT INTO fields (id, survey_id, code, position) VALUES (1, 1, 'F', 1);
            INSERT INTO rounds (id, survey_id, number, status, rules_version, opened_at) VALUES (1, 1, 1, 'open', 1, 'then'), (2, 1, 2, 'open', 1, 'then');
            """);
        for (int t = 1; t <= topics; t++)
            await c.ExecuteAsync(
                "INSERT INTO topics (id, survey_id, field_id, code, origin, position, created_at) VALUES (@t, 1, 1, @code, 'coordinator', @t, 'then')",
                new { t, code = $"F-T{t:00}" });
        for (int m = 1; m <= members; m++)
        {
            await c.ExecuteAsync("INSERT INTO experts (id, name, email, created_at) VALUES (@m, 'X', @email, 'then')", new { m, email = $"x{m}@test" });
            await c.ExecuteAsync(
                "INSERT INTO panel_members (id, survey_id, expert_id, pseudonym, secret_hash, secret_issued_at, joined_at) VALUES (@m, 1, @m, @p, @h, " +
                "'then', 'then')",
                new { m, p = $"E-{m}", h = $"h{m}" });
        }
        var random = new Random(7);
        var rows = new List<(long Round, long Member, long Topic, string Json)>();
        for (int m = 1; m <= members; m++)
            for (int t = 1; t <= topics; t++)
            {
                var entries = new Dictionary<string, TopicAnswerRow.Entry>
                {
                    ["importance"] = new($"{random.Next(1, 5)}", random.Next(1, 5), random.Next(10) == 0
                        ? $"因为 {m}-{t}" : null, 1, "2026-11-24T06:00:00.0000000Z"),
                    ["level"] = new(random.Next(2) == 0 ? "LEAD" : "FOLLOW", null, null, 2, "2026-11-24T06:00:01.0000000Z"),
                    ["realization_year"] = new(random.Next(5) == 0 ? "never" : $"{2030 + random.Next(20)}", null, null, 1, "2026-11-24T06:00:02.0000000Z"),
                };
                rows.Add((1, m, t, TopicAnswerRow.Write(entries)!));
                if (t % 7 == 0) rows.Add((2, m, t, TopicAnswerRow.Write(entries)!)); // another round, not read
            }
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rows));
        await using (var tx = c.BeginTransaction())
        {
            await c.ExecuteAsync(
                "INSERT INTO topic_answers (round_id, member_id, topic_id, answers, updated_at) VALUES (@Round, @Member, @Topic, @Json, 'then')",
                rows.Select(r => new { r.Round, r.Member, r.Topic, r.Json }), tx);
            tx.Commit();
        }

        var read = await RoundStore.AnswersAsync(c, 1);

        var expected = new List<(long, string, string, string, string, double?, string?)>();
        await using (var view = c.CreateCommand())
        {
            view.CommandText =
                "SELECT member_id, topic_id, question, value, number, rationale FROM answers WHERE round_id = 1 ORDER BY member_id, topic_id, question";
            await using var r = await view.ExecuteReaderAsync();
            while (await r.ReadAsync())
                expected.Add((r.GetInt64(0), $"E-{r.GetInt64(0)}", $"F-T{r.GetInt64(1):00}", r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null
                    : r.GetDouble(4), r.IsDBNull(5) ? null : r.GetString(5)));
        }
        Assert.Equal(members * topics * 3, expected.Count);
        Assert.Equal(expected, read.Select(a => (a.MemberId, a.Pseudonym, a.Topic, a.Question, a.Value, a.Number, a.Rationale)));
        // Each question id and short value is one string, whichever block read it.
        foreach (var group in read.GroupBy(a => a.Question).Concat(read.GroupBy(a => a.Value)))
        {
            var first = group.First();
            var same = group.Key == first.Question ? group.Select(a => a.Question) : group.Select(a => a.Value);
            Assert.All(same, x => Assert.Same(group.Key == first.Question ? first.Question : first.Value, x));
        }
    }

    [Theory]
    [InlineData("round_id = 1 AND member_id = 1", "topic_answers_key")]
    [InlineData("round_id = 1 AND topic_id = 1", "topic_answers_topic")]
    [InlineData("round_id = 1 AND member_id = 1 AND topic_id = 1", "topic_answers_key")]
    public async Task The_answers_view_searches_by_the_indexes(string where, string index)
    {
        await MigrateAsync();
        await using var c = Open();
        var plan = (await c.QueryAsync<(long Id, long Parent, long NotUsed, string Detail)>($"EXPLAIN QUERY PLAN SELECT * FROM answers WHERE {where}"))
            .Select(p => p.Detail).ToList();
        Assert.Contains(plan, p => p.Contains($"USING INDEX {index}"));
        Assert.DoesNotContain(plan, p => p.StartsWith("SCAN a"));
    }

    /// <summary>The server's migrations, as at start-up, on the test's file.</summary>
    Task MigrateAsync() => Migrator.MigrateAsync(new Db(Microsoft.Extensions.Options.Options.Create(new ForesightOptions { Database = DatabasePath }),
        new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { ContentRootPath = _dir }), NullLogger.Instance);

    SqliteConnection Open()
    {
        var c = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        c.Open();
        return c;
    }
}
