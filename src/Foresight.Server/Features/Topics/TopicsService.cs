using Foresight.Core;
using System.Security.Claims;
using System.Text.RegularExpressions;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Topics;

/// <summary>The topic list: added, reworded (the earlier wording kept), merged, split and removed between rounds, with their lineage.</summary>
public sealed class TopicsService(Db db, SurveyCatalog catalog, ChangeEvents changes, TimeProvider clock, IEnumerable<ITopicDeletion> deletions)
{
    public async Task<IReadOnlyList<FieldView>> ListAsync(SurveyRef survey)
    {
        await using var c = await db.OpenAsync();
        return await SurveyStore.StructureAsync(c, survey.Id);
    }

    /// <summary>Checks that no round is open and returns the number of the last closed round (0 before round 1).</summary>
    public static async Task<(int AfterRound, Refusal? Error)> BetweenRoundsAsync(SqliteConnection c, SqliteTransaction tx, SurveyRef survey)
    {
        var latest = await RoundStore.LatestAsync(c, survey.Id, tx);
        if (latest is { IsOpen: true })
            return (0,
                Refusal.Conflict($"Round {latest.Number} is open; the topic list can change only between rounds, " +
                "so that every expert answers the same topics."));
        return (latest?.Number ?? 0, null);
    }

    /// <summary>Between rounds, the topic to edit; or (topic null) why it cannot be edited.</summary>
    static async Task<(int AfterRound, TopicRow? Topic, Refusal? Error)> EditableAsync(SqliteConnection c, SqliteTransaction tx, SurveyRef survey, string code)
    {
        var (afterRound, error) = await BetweenRoundsAsync(c, tx, survey);
        if (error is not null) return (afterRound, null, error);
        var topic = await SurveyStore.TopicAsync(c, survey.Id, code, tx);
        return topic is null ? (afterRound, null, Refusal.NotFound($"Survey '{survey.Slug}' has no topic '{code}'.")) : (afterRound, topic, null);
    }

    public async Task<Outcome<TopicView>> AddAsync(SurveyRef survey, NewTopic body, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var (afterRound, error) = await BetweenRoundsAsync(c, tx, survey);
        if (error is not null) return error;
        var definition = await catalog.DefinitionAsync(survey.Id);
        if (MissingLanguage(definition, body.Title) is { } missing) return missing;
        var field = await FieldIdAsync(c, tx, survey.Id, body.Field);
        if (field is null) return Refusal.BadRequest($"Survey '{survey.Slug}' has no field '{body.Field}'.");
        if (await SurveyStore.TopicAsync(c, survey.Id, body.Code, tx) is not null)
            return Refusal.Conflict($"Topic code '{body.Code}' is taken in this survey.");
        await InsertAsync(c, tx, survey.Id, field.Value, body.Code, body.Title.ToText(), body.Background?.ToText(), body.Tags, body.Origin ?? "coordinator",
            clock.GetUtcNow());
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "topic.added", new { body.Code, body.Field, after_round = afterRound });
        await tx.CommitAsync();
        await changes.PublishAsync(new TopicsChanged(survey.Id));
        return await ViewAsync(c, survey.Id, body.Code);
    }

    public async Task<Outcome<TopicView>> ChangeAsync(SurveyRef survey, string code, TopicChange body, ClaimsPrincipal user)
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
            if (await FieldIdAsync(c, tx, survey.Id, body.Field) is not { } f)
                return Refusal.BadRequest($"Survey '{survey.Slug}' has no field '{body.Field}'.");
            fieldId = f;
        }
        if (body.Title is not null || body.Background is not null)
            await c.ExecuteAsync("""
                INSERT INTO topic_revisions (topic_id, after_round, title_zh, title_en, background_zh, background_en, reason, created_at, created_by)
                VALUES (@Id, @afterRound, @TitleZh, @TitleEn, @BackgroundZh, @BackgroundEn, @Reason, @now, @userId)
                """, new { topic.Id, afterRound, topic.TitleZh, topic.TitleEn, topic.BackgroundZh, topic.BackgroundEn, body.Reason,
                    now = Db.Iso(clock.GetUtcNow()), userId = user.UserId() }, tx);
        var title = body.Title?.ToText() ?? topic.Title;
        var background = body.Background is null ? topic.Background : body.Background.ToText();
        await c.ExecuteAsync("""
            UPDATE topics SET title_zh = @tz, title_en = @te, background_zh = @bz, background_en = @be, tags = @tags, field_id = @fieldId WHERE id = @Id
            """, new { tz = title.Zh, te = title.En, bz = background?.Zh, be = background?.En, tags = body.Tags is null ? topic.Tags
                : string.Join(',', body.Tags), fieldId, topic.Id }, tx);
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "topic.changed",
            new { code, after_round = afterRound, reworded = body.Title is not null, body.Reason });
        await tx.CommitAsync();
        await changes.PublishAsync(new TopicsChanged(survey.Id));
        return await ViewAsync(c, survey.Id, code);
    }

    public async Task<Outcome<List<TopicRevision>>> RevisionsAsync(SurveyRef survey, string code)
    {
        await using var c = await db.OpenAsync();
        var topic = await SurveyStore.TopicAsync(c, survey.Id, code);
        if (topic is null) return Refusal.NotFound($"Survey '{survey.Slug}' has no topic '{code}'.");
        var rows = await c.QueryAsync<(long AfterRound, string? TitleZh, string? TitleEn, string? BackgroundZh, string? BackgroundEn, string? Reason,
            string CreatedAt)>(
            "SELECT after_round, title_zh, title_en, background_zh, background_en, reason, created_at FROM topic_revisions WHERE topic_id = @Id ORDER BY id",
            new { topic.Id });
        return rows.Select(r => new TopicRevision((int)r.AfterRound, new LocalizedText(r.TitleZh, r.TitleEn),
            r.BackgroundZh is null && r.BackgroundEn is null ? null : new LocalizedText(r.BackgroundZh, r.BackgroundEn), r.Reason, r.CreatedAt)).ToList();
    }

    public async Task<Outcome<TopicView>> MergeAsync(SurveyRef survey, MergeRequest body, ClaimsPrincipal user)
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
            if (t is null) return Refusal.NotFound($"Survey '{survey.Slug}' has no topic '{code}'.");
            if (t.Status != TopicStatus.Active && t.Status != TopicStatus.Retired) return Refusal.Conflict($"Topic '{code}' was {t.Status} already.");
            parents.Add(t);
        }
        if (await SurveyStore.TopicAsync(c, survey.Id, body.Code, tx) is not null)
            return Refusal.Conflict($"Topic code '{body.Code}' is taken in this survey.");
        long? fieldId = body.Field is null ? parents[0].FieldId : await FieldIdAsync(c, tx, survey.Id, body.Field);
        if (fieldId is null) return Refusal.BadRequest($"Survey '{survey.Slug}' has no field '{body.Field}'.");
        var id = await InsertAsync(c, tx, survey.Id, fieldId.Value, body.Code, body.Title.ToText(), body.Background?.ToText(),
            body.Tags ?? parents.SelectMany(p => p.TagList).Distinct().ToList(), "coordinator", clock.GetUtcNow());
        foreach (var p in parents)
            await LinkAsync(c, tx, id, p.Id, "merge", afterRound, user.UserId(), "merged");
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "topic.merged",
            new { from = body.Topics, into = body.Code, after_round = afterRound, body.Reason });
        await tx.CommitAsync();
        await changes.PublishAsync(new TopicsChanged(survey.Id));
        return await ViewAsync(c, survey.Id, body.Code);
    }

    public async Task<Outcome<List<TopicView>>> SplitAsync(SurveyRef survey, string code, SplitRequest body, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var (afterRound, parent, error) = await EditableAsync(c, tx, survey, code);
        if (parent is null) return error!;
        var definition = await catalog.DefinitionAsync(survey.Id);
        if (parent.Status != TopicStatus.Active && parent.Status != TopicStatus.Retired)
            return Refusal.Conflict($"Topic '{code}' was {parent.Status} already.");
        foreach (var part in body.Into)
        {
            if (MissingLanguage(definition, part.Title) is { } missing) return missing;
            if (await SurveyStore.TopicAsync(c, survey.Id, part.Code, tx) is not null)
                return Refusal.Conflict($"Topic code '{part.Code}' is taken in this survey.");
            long? fieldId = part.Field is null ? parent.FieldId : await FieldIdAsync(c, tx, survey.Id, part.Field);
            if (fieldId is null) return Refusal.BadRequest($"Survey '{survey.Slug}' has no field '{part.Field}'.");
            var id = await InsertAsync(c, tx, survey.Id, fieldId.Value, part.Code, part.Title.ToText(), part.Background?.ToText(), part.Tags ?? parent.TagList,
                "coordinator", clock.GetUtcNow());
            await LinkAsync(c, tx, id, parent.Id, "split", afterRound, user.UserId(), "split");
        }
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "topic.split",
            new { code, into = body.Into.Select(p => p.Code), after_round = afterRound, body.Reason });
        await tx.CommitAsync();
        var views = new List<TopicView>();
        foreach (var part in body.Into) views.Add(await ViewAsync(c, survey.Id, part.Code));
        return views;
    }

    public async Task<Outcome<Done>> RemoveAsync(SurveyRef survey, string code, ClaimsPrincipal user)
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
            foreach (var hook in deletions) await hook.TopicsDeletedAsync(c, tx, survey.Id);
        }
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "topic.removed", new { code, after_round = afterRound, kept = used });
        await tx.CommitAsync();
        await changes.PublishAsync(new TopicsChanged(survey.Id));
        return new Done();
    }

    static Refusal? MissingLanguage(SurveyDefinition definition, TextInput title)
    {
        var t = title.ToText();
        var missing = definition.Languages.Where(l => string.IsNullOrWhiteSpace(t[l])).ToList();
        return missing.Count == 0 ? null
            : Refusal.BadRequest($"The survey is in {string.Join(" and ", definition.Languages)}; the title has no {string.Join(", ", missing)} text.");
    }

    static Task<long?> FieldIdAsync(SqliteConnection c, SqliteTransaction tx, long surveyId, string code) =>
        c.ExecuteScalarAsync<long?>("SELECT id FROM fields WHERE survey_id = @surveyId AND code = @code", new { surveyId, code }, tx);

    /// <summary>Inserts a topic at the end of its field (also for accepted machine proposals).</summary>
    public static async Task<long> InsertAsync(SqliteConnection c, SqliteTransaction tx, long surveyId, long fieldId, string code, LocalizedText title,
        LocalizedText? background,
        IReadOnlyList<string>? tags, string origin, DateTimeOffset now)
    {
        var position = await c.ExecuteScalarAsync<long>("SELECT COALESCE(MAX(position), 0) + 1 FROM topics WHERE field_id = @fieldId", new { fieldId }, tx);
        return await c.ExecuteScalarAsync<long>("""
            INSERT INTO topics (survey_id, field_id, code, title_zh, title_en, background_zh, background_en, tags, origin, status, position, created_at)
            VALUES (@surveyId, @fieldId, @code, @tz, @te, @bz, @be, @tags, @origin, 'active', @position, @now) RETURNING id
            """, new { surveyId, fieldId, code, tz = title.Zh, te = title.En, bz = background?.Zh, be = background?.En, tags = string.Join(',', tags ?? []),
                origin, position, now = Db.Iso(now) }, tx);
    }

    async Task LinkAsync(SqliteConnection c, SqliteTransaction tx, long child, long parent, string kind, int afterRound, long? userId, string parentStatus)
    {
        await c.ExecuteAsync("""
            INSERT INTO topic_lineage (topic_id, parent_id, kind, after_round, created_at, created_by)
                VALUES (@child, @parent, @kind, @afterRound, @now, @userId)
            """, new { child, parent, kind, afterRound, now = Db.Iso(clock.GetUtcNow()), userId }, tx);
        await c.ExecuteAsync("UPDATE topics SET status = @parentStatus WHERE id = @parent", new { parentStatus, parent }, tx);
    }

    public static async Task<TopicView> ViewAsync(SqliteConnection c, long surveyId, string code)
    {
        var topic = (await SurveyStore.TopicAsync(c, surveyId, code))!;
        var parents = await SurveyStore.ParentsAsync(c, surveyId);
        return SurveyStore.View(topic, parents[topic.Id].ToList());
    }
}
