using Foresight.Core;
using System.Text.Json;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;
using YamlDotNet.RepresentationModel;

namespace Foresight.Server.Features.Surveys;

public sealed record TopicParent(string Code, string Kind, int AfterRound);

public sealed record TopicView(
    string Code, string Field, LocalizedText Title, LocalizedText? Background, IReadOnlyList<string> Tags,
    string Origin, TopicStatus Status, IReadOnlyList<TopicParent> Parents);

public sealed record FieldView(string Code, LocalizedText Name, LocalizedText? Description, IReadOnlyList<TopicView> Topics);

/// <summary>A topic row as stored.</summary>
public sealed class TopicRow
{
    public long Id { get; init; }
    public long FieldId { get; init; }
    public string FieldCode { get; init; } = "";
    public string Code { get; init; } = "";
    public string? TitleZh { get; init; }
    public string? TitleEn { get; init; }
    public string? BackgroundZh { get; init; }
    public string? BackgroundEn { get; init; }
    public string Tags { get; init; } = "";
    public string Origin { get; init; } = "";
    public TopicStatus Status { get; init; } = TopicStatus.Active;
    public long Position { get; init; }

    public LocalizedText Title => new(TitleZh, TitleEn);
    public LocalizedText? Background => BackgroundZh is null && BackgroundEn is null ? null : new(BackgroundZh, BackgroundEn);
    public IReadOnlyList<string> TagList => Tags.Split(',', StringSplitOptions.RemoveEmptyEntries);
}

public sealed class FieldRow
{
    public long Id { get; init; }
    public string Code { get; init; } = "";
    public string? NameZh { get; init; }
    public string? NameEn { get; init; }
    public string? DescriptionZh { get; init; }
    public string? DescriptionEn { get; init; }
    public long Position { get; init; }

    public LocalizedText Name => new(NameZh, NameEn);
    public LocalizedText? Description => DescriptionZh is null && DescriptionEn is null ? null : new(DescriptionZh, DescriptionEn);
}

/// <summary>The SQL of surveys, their fields and topics: import, replacement and reads.</summary>
public static class SurveyStore
{
    public const string TopicColumns = """
        t.id, t.field_id, f.code AS field_code, t.code, t.title_zh, t.title_en, t.background_zh, t.background_en,
        t.tags, t.origin, t.status, t.position
        """;

    public static async Task<long> InsertAsync(SqliteConnection c, SqliteTransaction tx, SurveyDefinition s, string yaml, string fileName, long? userId,
        DateTimeOffset at)
    {
        var now = Db.Iso(at);
        var id = await c.ExecuteScalarAsync<long>("""
            INSERT INTO surveys (slug, title_zh, title_en, definition, file_name, status, created_by, created_at)
            VALUES (@Id, @Zh, @En, @yaml, @fileName, 'draft', @userId, @now) RETURNING id
            """, new { s.Id, s.Title.Zh, s.Title.En, yaml, fileName, userId, now }, tx);
        if (userId is not null)
            await c.ExecuteAsync("INSERT INTO survey_coordinators (survey_id, user_id) VALUES (@id, @userId)", new { id, userId }, tx);
        await AddRulesAsync(c, tx, id, 1, s.Consensus, ConsensusSource(yaml), userId, at);
        await WriteStructureAsync(c, tx, id, s, at);
        return id;
    }

    public static Task AddRulesAsync(SqliteConnection c, SqliteTransaction tx, long surveyId, int version, ConsensusRules rules, string source, long? userId,
        DateTimeOffset at) =>
        c.ExecuteAsync("""
            INSERT INTO consensus_rules (survey_id, version, rules, source, created_at, created_by)
            VALUES (@surveyId, @version, @rules, @source, @now, @userId)
            """, new { surveyId, version, rules = JsonSerializer.Serialize(rules, Plumbing.Json.Stored), source, now = Db.Iso(at), userId }, tx);

    /// <summary>
    /// Writes the file's fields and topics. Existing ones (matched by code) are updated in place so that panel
    /// assignments survive a replaced draft; those the file no longer has are deleted.
    /// </summary>
    public static async Task WriteStructureAsync(SqliteConnection c, SqliteTransaction tx, long surveyId, SurveyDefinition s, DateTimeOffset at)
    {
        var now = Db.Iso(at);
        var fieldIds = new Dictionary<string, long>();
        for (int i = 0; i < s.Fields.Count; i++)
        {
            var f = s.Fields[i];
            fieldIds[f.Code] = await c.ExecuteScalarAsync<long>("""
                INSERT INTO fields (survey_id, code, name_zh, name_en, description_zh, description_en, position)
                VALUES (@surveyId, @Code, @nameZh, @nameEn, @descZh, @descEn, @i)
                ON CONFLICT (survey_id, code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,
                    description_zh = excluded.description_zh, description_en = excluded.description_en, position = excluded.position
                RETURNING id
                """, new { surveyId, f.Code, nameZh = f.Name.Zh, nameEn = f.Name.En, descZh = f.Description?.Zh, descEn = f.Description?.En, i }, tx);
        }
        int position = 0;
        var topicCodes = new List<string>();
        foreach (var f in s.Fields)
            foreach (var t in f.Topics)
            {
                topicCodes.Add(t.Code);
                await c.ExecuteAsync("""
                    INSERT INTO topics (survey_id, field_id, code, title_zh, title_en, background_zh, background_en, tags, origin, status, position, created_at)
                    VALUES (@surveyId, @fieldId, @Code, @titleZh, @titleEn, @bgZh, @bgEn, @tags, @Origin, 'active', @position, @now)
                    ON CONFLICT (survey_id, code) DO UPDATE SET field_id = excluded.field_id, title_zh = excluded.title_zh,
                        title_en = excluded.title_en, background_zh = excluded.background_zh, background_en = excluded.background_en,
                        tags = excluded.tags, origin = excluded.origin, position = excluded.position
                    """, new
                    {
                        surveyId, fieldId = fieldIds[f.Code], t.Code, titleZh = t.Title.Zh, titleEn = t.Title.En,
                        bgZh = t.Background?.Zh, bgEn = t.Background?.En, tags = string.Join(',', t.Tags), t.Origin, position = position++, now,
                    }, tx);
            }
        await c.ExecuteAsync("DELETE FROM topics WHERE survey_id = @surveyId AND code NOT IN @topicCodes", new { surveyId, topicCodes }, tx);
        var fieldCodes = fieldIds.Keys.ToList();
        await c.ExecuteAsync("DELETE FROM fields WHERE survey_id = @surveyId AND code NOT IN @fieldCodes", new { surveyId, fieldCodes }, tx);
    }

    /// <summary>The 'consensus' section of a survey file as YAML text: the rules as declared, kept with their version.</summary>
    public static string ConsensusSource(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        var node = root.Children[new YamlScalarNode("consensus")];
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(node)).Save(writer, assignAnchors: false);
        return writer.ToString().Replace("\n...\n", "\n").TrimEnd('.', '\n') + "\n";
    }

    public static async Task<IReadOnlyList<FieldRow>> FieldsAsync(SqliteConnection c, long surveyId, SqliteTransaction? tx = null) =>
        (await c.QueryAsync<FieldRow>("SELECT * FROM fields WHERE survey_id = @surveyId ORDER BY position", new { surveyId }, tx)).ToList();

    public static async Task<IReadOnlyList<TopicRow>> TopicsAsync(SqliteConnection c, long surveyId, SqliteTransaction? tx = null) =>
        (await c.QueryAsync<TopicRow>($"""
            SELECT {TopicColumns} FROM topics t JOIN fields f ON f.id = t.field_id
            WHERE t.survey_id = @surveyId ORDER BY f.position, t.position
            """, new { surveyId }, tx)).ToList();

    public static async Task<TopicRow?> TopicAsync(SqliteConnection c, long surveyId, string code, SqliteTransaction? tx = null) =>
        await c.QuerySingleOrDefaultAsync<TopicRow>($"""
            SELECT {TopicColumns} FROM topics t JOIN fields f ON f.id = t.field_id
            WHERE t.survey_id = @surveyId AND t.code = @code
            """, new { surveyId, code }, tx);

    public static async Task<ILookup<long, TopicParent>> ParentsAsync(SqliteConnection c, long surveyId, SqliteTransaction? tx = null) =>
        (await c.QueryAsync<(long TopicId, string Code, string Kind, long AfterRound)>("""
            SELECT l.topic_id, p.code, l.kind, l.after_round FROM topic_lineage l JOIN topics p ON p.id = l.parent_id
            WHERE p.survey_id = @surveyId ORDER BY p.position
            """, new { surveyId }, tx)).ToLookup(r => r.TopicId, r => new TopicParent(r.Code, r.Kind, (int)r.AfterRound));

    public static async Task<IReadOnlyList<FieldView>> StructureAsync(SqliteConnection c, long surveyId)
    {
        var fields = await FieldsAsync(c, surveyId);
        var topics = await TopicsAsync(c, surveyId);
        var parents = await ParentsAsync(c, surveyId);
        return fields.Select(f => new FieldView(f.Code, f.Name, f.Description,
            topics.Where(t => t.FieldId == f.Id).Select(t => View(t, parents[t.Id].ToList())).ToList())).ToList();
    }

    public static TopicView View(TopicRow t, IReadOnlyList<TopicParent> parents) =>
        new(t.Code, t.FieldCode, t.Title, t.Background, t.TagList, t.Origin, t.Status, parents);
}
