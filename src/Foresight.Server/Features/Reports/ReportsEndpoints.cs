using System.Security.Claims;
using System.Text;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Reports;
using Foresight.Server.Features.Surveys;
using Microsoft.Extensions.Options;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Reports;

public sealed record ReportRequest(string? Kind, int? Round, string Language) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Kind is not (null or "round" or "study")) yield return "kind must be round or study";
        if ((Kind ?? "round") == "round" && Round is null) yield return "round is required for a round report";
        if (Languages.Normalize(Language) is null) yield return "language must be zh-CN or en";
    }
    public string KindOrDefault => Kind ?? "round";
}

public sealed record ReportEntry(
    string Kind, int Round, string Language, string Status, string DataVersion, string? DataHash, long? PdfBytes, string RequestedAt,
    string? RenderedAt, long? RenderMs, int Attempts, string? Error, bool Published, string Pdf, string Html);

public sealed record Publication(string Kind, int Round, string Language, string Link, string PublishedAt);

/// <summary>
/// Reports: requested by coordinators or rendered when a round closes; read by coordinators, by stakeholders granted the
/// survey once published, and by anyone with a published report's link. A report is always its current data version.
/// </summary>
public static class ReportsEndpoints
{
    public static void MapReports(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}").WithTags("Reports")
            .RequireAuthorization().RequireSurveyRole(SurveyRole.Coordinator | SurveyRole.Stakeholder);
        group.MapGet("/reports", List).WithSummary("Reports of the survey: every rendered version for coordinators, the published ones for stakeholders");
        // Coordinators only, checked before the body is validated: a stakeholder learns nothing from a validation error.
        group.MapPost("/reports", Request).RequireSurveyRole(SurveyRole.Coordinator).Validate<ReportRequest>().WithSummary("Render a report (a round's, or the study's) in one language, in the background");
        group.MapPost("/reports/publish", Publish).RequireSurveyRole(SurveyRole.Coordinator).Validate<ReportRequest>().WithSummary("Publish a report to the survey's stakeholders, with a link for anyone holding it");
        group.MapGet("/rounds/{number:int}/report.pdf", (SurveyRef survey, int number, string? lang, HttpContext http, Db db, ReportBuilder builder, ReportService reports) =>
            ServeAsync(survey, "round", number, lang, "pdf", http, db, builder, reports));
        group.MapGet("/rounds/{number:int}/report.html", (SurveyRef survey, int number, string? lang, HttpContext http, Db db, ReportBuilder builder, ReportService reports) =>
            ServeAsync(survey, "round", number, lang, "html", http, db, builder, reports));
        group.MapGet("/report.pdf", (SurveyRef survey, string? lang, HttpContext http, Db db, ReportBuilder builder, ReportService reports) =>
            ServeAsync(survey, "study", 0, lang, "pdf", http, db, builder, reports));
        group.MapGet("/report.html", (SurveyRef survey, string? lang, HttpContext http, Db db, ReportBuilder builder, ReportService reports) =>
            ServeAsync(survey, "study", 0, lang, "html", http, db, builder, reports));

        app.MapGet("/r/{token}", Shared).ExcludeFromDescription();
        app.MapGet("/css/report.css", () => Results.Text(ReportHtml.Css, "text/css; charset=utf-8")).ExcludeFromDescription();
    }

    static bool Coordinates(HttpContext http) => !http.User.IsInRole(Roles.Stakeholder);

    static async Task<Ok<List<ReportEntry>>> List(SurveyRef survey, HttpContext http, Db db)
    {
        await using var c = await db.OpenAsync();
        var published = (await c.QueryAsync<(string Kind, long Round, string Language)>(
            "SELECT kind, round_number, language FROM report_publications WHERE survey_id = @Id", new { survey.Id })).ToHashSet();
        var rows = (await c.QueryAsync<ReportRow>("SELECT * FROM reports WHERE survey_id = @Id ORDER BY id DESC", new { survey.Id })).ToList();
        var entries = rows.Select(r => new ReportEntry(r.Kind, r.RoundNumber, r.Language, r.Status, r.DataVersion, r.DataHash, r.PdfBytes, r.RequestedAt,
                r.RenderedAt, r.RenderMs, r.Attempts, r.Error, published.Contains((r.Kind, r.RoundNumber, r.Language)),
                ReportService.Url(survey.Slug, r.Kind, r.RoundNumber, r.Language, "pdf"), ReportService.Url(survey.Slug, r.Kind, r.RoundNumber, r.Language, "html")))
            .Where(e => Coordinates(http) || e.Published && e.Status == "ready").ToList();
        return TypedResults.Ok(entries);
    }

    static async Task<IResult> Request(SurveyRef survey, ReportRequest body, HttpContext http, Db db, ReportService reports)
    {
        var language = Languages.Normalize(body.Language)!;
        await using var c = await db.OpenAsync();
        var closed = (await c.QueryAsync<long>("SELECT number FROM rounds WHERE survey_id = @Id AND status = 'closed'", new { survey.Id })).ToHashSet();
        if (body.KindOrDefault == "round" && !closed.Contains(body.Round!.Value))
            return Problems.Conflict($"Round {body.Round} of '{survey.Slug}' is not closed; a round report shows a closed round.");
        if (closed.Count == 0) return Problems.Conflict("No round has closed yet.");
        var status = await reports.RequestAsync(survey.Id, body.KindOrDefault, body.Round ?? 0, language, http.User.UserId());
        return Results.Json(new { status, pdf = ReportService.Url(survey.Slug, body.KindOrDefault, body.Round ?? 0, language, "pdf") }, statusCode: 202);
    }

    static async Task<IResult> Publish(SurveyRef survey, ReportRequest body, HttpContext http, ReportService reports, IOptions<ForesightOptions> options)
    {
        var language = Languages.Normalize(body.Language)!;
        var link = await reports.PublishAsync(survey, body.KindOrDefault, body.Round ?? 0, language, http.User.UserId(), Links.Base(http.Request, options));
        if (link is null) return Problems.Conflict(body.KindOrDefault == "round" ? $"Round {body.Round} of '{survey.Slug}' is not closed." : "No round has closed yet.");
        return TypedResults.Ok(new Publication(body.KindOrDefault, body.Round ?? 0, language, link, Db.Iso(DateTimeOffset.UtcNow)));
    }

    static async Task<IResult> ServeAsync(SurveyRef survey, string kind, int round, string? lang, string format, HttpContext http, Db db, ReportBuilder builder, ReportService reports)
    {
        await using var c = await db.OpenAsync();
        var definition = await http.RequestServices.GetRequiredService<SurveyCatalog>().DefinitionAsync(survey.Id);
        var language = Languages.Normalize(lang) ?? definition.Languages[0];
        if (!definition.Languages.Contains(language)) return Problems.NotFound($"Survey '{survey.Slug}' is not written in {language}.");
        var model = await builder.BuildAsync(c, survey.Id, kind, round, language);
        if (model is null) return Problems.NotFound(kind == "study" ? "No round has closed yet." : $"Round {round} of '{survey.Slug}' is not closed.");
        if (!Coordinates(http) && !await ReportService.PublishedAsync(c, survey.Id, kind, model.Round, language))
            return Problems.Forbidden("This report is not published.");
        return await ContentAsync(c, survey, model, kind, format, reports, http.User.UserId());
    }

    /// <summary>The HTML page now, or the stored PDF of the current version (202 while it is being rendered).</summary>
    static async Task<IResult> ContentAsync(SqliteConnection c, SurveyRef survey, ReportModel model, string kind, string format, ReportService reports, long? userId)
    {
        if (format == "html") return Results.Content(ReportHtml.Render(model, "/css/report.css"), "text/html; charset=utf-8");
        var ready = await ReportService.ReadyAsync(c, survey.Id, kind, model.Round, model.Language, model.DataVersion);
        if (ready?.PdfPath is { } path && File.Exists(path))
            return TypedResults.PhysicalFile(path, "application/pdf",
                $"{survey.Slug}-{(kind == "study" ? "study" : "round-" + model.Round)}-{model.Language}.pdf", enableRangeProcessing: true);
        var status = await reports.RequestAsync(c, survey.Id, kind, model, userId);
        // The last attempt's error stays on the row until a render succeeds.
        var failed = await c.QuerySingleOrDefaultAsync<string>("""
            SELECT error FROM reports WHERE survey_id = @Id AND kind = @kind AND round_number = @Round AND language = @Language
              AND data_version = @DataVersion
            """, new { survey.Id, kind, model.Round, model.Language, model.DataVersion });
        return new RenderingResult(status, failed);
    }

    static async Task<IResult> Shared(string token, string? format, Db db, ReportBuilder builder, ReportService reports)
    {
        await using var c = await db.OpenAsync();
        var p = await c.QuerySingleOrDefaultAsync<(long SurveyId, string Kind, long RoundNumber, string Language, string Slug)>("""
            SELECT p.survey_id, p.kind, p.round_number, p.language, s.slug FROM report_publications p JOIN surveys s ON s.id = p.survey_id
            WHERE p.token_hash = @hash
            """, new { hash = Secrets.Hash(token) });
        if (p.SurveyId == 0) return Problems.NotFound("This report link is unknown or was replaced.");
        var model = await builder.BuildAsync(c, p.SurveyId, p.Kind, (int)p.RoundNumber, p.Language);
        if (model is null) return Problems.NotFound("The report is no longer available.");
        return await ContentAsync(c, new SurveyRef(p.SurveyId, p.Slug), model, p.Kind, format == "html" ? "html" : "pdf", reports, null);
    }

    /// <summary>202 Accepted while the PDF renders (or will be retried), with when to ask again.</summary>
    sealed class RenderingResult(string status, string? error) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = StatusCodes.Status202Accepted;
            http.Response.Headers.RetryAfter = "5";
            await http.Response.WriteAsJsonAsync(new { status, detail = "The report is being rendered; ask again in a few seconds.", last_error = error });
        }
    }
}
