using Foresight.Core;
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
    string Kind, int Round, string Language, ReportStatus Status, string DataVersion, string? DataHash, long? PdfBytes, string RequestedAt,
    string? RenderedAt, long? RenderMs, int Attempts, string? Error, bool Published, string Pdf, string Html);

public sealed record Publication(string Kind, int Round, string Language, string Link, string PublishedAt);

public sealed record RenderRequested(ReportStatus Status, string Pdf);

/// <summary>What a report's address answers: its web page, its stored PDF, or that the PDF is being rendered.</summary>
public abstract record ReportContent
{
    public sealed record Html(string Text) : ReportContent;
    public sealed record Pdf(string Path, string FileName) : ReportContent;
    public sealed record Rendering(ReportStatus Status, string? LastError) : ReportContent;
}

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
        group.MapPost("/reports", Request).RequireSurveyRole(SurveyRole.Coordinator).Validate<ReportRequest>()
            .WithSummary("Render a report (a round's, or the study's) in one language, in the background");
        group.MapPost("/reports/publish", Publish).RequireSurveyRole(SurveyRole.Coordinator).Validate<ReportRequest>()
            .WithSummary("Publish a report to the survey's stakeholders, with a link for anyone holding it");
        group.MapGet("/rounds/{number:int}/report.pdf", (SurveyRef survey, int number, string? lang, HttpContext http, ReportService reports) =>
            ServeAsync(survey, "round", number, lang, "pdf", http, reports));
        group.MapGet("/rounds/{number:int}/report.html", (SurveyRef survey, int number, string? lang, HttpContext http, ReportService reports) =>
            ServeAsync(survey, "round", number, lang, "html", http, reports));
        group.MapGet("/report.pdf", (SurveyRef survey, string? lang, HttpContext http, ReportService reports) =>
            ServeAsync(survey, "study", 0, lang, "pdf", http, reports));
        group.MapGet("/report.html", (SurveyRef survey, string? lang, HttpContext http, ReportService reports) =>
            ServeAsync(survey, "study", 0, lang, "html", http, reports));

        app.MapGet("/r/{token}", Shared).ExcludeFromDescription();
        app.MapGet("/css/report.css", () => Results.Text(ReportHtml.Css, "text/css; charset=utf-8")).ExcludeFromDescription();
    }

    static bool Coordinates(HttpContext http) => !http.User.IsInRole(Roles.Stakeholder);

    static async Task<Ok<List<ReportEntry>>> List(SurveyRef survey, HttpContext http, ReportService reports) =>
        TypedResults.Ok(await reports.ListAsync(survey, Coordinates(http)));

    static async Task<IResult> Request(SurveyRef survey, ReportRequest body, HttpContext http, ReportService reports)
    {
        var outcome = await reports.RequestReportAsync(survey, body, http.User.UserId());
        return outcome.Refusal is { } r ? r.ToProblem() : Results.Json(outcome.Value, statusCode: 202);
    }

    static async Task<IResult> Publish(SurveyRef survey, ReportRequest body, HttpContext http, ReportService reports, IOptions<ForesightOptions> options) =>
        (await reports.PublishReportAsync(survey, body, http.User.UserId(), Links.Base(http.Request, options))).ToHttp(TypedResults.Ok);

    static async Task<IResult> ServeAsync(SurveyRef survey, string kind, int round, string? lang, string format, HttpContext http, ReportService reports) =>
        Answer(await reports.ContentAsync(survey, kind, round, lang, format, Coordinates(http), http.User.UserId()));

    static async Task<IResult> Shared(string token, string? format, ReportService reports) => Answer(await reports.SharedAsync(token, format));

    static IResult Answer(Outcome<ReportContent> outcome) => outcome.Refusal is { } refusal ? refusal.ToProblem() : outcome.Value switch
    {
        ReportContent.Html html => Results.Content(html.Text, "text/html; charset=utf-8"),
        ReportContent.Pdf pdf => TypedResults.PhysicalFile(pdf.Path, "application/pdf", pdf.FileName, enableRangeProcessing: true),
        ReportContent.Rendering r => new RenderingResult(r.Status, r.LastError),
        _ => throw new InvalidOperationException("unknown report content"),
    };

    /// <summary>202 Accepted while the PDF renders (or will be retried), with when to ask again.</summary>
    sealed class RenderingResult(ReportStatus status, string? error) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = StatusCodes.Status202Accepted;
            http.Response.Headers.RetryAfter = "5";
            await http.Response.WriteAsJsonAsync(new
            {
                status = status.Name, detail = "The report is being rendered; ask again in a few seconds.", last_error = error,
            });
        }
    }
}
