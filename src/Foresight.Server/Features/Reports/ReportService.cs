using System.Diagnostics;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Reports;
using Foresight.Server.Features.Live;
using Foresight.Server.Plumbing;
using Hangfire;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Reports;

public sealed class ReportRow
{
    public long Id { get; init; }
    public long SurveyId { get; init; }
    public string Kind { get; init; } = "";
    public int RoundNumber { get; init; }
    public string Language { get; init; } = "";
    public string DataVersion { get; init; } = "";
    public string Status { get; init; } = "";
    public string? PdfPath { get; init; }
    public long? PdfBytes { get; init; }
    public string? DataHash { get; init; }
    public int Attempts { get; init; }
    public string? Error { get; init; }
    public string RequestedAt { get; init; } = "";
    public string? RenderedAt { get; init; }
    public long? RenderMs { get; init; }
}

/// <summary>
/// Rendering reports in the background (a Hangfire job: idempotent, retried, its state in the reports table) and
/// finding the stored PDF of a report's current data version.
/// </summary>
public sealed class ReportService(Db db, ReportBuilder builder, PdfRenderer pdf, IBackgroundJobClient jobs, LivePublisher live, ILogger<ReportService> log)
{
    string Folder(long surveyId) => Path.Combine(Path.GetDirectoryName(db.Path)!, "reports", surveyId.ToString());

    public static string PageLabel(string language) => new ReportText(language)["page"];

    public static string Url(string slug, string kind, int round, string language, string format) =>
        kind == "study" ? $"/api/surveys/{slug}/report.{format}?lang={language}" : $"/api/surveys/{slug}/rounds/{round}/report.{format}?lang={language}";

    /// <summary>The job. Renders the report's current version unless it is stored already; safe to run twice.</summary>
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [5, 30, 120])]
    [Queue("reports")]
    public async Task RenderAsync(long surveyId, string kind, int round, string language)
    {
        await using var c = await db.OpenAsync();
        var model = await builder.BuildAsync(c, surveyId, kind, round, language);
        if (model is null) { log.LogWarning("No closed round {Round} to report for survey {Survey}", round, surveyId); return; }
        if (await ReadyAsync(c, surveyId, kind, model.Round, language, model.DataVersion) is not null) return;

        long id = await MarkAsync(surveyId, kind, model, "rendering", null);
        var clock = Stopwatch.StartNew();
        try
        {
            var folder = Folder(surveyId);
            var name = $"{kind}-{model.Round}-{language}-{model.DataVersion[..16]}";
            var html = ReportHtml.Render(model);
            Directory.CreateDirectory(folder);
            var htmlPath = Path.Combine(folder, name + ".html");
            await File.WriteAllTextAsync(htmlPath + ".partial", html);
            File.Move(htmlPath + ".partial", htmlPath, overwrite: true);
            var pdfPath = Path.Combine(folder, name + ".pdf");
            var footer = $"{model.Survey.Title.Get(language)} · {model.DataVersion[..12]}";
            await pdf.RenderAsync(html, footer, PageLabel(language), pdfPath);
            await using var w = await db.BeginWriteAsync();
            await w.Connection.ExecuteAsync("""
                UPDATE reports SET status = 'ready', pdf_path = @pdfPath, html_path = @htmlPath, pdf_bytes = @bytes, error = NULL,
                    rendered_at = @now, render_ms = @ms WHERE id = @id
                """, new { pdfPath, htmlPath, bytes = new FileInfo(pdfPath).Length, now = Db.Iso(DateTimeOffset.UtcNow), ms = clock.ElapsedMilliseconds, id }, w.Transaction);
            await w.CommitAsync();
            var slug = await c.QuerySingleAsync<string>("SELECT slug FROM surveys WHERE id = @surveyId", new { surveyId });
            await live.ReportReadyAsync(surveyId, model.Round, language, Url(slug, kind, model.Round, language, "pdf"));
            log.LogInformation("Rendered the {Kind} report of round {Round} ({Language}) of survey {Survey} in {Ms} ms", kind, model.Round, language, surveyId, clock.ElapsedMilliseconds);
        }
        catch (Exception e)
        {
            log.LogError(e, "Rendering the {Kind} report of round {Round} ({Language}) of survey {Survey} failed", kind, model.Round, language, surveyId);
            await using var w = await db.BeginWriteAsync();
            await w.Connection.ExecuteAsync("UPDATE reports SET status = 'failed', error = @error WHERE id = @id", new { error = e.Message, id }, w.Transaction);
            await w.CommitAsync();
            throw;
        }
    }

    async Task<long> MarkAsync(long surveyId, string kind, ReportModel model, string status, long? userId)
    {
        await using var w = await db.BeginWriteAsync();
        var id = await w.Connection.ExecuteScalarAsync<long>("""
            INSERT INTO reports (survey_id, kind, round_number, language, data_version, status, data_hash, attempts, requested_at, requested_by)
            VALUES (@surveyId, @kind, @Round, @Language, @DataVersion, @status, @DataHash, 1, @now, @userId)
            ON CONFLICT (survey_id, kind, round_number, language, data_version) DO UPDATE SET status = excluded.status,
                attempts = reports.attempts + (CASE WHEN excluded.status = 'rendering' THEN 1 ELSE 0 END)
            RETURNING id
            """, new { surveyId, kind, model.Round, model.Language, model.DataVersion, status, model.DataHash, now = Db.Iso(DateTimeOffset.UtcNow), userId }, w.Transaction);
        await w.CommitAsync();
        return id;
    }

    public static Task<ReportRow?> ReadyAsync(SqliteConnection c, long surveyId, string kind, int round, string language, string version) =>
        c.QuerySingleOrDefaultAsync<ReportRow>("""
            SELECT * FROM reports WHERE survey_id = @surveyId AND kind = @kind AND round_number = @round AND language = @language
              AND data_version = @version AND status = 'ready'
            """, new { surveyId, kind, round, language, version });

    /// <summary>Queues a render of the report's current version (a second request while one is waiting adds nothing).</summary>
    public async Task<string> RequestAsync(long surveyId, string kind, int round, string language, long? userId)
    {
        await using var c = await db.OpenAsync();
        var model = await builder.BuildAsync(c, surveyId, kind, round, language)
            ?? throw new InvalidOperationException($"round {round} of survey {surveyId} is not closed");
        var existing = await c.QuerySingleOrDefaultAsync<ReportRow>("""
            SELECT * FROM reports WHERE survey_id = @surveyId AND kind = @kind AND round_number = @Round AND language = @language AND data_version = @DataVersion
            """, new { surveyId, kind, model.Round, language, model.DataVersion });
        if (existing is { Status: "ready" or "queued" or "rendering" }) return existing.Status;
        await MarkAsync(surveyId, kind, model, "queued", userId);
        jobs.Enqueue<ReportService>(s => s.RenderAsync(surveyId, kind, model.Round, language));
        return "queued";
    }

    /// <summary>After a round closes: its report in every language of the survey.</summary>
    public void EnqueueRound(long surveyId, int round, SurveyDefinition survey)
    {
        foreach (var language in survey.Languages)
            jobs.Enqueue<ReportService>(s => s.RenderAsync(surveyId, "round", round, language));
    }
}
