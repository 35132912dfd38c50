using System.Security.Claims;
using System.Text.RegularExpressions;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Topics;

public sealed record TextInput(string? Zh, string? En)
{
    public LocalizedText ToText() => new(string.IsNullOrWhiteSpace(Zh) ? null : Zh.Trim(), string.IsNullOrWhiteSpace(En) ? null : En.Trim());
}

public sealed record NewTopic(string Code, string Field, TextInput Title, TextInput? Background, IReadOnlyList<string>? Tags, string? Origin) : IValidatable
{
    public IEnumerable<string> Validate() => TopicRules.Check(Code, Title, Background, Tags, Origin);
}

public sealed record TopicChange(TextInput? Title, TextInput? Background, IReadOnlyList<string>? Tags, string? Field, string? Reason) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Title is null && Background is null && Tags is null && Field is null) yield return "say what changes: title, background, tags or field";
        foreach (var e in TopicRules.Check(null, Title, Background, Tags, null)) yield return e;
        if (Reason is { Length: > 2000 }) yield return "reason is longer than 2000 characters";
    }
}

public sealed record MergeRequest(IReadOnlyList<string> Topics, string Code, string? Field, TextInput Title, TextInput? Background, IReadOnlyList<string>? Tags, string? Reason) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Topics is null || Topics.Distinct().Count() < 2) yield return "topics must name at least two different topics to merge";
        foreach (var e in TopicRules.Check(Code, Title, Background, Tags, null)) yield return e;
    }
}

public sealed record SplitPart(string Code, TextInput Title, TextInput? Background, string? Field, IReadOnlyList<string>? Tags);

public sealed record SplitRequest(IReadOnlyList<SplitPart> Into, string? Reason) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Into is null || Into.Count < 2) yield return "into must list at least two new topics";
        else
        {
            foreach (var part in Into)
                foreach (var e in TopicRules.Check(part.Code, part.Title, part.Background, part.Tags, null)) yield return e;
            if (Into.Select(p => p.Code).Distinct().Count() != Into.Count) yield return "the new topics need different codes";
        }
    }
}

public sealed record TopicRevision(int AfterRound, LocalizedText Title, LocalizedText? Background, string? Reason, string CreatedAt);

public static partial class TopicRules
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")] private static partial Regex CodePattern();

    public static IEnumerable<string> Check(string? code, TextInput? title, TextInput? background, IReadOnlyList<string>? tags, string? origin)
    {
        if (code is not null && !CodePattern().IsMatch(code)) yield return $"topic code '{code}' must be 1-32 letters, digits, '-' or '_'";
        if (title is not null && string.IsNullOrWhiteSpace(title.Zh) && string.IsNullOrWhiteSpace(title.En)) yield return "title needs text in zh and/or en";
        if (title is { Zh.Length: > 1000 } or { En.Length: > 1000 }) yield return "title is longer than 1000 characters";
        if (background is { Zh.Length: > 10000 } or { En.Length: > 10000 }) yield return "background is longer than 10000 characters";
        if (tags is { Count: > 20 } || tags?.Any(t => t.Length > 50 || t.Contains(',')) == true) yield return "tags: at most 20, each at most 50 characters, no commas";
        if (origin is not null && origin is not ("coordinator" or "expert" or "machine")) yield return "origin must be coordinator, expert or machine";
    }
}

/// <summary>
/// The topic list between rounds: add, reword, merge and split topics, with their lineage kept so that a new
/// topic's feedback comes from the topics it replaces. No change while a round is open.
/// </summary>
public static class TopicsEndpoints
{
    public static void MapTopics(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}/topics").WithTags("Topics")
            .RequireAuthorization(Policies.Coordinator).RequireSurveyRole(SurveyRole.Coordinator);
        group.MapGet("/", List);
        group.MapPost("/", Add).Validate<NewTopic>();
        group.MapPatch("/{code}", Change).Validate<TopicChange>().WithSummary("Reword a topic (its earlier wording is kept), change its tags or move it to another field");
        group.MapGet("/{code}/revisions", Revisions);
        group.MapPost("/merge", Merge).Validate<MergeRequest>().WithSummary("Merge topics into a new one; the merged topics leave the list");
        group.MapPost("/{code}/split", Split).Validate<SplitRequest>().WithSummary("Split a topic into new ones; the split topic leaves the list");
        group.MapDelete("/{code}", Remove).WithSummary("Remove a topic: deleted before round 1, withdrawn afterwards");
    }

    internal static async Task<Ok<IReadOnlyList<FieldView>>> List(SurveyRef survey, Db db)
    {
        await using var c = await db.OpenAsync();
        return TypedResults.Ok(await SurveyStore.StructureAsync(c, survey.Id));
    }

    /// <summary>Checks that no round is open and returns the number of the last closed round (0 before round 1).</summary>
    internal static async Task<(int AfterRound, ProblemHttpResult? Error)> BetweenRoundsAsync(SqliteConnection c, SqliteTransaction tx, SurveyRef survey)
    {
        var latest = await RoundStore.LatestAsync(c, survey.Id, tx);
        if (latest is { IsOpen: true })
            return (0, Problems.Conflict($"Round {latest.Number} is open; the topic list can change only between rounds, so that every expert answers the same topics."));
        return (latest?.Number ?? 0, null);
    }

    /// <summary>Between rounds, the topic to edit; or (topic null) why it cannot be edited.</summary>
    internal static async Task<(int AfterRound, TopicRow? Topic, ProblemHttpResult? Error)> EditableAsync(SqliteConnection c, SqliteTransaction tx, SurveyRef survey, string code)
    {
        var (afterRound, error) = await BetweenRoundsAsync(c, tx, survey);
        if (error is not null) return (afterRound, null, error);
        var topic = await SurveyStore.TopicAsync(c, survey.Id, code, tx);
        return topic is null ? (afterRound, null, Problems.NotFound($"Survey '{survey.Slug}' has no topic '{code}'.")) : (afterRound, topic, null);
    }

    internal static async Task<Results<Created<TopicView>, ProblemHttpResult>> Add(SurveyRef survey, NewTopic body, ClaimsPrincipal user, Db db, SurveyCatalog catalog)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var (afterRound, error) = await BetweenRoundsAsync(c, tx, survey);
        if (error is not null) return error;
        var definition = await catalog.DefinitionAsync(survey.Id);
        if (MissingLanguage(definition, body.Title) is { } missing) return missing;
        var field = await FieldIdAsync(c, tx, survey.Id, body.Field);
        if (field is null) return Problems.BadRequest($"Survey '{survey.Slug}' has no field '{body.Field}'.");
        if (await SurveyStore.TopicAsync(c, survey.Id, body.Code, tx) is not null) return Problems.Conflict($"Topic code '{body.Code}' is taken in this survey.");
        await InsertAsync(c, tx, survey.Id, field.Value, body.Code, body.Title.ToText(), body.Background?.ToText(), body.Tags, body.Origin ?? "coordinator");
        await Audit.LogAsync(c, tx, user.UserId(), survey.Id, "topic.added", new { body.Code, body.Field, after_round = afterRound });
        await tx.CommitAsync();
        return TypedResults.Created($"/api/surveys/{survey.Id}/topics/{body.Code}", await ViewAsync(c, survey.Id, body.Code));
    }

    internal static async Task<Results<Ok<TopicView>, ProblemHttpResult>> Change(SurveyRef survey, string code, TopicChange body, ClaimsPrincipal user, Db db, SurveyCatalog catalog)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var (afterRound, topic, error) = await EditableAsync(c, tx, survey, code);
        if (topic is null) return error!;
        var definition = await catalog.DefinitionAsync(survey.Id);
        if (body.Title is not null && MissingLanguage(definition, body.Title) is { } missing) return missing;
        long fieldId = topic.FieldId;
        if (body.Field is not null)
        {
            if (await FieldIdAsync(c, tx, survey.Id, body.Field) is not { } f) return Problems.BadRequest($"Survey '{survey.Slug}' has no field '{body.Field}'.");
            fieldId = f;
        }
        if (body.Title is not null || body.Background is not null)
            await c.ExecuteAsync("""
                INSERT INTO topic_revisions (topic_id, after_round, title_zh, title_en, background_zh, background_en, reason, created_at, created_by)
                VALUES (@Id, @afterRound, @TitleZh, @TitleEn, @BackgroundZh, @BackgroundEn, @Reason, @now, @userId)
                """, new { topic.Id, afterRound, topic.TitleZh, topic.TitleEn, topic.BackgroundZh, topic.BackgroundEn, body.Reason, now = Db.Iso(DateTimeOffset.UtcNow), userId = user.UserId() }, tx);
        var title = body.Title?.ToText() ?? topic.Title;
        var background = body.Background is null ? topic.Background : body.Background.ToText();
        await c.ExecuteAsync("""
            UPDATE topics SET title_zh = @tz, title_en = @te, background_zh = @bz, background_en = @be, tags = @tags, field_id = @fieldId WHERE id = @Id
            """, new { tz = title.Zh, te = title.En, bz = background?.Zh, be = background?.En, tags = body.Tags is null ? topic.Tags : string.Join(',', body.Tags), fieldId, topic.Id }, tx);
        await Audit.LogAsync(c, tx, user.UserId(), survey.Id, "topic.changed", new { code, after_round = afterRound, reworded = body.Title is not null, body.Reason });
        await tx.CommitAsync();
        return TypedResults.Ok(await ViewAsync(c, survey.Id, code));
    }

    internal static async Task<Results<Ok<List<TopicRevision>>, ProblemHttpResult>> Revisions(SurveyRef survey, string code, Db db)
    {
        await using var c = await db.OpenAsync();
        var topic = await SurveyStore.TopicAsync(c, survey.Id, code);
        if (topic is null) return Problems.NotFound($"Survey '{survey.Slug}' has no topic '{code}'.");
        var rows = await c.QueryAsync<(long AfterRound, string? TitleZh, string? TitleEn, string? BackgroundZh, string? BackgroundEn, string? Reason, string CreatedAt)>(
            "SELECT after_round, title_zh, title_en, background_zh, background_en, reason, created_at FROM topic_revisions WHERE topic_id = @Id ORDER BY id", new { topic.Id });
        return TypedResults.Ok(rows.Select(r => new TopicRevision((int)r.AfterRound, new LocalizedText(r.TitleZh, r.TitleEn),
            r.BackgroundZh is null && r.BackgroundEn is null ? null : new LocalizedText(r.BackgroundZh, r.BackgroundEn), r.Reason, r.CreatedAt)).ToList());
    }

    internal static async Task<Results<Created<TopicView>, ProblemHttpResult>> Merge(SurveyRef survey, MergeRequest body, ClaimsPrincipal user, Db db, SurveyCatalog catalog)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var (afterRound, error) = await BetweenRoundsAsync(c, tx, survey);
        if (error is not null) return error;
        if (MissingLanguage(await catalog.DefinitionAsync(survey.Id), body.Title) is { } missing) return missing;
        var parents = new List<TopicRow>();
        foreach (var code in body.Topics.Distinct())
        {
            var t = await SurveyStore.TopicAsync(c, survey.Id, code, tx);
            if (t is null) return Problems.NotFound($"Survey '{survey.Slug}' has no topic '{code}'.");
            if (t.Status is not ("active" or "retired")) return Problems.Conflict($"Topic '{code}' was {t.Status} already.");
            parents.Add(t);
        }
        if (await SurveyStore.TopicAsync(c, survey.Id, body.Code, tx) is not null) return Problems.Conflict($"Topic code '{body.Code}' is taken in this survey.");
        long? fieldId = body.Field is null ? parents[0].FieldId : await FieldIdAsync(c, tx, survey.Id, body.Field);
        if (fieldId is null) return Problems.BadRequest($"Survey '{survey.Slug}' has no field '{body.Field}'.");
        var id = await InsertAsync(c, tx, survey.Id, fieldId.Value, body.Code, body.Title.ToText(), body.Background?.ToText(),
            body.Tags ?? parents.SelectMany(p => p.TagList).Distinct().ToList(), "coordinator");
        foreach (var p in parents)
            await LinkAsync(c, tx, id, p.Id, "merge", afterRound, user.UserId(), "merged");
        await Audit.LogAsync(c, tx, user.UserId(), survey.Id, "topic.merged", new { from = body.Topics, into = body.Code, after_round = afterRound, body.Reason });
        await tx.CommitAsync();
        return TypedResults.Created($"/api/surveys/{survey.Id}/topics/{body.Code}", await ViewAsync(c, survey.Id, body.Code));
    }

    internal static async Task<Results<Created<List<TopicView>>, ProblemHttpResult>> Split(SurveyRef survey, string code, SplitRequest body, ClaimsPrincipal user, Db db, SurveyCatalog catalog)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var (afterRound, parent, error) = await EditableAsync(c, tx, survey, code);
        if (parent is null) return error!;
        var definition = await catalog.DefinitionAsync(survey.Id);
        if (parent.Status is not ("active" or "retired")) return Problems.Conflict($"Topic '{code}' was {parent.Status} already.");
        foreach (var part in body.Into)
        {
            if (MissingLanguage(definition, part.Title) is { } missing) return missing;
            if (await SurveyStore.TopicAsync(c, survey.Id, part.Code, tx) is not null) return Problems.Conflict($"Topic code '{part.Code}' is taken in this survey.");
            long? fieldId = part.Field is null ? parent.FieldId : await FieldIdAsync(c, tx, survey.Id, part.Field);
            if (fieldId is null) return Problems.BadRequest($"Survey '{survey.Slug}' has no field '{part.Field}'.");
            var id = await InsertAsync(c, tx, survey.Id, fieldId.Value, part.Code, part.Title.ToText(), part.Background?.ToText(), part.Tags ?? parent.TagList, "coordinator");
            await LinkAsync(c, tx, id, parent.Id, "split", afterRound, user.UserId(), "split");
        }
        await Audit.LogAsync(c, tx, user.UserId(), survey.Id, "topic.split", new { code, into = body.Into.Select(p => p.Code), after_round = afterRound, body.Reason });
        await tx.CommitAsync();
        var views = new List<TopicView>();
        foreach (var part in body.Into) views.Add(await ViewAsync(c, survey.Id, part.Code));
        return TypedResults.Created($"/api/surveys/{survey.Id}/topics", views);
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> Remove(SurveyRef survey, string code, ClaimsPrincipal user, Db db)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var (afterRound, topic, error) = await EditableAsync(c, tx, survey, code);
        if (topic is null) return error!;
        bool used = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM round_topics WHERE topic_id = @Id", new { topic.Id }, tx) > 0
            || await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM topic_lineage WHERE topic_id = @Id OR parent_id = @Id", new { topic.Id }, tx) > 0;
        if (used) await c.ExecuteAsync("UPDATE topics SET status = 'removed' WHERE id = @Id", new { topic.Id }, tx);
        else
        {
            await c.ExecuteAsync("DELETE FROM topic_revisions WHERE topic_id = @Id; DELETE FROM topics WHERE id = @Id", new { topic.Id }, tx);
            await Insights.Review.ReopenOrphansAsync(c, tx, survey.Id);
        }
        await Audit.LogAsync(c, tx, user.UserId(), survey.Id, "topic.removed", new { code, after_round = afterRound, kept = used });
        await tx.CommitAsync();
        return TypedResults.NoContent();
    }

    static ProblemHttpResult? MissingLanguage(SurveyDefinition definition, TextInput title)
    {
        var t = title.ToText();
        var missing = definition.Languages.Where(l => string.IsNullOrWhiteSpace(t[l])).ToList();
        return missing.Count == 0 ? null : Problems.BadRequest($"The survey is in {string.Join(" and ", definition.Languages)}; the title has no {string.Join(", ", missing)} text.");
    }

    static Task<long?> FieldIdAsync(SqliteConnection c, SqliteTransaction tx, long surveyId, string code) =>
        c.ExecuteScalarAsync<long?>("SELECT id FROM fields WHERE survey_id = @surveyId AND code = @code", new { surveyId, code }, tx);

    internal static async Task<long> InsertAsync(SqliteConnection c, SqliteTransaction tx, long surveyId, long fieldId, string code, LocalizedText title, LocalizedText? background, IReadOnlyList<string>? tags, string origin)
    {
        var position = await c.ExecuteScalarAsync<long>("SELECT COALESCE(MAX(position), 0) + 1 FROM topics WHERE field_id = @fieldId", new { fieldId }, tx);
        return await c.ExecuteScalarAsync<long>("""
            INSERT INTO topics (survey_id, field_id, code, title_zh, title_en, background_zh, background_en, tags, origin, status, position, created_at)
            VALUES (@surveyId, @fieldId, @code, @tz, @te, @bz, @be, @tags, @origin, 'active', @position, @now) RETURNING id
            """, new { surveyId, fieldId, code, tz = title.Zh, te = title.En, bz = background?.Zh, be = background?.En, tags = string.Join(',', tags ?? []), origin, position, now = Db.Iso(DateTimeOffset.UtcNow) }, tx);
    }

    static async Task LinkAsync(SqliteConnection c, SqliteTransaction tx, long child, long parent, string kind, int afterRound, long? userId, string parentStatus)
    {
        await c.ExecuteAsync("""
            INSERT INTO topic_lineage (topic_id, parent_id, kind, after_round, created_at, created_by) VALUES (@child, @parent, @kind, @afterRound, @now, @userId)
            """, new { child, parent, kind, afterRound, now = Db.Iso(DateTimeOffset.UtcNow), userId }, tx);
        await c.ExecuteAsync("UPDATE topics SET status = @parentStatus WHERE id = @parent", new { parentStatus, parent }, tx);
    }

    internal static async Task<TopicView> ViewAsync(SqliteConnection c, long surveyId, string code)
    {
        var topic = (await SurveyStore.TopicAsync(c, surveyId, code))!;
        var parents = await SurveyStore.ParentsAsync(c, surveyId);
        return SurveyStore.View(topic, parents[topic.Id].ToList());
    }
}
