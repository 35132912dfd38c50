using Foresight.Core;
using System.Security.Claims;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Surveys;

/// <summary>Surveys: their files (import with every error located, replace while a draft), rule versions, coordinators, deletion.</summary>
public sealed class SurveysService(Db db, SurveyCatalog catalog, ChangeEvents changes, TimeProvider clock, IEnumerable<ISurveyData> owners,
    IEnumerable<ITopicDeletion> topicDeletions)
{
    /// <summary>The surveys the caller may see: all for an admin, those they coordinate, are granted, or answer.</summary>
    public async Task<List<SurveySummary>> ListAsync(ClaimsPrincipal user)
    {
        await using var c = await db.OpenAsync();
        const string select = """
            SELECT s.id, s.slug, s.title_zh, s.title_en, s.status, s.created_at,
                   (SELECT COUNT(*) FROM topics t WHERE t.survey_id = s.id AND t.status = 'active') AS topics,
                   (SELECT COUNT(*) FROM panel_members m WHERE m.survey_id = s.id AND m.revoked_at IS NULL) AS panel,
                   (SELECT MAX(number) FROM rounds r WHERE r.survey_id = s.id) AS current_round
            FROM surveys s
            """;
        string where = user.IsAdmin() ? "" :
            user.ExpertSurveyId() is not null ? "WHERE s.id = @survey" :
            user.IsInRole(Roles.Coordinator) ? "WHERE s.id IN (SELECT survey_id FROM survey_coordinators WHERE user_id = @userId)" :
            user.IsInRole(Roles.Stakeholder) ? "WHERE s.id IN (SELECT survey_id FROM survey_stakeholders WHERE user_id = @userId)" :
            "WHERE 1 = 0";
        var rows = await c.QueryAsync<(long Id, string Slug, string? TitleZh, string? TitleEn, string Status, string CreatedAt, long Topics, long Panel,
            long? CurrentRound)>(
            select + "\n" + where + " ORDER BY s.id", new { survey = user.ExpertSurveyId(), userId = user.UserId() });
        return rows.Select(r => new SurveySummary(r.Id, r.Slug, new LocalizedText(r.TitleZh, r.TitleEn), SurveyStatus.Parse(r.Status), r.CreatedAt,
            (int)r.Topics, (int)r.Panel, (int?)r.CurrentRound)).ToList();
    }

    /// <summary>A new survey from its file; its importer coordinates it.</summary>
    public async Task<Outcome<SurveyDetail>> ImportAsync(string text, string fileName, ClaimsPrincipal user)
    {
        var parsed = SurveyFile.Parse(text, fileName);
        if (!parsed.Ok) return FileRefusal(parsed.Errors);
        var survey = parsed.Survey!;

        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var existing = await c.ExecuteScalarAsync<long?>("SELECT id FROM surveys WHERE slug = @Id", new { survey.Id }, tx);
        if (existing is not null)
            return Refusal.Conflict($"A survey with id '{survey.Id}' exists already (survey {existing}). Change the id in the file, or replace the draft " +
                $"with PUT /api/surveys/{existing}/definition.");
        var id = await SurveyStore.InsertAsync(c, tx, survey, text, fileName, user.UserId(), clock.GetUtcNow());
        await Audit.LogAsync(c, tx, clock, user.UserId(), id, "survey.imported", new { survey.Id, fileName, topics = survey.Topics.Count() });
        await tx.CommitAsync();
        return await DetailAsync(id);
    }

    /// <summary>Checks a survey file without storing it.</summary>
    public static Outcome<object> Validate(string text, string fileName)
    {
        var parsed = SurveyFile.Parse(text, fileName);
        if (!parsed.Ok) return FileRefusal(parsed.Errors);
        var s = parsed.Survey!;
        return new { id = s.Id, fields = s.Fields.Count, topics = s.Topics.Count(), questions = s.Questions.Count, languages = s.Languages };
    }

    /// <summary>Deletes a survey that never opened a round, with what other features keep about it (<see cref="ISurveyData"/>).</summary>
    public async Task<Outcome<Done>> DeleteAsync(SurveyRef survey, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM rounds WHERE survey_id = @Id", new { survey.Id }, tx) > 0)
            return Refusal.Conflict("This survey has opened rounds; its data is kept. Only a survey that never opened a round can be deleted.");
        foreach (var owner in owners) await owner.DeleteAsync(c, tx, survey.Id);
        await c.ExecuteAsync("""
            DELETE FROM panel_members WHERE survey_id = @Id;
            DELETE FROM topic_lineage WHERE topic_id IN (SELECT id FROM topics WHERE survey_id = @Id);
            DELETE FROM topic_revisions WHERE topic_id IN (SELECT id FROM topics WHERE survey_id = @Id);
            DELETE FROM topics WHERE survey_id = @Id;
            DELETE FROM fields WHERE survey_id = @Id;
            DELETE FROM audit_log WHERE survey_id = @Id;
            DELETE FROM surveys WHERE id = @Id;
            """, new { survey.Id }, tx);
        await Audit.LogAsync(c, tx, clock, user.UserId(), null, "survey.deleted", new { survey.Slug });
        await tx.CommitAsync();
        changes.Publish(new SurveyChanged(survey.Id, survey.Slug, Deleted: true));
        return new Done();
    }

    /// <summary>The survey file as imported, and its name.</summary>
    public async Task<(string Yaml, string FileName)> DefinitionAsync(SurveyRef survey)
    {
        await using var c = await db.OpenAsync();
        return await c.QuerySingleAsync<(string, string)>("SELECT definition, file_name FROM surveys WHERE id = @Id", new { survey.Id });
    }

    /// <summary>Replaces the survey file while no round has opened.</summary>
    public async Task<Outcome<SurveyDetail>> ReplaceAsync(SurveyRef survey, string text, string fileName, ClaimsPrincipal user)
    {
        var parsed = SurveyFile.Parse(text, fileName);
        if (!parsed.Ok) return FileRefusal(parsed.Errors);
        var s = parsed.Survey!;
        if (s.Id != survey.Slug)
            return Refusal.BadRequest($"The file is survey '{s.Id}', not '{survey.Slug}'. Import it as a new survey instead.");

        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM rounds WHERE survey_id = @Id", new { survey.Id }, tx) > 0)
            return Refusal.Conflict(
                "A round has opened: the question set is fixed. Topics can still be edited between rounds, and the rules get new versions with PUT /rules.");
        await c.ExecuteAsync("UPDATE surveys SET definition = @text, file_name = @fileName, title_zh = @Zh, title_en = @En WHERE id = @Id",
            new { text, fileName, s.Title.Zh, s.Title.En, survey.Id }, tx);
        await SurveyStore.WriteStructureAsync(c, tx, survey.Id, s, clock.GetUtcNow());
        foreach (var hook in topicDeletions) await hook.TopicsDeletedAsync(c, tx, survey.Id);
        var version = await SurveyCatalog.CurrentRulesVersionAsync(c, survey.Id, tx) + 1;
        await SurveyStore.AddRulesAsync(c, tx, survey.Id, version, s.Consensus, SurveyStore.ConsensusSource(text), user.UserId(), clock.GetUtcNow());
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "survey.replaced", new { fileName, rules_version = version });
        await tx.CommitAsync();
        changes.Publish(new SurveyChanged(survey.Id, survey.Slug));
        return await DetailAsync(survey.Id);
    }

    public async Task<List<RulesVersion>> RulesAsync(SurveyRef survey)
    {
        await using var c = await db.OpenAsync();
        var rows = await c.QueryAsync<(long Version, string CreatedAt, string Source)>(
            "SELECT version, created_at, source FROM consensus_rules WHERE survey_id = @Id ORDER BY version", new { survey.Id });
        var rounds = (await c.QueryAsync<(long Number, long Version)>("SELECT number, rules_version FROM rounds WHERE survey_id = @Id",
            new { survey.Id })).ToList();
        var result = new List<RulesVersion>();
        foreach (var r in rows)
            result.Add(new RulesVersion((int)r.Version, r.CreatedAt, r.Source, await catalog.RulesAsync(survey.Id, (int)r.Version),
                rounds.Where(x => x.Version == r.Version).Select(x => (int)x.Number).Order().ToList()));
        return result;
    }

    /// <summary>A new version of the consensus rules; it applies to rounds opened from now on.</summary>
    public async Task<Outcome<RulesVersion>> NewRulesAsync(SurveyRef survey, string text, string fileName, ClaimsPrincipal user)
    {
        var definition = await catalog.DefinitionAsync(survey.Id);
        var parsed = SurveyFile.ParseRules(text, definition, fileName);
        if (!parsed.Ok) return FileRefusal(parsed.Errors);

        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM rounds WHERE survey_id = @Id AND status = 'open'", new { survey.Id }, tx) > 0)
            return Refusal.Conflict(
                "A round is open and is judged by the rules it was opened with. Declare new rules after it closes; they apply from the next round.");
        var version = await SurveyCatalog.CurrentRulesVersionAsync(c, survey.Id, tx) + 1;
        await SurveyStore.AddRulesAsync(c, tx, survey.Id, version, parsed.Rules!, text, user.UserId(), clock.GetUtcNow());
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "rules.declared", new { version });
        await tx.CommitAsync();
        changes.Publish(new SurveyChanged(survey.Id, survey.Slug));
        return new RulesVersion(version, Db.Iso(clock.GetUtcNow()), text, parsed.Rules!, []);
    }

    /// <summary>Makes a coordinator account a coordinator of the survey (the API lets only admins call it).</summary>
    public async Task<Outcome<Done>> AddCoordinatorAsync(SurveyRef survey, CoordinatorRequest body, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var target = await c.QuerySingleOrDefaultAsync<(long Id, string Role)>("SELECT id, role FROM users WHERE email = @email AND disabled_at IS NULL",
            new { email = body.Email.Trim().ToLowerInvariant() }, tx);
        if (target.Id == 0) return Refusal.NotFound($"There is no account with e-mail '{body.Email}'. An admin creates accounts with POST /api/users.");
        if (target.Role is not (Roles.Coordinator or Roles.Admin))
            return Refusal.BadRequest($"'{body.Email}' is a {target.Role} account; only coordinator accounts can coordinate a survey.");
        await c.ExecuteAsync("INSERT INTO survey_coordinators (survey_id, user_id) VALUES (@Id, @user) ON CONFLICT DO NOTHING",
            new { survey.Id, user = target.Id }, tx);
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "coordinator.added", new { body.Email });
        await tx.CommitAsync();
        return new Done();
    }

    public async Task<List<CoordinatorView>> CoordinatorsAsync(SurveyRef survey)
    {
        await using var c = await db.OpenAsync();
        return (await c.QueryAsync<CoordinatorView>("""
            SELECT u.id AS user_id, u.email, u.name FROM survey_coordinators sc JOIN users u ON u.id = sc.user_id
            WHERE sc.survey_id = @Id ORDER BY u.email
            """, new { survey.Id })).ToList();
    }

    /// <summary>Removes a coordinator from the survey; their open live views of it end at once.</summary>
    public async Task<Outcome<Done>> RemoveCoordinatorAsync(SurveyRef survey, long userId, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var n = await c.ExecuteAsync("DELETE FROM survey_coordinators WHERE survey_id = @Id AND user_id = @userId", new { survey.Id, userId }, tx);
        if (n == 0) return Refusal.NotFound($"Account {userId} does not coordinate survey '{survey.Slug}'.");
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "coordinator.removed", new { userId });
        await tx.CommitAsync();
        changes.Publish(new UserAccessEnded(userId, survey.Id));
        return new Done();
    }

    public async Task<SurveyDetail> DetailAsync(long id)
    {
        var definition = await catalog.DefinitionAsync(id);
        await using var c = await db.OpenAsync();
        var s = await c.QuerySingleAsync<(string Slug, string Status, string CreatedAt, string FileName)>(
            "SELECT slug, status, created_at, file_name FROM surveys WHERE id = @id", new { id });
        var rounds = await c.QueryAsync<(long Number, string Status, long RulesVersion, string OpenedAt, string? Deadline, string? ClosedAt, long Topics)>("""
            SELECT number, status, rules_version, opened_at, deadline, closed_at,
                   (SELECT COUNT(*) FROM round_topics rt WHERE rt.round_id = r.id) AS topics
            FROM rounds r WHERE survey_id = @id ORDER BY number
            """, new { id });
        var panel = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM panel_members WHERE survey_id = @id AND revoked_at IS NULL", new { id });
        return new SurveyDetail(id, s.Slug, definition.Title, definition.Description, definition.Languages, SurveyStatus.Parse(s.Status), s.CreatedAt,
            s.FileName,
            await SurveyCatalog.CurrentRulesVersionAsync(c, id), (int)panel, await SurveyStore.StructureAsync(c, id),
            definition.Questions, definition.Rankings, definition.Profile, definition.Feedback, definition.Live,
            rounds.Select(r => new RoundBrief((int)r.Number, RoundStatus.Parse(r.Status), (int)r.RulesVersion, r.OpenedAt, r.Deadline, r.ClosedAt,
                (int)r.Topics)).ToList());
    }

    /// <summary>A file's problems: the first in the detail, every one with its line and column in the errors.</summary>
    public static Refusal FileRefusal(IReadOnlyList<SurveyFileError> errors)
    {
        var first = errors[0];
        var more = errors.Count > 1 ? $" (and {errors.Count - 1} more problem{(errors.Count > 2 ? "s" : "")}; see errors)" : "";
        return Refusal.BadRequest($"{first}{more}. Nothing was stored.", errors.Select(e => (object)new FileError(e.File, e.Line, e.Column, e.Message)));
    }
}

/// <summary>
/// A feature that keeps data of its own about a survey, beyond the tables that cascade from it (e.g. a search index):
/// it is deleted in the transaction that deletes the survey.
/// </summary>
public interface ISurveyData
{
    Task DeleteAsync(SqliteConnection c, SqliteTransaction tx, long surveyId);
}

/// <summary>A feature that refers to topics by id outside the tables that cascade (e.g. an accepted machine proposal): told in the transaction that deletes
/// topics.</summary>
public interface ITopicDeletion
{
    Task TopicsDeletedAsync(SqliteConnection c, SqliteTransaction tx, long surveyId);
}

/// <summary>Text typed in both languages (a topic's title or background); blank is none.</summary>
public sealed record TextInput(string? Zh, string? En)
{
    public LocalizedText ToText() => new(string.IsNullOrWhiteSpace(Zh) ? null : Zh.Trim(), string.IsNullOrWhiteSpace(En) ? null : En.Trim());
}
