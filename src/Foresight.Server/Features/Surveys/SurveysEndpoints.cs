using System.Security.Claims;
using System.Text;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Surveys;

public sealed record SurveySummary(long Id, string Slug, LocalizedText Title, string Status, string CreatedAt, int Topics, int Panel, int? CurrentRound);

public sealed record RoundBrief(int Number, string Status, int RulesVersion, string OpenedAt, string? Deadline, string? ClosedAt, int Topics);

public sealed record SurveyDetail(
    long Id, string Slug, LocalizedText Title, LocalizedText? Description, IReadOnlyList<string> Languages,
    string Status, string CreatedAt, string FileName, int RulesVersion, int PanelSize,
    IReadOnlyList<FieldView> Fields, IReadOnlyList<Question> Questions, IReadOnlyList<Ranking> Rankings,
    IReadOnlyList<ProfileQuestion> Profile, FeedbackSettings Feedback, LiveSettings Live, IReadOnlyList<RoundBrief> Rounds);

public sealed record FileError(string File, int Line, int Column, string Message);

public sealed record RulesVersion(int Version, string CreatedAt, string Source, ConsensusRules Rules, IReadOnlyList<int> Rounds);

public sealed record CoordinatorView(long UserId, string Email, string Name);

public sealed record CoordinatorRequest(string Email) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Email)) yield return "email is required: the coordinator's account e-mail";
    }
}

/// <summary>Survey files in and out: import (with every error located), the survey's structure, its rule versions.</summary>
public static class SurveysEndpoints
{
    public static void MapSurveys(this IEndpointRouteBuilder app)
    {
        long maxImport = app.ServiceProvider.GetRequiredService<IOptions<ForesightOptions>>().Value.MaxImportBytes;
        var group = app.MapGroup("/api/surveys").WithTags("Surveys");

        group.MapGet("/", List).RequireAuthorization();
        group.MapPost("/", Import).RequireAuthorization(Policies.Coordinator).WithMetadata(new BodyLimit(maxImport))
            .Accepts<string>("application/yaml", "multipart/form-data")
            .WithSummary("Import a survey file (YAML body, or a form upload named 'file'); every error comes back with its line and column");
        group.MapPost("/validate", Validate).RequireAuthorization(Policies.Coordinator).WithMetadata(new BodyLimit(maxImport))
            .Accepts<string>("application/yaml", "multipart/form-data")
            .WithSummary("Check a survey file without storing it");

        var one = group.MapGroup("/{survey}").RequireAuthorization(Policies.Coordinator).RequireSurveyRole(SurveyRole.Coordinator);
        one.MapGet("/", Get);
        one.MapDelete("/", Delete).WithSummary("Delete a survey that has not opened a round");
        one.MapGet("/definition", Definition).WithSummary("The survey file as imported");
        one.MapPut("/definition", Replace).WithMetadata(new BodyLimit(maxImport)).Accepts<string>("application/yaml", "multipart/form-data")
            .WithSummary("Replace the survey file while no round has opened");
        one.MapGet("/rules", Rules).WithSummary("Every version of the consensus and stop rules, and the rounds judged by each");
        one.MapPut("/rules", NewRules).WithMetadata(new BodyLimit(64 * 1024)).Accepts<string>("application/yaml")
            .WithSummary("Declare a new version of the consensus rules (the 'consensus' section as YAML); it applies to rounds opened from now on");
        one.MapGet("/coordinators", Coordinators).WithSummary("The accounts that coordinate this survey");
        one.MapPost("/coordinators", AddCoordinator).Validate<CoordinatorRequest>().RequireAuthorization(Policies.Admin)
            .WithSummary("Make a coordinator account a coordinator of this survey (admins only)");
        one.MapDelete("/coordinators/{userId:long}", RemoveCoordinator).RequireAuthorization(Policies.Admin)
            .WithSummary("Remove a coordinator from this survey (admins only); their open live views of it end at once");
    }

    internal static async Task<Ok<List<SurveySummary>>> List(ClaimsPrincipal user, Db db)
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
        var rows = await c.QueryAsync<(long Id, string Slug, string? TitleZh, string? TitleEn, string Status, string CreatedAt, long Topics, long Panel, long? CurrentRound)>(
            select + "\n" + where + " ORDER BY s.id", new { survey = user.ExpertSurveyId(), userId = user.UserId() });
        return TypedResults.Ok(rows.Select(r => new SurveySummary(r.Id, r.Slug, new LocalizedText(r.TitleZh, r.TitleEn), r.Status, r.CreatedAt,
            (int)r.Topics, (int)r.Panel, (int?)r.CurrentRound)).ToList());
    }

    internal static async Task<Results<Created<SurveyDetail>, ProblemHttpResult>> Import(HttpRequest request, ClaimsPrincipal user, Db db, SurveyCatalog catalog)
    {
        var (text, fileName, error) = await ReadFileAsync(request);
        if (error is not null) return error;
        var parsed = SurveyFile.Parse(text!, fileName);
        if (!parsed.Ok) return FileProblem(parsed.Errors);
        var survey = parsed.Survey!;

        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var existing = await c.ExecuteScalarAsync<long?>("SELECT id FROM surveys WHERE slug = @Id", new { survey.Id }, tx);
        if (existing is not null)
            return Problems.Conflict($"A survey with id '{survey.Id}' exists already (survey {existing}). Change the id in the file, or replace the draft with PUT /api/surveys/{existing}/definition.");
        var id = await SurveyStore.InsertAsync(c, tx, survey, text!, fileName, user.UserId());
        await Audit.LogAsync(c, tx, user.UserId(), id, "survey.imported", new { survey.Id, fileName, topics = survey.Topics.Count() });
        await tx.CommitAsync();
        var detail = await DetailAsync(db, catalog, id);
        return TypedResults.Created($"/api/surveys/{id}", detail);
    }

    internal static async Task<Results<Ok<object>, ProblemHttpResult>> Validate(HttpRequest request)
    {
        var (text, fileName, error) = await ReadFileAsync(request);
        if (error is not null) return error;
        var parsed = SurveyFile.Parse(text!, fileName);
        if (!parsed.Ok) return FileProblem(parsed.Errors);
        var s = parsed.Survey!;
        return TypedResults.Ok<object>(new { id = s.Id, fields = s.Fields.Count, topics = s.Topics.Count(), questions = s.Questions.Count, languages = s.Languages });
    }

    internal static async Task<Ok<SurveyDetail>> Get(SurveyRef survey, Db db, SurveyCatalog catalog) =>
        TypedResults.Ok(await DetailAsync(db, catalog, survey.Id));

    internal static async Task<Results<NoContent, ProblemHttpResult>> Delete(SurveyRef survey, ClaimsPrincipal user, Db db, SurveyCatalog catalog, SurveyDirectory directory)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM rounds WHERE survey_id = @Id", new { survey.Id }, tx) > 0)
            return Problems.Conflict("This survey has opened rounds; its data is kept. Only a survey that never opened a round can be deleted.");
        await Features.Insights.Literature.ForgetAsync(c, tx, survey.Id);
        await c.ExecuteAsync("""
            DELETE FROM panel_members WHERE survey_id = @Id;
            DELETE FROM topic_lineage WHERE topic_id IN (SELECT id FROM topics WHERE survey_id = @Id);
            DELETE FROM topic_revisions WHERE topic_id IN (SELECT id FROM topics WHERE survey_id = @Id);
            DELETE FROM topics WHERE survey_id = @Id;
            DELETE FROM fields WHERE survey_id = @Id;
            DELETE FROM audit_log WHERE survey_id = @Id;
            DELETE FROM surveys WHERE id = @Id;
            """, new { survey.Id }, tx);
        await Audit.LogAsync(c, tx, user.UserId(), null, "survey.deleted", new { survey.Slug });
        await tx.CommitAsync();
        catalog.Forget(survey.Id);
        directory.Forget(survey);
        return TypedResults.NoContent();
    }

    internal static async Task<IResult> Definition(SurveyRef survey, Db db)
    {
        await using var c = await db.OpenAsync();
        var (yaml, file) = await c.QuerySingleAsync<(string, string)>("SELECT definition, file_name FROM surveys WHERE id = @Id", new { survey.Id });
        return TypedResults.File(Encoding.UTF8.GetBytes(yaml), "application/yaml; charset=utf-8", Path.GetFileName(file));
    }

    internal static async Task<Results<Ok<SurveyDetail>, ProblemHttpResult>> Replace(SurveyRef survey, HttpRequest request, ClaimsPrincipal user, Db db, SurveyCatalog catalog)
    {
        var (text, fileName, error) = await ReadFileAsync(request);
        if (error is not null) return error;
        var parsed = SurveyFile.Parse(text!, fileName);
        if (!parsed.Ok) return FileProblem(parsed.Errors);
        var s = parsed.Survey!;
        if (s.Id != survey.Slug)
            return Problems.BadRequest($"The file is survey '{s.Id}', not '{survey.Slug}'. Import it as a new survey instead.");

        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM rounds WHERE survey_id = @Id", new { survey.Id }, tx) > 0)
            return Problems.Conflict("A round has opened: the question set is fixed. Topics can still be edited between rounds, and the rules get new versions with PUT /rules.");
        await c.ExecuteAsync("UPDATE surveys SET definition = @text, file_name = @fileName, title_zh = @Zh, title_en = @En WHERE id = @Id",
            new { text, fileName, s.Title.Zh, s.Title.En, survey.Id }, tx);
        await SurveyStore.WriteStructureAsync(c, tx, survey.Id, s);
        var version = await SurveyCatalog.CurrentRulesVersionAsync(c, survey.Id, tx) + 1;
        await SurveyStore.AddRulesAsync(c, tx, survey.Id, version, s.Consensus, SurveyStore.ConsensusSource(text!), user.UserId());
        await Audit.LogAsync(c, tx, user.UserId(), survey.Id, "survey.replaced", new { fileName, rules_version = version });
        await tx.CommitAsync();
        catalog.Forget(survey.Id);
        return TypedResults.Ok(await DetailAsync(db, catalog, survey.Id));
    }

    internal static async Task<Ok<List<RulesVersion>>> Rules(SurveyRef survey, Db db, SurveyCatalog catalog)
    {
        await using var c = await db.OpenAsync();
        var rows = await c.QueryAsync<(long Version, string CreatedAt, string Source)>(
            "SELECT version, created_at, source FROM consensus_rules WHERE survey_id = @Id ORDER BY version", new { survey.Id });
        var rounds = (await c.QueryAsync<(long Number, long Version)>("SELECT number, rules_version FROM rounds WHERE survey_id = @Id", new { survey.Id })).ToList();
        var result = new List<RulesVersion>();
        foreach (var r in rows)
            result.Add(new RulesVersion((int)r.Version, r.CreatedAt, r.Source, await catalog.RulesAsync(survey.Id, (int)r.Version),
                rounds.Where(x => x.Version == r.Version).Select(x => (int)x.Number).Order().ToList()));
        return TypedResults.Ok(result);
    }

    internal static async Task<Results<Ok<RulesVersion>, ProblemHttpResult>> NewRules(SurveyRef survey, HttpRequest request, ClaimsPrincipal user, Db db, SurveyCatalog catalog)
    {
        var (text, fileName, error) = await ReadFileAsync(request, "rules.yaml");
        if (error is not null) return error;
        var definition = await catalog.DefinitionAsync(survey.Id);
        var parsed = SurveyFile.ParseRules(text!, definition, fileName);
        if (!parsed.Ok) return FileProblem(parsed.Errors);

        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM rounds WHERE survey_id = @Id AND status = 'open'", new { survey.Id }, tx) > 0)
            return Problems.Conflict("A round is open and is judged by the rules it was opened with. Declare new rules after it closes; they apply from the next round.");
        var version = await SurveyCatalog.CurrentRulesVersionAsync(c, survey.Id, tx) + 1;
        await SurveyStore.AddRulesAsync(c, tx, survey.Id, version, parsed.Rules!, text!, user.UserId());
        await Audit.LogAsync(c, tx, user.UserId(), survey.Id, "rules.declared", new { version });
        await tx.CommitAsync();
        return TypedResults.Ok(new RulesVersion(version, Db.Iso(DateTimeOffset.UtcNow), text!, parsed.Rules!, []));
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> AddCoordinator(SurveyRef survey, CoordinatorRequest body, ClaimsPrincipal user, Db db)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var target = await c.QuerySingleOrDefaultAsync<(long Id, string Role)>("SELECT id, role FROM users WHERE email = @email AND disabled_at IS NULL",
            new { email = body.Email.Trim().ToLowerInvariant() }, tx);
        if (target.Id == 0) return Problems.NotFound($"There is no account with e-mail '{body.Email}'. An admin creates accounts with POST /api/users.");
        if (target.Role is not (Roles.Coordinator or Roles.Admin)) return Problems.BadRequest($"'{body.Email}' is a {target.Role} account; only coordinator accounts can coordinate a survey.");
        await c.ExecuteAsync("INSERT INTO survey_coordinators (survey_id, user_id) VALUES (@Id, @user) ON CONFLICT DO NOTHING", new { survey.Id, user = target.Id }, tx);
        await Audit.LogAsync(c, tx, user.UserId(), survey.Id, "coordinator.added", new { body.Email });
        await tx.CommitAsync();
        return TypedResults.NoContent();
    }

    internal static async Task<Ok<List<CoordinatorView>>> Coordinators(SurveyRef survey, Db db)
    {
        await using var c = await db.OpenAsync();
        return TypedResults.Ok((await c.QueryAsync<CoordinatorView>("""
            SELECT u.id AS user_id, u.email, u.name FROM survey_coordinators sc JOIN users u ON u.id = sc.user_id
            WHERE sc.survey_id = @Id ORDER BY u.email
            """, new { survey.Id })).ToList());
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> RemoveCoordinator(SurveyRef survey, long userId, ClaimsPrincipal user, Db db, ChangeEvents changes)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var n = await c.ExecuteAsync("DELETE FROM survey_coordinators WHERE survey_id = @Id AND user_id = @userId", new { survey.Id, userId }, tx);
        if (n == 0) return Problems.NotFound($"Account {userId} does not coordinate survey '{survey.Slug}'.");
        await Audit.LogAsync(c, tx, user.UserId(), survey.Id, "coordinator.removed", new { userId });
        await tx.CommitAsync();
        changes.Publish(new UserAccessEnded(userId, survey.Id));
        return TypedResults.NoContent();
    }

    public static async Task<SurveyDetail> DetailAsync(Db db, SurveyCatalog catalog, long id)
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
        return new SurveyDetail(id, s.Slug, definition.Title, definition.Description, definition.Languages, s.Status, s.CreatedAt, s.FileName,
            await SurveyCatalog.CurrentRulesVersionAsync(c, id), (int)panel, await SurveyStore.StructureAsync(c, id),
            definition.Questions, definition.Rankings, definition.Profile, definition.Feedback, definition.Live,
            rounds.Select(r => new RoundBrief((int)r.Number, r.Status, (int)r.RulesVersion, r.OpenedAt, r.Deadline, r.ClosedAt, (int)r.Topics)).ToList());
    }

    public static ProblemHttpResult FileProblem(IReadOnlyList<SurveyFileError> errors)
    {
        var first = errors[0];
        var more = errors.Count > 1 ? $" (and {errors.Count - 1} more problem{(errors.Count > 2 ? "s" : "")}; see errors)" : "";
        return Problems.BadRequest($"{first}{more}. Nothing was stored.", errors.Select(e => (object)new FileError(e.File, e.Line, e.Column, e.Message)));
    }

    /// <summary>Reads an uploaded text file: a raw body, or the form field 'file'. It must be UTF-8.</summary>
    /// <summary>An uploaded file: the form field 'file' of a multipart/form-data body, or the body itself.</summary>
    public static async Task<(Stream? Stream, string FileName, ProblemHttpResult? Error)> OpenUploadAsync(HttpRequest request, string defaultName)
    {
        string name = request.Query["file_name"].FirstOrDefault() is { Length: > 0 } q ? Path.GetFileName(q) : defaultName;
        if (!request.HasFormContentType) return (request.Body, name, null);
        IFormCollection form;
        try { form = await request.ReadFormAsync(); }
        // A broken form is the sender's fault (no boundary, a bad section header, cut short), not the server's.
        catch (Exception e) when (e is InvalidDataException || e is IOException and not BadHttpRequestException)
        {
            var why = e is InvalidDataException ? e.Message : "it ends before its closing boundary.";
            return (null, name, Problems.BadRequest($"The upload is not a readable multipart/form-data body: {why} Send the file as the form field 'file', or as the body itself."));
        }
        var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault();
        if (file is null) return (null, name, Problems.BadRequest("Upload the file as the form field 'file'."));
        return (file.OpenReadStream(), Path.GetFileName(file.FileName), null);
    }

    public static async Task<(string? Text, string FileName, ProblemHttpResult? Error)> ReadFileAsync(HttpRequest request, string defaultName = "survey.yaml")
    {
        var (stream, name, problem) = await OpenUploadAsync(request, defaultName);
        if (stream is null) return (null, name, problem);
        try
        {
            using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true));
            var text = await reader.ReadToEndAsync();
            if (string.IsNullOrWhiteSpace(text)) return (null, name, Problems.BadRequest($"{name} is empty."));
            return (text, name, null);
        }
        catch (DecoderFallbackException)
        {
            return (null, name, Problems.BadRequest($"{name} is not UTF-8 text. Save it as UTF-8 and send it again."));
        }
    }
}
